"""JTFS speed: ours against scrapl-loss 0.1.0 (one path) and kymatio 0.4.0.dev0 (all paths).

All numbers come from one run, side by side, on the same machine and threads;
the output is ratios plus the raw medians. It needs the reference environment
(scrapl-loss vendors kymatio-dev, which cannot live beside kymatio 0.3.0):

    make fixtures                      # builds .venv-ref once (also writes test fixtures)
    .venv-ref/bin/python benchmarks/bench_jtfs.py --out data/results/bench_jtfs_cpu.json

Paper configuration (N=32768, J=12, Q=(8,2), J_fr=3, Q_fr=2, T=4096, F=8).
One path: forward + backward of ``sum(phi_p(x)^2)`` with batch 4, for a spread
of paths over every j2. Full transform: forward + backward of all 315 paths.
Without scrapl-loss installed (e.g. on a GPU box) the reference columns are skipped.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scrapl_edu.jtfs import JTFS  # noqa: E402

CFG = dict(shape=32768, J=12, Q1=8, Q2=2, J_fr=3, Q_fr=2, T=4096, F=8)


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(fn, device: str, repeats: int) -> float:
    """Median wall time of ``fn()`` over ``repeats`` runs after one warm-up."""
    fn()
    sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def once(fn, device: str) -> float:
    """Wall time of one call of ``fn()`` (no warm-up)."""
    t0 = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - t0


def fwd_bwd(f, x: torch.Tensor):
    def run():
        xr = x.detach().requires_grad_(True)
        y = f(xr)
        y.pow(2).sum().backward()

    return run


def spread_of_paths(jtfs: JTFS, per_j2: int) -> list[int]:
    """``per_j2`` paths for every j2: spin 0, +1, -1 in turn, mid-range n_fr."""
    out = []
    for j2 in sorted({p.j2 for p in jtfs.paths}):
        cands = [p for p in jtfs.paths if p.j2 == j2]
        picks = [c for c in cands if c.n_fr in (0, 2, jtfs.K_fr + 3)]
        out += [c.index for c in (picks or cands)[:per_j2]]
    return out


def load_reference():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from scrapl import SCRAPLLoss
    except ImportError:
        return None
    logging.getLogger("scrapl").setLevel(logging.ERROR)
    return SCRAPLLoss


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (CPU)")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--per-j2", type=int, default=2, help="paths timed per j2 value")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-full", action="store_true", help="skip the full-transform comparison")
    ap.add_argument("--full-batch", type=int, default=1)
    ap.add_argument("--full-repeats", type=int, default=3, help="timed runs of each full transform")
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    dev = args.device
    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.batch, 1, CFG["shape"], generator=g).to(dev)

    ours = JTFS(**CFG)
    SCRAPLLoss = load_reference()
    ref = None
    if SCRAPLLoss is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref_loss = SCRAPLLoss(**CFG, use_p_adam=False, use_p_saga=False, grad_mult=1.0)
        ref = ref_loss.jtfs.to(dev) if hasattr(ref_loss.jtfs, "to") else ref_loss.jtfs
        keys = ref_loss.scrapl_keys
        assert len(keys) == ours.n_paths, "path sets differ"

    rows = []
    paths = spread_of_paths(ours, args.per_j2)
    print(f"device={dev} threads={args.threads} batch={args.batch} paths={len(paths)}")
    print(f"{'path':>5} {'j2':>3} {'n1':>3} {'ours ms':>9} {'scrapl-loss ms':>15} {'ratio':>6}")
    for i in paths:
        p = ours.paths[i]
        t_ours = timed(fwd_bwd(lambda v, i=i: ours.path(v, i), x), dev, args.repeats)
        t_ref = None
        if ref is not None:
            n2, n_fr = keys[i]
            assert (n2, n_fr) == (p.n2, p.n_fr)

            def ref_path(v, n2=n2, n_fr=n_fr):
                return ref.scattering_singlepath(v, n2, n_fr)["coef"]

            t_ref = timed(fwd_bwd(ref_path, x), dev, args.repeats)
        rows.append(dict(path=i, j2=p.j2, n1=len(p.n1_used), ours_s=t_ours, ref_s=t_ref))
        ratio = f"{t_ref / t_ours:6.1f}" if t_ref else "     -"
        ref_ms = f"{t_ref * 1e3:15.1f}" if t_ref else f"{'-':>15}"
        print(f"{i:5d} {p.j2:3d} {len(p.n1_used):3d} {t_ours * 1e3:9.1f} {ref_ms} {ratio}")

    med_ours = statistics.median(r["ours_s"] for r in rows)
    result: dict = {
        "machine": f"{platform.node()} {platform.machine()} {platform.processor()}".strip(),
        "device": torch.cuda.get_device_name() if dev.startswith("cuda") else "cpu",
        "torch": torch.__version__,
        "threads": args.threads,
        "batch": args.batch,
        "config": CFG,
        "one_path": rows,
        "one_path_median_ms_ours": med_ours * 1e3,
    }
    if ref is not None:
        med_ref = statistics.median(r["ref_s"] for r in rows)
        result["one_path_median_ms_ref"] = med_ref * 1e3
        result["one_path_median_speedup"] = med_ref / med_ours
        result["one_path_speedup_per_path_median"] = statistics.median(
            r["ref_s"] / r["ours_s"] for r in rows
        )
        print(
            f"one path, median over paths: ours {med_ours * 1e3:.1f} ms, scrapl-loss "
            f"{med_ref * 1e3:.1f} ms -> x{med_ref / med_ours:.1f}"
        )
    else:
        print(f"one path, median over paths: ours {med_ours * 1e3:.2f} ms")

    try:
        import auraloss

        mss = auraloss.freq.MultiResolutionSTFTLoss().to(dev)
        y = torch.randn_like(x)
        t_mss = timed(fwd_bwd(lambda v: mss(v, y), x), dev, args.repeats)
        result["mss_ms"] = t_mss * 1e3
        print(f"auraloss MultiResolutionSTFTLoss fwd+bwd: {t_mss * 1e3:.1f} ms")
    except ImportError:
        pass

    if not args.no_full:
        xf = x[: args.full_batch]
        run_ours = fwd_bwd(ours, xf)
        run_kdev = None
        if SCRAPLLoss is not None:
            from kymatio.torch import TimeFrequencyScattering

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                kdev = TimeFrequencyScattering(
                    shape=CFG["shape"],
                    J=CFG["J"],
                    Q=(CFG["Q1"], CFG["Q2"]),
                    J_fr=CFG["J_fr"],
                    Q_fr=CFG["Q_fr"],
                    T=CFG["T"],
                    F=CFG["F"],
                    format="joint",
                ).to(dev)
            run_kdev = fwd_bwd(kdev, xf)
        # interleaved: each repeat times ours and then kymatio-dev, so that a slow spell
        # of a shared machine hits both sides of a ratio
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for fn in (run_ours, run_kdev):  # warm-up
                if fn is not None:
                    fn()
                    sync(dev)
            pairs = []
            for _ in range(args.full_repeats):
                t_o = once(run_ours, dev)
                t_k = once(run_kdev, dev) if run_kdev is not None else None
                pairs.append((t_o, t_k))
        t_full = statistics.median(p[0] for p in pairs)
        result["full_ms_ours"] = t_full * 1e3
        result["full_batch"] = args.full_batch
        result["full_repeats"] = args.full_repeats
        print(f"all {ours.n_paths} paths fwd+bwd, batch {args.full_batch}: ours {t_full:.2f} s")
        if run_kdev is not None:
            t_kdev = statistics.median(p[1] for p in pairs)
            ratios = [k / o for o, k in pairs]
            result["full_ms_kymatio_dev"] = t_kdev * 1e3
            result["full_speedup"] = t_kdev / t_full
            result["full_speedup_per_repeat"] = ratios
            print(
                f"kymatio-dev full JTFS: {t_kdev:.2f} s -> x{t_kdev / t_full:.1f} "
                f"(per repeat: {', '.join(f'x{r:.1f}' for r in ratios)})"
            )
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=2))
        print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
