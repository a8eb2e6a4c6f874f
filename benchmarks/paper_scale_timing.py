"""SCRAPL, the full JTFS, MSS and P-loss timed side by side at paper scale (Table 5).

The paper's Table 5 (Appendix B): one optimization step of each loss, forward + backward, on
32768 samples of audio, batch 4, one CPU thread, float32, on one NVIDIA RTX A5000. Median
milliseconds: JTFS 1730, SCRAPL 89.8 (each path timed on its own, median over the paths),
MSS log + linear 19.1, P-loss 0.516. So SCRAPL/MSS = 4.7 and JTFS/SCRAPL = 19.3.

Two measurements, in one process, the methods interleaved within every repeat (the order
rotates), after a warm-up of each, with ``torch.cuda.synchronize()`` around every timed call
on a GPU:

* ``loss`` (Table 5): forward + backward of the loss alone on rendered signals: the full JTFS
  loss (Eq. 3, all P paths), SCRAPL's one-path loss L_p for ``--paths`` paths (all P on a GPU,
  evenly spread otherwise), MSS log + linear (auraloss, the lab's sizes) and the P-loss (L1 on
  θ, dim 2). Optionally ``SCRAPL (CUDA graph)``: the same paths replayed from CUDA graphs
  (:class:`scrapl_edu.cuda_graphs.CUDAGraphPathLoss`).
* ``step``: one whole training step of the lab at the paper's batch (Tables 10-11: 32):
  encoder, synth, loss, backward and the optimizer's step (:func:`scrapl_edu.lab.train.train_step`,
  SCRAPL with P-Adam and P-SAGA), for each loss.
* ``theta_is``: θ-IS's cost per (example, path) at the preset's power iterations (Eq. 10-12,
  double backward), extrapolated from 1 and 3 iterations, and the whole θ-IS it implies
  (N_IS x P of them: Table 10's 320 x 315 for ``granular``).

``--preset`` takes several presets: by default ``granular`` (Table 5's task) and, on a GPU,
``drums_paper_meso`` (Table 12: 44.1 kHz, 44100 samples, P = 483, ρ = log1p, batch 8; the
paper gives no timing for it).

Medians and interquartile ranges are over the repeats (for SCRAPL: the median over paths of
each path's median, the IQR over paths, as Table 5). Peak memory on a GPU is torch's
``max_memory_allocated`` during the warm-up of each method. The results go to
``data/results/paper_scale_timing_<device>.json`` (or ``--out``)::

    python benchmarks/paper_scale_timing.py --device cuda --cuda-graphs   # the GPU table
    python benchmarks/paper_scale_timing.py --device cpu --quick          # a smoke run
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scrapl_edu.jtfs import JTFS  # noqa: E402
from scrapl_edu.lab import make_config  # noqa: E402
from scrapl_edu.lab.device import device_label, resolve_device  # noqa: E402
from scrapl_edu.lab.train import build_parts, mss_sizes, train_step  # noqa: E402
from scrapl_edu.losses import JTFSLoss, mss_loss, path_distance  # noqa: E402
from scrapl_edu.presets import PRESETS, get_preset, shrink  # noqa: E402
from scrapl_edu.synths import sample_theta  # noqa: E402
from scrapl_edu.theta_is import theta_importance_sampling  # noqa: E402

#: Table 5 of the paper (RTX A5000, batch 4, 32768 samples): median ms and IQR ms
PAPER_A5000 = {
    "JTFS": {"median_ms": 1730.0, "iqr_ms": 23.9, "max_mb": 12967},
    "SCRAPL": {"median_ms": 89.8, "iqr_ms": 3.62, "max_mb": 2503},
    "MSS log + linear": {"median_ms": 19.1, "iqr_ms": 0.696, "max_mb": 702},
    "P-loss": {"median_ms": 0.516, "iqr_ms": 0.108, "max_mb": 625},
}
PAPER_RATIOS = {
    "SCRAPL/MSS": PAPER_A5000["SCRAPL"]["median_ms"] / PAPER_A5000["MSS log + linear"]["median_ms"],
    "JTFS/SCRAPL": PAPER_A5000["JTFS"]["median_ms"] / PAPER_A5000["SCRAPL"]["median_ms"],
}
LOSS_OF = {"JTFS": "jtfs", "SCRAPL": "scrapl", "MSS log + linear": "mss", "P-loss": "p_loss"}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn: Callable[[], None], device: torch.device) -> float:
    _sync(device)
    t0 = time.perf_counter()
    fn()
    _sync(device)
    return (time.perf_counter() - t0) * 1000.0


def _peak_mb(fn: Callable[[], None], device: torch.device) -> float | None:
    """Run ``fn`` once (the warm-up) and return torch's peak GPU memory during it."""
    if device.type != "cuda":
        fn()
        return None
    _sync(device)
    torch.cuda.reset_peak_memory_stats(device)
    fn()
    _sync(device)
    return torch.cuda.max_memory_allocated(device) / 2.0**20


