"""The command line (``python -m scrapl_edu.lab`` and the ``scrapl-edu`` console script).

An entry point: it reads fast mode from the environment (``SCRAPL_EDU_FAST=1``,
:func:`scrapl_edu.config.fast_mode`; ``run --fast`` / ``--no-fast`` says it on the command
line instead, as ``compare`` does for each run it starts) and draws the figures
(:mod:`scrapl_edu.viz`). ``run``'s flags are made from :class:`~scrapl_edu.lab.LabConfig`
(:mod:`scrapl_edu.lab.run_args`)::

    python -m scrapl_edu.lab run --preset classroom --loss scrapl --seed 0 --out out/run
    python -m scrapl_edu.lab compare --table losses --seeds 0 1 2 --out out/losses --jobs 2
    python -m scrapl_edu.lab theta-is --out out/theta_is_probs
    python -m scrapl_edu.lab theta-is-quality --preset classroom --out out/theta_is_quality
    python -m scrapl_edu.lab paired data/results/lab/ablation   # paired stats from summary.json
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from scrapl_edu import viz
from scrapl_edu.config import fast_mode
from scrapl_edu.lab.cluster import crash_hook
from scrapl_edu.lab.comparison import check_run_argv, compare, refresh_summary, validation_curves
from scrapl_edu.lab.config import MAX_SEED, ROWS, TABLES
from scrapl_edu.lab.device import resolve_device
from scrapl_edu.lab.files import write_figures
from scrapl_edu.lab.results import RESULTS_JSON
from scrapl_edu.lab.run_args import add_run_args, config_from_args
from scrapl_edu.lab.theta_box import theta_is_presets
from scrapl_edu.lab.theta_is_quality import theta_is_quality
from scrapl_edu.lab.train import RunInterrupted, run
from scrapl_edu.presets import PRESETS, chirplet_tags

#: the presets of ``compare --table drums`` when no ``--preset`` is given (Tables 4, 8-9)
DRUM_PRESETS = ("drums_micro", "drums_meso")
#: the most threads a run may ask for (a typo such as --threads 4000 is refused)
MAX_THREADS = 1024

__all__ = ["main", "parser"]


def parser() -> argparse.ArgumentParser:
    """The ``scrapl-edu`` argument parser (``run``, ``compare``, ``paired``, ``theta-is``,
    ``theta-is-quality``)."""
    ap = argparse.ArgumentParser(
        prog="scrapl-edu",
        description="SCRAPL sound-matching lab (Sections 4.2-4.3 of the paper). "
        "Set SCRAPL_EDU_FAST=1 for a seconds-long smoke run.",
    )
    sub = ap.add_subparsers(dest="cmd", required=True)
    _add_run_parser(sub)
    _add_compare_parser(sub)
    pr = sub.add_parser(
        "paired", help="paired statistics of finished comparisons from their summary.json"
    )
    pr.add_argument("dirs", nargs="+", help="comparison folders (each with summary.json)")
    pr.add_argument("--pairs", nargs="*", metavar="A:B", help="rows compared, B - A")
    _add_theta_is_parsers(sub)
    return ap


def _add_run_parser(sub: Any) -> None:
    """``run``: one flag per configuration field (:mod:`scrapl_edu.lab.run_args`) and the
    results folder's options."""
    r = sub.add_parser(
        "run", help="train and evaluate one configuration -> DIR/config.json, DIR/results.json"
    )
    add_run_args(r)
    r.add_argument("--out", required=True, help="results folder (refused if it holds results)")
    r.add_argument("--overwrite", action="store_true", help="replace an existing results folder")
    r.add_argument(
        "--resume", action="store_true", help="continue from DIR/checkpoint.pt if present"
    )
    r.add_argument("--no-progress", action="store_true", help="no tqdm bar")
    r.add_argument(
        "--stop-after", type=int, help="checkpoint and stop after N steps (simulated interruption)"
    )


