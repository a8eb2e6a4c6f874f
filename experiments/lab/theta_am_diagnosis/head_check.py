"""Does θ̂_AM read the FM feature? corr(θ̂_AM, θ_FM) on the validation set and the cosine
between the two rows of the encoder's last linear layer, at checkpoints.

Usage (FINDINGS.md, "What the encoder reads"; checkpoints from :mod:`ckpt_run`)::

    python -m experiments.lab.theta_am_diagnosis.head_check \\
        data/results/lab/theta_am_diagnosis/out/scrapl_s0/ckpt_{200,399}.pt
"""

from __future__ import annotations

import sys

import torch
from torch import Tensor

from experiments.lab.theta_am_diagnosis.common import predict, setup
from scrapl_edu import lab


def corr(a: Tensor, b: Tensor) -> float:
    return float(torch.corrcoef(torch.stack([a, b]))[0, 1])


def main(ckpts: list[str]) -> None:
    torch.set_num_threads(1)
    ns = setup(lab.make_config("classroom", seed=0))
    x, th = ns.data["x_val"], ns.data["theta_val"]
    for ck in ckpts:
        ns.enc.load_state_dict(torch.load(ck, weights_only=False)["encoder"])
        t = predict(ns.enc, x)
        W = ns.enc.head[-1].weight.detach()
        cos = float(torch.nn.functional.cosine_similarity(W[0], W[1], dim=0))
        print(
            f"{ck}: corr(am_hat, am) {corr(t[:, 0], th[:, 0]):+.2f} "
            f"corr(am_hat, fm) {corr(t[:, 0], th[:, 1]):+.2f} "
            f"corr(am_hat, fm_hat) {corr(t[:, 0], t[:, 1]):+.2f} "
            f"corr(fm_hat, fm) {corr(t[:, 1], th[:, 1]):+.2f} "
            f"cos(head_am, head_fm) {cos:+.2f} std am_hat {float(t[:, 0].std()):.3f}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
