"""One path against all paths of our own JTFS: timed and counted, in one run.

SCRAPL's premise (Section 3) is that one path costs a small fraction of the full
transform. This measures how small, at equal batch, on the paper configuration:

- timed: forward + backward of ``sum(phi(x)^2)``, best of ``--repeats``, for the full
  transform and for ``--paths`` random paths (one thread by default);
- counted: the FLOPs of the same passes (``scrapl_edu.diagnostics.arithmetic_cost``:
  FFTs and matrix products) for the full transform and for every path.

    .venv/bin/python benchmarks/path_vs_full.py --out data/results/path_vs_full_cpu.json
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scrapl_edu.diagnostics import arithmetic_cost, forward_backward_seconds  # noqa: E402
from scrapl_edu.jtfs import JTFS  # noqa: E402
from scrapl_edu.presets import paper_jtfs_kwargs  # noqa: E402

CFG = paper_jtfs_kwargs()  # the paper configuration, defined once in scrapl_edu.presets


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--paths", type=int, default=12, help="random paths timed")
    ap.add_argument("--repeats", type=int, default=3, help="timings per pass (best kept)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    args = ap.parse_args(argv)
    for name in ("batch", "paths", "repeats", "threads"):
        if getattr(args, name) < 1:
            ap.error(f"--{name} must be >= 1, got {getattr(args, name)}")

    from tqdm.auto import tqdm

    torch.set_num_threads(args.threads)
    jtfs = JTFS(**CFG)
    x = torch.randn(args.batch, CFG["shape"], generator=torch.Generator().manual_seed(args.seed))
    forward_backward_seconds(jtfs, x, repeats=1)  # warm the caches
    t_full = forward_backward_seconds(jtfs, x, repeats=args.repeats)
    drawn = np.random.default_rng(args.seed).integers(0, jtfs.n_paths, args.paths)
    t_paths = [
        forward_backward_seconds(lambda z, p=int(p): jtfs.path(z, p), x, repeats=args.repeats)
        for p in tqdm(drawn, desc="timing paths")
    ]
    c_full = arithmetic_cost(jtfs, x)
    c_paths = [
        arithmetic_cost(lambda z, p=p: jtfs.path(z, p), x)
        for p in tqdm(range(jtfs.n_paths), desc="counting paths")
    ]
    total = np.array([c["total"] for c in c_paths], dtype=float)
    fft_share = np.array([c["fft"] for c in c_paths], dtype=float) / total
    res = {
        "machine": f"{platform.system()} {platform.machine()}",
        "torch": torch.__version__,
        "threads": args.threads,
        "batch": args.batch,
        "config": CFG,
        "n_paths": jtfs.n_paths,
        "timed_paths": [int(p) for p in drawn],
        "full_s": t_full,
        "path_s_mean": float(np.mean(t_paths)),
        "time_ratio": t_full / float(np.mean(t_paths)),
        "full_flops": c_full,
        "path_flops_mean": float(total.mean()),
        "path_flops_min": float(total.min()),
        "path_flops_max": float(total.max()),
        "path_fft_share_median": float(np.median(fft_share)),
        "flop_ratio": c_full["total"] / float(total.mean()),
        "sum_paths_over_full": float(total.sum()) / c_full["total"],
        "full_gflops_per_s": c_full["total"] / t_full / 1e9,
        "path_gflops_per_s": float(np.mean([total[p] for p in drawn])) / np.mean(t_paths) / 1e9,
    }
    print(
        f"batch {args.batch}, {args.threads} thread(s): all {jtfs.n_paths} paths "
        f"{t_full:.2f} s, one path {1e3 * res['path_s_mean']:.0f} ms (mean of "
        f"{args.paths}): x{res['time_ratio']:.1f} in time"
    )
    print(
        f"counted: all paths {c_full['total'] / 1e9:.1f} GFLOP "
        f"({100 * c_full['matmul'] / c_full['total']:.0f}% matrix products); one path "
        f"{total.min() / 1e9:.2f}-{total.max() / 1e9:.2f} GFLOP (mean "
        f"{total.mean() / 1e9:.2f}): x{res['flop_ratio']:.0f}; FFT share per path "
        f"{100 * res['path_fft_share_median']:.0f}% (median); all paths one by one = "
        f"{res['sum_paths_over_full']:.1f}x the full transform"
    )
    print(
        f"rate: full {res['full_gflops_per_s']:.0f} GFLOP/s, "
        f"one path {res['path_gflops_per_s']:.0f} GFLOP/s"
    )
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(res, indent=1) + "\n")
    return res


if __name__ == "__main__":
    main()