def _add_compare_parser(sub: Any) -> None:
    """``compare``: rows x seeds, their extra run arguments, reuse, and where they run."""
    c = sub.add_parser("compare", help="rows x seeds -> DIR/table.md (mean ± 95%% CI), figure.png")
    c.add_argument(
        "--preset",
        nargs="+",
        help="one or more lab presets (default classroom; drums_micro drums_meso for "
        "--table drums)",
    )
    c.add_argument(
        "--table",
        choices=sorted(TABLES),
        help="row set: losses (Table 1), ablation (Table 2), theta_is (Table 3), drums (Tables 4, 8-9)",
    )
    c.add_argument("--rows", help=f"comma-separated rows (instead of --table): {', '.join(ROWS)}")
    c.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds (default 0 1 2)")
    c.add_argument(
        "--jobs", type=int, default=1, help="runs in parallel, one thread each (default 1)"
    )
    c.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run each (preset, row, seed) as a task of this Dask cluster (tcp://HOST:8786) "
        "instead of the local pool; the results folder must be shared with its workers",
    )
    c.add_argument(
        "--device",
        default="cpu",
        help="every run's --device: cpu (default), cuda, cuda:N or auto; on a cluster, cuda "
        "tasks go to workers started with --resources GPU=1",
    )
    c.add_argument(
        "--out", required=True, help="output folder (runs/ inside; finished runs are reused)"
    )
    c.add_argument(
        "--overwrite", action="store_true", help="rebuild table/figure in an existing folder"
    )
    c.add_argument("--title", default="", help="table title")
    c.add_argument(
        "--row-arg",
        action="append",
        default=[],
        metavar="ROW=ARGS",
        help='extra run arguments for one row of this compare, e.g. --row-arg "jtfs=--steps 40" '
        "(run-defining options only: not --out, --threads or --device)",
    )
    c.add_argument(
        "--run-arg",
        default="",
        help='extra arguments for every run, e.g. "--steps 200" (run-defining options only)',
    )
    c.add_argument(
        "--reuse",
        nargs="*",
        default=[],
        help="other compare folders whose identical finished runs are copied, not rerun",
    )
    c.add_argument(
        "--pairs",
        nargs="*",
        metavar="A:B",
        help="rows compared seed by seed, B - A (default: rows that differ by one switch)",
    )


def _add_theta_is_parsers(sub: Any) -> None:
    """``theta-is`` (Fig. 6) and ``theta-is-quality`` (π against a long reference)."""
    t = sub.add_parser("theta-is", help="θ-IS path probabilities of chirplet presets (Fig. 6)")
    t.add_argument(
        "--preset",
        nargs="+",
        default=[f"classroom_{k}" for k in chirplet_tags()],
        help="chirplet lab presets (default: the four classroom ones)",
    )
    t.add_argument("--seed", type=int, default=0, help="encoder/data seed (default 0)")
    t.add_argument("--examples", type=int, help="N_IS training signals (preset default)")
    t.add_argument("--iters", type=int, help="power iterations (preset default)")
    t.add_argument("--threads", type=int, help="torch threads")
    t.add_argument("--out", required=True, help="output folder")
    t.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    q = sub.add_parser(
        "theta-is-quality",
        help="θ-IS's π with fewer examples / power iterations vs a long reference, and cost",
    )
    q.add_argument("--preset", nargs="+", default=["classroom"], help="lab presets")
    q.add_argument("--seed", type=int, default=0, help="encoder/data seed (default 0)")
    q.add_argument("--ref-examples", type=int, default=16, help="reference N_IS (default 16)")
    q.add_argument("--ref-iters", type=int, default=20, help="reference iterations (default 20)")
    q.add_argument("--examples", type=int, nargs="+", default=[1, 2, 4, 8, 16], help="N_IS grid")
    q.add_argument(
        "--iters", type=int, nargs="+", default=[1, 2, 3, 5, 10, 20], help="iterations grid"
    )
    q.add_argument("--threads", type=int, help="torch threads")
    q.add_argument("--out", required=True, help="output folder")
    q.add_argument("--overwrite", action="store_true", help="replace existing outputs")


def _figure(
    what: str, folder: str | Path, draw: Callable[[Path], Any], inputs: tuple[str, ...] = ()
) -> None:
    """Draw into a temporary folder inside ``folder``; each file lands whole (atomically).

    ``draw(tmp)`` writes its figures into ``tmp``; ``inputs`` are files of ``folder`` it reads.
    """
    try:
        write_figures(folder, draw, inputs)
    except Exception as err:  # a figure must never lose the numbers
        print(f"warning: {what} not written: {err}", file=sys.stderr)


def _error(ap: argparse.ArgumentParser, cmd: str, err: BaseException) -> None:
    """One line on stderr, exit status 2: how the command line reports a user's error."""
    text = " ".join(str(err).split("\n")[0:1]) if isinstance(err, KeyError) else str(err)
    ap.exit(2, f"scrapl-edu {cmd}: error: {text}\n")


def _count(name: str, value: Any, low: int = 1, high: int | None = None) -> None:
    """An integer option in ``low .. high``, or a ValueError naming it."""
    if value is None:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < low
        or (high is not None and value > high)
    ):
        span = f"{low} .. {high}" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be an integer {span}, got {value!r}")


