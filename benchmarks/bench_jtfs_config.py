"""The JTFS's speed before and after a refactor: one path, the full JTFS, or building one.

A small loop to run from two checkouts side by side (the same command in each, paired A B A B
by an outside timer such as ``hyperfine`` or ``/usr/bin/time``), so that a change of the
configuration code (issue 17 item 2: :class:`scrapl_edu.jtfs_plan.JTFSConfig`) can be shown to
leave the transform's speed alone. It prints its own median per call too::

    PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/bench_jtfs_config.py path --n 200
    PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/bench_jtfs_config.py full --n 20
    PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/bench_jtfs_config.py build --n 20

The configuration is the classroom JTFS (:data:`scrapl_edu.presets.CLASSROOM_JTFS` on 4096
samples at 1024 Hz, P = 63), written out here so that any version of the package runs it.
``path``: forward + backward of ``sum(phi_p(x)^2)`` (Eq. 1 and 3) for a batch of 4, cycling
through every path; ``full``: the same for all P paths (``jtfs(x)``); ``build``: a new JTFS
and its first path (the plan, its filters and windows).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from scrapl_edu.jtfs import JTFS

#: the classroom JTFS on its signals (scrapl_edu.presets: classroom)
CFG = dict(shape=4096, sr=1024.0, J=9, Q1=8, Q2=1, J_fr=3, Q_fr=1, T=512, F=8)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("which", choices=["path", "full", "build"])
    ap.add_argument("--n", type=int, default=100, help="timed calls (after one warm-up)")
    ap.add_argument("--batch", type=int, default=4)
    a = ap.parse_args()
    torch.set_num_threads(1)
    x = torch.randn(a.batch, 1, CFG["shape"], generator=torch.Generator().manual_seed(0))
    jtfs = JTFS(**CFG)
    P = jtfs.n_paths

    def call(k: int) -> None:
        if a.which == "build":
            JTFS(**CFG).path(x, k % P)
            return
        xg = x.clone().requires_grad_(True)
        y = jtfs.path(xg, k % P) if a.which == "path" else jtfs(xg)
        y.pow(2).sum().backward()

    if a.which == "path":  # warm every path's tensors once, as a training run does
        for k in range(P):
            call(k)
    call(0)
    wall, cpu = [], []  # cpu: this process's time, robust to other jobs on a shared machine
    for k in range(a.n):
        t0, c0 = time.perf_counter(), time.process_time()
        call(k)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    print(
        f"{a.which}: median {1e3 * statistics.median(wall):.3f} ms wall, "
        f"{1e3 * statistics.median(cpu):.3f} ms cpu, min {1e3 * min(cpu):.3f} ms cpu "
        f"per call over {a.n}"
    )


if __name__ == "__main__":
    main()
