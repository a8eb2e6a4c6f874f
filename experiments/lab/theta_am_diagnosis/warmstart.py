"""Experiment: start a lab run from another run's encoder weights (e.g. the full JTFS at step
200, where θ_FM is learned and θ_AM is about to be). Decides whether SCRAPL fails to *reach* the
state from which θ_AM is learnable, or cannot do the AM phase at all. θ-IS, if on, runs at the
loaded weights.

Usage, as :mod:`run_one` with the checkpoint second; FINDINGS.md's rows "warm start from
JTFS@200" (queue3.sh; the checkpoint from ``ckpt_run``)::

    python -m experiments.lab.theta_am_diagnosis.warmstart warm_jtfs200_scrapl \\
        data/results/lab/theta_am_diagnosis/out/jtfs_s0/ckpt_200.pt seed=0
    python -m experiments.lab.theta_am_diagnosis.warmstart warm_jtfs200_jtfs100 \\
        data/results/lab/theta_am_diagnosis/out/jtfs_s0/ckpt_200.pt seed=0 loss='"jtfs"' \\
        steps=100 val_every=25
"""

from __future__ import annotations

import sys

import torch

import scrapl_edu.lab.parts as parts
from experiments.lab.theta_am_diagnosis import run_one


def warm_encoder_builder(ckpt: str):
    """``parts.build_encoder`` that loads the encoder of checkpoint ``ckpt`` after building."""
    build = parts.build_encoder

    def build_warm(config, n_params, x_fit):
        enc = build(config, n_params, x_fit)
        enc.load_state_dict(torch.load(ckpt, weights_only=False)["encoder"])
        return enc

    return build_warm


def main(argv: list[str]) -> None:
    tag, ckpt, *over = argv
    parts.build_encoder = warm_encoder_builder(ckpt)  # build_parts reads the module's name
    run_one.main([tag, *over])


if __name__ == "__main__":
    main(sys.argv[1:])
