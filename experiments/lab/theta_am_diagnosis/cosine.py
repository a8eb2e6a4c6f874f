"""Experiment: cosine learning-rate decay for the SCRAPL optimizer,
``lr_k = lr_0 * 0.5 (1 + cos(pi k / K))`` with K the run's steps (the ``steps=`` override).
Lets FM settle so that the AM part of the gradient can dominate late in training.

Usage, as :mod:`run_one` (``steps=K`` required); FINDINGS.md's row "cosine lr decay"::

    python -m experiments.lab.theta_am_diagnosis.cosine cos1200 seed=0 steps=1200 val_every=100
"""

from __future__ import annotations

import math
import sys

import scrapl_edu.optim as O
from experiments.lab.theta_am_diagnosis import run_one


def cosine_step(K: int):
    """``SCRAPLOptimizer.step`` with the learning rate set by the cosine schedule first."""
    step = O.SCRAPLOptimizer.step

    def cosine(self, closure=None, *, path=None):
        for g in self.param_groups:
            g.setdefault("lr0", g["lr"])
            g["lr"] = g["lr0"] * 0.5 * (1 + math.cos(math.pi * self.global_step / K))
        return step(self, closure, path=path)

    return cosine


def main(argv: list[str]) -> None:
    K = next(int(kv.split("=", 1)[1]) for kv in argv[1:] if kv.startswith("steps="))
    O.SCRAPLOptimizer.step = cosine_step(K)
    run_one.main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