def _cmd_theta_is(ap: argparse.ArgumentParser, args: argparse.Namespace, fast: bool) -> int:
    try:
        _count("--examples", args.examples)
        _count("--iters", args.iters)
        report = theta_is_presets(
            args.preset,
            args.out,
            seed=args.seed,
            n_examples=args.examples,
            n_iter=args.iters,
            fast=fast,
            overwrite=args.overwrite,
        )
    except (ValueError, OSError) as err:
        _error(ap, "theta-is", err)
    _figure(
        "figure",
        args.out,
        lambda tmp: viz.save_theta_is_figures(tmp, report, fast=fast),
        inputs=("theta_is_probs.npz",),
    )
    print((Path(args.out) / "theta_is_box.md").read_text())
    return 0


def _cmd_theta_is_quality(ap: argparse.ArgumentParser, args: argparse.Namespace, fast: bool) -> int:
    try:
        for name in ("ref_examples", "ref_iters"):
            _count("--" + name.replace("_", "-"), getattr(args, name))
        for name in ("examples", "iters"):
            for value in getattr(args, name):
                _count("--" + name, value)
        reports = theta_is_quality(
            args.preset,
            args.out,
            overwrite=args.overwrite,
            seed=args.seed,
            ref_examples=args.ref_examples,
            ref_iters=args.ref_iters,
            examples=args.examples,
            iters=args.iters,
            fast=fast,
        )
    except (ValueError, KeyError, OSError) as err:
        _error(ap, "theta-is-quality", err)
    _figure("figure", args.out, lambda tmp: viz.save_theta_is_quality(tmp / "quality.png", reports))
    print((Path(args.out) / "quality.md").read_text())
    return 0


def _pairs(ap: argparse.ArgumentParser, items: list[str] | None) -> list[tuple[str, str]] | None:
    if not items:
        return None
    out = []
    for item in items:
        a, sep, b = item.partition(":")
        if not sep or a not in ROWS or b not in ROWS:
            ap.error(f"--pairs takes ROW_A:ROW_B with rows from {', '.join(ROWS)}; got {item!r}")
        out.append((a, b))
    return out


def _cmd_paired(ap: argparse.ArgumentParser, args: argparse.Namespace, fast: bool) -> int:
    pairs = _pairs(ap, args.pairs)
    for folder in args.dirs:
        try:
            summary = refresh_summary(folder, pairs)
        except (ValueError, OSError) as err:
            _error(ap, "paired", err)
        title = summary.title or ""
        _figure(
            "figure",
            folder,
            lambda tmp, s=summary, t=title: viz.save_paired_figure(tmp / "paired.png", s, t),
        )
        print((Path(folder) / "table.md").read_text())
    return 0


def _cmd_run(ap: argparse.ArgumentParser, args: argparse.Namespace, fast: bool) -> int:
    try:
        config = config_from_args(args, fast)
        config.validate()
        _count("--stop-after", args.stop_after)
        device = resolve_device(args.device)  # before any work: a missing GPU fails here
    except (ValueError, KeyError) as err:
        _error(ap, "run", err)
    try:
        res = run(
            config,
            args.out,
            overwrite=args.overwrite,
            resume=args.resume,
            progress=not args.no_progress,
            stop_after=args.stop_after,
            on_step=crash_hook(),  # None unless a test sets SCRAPL_EDU_TEST_CRASH
            device=device,
        )
    except (ValueError, OSError) as err:  # a folder in use, a bad checkpoint, a read-only disk
        _error(ap, "run", err)
    except KeyboardInterrupt as err:
        signum = err.signum if isinstance(err, RunInterrupted) else signal.SIGINT
        what = "terminated (SIGTERM)" if signum == signal.SIGTERM else "interrupted"
        print(
            f"\n{what}; resume with the same command plus --resume (out={args.out})",
            file=sys.stderr,
        )
        return 128 + int(signum)
    if res is None:
        print(f"stopped after {args.stop_after} steps; checkpoint in {args.out}")
        return 0
    pp = ", ".join(f"{k} {v:.1f}" for k, v in res.test_theta_l1_permille_per_param.items())
    print(
        f"test θ L1 {res.test_theta_l1_permille:.1f} ‰ ({pp}); {res.steps} steps, "
        f"{res.ms_per_step:.1f} ms/step, {res.wall_s:.1f} s -> {Path(args.out) / RESULTS_JSON}"
    )
    return 0


