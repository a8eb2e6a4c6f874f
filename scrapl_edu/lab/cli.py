"""The command line (``python -m scrapl_edu.lab`` and the ``scrapl-edu`` console script).

An entry point: it reads fast mode from the environment (``SCRAPL_EDU_FAST=1``,
:func:`scrapl_edu.config.fast_mode`) and draws the figures (:mod:`scrapl_edu.viz`)::

    python -m scrapl_edu.lab run --preset classroom --loss scrapl --seed 0 --out out/run
    python -m scrapl_edu.lab compare --table losses --seeds 0 1 2 --out out/losses --jobs 2
    python -m scrapl_edu.lab theta-is --out out/theta_is_probs
    python -m scrapl_edu.lab theta-is-quality --preset classroom --out out/theta_is_quality
    python -m scrapl_edu.lab paired data/results/lab/ablation   # paired stats from summary.json
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path

import torch

from scrapl_edu import viz
from scrapl_edu.config import fast_mode
from scrapl_edu.lab.cluster import crash_hook
from scrapl_edu.lab.comparison import compare, refresh_summary, validation_curves
from scrapl_edu.lab.config import ROWS, TABLES
from scrapl_edu.lab.device import resolve_device
from scrapl_edu.lab.results import RESULTS_JSON
from scrapl_edu.lab.run_args import add_run_args, config_from_args
from scrapl_edu.lab.theta_box import theta_is_presets
from scrapl_edu.lab.theta_is_quality import theta_is_quality
from scrapl_edu.lab.train import CHECKPOINT, run
from scrapl_edu.presets import chirplet_tags

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
    r = sub.add_parser("run", help="train and evaluate one configuration -> DIR/results.json")
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
    c = sub.add_parser("compare", help="rows x seeds -> DIR/table.md (mean ± 95%% CI), figure.png")
    c.add_argument("--preset", nargs="+", default=["classroom"], help="one or more lab presets")
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
        help='extra run arguments for one row, e.g. --row-arg "jtfs=--steps 40"',
    )
    c.add_argument(
        "--run-arg", default="", help='extra arguments for every run, e.g. "--steps 200"'
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
    pr = sub.add_parser(
        "paired", help="paired statistics of finished comparisons from their summary.json"
    )
    pr.add_argument("dirs", nargs="+", help="comparison folders (each with summary.json)")
    pr.add_argument("--pairs", nargs="*", metavar="A:B", help="rows compared, B - A")
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
    return ap


def _figure(what: str, draw) -> None:
    try:
        draw()
    except Exception as err:  # a figure must never lose the numbers
        print(f"warning: {what} not written: {err}", file=sys.stderr)


def _cmd_theta_is(ap: argparse.ArgumentParser, args: argparse.Namespace, fast: bool) -> int:
    try:
        report = theta_is_presets(
            args.preset,
            args.out,
            seed=args.seed,
            n_examples=args.examples,
            n_iter=args.iters,
            fast=fast,
            overwrite=args.overwrite,
        )
    except (ValueError, FileExistsError) as err:
        ap.exit(2, f"scrapl-edu theta-is: error: {err}\n")
    _figure("figure", lambda: viz.save_theta_is_figures(args.out, report, fast=fast))
    print((Path(args.out) / "theta_is_box.md").read_text())
    return 0


def _cmd_theta_is_quality(ap: argparse.ArgumentParser, args: argparse.Namespace, fast: bool) -> int:
    try:
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
    except (ValueError, KeyError, FileExistsError) as err:
        ap.exit(2, f"scrapl-edu theta-is-quality: error: {err}\n")
    _figure("figure", lambda: viz.save_theta_is_quality(Path(args.out) / "quality.png", reports))
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
        except (ValueError, FileNotFoundError) as err:
            ap.exit(2, f"scrapl-edu paired: error: {err}\n")
        out, title = Path(folder) / "paired.png", summary.get("title", "")
        _figure("figure", partial(viz.save_paired_figure, out, summary, title))
        print((Path(folder) / "table.md").read_text())
    return 0


def _cmd_run(ap: argparse.ArgumentParser, args: argparse.Namespace, fast: bool) -> int:
    try:
        config = config_from_args(args, fast)
        config.validate()
        device = resolve_device(args.device)  # before any work: a missing GPU fails here
    except (ValueError, KeyError) as err:
        ap.exit(2, f"scrapl-edu run: error: {err}\n")
    if args.resume and (Path(args.out) / CHECKPOINT).exists():
        print(f"resuming from {Path(args.out) / CHECKPOINT}", flush=True)
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
    except FileExistsError as err:
        ap.exit(2, f"scrapl-edu run: error: {err}\n")
    except KeyboardInterrupt:
        print(
            f"\ninterrupted; resume with the same command plus --resume (out={args.out})",
            file=sys.stderr,
        )
        return 130
    if res is None:
        print(f"stopped after {args.stop_after} steps; checkpoint in {args.out}")
        return 0
    pp = ", ".join(f"{k} {v:.1f}" for k, v in res.test_theta_l1_permille_per_param.items())
    print(
        f"test θ L1 {res.test_theta_l1_permille:.1f} ‰ ({pp}); {res.steps} steps, "
        f"{res.ms_per_step:.1f} ms/step, {res.wall_s:.1f} s -> {Path(args.out) / RESULTS_JSON}"
    )
    return 0


def _cmd_compare(ap: argparse.ArgumentParser, args: argparse.Namespace, fast: bool) -> int:
    if args.table and args.rows:
        ap.error("give --table or --rows, not both")
    rows = TABLES[args.table] if args.table else (args.rows or "").split(",")
    rows = [r.strip() for r in rows if r.strip()]
    if not rows:
        ap.error("give --table or --rows")
    row_args: dict[str, list[str]] = {}
    for item in args.row_arg:
        name, _, rest = item.partition("=")
        row_args.setdefault(name.strip(), []).extend(rest.split())
    try:
        summary = compare(
            args.preset,
            rows,
            args.seeds,
            args.out,
            jobs=args.jobs,
            overwrite=args.overwrite,
            extra_args=args.run_arg.split(),
            row_args=row_args,
            title=args.title,
            reuse=args.reuse,
            fast=fast,
            pairs=_pairs(ap, args.pairs),
            scheduler=args.scheduler,
            device=args.device,
        )
    except (ValueError, FileExistsError, RuntimeError) as err:
        ap.exit(2, f"scrapl-edu compare: error: {err}\n")
    curves = validation_curves(args.out, args.preset, rows, args.seeds)
    _figure(
        "figure",
        lambda: viz.save_lab_comparison(Path(args.out) / "figure.png", curves, summary, args.title),
    )
    _figure(
        "paired figure",
        lambda: viz.save_paired_figure(Path(args.out) / "paired.png", summary, args.title),
    )
    _figure(  # drum presets: transient vs decay error (Tables 8-9)
        "drum figure", lambda: viz.save_drum_errors(Path(args.out) / "drum_errors.png", summary)
    )
    print((Path(args.out) / "table.md").read_text())
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: ``run`` one configuration, ``compare`` rows x seeds, ``theta-is``."""
    ap = parser()
    args = ap.parse_args(argv)
    if getattr(args, "threads", None):
        torch.set_num_threads(args.threads)
    fast = fast_mode()  # read here, at the entry point, and passed down
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
