"""The lab on a GPU against the CPU (issue 13: "lab run --device cuda and the CPU give the same
test θ L1 within a tolerance on a fast-mode run"), for a machine with CUDA.

For each loss (P-loss, MSS, JTFS, SCRAPL with P-Adam, P-SAGA and θ-IS) one fast-mode run of
the classroom preset on the CPU and one on CUDA, same seed: the data, batches, shifts and
paths are the same (CPU generators), so the two runs differ only by float32 rounding on the
GPU. Reported: test θ L1 on each device and the difference (tolerance ``--tol`` ‰), the paths
drawn (must be equal), ms/step and peak GPU memory. Then checkpoints across devices: a run
stopped after 3 steps on one device and resumed on the other finishes, and its test θ L1 is
within the tolerance of the uninterrupted run; a CUDA run resumed on CUDA is compared with the
uninterrupted CUDA run (equal up to CUDA's non-deterministic sums). Exits 1 if a check fails.

    python benchmarks/gpu_lab_check.py --out data/results/gpu_lab_check.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scrapl_edu.lab import make_config, run  # noqa: E402
from scrapl_edu.lab.device import device_label, resolve_device  # noqa: E402

LOSSES = ("p_loss", "mss", "jtfs", "scrapl")


def _run(cfg, device, out=None, **kw):
    return run(cfg, out, progress=False, device=device, **kw)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="classroom")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tol", type=float, default=1.0, help="test θ L1 tolerance in ‰ (default 1)")
    ap.add_argument("--full", action="store_true", help="classroom sizes instead of fast mode")
    ap.add_argument("--out", type=Path, help="write the report as JSON")
    args = ap.parse_args(argv)
    gpu = resolve_device("cuda")  # this check needs a GPU: say so at once
    torch.set_num_threads(1)
    fast = not args.full
    report: dict = {"machine": device_label(gpu), "torch": torch.__version__, "runs": {}}
    ok = True
    for loss in LOSSES:
        cfg = make_config(args.preset, fast=fast, loss=loss, seed=args.seed)
        cpu, cuda = _run(cfg, "cpu"), _run(cfg, gpu)
        diff = abs(cpu.test_theta_l1_permille - cuda.test_theta_l1_permille)
        same_paths = cpu.history["path"] == cuda.history["path"]
        report["runs"][loss] = {
            "cpu_theta_l1": cpu.test_theta_l1_permille,
            "cuda_theta_l1": cuda.test_theta_l1_permille,
            "abs_diff_permille": diff,
            "same_paths": same_paths,
            "cpu_ms_per_step": cpu.ms_per_step,
            "cuda_ms_per_step": cuda.ms_per_step,
            "cuda_peak_mb": cuda.peak_device_mb,
            "cuda_device": cuda.device,
        }
        ok &= diff <= args.tol and same_paths
        print(
            f"{loss:7s} θ L1 cpu {cpu.test_theta_l1_permille:8.3f} cuda "
            f"{cuda.test_theta_l1_permille:8.3f} |Δ| {diff:.2e} ‰ paths equal {same_paths} "
            f"ms/step {cpu.ms_per_step:.1f} / {cuda.ms_per_step:.1f}"
        )
    # checkpoints across devices (SCRAPL: optimizer state per path, sampler, θ-IS's π)
    cfg = make_config(args.preset, fast=fast, loss="scrapl", seed=args.seed)
    whole = {"cpu": _run(cfg, "cpu"), "cuda": _run(cfg, gpu)}
    with tempfile.TemporaryDirectory() as tmp:
        for first, then in (("cpu", "cuda"), ("cuda", "cpu"), ("cuda", "cuda")):
            folder = Path(tmp) / f"{first}_{then}"
            assert _run(cfg, first if first == "cpu" else gpu, folder, stop_after=3) is None
            res = _run(cfg, then if then == "cpu" else gpu, folder, resume=True)
            ref = whole[then].test_theta_l1_permille
            diff = abs(res.test_theta_l1_permille - ref)
            report["runs"][f"resume_{first}_to_{then}"] = {
                "theta_l1": res.test_theta_l1_permille,
                "uninterrupted_on_" + then: ref,
                "abs_diff_permille": diff,
                "device": res.device,
            }
            ok &= diff <= args.tol
            print(f"resume {first} -> {then}: θ L1 {res.test_theta_l1_permille:.3f} |Δ| {diff:.2e}")
    report["ok"] = bool(ok)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1))
        print(f"-> {args.out}")
    print("OK" if ok else f"FAIL (tolerance {args.tol} ‰ or paths differ)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
