"""One classroom lab run with ``make_config`` overrides; prints one JSON line, appended to
``data/results/lab/theta_am_diagnosis/out/runs.jsonl``.

Usage (from the repository root; ``preset=...`` selects the preset, every other ``key=value``
is a :func:`scrapl_edu.lab.make_config` override, the value read as JSON)::

    OMP_NUM_THREADS=1 .venv/bin/python -m experiments.lab.theta_am_diagnosis.run_one TAG key=value ...

The numbers of FINDINGS.md ("(c) Runs", queue2.sh) came from, e.g.::

    python -m experiments.lab.theta_am_diagnosis.run_one lr3e-3 seed=0 lr=3e-3
    python -m experiments.lab.theta_am_diagnosis.run_one b2x1600 seed=0 batch_size=2 steps=1600 val_every=100
    python -m experiments.lab.theta_am_diagnosis.run_one steps2000 seed=0 steps=2000 val_every=100
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

from experiments.lab.theta_am_diagnosis.common import OUT
from scrapl_edu import lab


def parse_overrides(args: list[str]) -> dict[str, Any]:
    """``["seed=0", 'loss="jtfs"']`` -> ``{"seed": 0, "loss": "jtfs"}`` (values are JSON)."""
    return {k: json.loads(v) for k, v in (kv.split("=", 1) for kv in args)}


def run_one(tag: str, over: dict[str, Any]) -> dict[str, Any]:
    """Train one run (no folder) and return its record (test and validation theta L1, per mille)."""
    over = dict(over)
    preset = over.pop("preset", "classroom")
    cfg = lab.make_config(preset, **over)
    t = time.time()
    d = lab.run(cfg, out=None, progress=False).to_dict()
    every = max(1, 100 // cfg.val_every)
    return {
        "tag": tag,
        "preset": preset,
        "over": over,
        "theta": round(d["test_theta_l1_permille"], 1),
        "per_param": {k: round(v, 1) for k, v in d["test_theta_l1_permille_per_param"].items()},
        "val_am_fm_every_100": [
            [round(v) for v in pp] for pp in d["val_theta_l1_permille_per_param"]
        ][::every],
        "ms_per_step": round(d["ms_per_step"], 1),
        "theta_is_s": round(d["theta_is_s"], 1),
        "wall_s": round(time.time() - t, 1),
    }


def main(argv: list[str]) -> None:
    torch.set_num_threads(1)
    rec = run_one(argv[0], parse_overrides(argv[1:]))
    print(json.dumps(rec), flush=True)
    runs = Path(OUT) / "runs.jsonl"
    runs.parent.mkdir(parents=True, exist_ok=True)
    with runs.open("a") as f:
        f.write(json.dumps(rec) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
