"""SCRAPLOptimizer step time: this checkout against an earlier commit, side by side.

The earlier optimizer is read with ``git show REV:scrapl_edu/optim.py`` and imported under
another name, so both run in one process on the same parameters, gradients and path
sequence. Each round times ``--steps`` optimizer steps of A (before) and of B (now), in
turn (A B, then B A, ...), with gradients set from a fixed table (no forward pass), after a
warm-up that visits every path; the result is the ratio of the medians, B / A (below 1: now
is faster), and whether both reached the same weights::

    PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/bench_optim.py --before 599eaa3

Models: ``classroom`` (the lab's classroom encoder: 17 tensors, 24 562 weights, P = 63)
and ``paper`` (about 1.1 M weights in 6 tensors, P = 315). ``--control`` runs the earlier
optimizer in both arms: the spread of its ratios around 1 is the noise of the machine.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scrapl_edu import optim as now_module  # noqa: E402

# fmt: off
CLASSROOM = [(16, 1, 3, 3), (16,), (16,), (32, 16, 3, 3), (32,), (32,), (32, 32, 3, 3), (32,),
             (32,), (32, 32, 3, 3), (32,), (32,), (32, 32), (32,), (32,), (2, 32), (2,)]
# fmt: on
SHAPES = {
    "classroom": (63, CLASSROOM),
    "paper": (315, [(1024, 512), (1024,), (512, 1024), (512,), (16, 512), (16,)]),
}
SWITCHES = {
    "p_adam+p_saga": (True, True),
    "p_adam": (True, False),
    "p_saga": (False, True),
    "adamw": (False, False),
}


def load_before(rev: str) -> ModuleType:
    """The optimizer module of commit ``rev``, imported as ``optim_before``."""
    src = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{rev}:scrapl_edu/optim.py"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    path = Path(tempfile.mkdtemp()) / "optim_before.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("optim_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Arm:
    """One optimizer on its own copy of the parameters, stepping through a fixed table."""

    def __init__(self, module: ModuleType, shapes, n_paths: int, switches, seed: int) -> None:
        gen = torch.Generator().manual_seed(seed)
        self.params = [torch.nn.Parameter(torch.randn(s, generator=gen)) for s in shapes]
        self.grads = [[torch.randn(s, generator=gen) for s in shapes] for _ in range(8)]
        p_adam, p_saga = switches
        self.with_path = p_adam or p_saga
        self.opt = module.SCRAPLOptimizer(
            self.params, n_paths=n_paths, lr=1e-4, p_adam=p_adam, p_saga=p_saga
        )
        self.paths = torch.randint(0, n_paths, (100_000,), generator=gen).tolist()
        self.i = 0
        for path in range(n_paths):  # warm-up: every path visited once
            self.step(path)

    def step(self, path: int) -> None:
        for w, g in zip(self.params, self.grads[self.i % 8], strict=True):
            w.grad = g
        self.i += 1
        self.opt.step(path=path) if self.with_path else self.opt.step()

    def timed(self, n: int) -> float:
        t0 = time.perf_counter()
        for _ in range(n):
            self.step(self.paths[self.i % len(self.paths)])
        return (time.perf_counter() - t0) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default="599eaa3", help="commit of the baseline optimizer")
    ap.add_argument("--rounds", type=int, default=15, help="A/B rounds (default 15)")
    ap.add_argument("--steps", type=int, default=40, help="steps per round (default 40)")
    ap.add_argument("--models", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    ap.add_argument("--switches", nargs="+", default=list(SWITCHES), choices=list(SWITCHES))
    ap.add_argument(
        "--control", action="store_true", help="A/A: both arms run the earlier optimizer"
    )
    ap.add_argument("--out", type=Path, help="write the numbers as JSON here")
    args = ap.parse_args()
    torch.set_num_threads(1)
    before = load_before(args.before)
    rows = []
    for model in args.models:
        n_paths, shapes = SHAPES[model]
        for name in args.switches:
            a = Arm(before, shapes, n_paths, SWITCHES[name], seed=0)
            b = Arm(before if args.control else now_module, shapes, n_paths, SWITCHES[name], 0)
            ta, tb = [], []
            for r in range(args.rounds):  # A B, B A, A B, ...: neither always goes first
                if r % 2:
                    tb.append(b.timed(args.steps))
                    ta.append(a.timed(args.steps))
                else:
                    ta.append(a.timed(args.steps))
                    tb.append(b.timed(args.steps))
            same = all(torch.equal(x, y) for x, y in zip(a.params, b.params, strict=True))
            ma, mb = statistics.median(ta), statistics.median(tb)
            rows.append(
                {"model": model, "switches": name, "before_ms": 1e3 * ma, "now_ms": 1e3 * mb,
                 "ratio": mb / ma, "same_weights": same}
            )  # fmt: skip
            print(
                f"{model:9s} {name:14s} before {1e3 * ma:8.3f} ms  now {1e3 * mb:8.3f} ms  "
                f"now/before {mb / ma:.3f}  same weights: {same}",
                flush=True,
            )
    if args.out is not None:
        meta = {"before": args.before, "control": args.control, "torch": torch.__version__,
                "machine": platform.node(), "threads": 1, "rounds": args.rounds,
                "steps": args.steps}  # fmt: skip
        args.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
