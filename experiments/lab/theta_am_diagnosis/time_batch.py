"""Cost of one SCRAPL step (encoder forward/backward + synth + one JTFS path on x and x_hat)
against the batch size: is the path's cost proportional to B? Relative numbers (machine shared).

Usage (FINDINGS.md, "Scripts"): ``python -m experiments.lab.theta_am_diagnosis.time_batch``
"""

from __future__ import annotations

import time

import torch

from experiments.lab.theta_am_diagnosis.common import setup
from scrapl_edu import lab
from scrapl_edu.losses import path_distance


def main() -> None:
    torch.set_num_threads(1)
    ns = setup(lab.make_config("classroom", seed=0))
    gen = torch.Generator().manual_seed(0)
    P = ns.jtfs.n_paths
    for B in (1, 2, 4, 8, 16):
        x = ns.data["x_train"][:B]
        ts = []
        for rep in range(12):
            p = rep * 5 % P
            t = time.perf_counter()
            xh = ns.synth(ns.enc(x), generator=gen)
            loss = path_distance(ns.jtfs, xh, x, p) * 1e8
            ns.enc.zero_grad()
            loss.backward()
            ts.append(time.perf_counter() - t)
        ts.sort()
        med, low = 1000 * ts[len(ts) // 2], 1000 * ts[0]
        print(B, "median ms", round(med, 1), "min", round(low, 1), flush=True)


if __name__ == "__main__":
    main()