def _stats(ms: list[float]) -> dict:
    q1, q3 = np.percentile(ms, [25, 75])
    return {"median_ms": float(np.median(ms)), "iqr_ms": float(q3 - q1), "times_ms": ms}


def _signals(preset, batch: int, device: torch.device, seed: int):
    """A target and a reconstruction rendered by the preset's synth (random θ), on device."""
    synth = preset.synth.build()
    g = torch.Generator().manual_seed(seed)
    theta = sample_theta(2 * batch, generator=g, n_params=synth.n_params)
    with torch.no_grad():
        audio = synth(theta, seed=list(range(2 * batch)))
    return audio[:batch].to(device), audio[batch:].to(device), theta[:batch].to(device)


def _mss_sizes(preset) -> dict:
    """The lab's MSS sizes: the paper's FFT sizes in seconds of 8192 Hz (44.1 kHz for drums)."""
    cfg = preset.synth
    ref_sr = 44100.0 if getattr(cfg, "kind", "") == "drums" else 8192.0
    return mss_sizes("log_linear", cfg.n_samples, 8192.0 * cfg.sr / ref_sr)


def time_losses(args, preset, device: torch.device) -> dict:
    """Table 5: forward + backward of each loss alone, interleaved."""
    x, x_hat0, theta = _signals(preset, args.batch, device, args.seed)
    rho = preset.options.get("rho") if hasattr(preset, "options") else None
    jtfs = JTFS(**preset.jtfs_kwargs())
    P = jtfs.n_paths
    paths = list(range(P)) if args.paths >= P else np.linspace(0, P - 1, args.paths).round()
    paths = sorted({int(p) for p in paths})
    full = JTFSLoss(jtfs, rho=rho)
    mss = mss_loss("log_linear", **_mss_sizes(preset))

    def leaf(t):
        return t.detach().clone().requires_grad_(True)

    def run_full():
        full(leaf(x_hat0), x).backward()

    def run_mss():
        mss(leaf(x_hat0), x).backward()

    def run_ploss():
        (leaf(theta.flip(0)) - theta).abs().mean().backward()

    def scrapl(p, loss=None):
        def go():
            if loss is None:
                path_distance(jtfs, leaf(x_hat0), x, p, rho).backward()
            else:
                loss(leaf(x_hat0), x, p).backward()

        return go

    methods: dict[str, list[Callable[[], None]]] = {
        "JTFS": [run_full],
        "SCRAPL": [scrapl(p) for p in paths],
        "MSS log + linear": [run_mss],
        "P-loss": [run_ploss],
    }
    if args.cuda_graphs:
        from scrapl_edu.cuda_graphs import CUDAGraphPathLoss

        graphed = CUDAGraphPathLoss(jtfs, rho=rho)
        methods["SCRAPL (CUDA graph)"] = [scrapl(p, graphed) for p in paths]
    peak = {name: max((_peak_mb(f, device) or 0.0) for f in fns) for name, fns in methods.items()}
    times: dict[str, list[list[float]]] = {n: [[] for _ in fns] for n, fns in methods.items()}
    names = list(methods)
    for r in range(args.repeats):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            for k, fn in enumerate(methods[name]):
                times[name][k].append(_timed(fn, device))
    out = {}
    for name in names:
        if len(times[name]) == 1:
            out[name] = _stats(times[name][0])
        else:  # SCRAPL: each path's median, then the median and IQR over paths
            per_path = [statistics.median(t) for t in times[name]]
            out[name] = _stats(per_path)
            out[name]["paths"] = paths
        out[name]["peak_mb"] = peak[name] if device.type == "cuda" else None
    return out


