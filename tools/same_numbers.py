"""Do two versions of the package train the same runs to the same numbers? (issue 17)

A refactor of the lab must leave training alone: the same seed gives the same ``results.json``
numbers. ``run`` trains a fixed set of fast-mode runs (every loss kind, SCRAPL's switches,
both path losses, the granular and drum synths; :data:`RUNS`) with the package found on
``PYTHONPATH`` and writes them under ``OUT``; ``diff`` compares two such folders number by
number (timings, memory and the recorded config aside) and exits 1 on any difference::

    PYTHONPATH=/path/to/old OMP_NUM_THREADS=1 python tools/same_numbers.py run /tmp/before
    PYTHONPATH=. OMP_NUM_THREADS=1 python tools/same_numbers.py run /tmp/after
    python tools/same_numbers.py diff /tmp/before /tmp/after

Runs go through the command line (``python -m scrapl_edu.lab run``), which every version of the
lab has, with ``SCRAPL_EDU_FAST=1`` read at that entry point.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

#: name -> extra arguments of ``python -m scrapl_edu.lab run`` (seed 0 of each)
RUNS: dict[str, list[str]] = {
    "p_loss": ["--preset", "classroom", "--loss", "p_loss"],
    "mss": ["--preset", "classroom", "--loss", "mss"],
    "jtfs": ["--preset", "classroom", "--loss", "jtfs"],
    "jtfs_first_order": ["--preset", "classroom", "--loss", "jtfs", "--jtfs-first-order"],
    "scrapl": ["--preset", "classroom", "--loss", "scrapl"],
    "scrapl_uniform": ["--preset", "classroom", "--loss", "scrapl", "--no-theta-is"],
    "scrapl_sampling_only": [
        "--preset",
        "classroom",
        "--loss",
        "scrapl",
        "--no-p-adam",
        "--no-p-saga",
        "--no-theta-is",
    ],
    "scrapl_norm": ["--preset", "classroom", "--loss", "scrapl", "--path-loss", "norm"],
    "scrapl_adaptive": ["--preset", "classroom", "--loss", "scrapl", "--sampling", "adaptive"],
    "granular_scrapl": ["--preset", "classroom_granular", "--loss", "scrapl"],
    "paper_regime_scrapl": ["--preset", "classroom_paper", "--loss", "scrapl"],
    "drums_scrapl": ["--preset", "drums_micro", "--loss", "scrapl"],
    "drums_mss": ["--preset", "drums_micro", "--loss", "mss"],
}
SEEDS = (0,)
#: results.json keys that are not training's numbers (time, memory, where it ran, the config)
SKIP = {"config", "ms_per_step", "wall_s", "theta_is_s", "peak_rss_mb", "applied_s", "device"}
SKIP_DEEP = {"seconds", "wall_s", "ms", "s"}


def run_all(out: Path) -> int:
    """Train every run of :data:`RUNS` at each seed of :data:`SEEDS` into ``out``."""
    env = {**os.environ, "SCRAPL_EDU_FAST": "1"}
    failed = 0
    for name, args in RUNS.items():
        for seed in SEEDS:
            folder = out / name / f"seed{seed}"
            if (folder / "results.json").is_file():
                continue  # trained already (a rerun of the same command resumes the set)
            cmd = [sys.executable, "-m", "scrapl_edu.lab", "run", *args, "--seed", str(seed)]
            cmd += ["--out", str(folder), "--threads", "1", "--no-progress", "--overwrite"]
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
            status = "ok" if proc.returncode == 0 else f"FAILED ({proc.returncode})"
            print(f"{name} seed {seed}: {status}", flush=True)
            if proc.returncode:
                failed += 1
                print(proc.stderr[-2000:], file=sys.stderr)
    return failed


def _numbers(obj: Any, where: str = "") -> dict[str, Any]:
    """Flatten ``obj`` to ``{path: leaf}``, leaving out the keys of :data:`SKIP_DEEP`."""
    flat: dict[str, Any] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k not in SKIP_DEEP:
                flat.update(_numbers(v, f"{where}.{k}"))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            flat.update(_numbers(v, f"{where}[{i}]"))
    else:
        flat[where] = obj
    return flat


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def diff(before: Path, after: Path) -> int:
    """Compare every run's ``results.json`` numbers; print each difference; count the runs."""
    runs = sorted(p.parent.relative_to(before) for p in before.rglob("results.json"))
    bad = 0
    for rel in runs:
        old = json.loads((before / rel / "results.json").read_text())
        new_file = after / rel / "results.json"
        if not new_file.is_file():
            print(f"{rel}: missing in {after}")
            bad += 1
            continue
        new = json.loads(new_file.read_text())
        a = _numbers({k: v for k, v in old.items() if k not in SKIP})
        b = _numbers({k: v for k, v in new.items() if k not in SKIP})
        differ = sorted(k for k in a.keys() | b.keys() if not _same(a.get(k), b.get(k)))
        if differ:
            bad += 1
            print(f"{rel}: {len(differ)} numbers differ, e.g. {differ[:3]}")
    print(f"{len(runs) - bad} of {len(runs)} runs give the same numbers")
    return 1 if bad or not runs else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="train the fixed set of fast-mode runs")
    r.add_argument("out", type=Path)
    d = sub.add_parser("diff", help="compare two folders of runs")
    d.add_argument("before", type=Path)
    d.add_argument("after", type=Path)
    args = ap.parse_args(argv)
    if args.cmd == "run":
        return 1 if run_all(args.out) else 0
    return diff(args.before, args.after)


if __name__ == "__main__":
    raise SystemExit(main())
