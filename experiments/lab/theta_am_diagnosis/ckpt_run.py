"""Train one lab config and keep copies of its full checkpoint (encoder + optimizer + sampler)
at given steps, via ``stop_after`` / ``resume`` (bit-identical to an uninterrupted run).

Usage (``key=value`` are :func:`scrapl_edu.lab.make_config` overrides, values as JSON)::

    python -m experiments.lab.theta_am_diagnosis.ckpt_run OUTDIR STEP1,STEP2,... key=value ...

The checkpoints FINDINGS.md probes (queue1.sh), e.g.::

    python -m experiments.lab.theta_am_diagnosis.ckpt_run \\
        data/results/lab/theta_am_diagnosis/out/scrapl_s0 100,200,399 seed=0
    python -m experiments.lab.theta_am_diagnosis.ckpt_run \\
        data/results/lab/theta_am_diagnosis/out/jtfs_s0 50,100,200,300 seed=0 loss='"jtfs"'
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import torch

from experiments.lab.theta_am_diagnosis.run_one import parse_overrides
from scrapl_edu import lab


def main(argv: list[str]) -> None:
    torch.set_num_threads(1)
    out, stops = Path(argv[0]), [int(s) for s in argv[1].split(",")]
    over = parse_overrides(argv[2:])
    cfg = lab.make_config("classroom", **over)
    t = time.time()
    first = True
    for s in stops:
        if s >= cfg.steps:
            continue
        lab.run(
            cfg, out=out / "run", overwrite=first, resume=not first, progress=False, stop_after=s
        )
        first = False
        shutil.copy(out / "run" / lab.CHECKPOINT, out / f"ckpt_{s}.pt")
        print("saved", s, round(time.time() - t, 1), flush=True)
    res = lab.run(cfg, out=out / "run", overwrite=first, resume=not first, progress=False)
    d = res.to_dict()
    rec = {
        "over": over,
        "theta": round(d["test_theta_l1_permille"]),
        "per_param": {k: round(v) for k, v in d["test_theta_l1_permille_per_param"].items()},
        "val_pp": d["val_theta_l1_permille_per_param"][::4],
        "wall": round(time.time() - t, 1),
    }
    print(json.dumps(rec))


if __name__ == "__main__":
    main(sys.argv[1:])