def time_theta_is(args, preset_name: str, device: torch.device) -> dict:
    """θ-IS's cost (Eq. 10-12) per (example, path) at the preset's power iterations.

    θ-IS runs once before training: for each of N_IS examples and P paths, U power iterations
    of Hessian-vector products (double backward). Timed for a few paths with 1 and 3
    iterations; the cost at the preset's ``n_iter`` is extrapolated linearly in the
    iterations, and the whole θ-IS as N_IS x P times the median.
    """
    cfg = make_config(preset_name, fast=args.fast, loss="scrapl", n_examples=16, steps=10**6)
    parts, state = build_parts(cfg, device)
    P = parts.n_paths
    paths = sorted({int(p) for p in np.linspace(0, P - 1, min(P, args.theta_is_paths)).round()})
    x = parts.data["x_train"][:1]
    state.encoder.eval()

    def one(p: int, n_iter: int) -> Callable[[], None]:
        def go() -> None:
            theta_importance_sampling(
                state.encoder,
                parts.synth,
                state.loss_fn.path_loss,
                x,
                n_iter,
                n_paths=P,
                paths=[p],
                progress=False,
            )

        return go

    per_path = []
    for p in paths:
        one(p, 1)()  # warm-up
        t1, t3 = _timed(one(p, 1), device), _timed(one(p, 3), device)
        per_path.append(t1 + (cfg.theta_is_iters - 1) * max(t3 - t1, 0.0) / 2)
    s = _stats(per_path)
    return {
        **s,
        "paths": paths,
        "n_iter": cfg.theta_is_iters,
        "n_examples": cfg.theta_is_examples,
        "n_paths": P,
        "estimated_total_s": s["median_ms"] * cfg.theta_is_examples * P / 1000.0,
    }


def time_steps(args, preset_name: str, device: torch.device, batch: int) -> dict:
    """One lab training step (encoder + synth + loss + backward + optimizer) per loss."""
    out = {}
    for name, loss in LOSS_OF.items():
        n_examples = math.ceil(batch / 0.6) + 8
        cfg = make_config(
            preset_name,
            fast=args.fast,
            loss=loss,
            batch_size=batch,
            n_examples=n_examples,
            theta_is=False,
            steps=10**6,
        )
        parts, state = build_parts(cfg, device)
        step = partial(train_step, parts, state)
        peak = _peak_mb(step, device)  # the warm-up
        ms = [_timed(step, device) for _ in range(args.step_repeats)]
        out[name] = {**_stats(ms), "peak_mb": peak}
    return out


def _ratios(res: dict) -> dict:
    m = {k: v["median_ms"] for k, v in res.items()}
    r = {"SCRAPL/MSS": m["SCRAPL"] / m["MSS log + linear"], "JTFS/SCRAPL": m["JTFS"] / m["SCRAPL"]}
    if "SCRAPL (CUDA graph)" in m:
        r["SCRAPL eager/graph"] = m["SCRAPL"] / m["SCRAPL (CUDA graph)"]
    return r