def _row_args(items: list[str], rows: list[str]) -> dict[str, list[str]]:
    """``--row-arg ROW=ARGS`` items: each row known and in this compare, each ARGS valid."""
    row_args: dict[str, list[str]] = {}
    for item in items:
        name, sep, rest = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f'--row-arg takes ROW=ARGS (e.g. "jtfs=--steps 40"), got {item!r}')
        if name not in ROWS:
            raise ValueError(f"--row-arg {item!r}: unknown row {name!r}; rows: {', '.join(ROWS)}")
        if name not in rows:
            raise ValueError(
                f"--row-arg {item!r}: row {name!r} is not in this compare ({', '.join(rows)})"
            )
        row_args.setdefault(name, []).extend(check_run_argv(_split(rest, "--row-arg"), "--row-arg"))
    return row_args


def _split(text: str, what: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError as err:
        raise ValueError(f"{what} {text!r} cannot be split into arguments ({err})") from None


def _compare_presets(args: argparse.Namespace) -> list[str]:
    """``--preset``, or the drum presets for ``--table drums``; drums need drum presets."""
    if args.preset is None:
        return list(DRUM_PRESETS) if args.table == "drums" else ["classroom"]
    presets = list(dict.fromkeys(args.preset))
    for p in presets:
        if p not in PRESETS:
            raise ValueError(f"unknown preset {p!r}; choose one of {sorted(PRESETS)}")
    if args.table == "drums":
        other = [p for p in presets if not p.startswith("drums")]
        if other:
            raise ValueError(
                f"--table drums compares drum presets, got {', '.join(other)}; give drum "
                f"presets ({', '.join(p for p in PRESETS if p.startswith('drums'))}) or "
                "leave --preset out"
            )
    return presets


def _cmd_compare(ap: argparse.ArgumentParser, args: argparse.Namespace, fast: bool) -> int:
    if args.table and args.rows:
        ap.error("give --table or --rows, not both")
    rows = TABLES[args.table] if args.table else (args.rows or "").split(",")
    rows = list(dict.fromkeys(r.strip() for r in rows if r.strip()))
    if not rows:
        ap.error("give --table or --rows")
    try:
        for r in rows:
            if r not in ROWS:
                raise ValueError(f"unknown row {r!r}; choose from {', '.join(ROWS)}")
        presets = _compare_presets(args)
        for seed in args.seeds:
            _count("--seeds", seed, 0, MAX_SEED)
        seeds = list(dict.fromkeys(args.seeds))  # a seed given twice runs once
        _count("--jobs", args.jobs, 1, MAX_THREADS)
        row_args = _row_args(args.row_arg, rows)
        extra = check_run_argv(_split(args.run_arg, "--run-arg"), "--run-arg")
        summary = compare(
            presets,
            rows,
            seeds,
            args.out,
            jobs=args.jobs,
            overwrite=args.overwrite,
            extra_args=extra,
            row_args=row_args,
            title=args.title,
            reuse=args.reuse,
            fast=fast,
            pairs=_pairs(ap, args.pairs),
            scheduler=args.scheduler,
            device=args.device,
        )
    except (ValueError, OSError, RuntimeError) as err:
        _error(ap, "compare", err)
    curves = validation_curves(args.out, presets, rows, seeds)
    _figure(
        "figure",
        args.out,
        lambda tmp: viz.save_lab_comparison(tmp / "figure.png", curves, summary, args.title),
    )
    _figure(
        "paired figure",
        args.out,
        lambda tmp: viz.save_paired_figure(tmp / "paired.png", summary, args.title),
    )
    _figure(  # drum presets: transient vs decay error (Tables 8-9)
        "drum figure",
        args.out,
        lambda tmp: viz.save_drum_errors(tmp / "drum_errors.png", summary),
    )
    print((Path(args.out) / "table.md").read_text())
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: ``run`` one configuration, ``compare`` rows x seeds, ``theta-is``."""
    ap = parser()
    args = ap.parse_args(argv)
    try:
        if isinstance(getattr(args, "out", None), str) and not args.out.strip():
            raise ValueError("--out is empty; give a folder for the results")
        _count("--threads", getattr(args, "threads", None), 1, MAX_THREADS)
        _count("--seed", getattr(args, "seed", None), 0, MAX_SEED)
        fast = fast_mode()  # read here, at the entry point, and passed down
    except ValueError as err:
        _error(ap, args.cmd, err)
    if getattr(args, "threads", None):
        torch.set_num_threads(args.threads)
    command = {
        "theta-is": _cmd_theta_is,
        "theta-is-quality": _cmd_theta_is_quality,
        "run": _cmd_run,
        "compare": _cmd_compare,
        "paired": _cmd_paired,
    }[args.cmd]
    return command(ap, args, fast)


if __name__ == "__main__":
    sys.exit(main())