def table(result: dict, name: str) -> str:
    """The markdown tables of one preset of a result (ours next to the paper's A5000)."""
    lines = [f"#### {name} on {result['machine']['device']}", ""]
    result = result["presets"][name]
    if "loss" in result:
        c = result["config"]
        lines += [
            f"Loss alone, forward + backward (Table 5), batch {c['batch']}, "
            f"{c['n_samples']} samples at {c['sr']:g} Hz, P = {c['n_paths']}:",
            "",
            "| Method | median ms | IQR ms | peak MB | paper A5000 median ms |",
            "|---|---|---|---|---|",
        ]
        table5 = c["preset"] == "granular"  # the paper timed the granular task only
        for name, s in result["loss"].items():
            paper = PAPER_A5000.get(name, {}).get("median_ms") if table5 else None
            peak = "–" if s["peak_mb"] is None else f"{s['peak_mb']:.0f}"
            note = f" ({len(s['paths'])} paths)" if "paths" in s else ""
            lines.append(
                f"| {name}{note} | {s['median_ms']:.4g} | {s['iqr_ms']:.3g} | {peak} | "
                f"{'–' if paper is None else paper} |"
            )
        r, rp = result["ratios"], (PAPER_RATIOS if table5 else {})
        lines += ["", "| ratio | ours | paper A5000 |", "|---|---|---|"]
        for k, v in r.items():
            lines.append(
                f"| {k} | {v:.3g} | {rp[k]:.3g} |" if k in rp else f"| {k} | {v:.3g} | – |"
            )
    if "step" in result:
        lines += [
            "",
            f"One lab training step (encoder + synth + loss + backward + optimizer), batch "
            f"{result['config']['step_batch']}:",
            "",
            "| Method | median ms | IQR ms | peak MB |",
            "|---|---|---|---|",
        ]
        for name, s in result["step"].items():
            peak = "–" if s["peak_mb"] is None else f"{s['peak_mb']:.0f}"
            lines.append(f"| {name} | {s['median_ms']:.4g} | {s['iqr_ms']:.3g} | {peak} |")
    if "theta_is" in result:
        t = result["theta_is"]
        lines += [
            "",
            f"θ-IS (Eq. 10-12): {t['median_ms']:.4g} ms per (example, path) at {t['n_iter']} "
            f"power iterations (median of {len(t['paths'])} paths, extrapolated from 1 and 3); "
            f"N_IS = {t['n_examples']} examples x P = {t['n_paths']} paths: about "
            f"{t['estimated_total_s'] / 3600:.3g} h.",
        ]
    return "\n".join(lines) + "\n"


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto", help="auto (default), cpu, cuda or cuda:N")
    ap.add_argument(
        "--what",
        choices=("loss", "step", "theta_is", "both", "all"),
        default="all",
        help="loss (Table 5), step (a training step), theta_is, both (loss + step), all",
    )
    ap.add_argument("--theta-is-paths", type=int, help="paths θ-IS is timed on (default 4)")
    ap.add_argument(
        "--preset",
        nargs="+",
        help="paper-scale presets (default granular, and drums_paper_meso on a GPU)",
    )
    ap.add_argument("--batch", type=int, help="loss batch (default 4, Table 5; --quick: 1)")
    ap.add_argument(
        "--step-batch", type=int, help="step batch (default: the preset's, 32 or 8; --quick: 2)"
    )
    ap.add_argument("--paths", type=int, help="SCRAPL paths timed (default all on CUDA, else 8)")
    ap.add_argument("--repeats", type=int, help="interleaved repeats (default 10; --quick: 2)")
    ap.add_argument("--step-repeats", type=int, help="training steps timed (default 10; quick 2)")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads (default 1, as Table 5)")
    ap.add_argument("--cuda-graphs", action="store_true", help="also SCRAPL from CUDA graphs")
    ap.add_argument("--quick", action="store_true", help="small batch and few repeats (CPU smoke)")
    ap.add_argument("--fast", action="store_true", help="the shrunk preset (tests only)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, help="JSON file (default data/results/...<device>.json)")
    args = ap.parse_args(argv)
    try:
        device = resolve_device(args.device)
    except ValueError as err:
        ap.exit(2, f"paper_scale_timing: error: {err}\n")
    if args.cuda_graphs and device.type != "cuda":
        ap.error("--cuda-graphs needs --device cuda (CUDA graphs exist only on a GPU)")
    q = args.quick
    args.batch = args.batch or (1 if q else 4)
    if args.preset is None:
        drums = "drums_paper_meso" in PRESETS and device.type == "cuda" and not q
        args.preset = ["granular"] + (["drums_paper_meso"] if drums else [])
    args.repeats = args.repeats or (2 if q else 10)
    args.step_repeats = args.step_repeats or (2 if q else 10)
    args.theta_is_paths = args.theta_is_paths or (2 if q else 4)
    args.paths = args.paths or (10**9 if device.type == "cuda" and not q else 8)
    for name in ("batch", "step_batch", "repeats", "step_repeats", "paths", "threads",
                 "theta_is_paths"):  # fmt: skip
        if getattr(args, name) is not None and getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    torch.set_num_threads(args.threads)
    result: dict = {
        "machine": {
            "device": device_label(device),
            "cpu": _cpu_name(),
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "threads": args.threads,
        },
        "paper_a5000": PAPER_A5000,
        "paper_ratios": PAPER_RATIOS,
        "command": "python benchmarks/paper_scale_timing.py " + " ".join(argv or sys.argv[1:]),
        "presets": {},
    }
    for name in args.preset:
        try:
            preset = shrink(name) if args.fast else get_preset(name)
        except ValueError as err:
            ap.exit(2, f"paper_scale_timing: error: {err}\n")
        step_batch = args.step_batch or (2 if q else preset.train.batch_size)
        one: dict = {
            "config": {
                "preset": preset.name,
                "fast": preset.fast,
                "n_samples": preset.synth.n_samples,
                "sr": preset.synth.sr,
                "jtfs": preset.jtfs,
                "n_paths": JTFS(**preset.jtfs_kwargs()).n_paths,
                "batch": args.batch,
                "step_batch": step_batch,
                "repeats": args.repeats,
                "step_repeats": args.step_repeats,
                "quick": q,
            }
        }
        result["presets"][name] = one
        if args.what in ("loss", "both", "all"):
            one["loss"] = time_losses(args, preset, device)
            one["ratios"] = _ratios(one["loss"])
        if args.what in ("step", "both", "all"):
            one["step"] = time_steps(args, name, device, step_batch)
        if args.what in ("theta_is", "all"):
            one["theta_is"] = time_theta_is(args, name, device)
        print(table(result, name))
    slug = "cpu" if device.type == "cpu" else re.sub(r"\W+", "_", result["machine"]["device"])
    out = (
        args.out or ROOT / "data" / "results" / f"paper_scale_timing_{slug.strip('_').lower()}.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(f"-> {out}")
    return result


if __name__ == "__main__":
    main()
