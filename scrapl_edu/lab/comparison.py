"""Rows x seeds -> tables like the paper's Tables 1-3 (mean ± 95% CI over seeds).

:func:`compare` runs every (preset, row, seed) in its own process with one thread (a pool of
``jobs`` workers from :mod:`concurrent.futures`), each into
``out/runs/<preset>/<row>/seed<N>/``; finished runs are reused and interrupted ones resumed.
:func:`aggregate` reads those runs and writes ``table.md``, ``summary.csv`` and
``summary.json``, with the paired differences of rows that differ by one switch
(:mod:`scrapl_edu.lab.paired`); the command line adds ``figure.png``
(:func:`scrapl_edu.viz.save_lab_comparison`) and ``paired.png``
(:func:`scrapl_edu.viz.save_paired_figure`). :func:`refresh_summary` redoes the tables of a
comparison from its ``summary.json`` alone (committed results whose runs are not kept).
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import t as student_t
from tqdm.auto import tqdm

from scrapl_edu.lab.cluster import check_scheduler_address, run_on_dask
from scrapl_edu.lab.config import MAX_SEED, ROW_LABELS, ROWS, LabConfig
from scrapl_edu.lab.device import resolve_device
from scrapl_edu.lab.drums import drum_per_seed, drum_report_markdown
from scrapl_edu.lab.files import (
    JOURNAL,
    RunLock,
    atomic_copy,
    atomic_write_json,
    atomic_write_text,
    check_out_folder,
    fault_point,
    read_json,
)
from scrapl_edu.lab.loss_kinds import loss_kind
from scrapl_edu.lab.paired import paired_markdown, paired_stats
from scrapl_edu.lab.results import RESULTS_JSON, Results, config_differences, excess_variation
from scrapl_edu.lab.run_args import add_run_args, config_from_argv, config_to_argv
from scrapl_edu.lab.run_config import CONFIG_JSON, DEFAULTS, recorded_config
from scrapl_edu.lab.summary import CI, AppliedDiagnostic, PerSeed, Summary, SummaryEntry
from scrapl_edu.lab.train import CHECKPOINT
from scrapl_edu.presets import PRESETS

__all__ = [
    "aggregate",
    "check_run_argv",
    "ci95",
    "compare",
    "load_summary",
    "refresh_summary",
    "run_dir",
    "validation_curves",
]


def ci95(values: Sequence[float | None]) -> tuple[float, float]:
    """Mean and half-width of the 95% confidence interval (Student t), as in Tables 1-3."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    if v.size == 0:
        return float("nan"), float("nan")
    if v.size == 1:
        return float(v[0]), float("nan")
    half = float(student_t.ppf(0.975, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return float(v.mean()), half


def _fmt(mean: float, half: float, digits: int = 3) -> str:
    if not np.isfinite(mean):
        return "n/a"

    def sig(x: float) -> str:
        return f"{x:.{digits}g}" if abs(x) < 10**digits else f"{x:.0f}"

    return sig(mean) if not np.isfinite(half) else f"{sig(mean)} ± {sig(half)}"


def run_dir(out: str | Path, preset: str, row: str, seed: int) -> Path:
    """The folder of one run of a comparison: ``out/runs/<preset>/<row>/seed<N>``."""
    return Path(out) / "runs" / preset / row / f"seed{seed}"


def run_args(preset: str, row: str, seed: int) -> list[str]:
    """The ``scrapl-edu run`` arguments of one row (without ``--out`` and extras)."""
    spec = ROWS[row]
    args = ["--preset", preset, "--loss", spec["loss"]]
    if loss_kind(spec["loss"]).switches_apply:
        for key, flag in (("p_adam", "--no-p-adam"), ("p_saga", "--no-p-saga")):
            if not spec[key]:
                args.append(flag)
        if spec.get("adaptive_pi"):
            args += ["--sampling", "adaptive"]
        elif not spec["theta_is"]:
            args.append("--no-theta-is")
    return args + ["--seed", str(seed)]


#: run options that ``compare`` sets for each run itself: an extra argument may not set them
#: (``--seed`` or ``--loss`` would make every row or seed the same run, a switch every row
#: the same row; ``--out`` would send the runs elsewhere; fast mode is the compare's)
RESERVED_RUN_OPTIONS = (
    "--preset",
    "--loss",
    "--seed",
    "--p-adam",
    "--no-p-adam",
    "--p-saga",
    "--no-p-saga",
    "--theta-is",
    "--no-theta-is",
    "--adaptive-pi",
    "--no-adaptive-pi",
    "--sampling",
    "--fast",
    "--no-fast",
    "--threads",
    "--device",
    "--out",
    "--overwrite",
    "--resume",
    "--no-progress",
    "--stop-after",
)


class _RaisingParser(argparse.ArgumentParser):
    """An argument parser that raises a ValueError instead of printing usage and exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ValueError(message)


def check_run_argv(argv: Sequence[str], what: str = "extra run arguments") -> list[str]:
    """Extra ``scrapl-edu run`` arguments of a compare (``--run-arg``, ``--row-arg``), checked.

    Only options that define a run (``--steps``, ``--lr``, ...), each well-formed; none of
    :data:`RESERVED_RUN_OPTIONS`, which ``compare`` sets per run; no abbreviations.

    Raises:
        ValueError: naming the argument and what is allowed.
    """
    argv = [str(a) for a in argv]
    for token in argv:
        flag = token.split("=", 1)[0]
        if flag in RESERVED_RUN_OPTIONS:
            raise ValueError(
                f"{what} may not set {flag}: compare sets it for each run (rows set the loss "
                "and switches, --seeds the seed, compare's own --out/--device the rest)"
            )
    ap = _RaisingParser(prog=what, add_help=False, allow_abbrev=False)
    add_run_args(ap)
    try:
        _, unknown = ap.parse_known_args(argv)
    except argparse.ArgumentError as err:
        raise ValueError(f"{what}: {err}") from None
    except ValueError as err:
        raise ValueError(f"{what} {' '.join(argv)!r}: {err}") from None
    if unknown:
        raise ValueError(
            f"{what}: {' '.join(unknown)!r} is not an option of a run "
            "(see `scrapl-edu run --help` for the options that define one)"
        )
    return argv


def _run_cmd(config: LabConfig, folder: Path, device: str) -> list[str]:
    """The command of one run: every field of ``config`` on its command line
    (:func:`~scrapl_edu.lab.run_args.config_to_argv`, fast mode included: no environment
    variable decides it), so the run is the configuration compare checked. ``--resume
    --overwrite`` continues a checkpoint of this very configuration and replaces anything
    else (:func:`scrapl_edu.lab.train.prepare_out`)."""
    cmd = [sys.executable, "-m", "scrapl_edu.lab", "run", *config_to_argv(config)]
    cmd += ["--out", str(folder), "--threads", "1", "--resume", "--overwrite", "--no-progress"]
    return cmd + ([] if device == "cpu" else ["--device", str(device)])


def _run_one(cmd: list[str], folder: Path, env: dict[str, str]) -> int:
    """One run in its own process, its output appended to ``folder/log.txt``."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / JOURNAL, "a") as log:
        return subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env).returncode


def run_state(folder: Path, want: dict[str, Any]) -> str | None:
    """None when ``folder`` holds the finished run of configuration ``want``; else why not.

    ``"missing"`` (no ``results.json``: not finished), or a sentence: an unreadable
    ``results.json`` or ``config.json`` (naming it), the two disagreeing, or the
    configuration fields that differ. The configuration compared is the folder's
    ``config.json``; a folder written before ``config.json`` existed (the committed runs under
    ``data/results/lab/**/runs/``) is judged by ``results.json["config"]`` instead
    (:func:`scrapl_edu.lab.run_config.recorded_config`), so it stays reusable.
    """
    f = folder / RESULTS_JSON
    if not f.exists():
        return "missing"
    try:
        res = Results.from_dict(read_json(f), source=f)
        recorded = recorded_config(folder, res.config, RESULTS_JSON)
    except ValueError as err:
        return str(err)
    diff = config_differences(recorded, want, DEFAULTS)
    if diff:
        return f"{folder} was run with another configuration ({'; '.join(diff)})"
    return None


def _copy_reusable(
    reuse: Sequence[str | Path], preset: str, row: str, seed: int, folder: Path, want: dict
) -> bool:
    """Copy a finished identical run (same configuration ``want``) from a ``reuse`` folder.

    Each file is copied atomically and ``results.json``, which marks the run finished, last;
    under the run folder's lock. A source that differs is not copied (the fields that differ
    are printed). A source older than ``config.json`` gets one in the copy (``want``, the
    configuration it was found equal to). Returns whether a run was copied.
    """
    for other in reuse:
        src = run_dir(other, preset, row, seed)
        why = run_state(src, want)
        if why == "missing":
            continue
        if why is not None:
            print(f"not reused: {why}", file=sys.stderr)
            continue
        with RunLock(folder):
            _copy_run(src, folder, want)
        return True
    return False


def _copy_run(src: Path, folder: Path, want: dict[str, Any]) -> None:
    """The files of the finished run ``src`` into ``folder``, ``results.json`` last."""
    folder.mkdir(parents=True, exist_ok=True)
    files = [
        item
        for item in sorted(src.iterdir())
        if item.is_file()
        and not item.name.startswith(".")
        and item.name not in (CHECKPOINT, RESULTS_JSON, JOURNAL)
    ]
    for item in files:
        atomic_copy(item, folder / item.name)
        fault_point("copy")
    names = {item.name for item in files}
    if CONFIG_JSON not in names:  # a run older than config.json: record what it was found to be
        atomic_write_json(folder / CONFIG_JSON, want)
    atomic_copy(src / RESULTS_JSON, folder / RESULTS_JSON)
    fault_point("copy")
    for stale in (CHECKPOINT, "theta_is.npz"):  # of an earlier run in this folder
        if stale not in names:
            (folder / stale).unlink(missing_ok=True)
    with (folder / JOURNAL).open("a") as log:
        log.write(f"copied from {src}\n")


def _check_seeds(seeds: Sequence[int]) -> list[int]:
    out = []
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s <= MAX_SEED:
            raise ValueError(f"seeds must be integers in 0 .. 2**63-1, got {s!r}")
        if s not in out:
            out.append(s)  # a seed given twice runs once
    if not out:
        raise ValueError("give at least one seed")
    return out


def _check_request(
    presets: Sequence[str],
    rows: Sequence[str],
    pairs: Sequence[tuple[str, str]] | None,
    reuse: Sequence[str | Path],
    jobs: int,
) -> tuple[list[str], list[str]]:
    """The presets and rows of a compare, each once and known; its pairs, reuse and jobs."""
    rows = list(dict.fromkeys(rows))
    for r in rows:
        if r not in ROWS:
            raise ValueError(f"unknown row {r!r}; choose from {', '.join(ROWS)}")
    presets = list(dict.fromkeys(presets))
    for p in presets:
        if p not in PRESETS:
            raise ValueError(f"unknown preset {p!r}; choose one of {sorted(PRESETS)}")
    for a, b in pairs or ():
        if a not in rows or b not in rows:
            raise ValueError(
                f"--pairs {a}:{b}: both rows must be in this compare ({', '.join(rows)})"
            )
    for other in reuse:
        if not Path(other).is_dir():
            raise ValueError(f"--reuse folder {other} does not exist (or is not a folder)")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    return presets, rows


def _check_row_args(
    row_args: dict[str, Sequence[str]] | None, rows: Sequence[str]
) -> dict[str, list[str]]:
    """``row_args``: each row in this compare, each argument list valid."""
    checked = {}
    for r, argv in (row_args or {}).items():
        if r not in rows:
            raise ValueError(
                f"row_args names row {r!r}, which this compare does not run ({', '.join(rows)})"
            )
        checked[r] = check_run_argv(argv, f"--row-arg {r}=")
    return checked


def _check_run_folder(folder: Path, out: Path) -> None:
    """A run folder, and each folder between it and ``out``, is a folder or absent."""
    for part in (folder, *folder.parents):
        if part.exists() and not part.is_dir():
            where = "" if part == folder else f": {part}"
            raise ValueError(f"run folder {folder}{where} is a file, not a folder")
        if part == out:
            break


def _plan_run(
    out: Path,
    key: tuple[str, str, int],
    extra: Sequence[str],
    reuse: Sequence[str | Path],
    fast: bool,
    device: str,
) -> tuple[list[str], Path] | None:
    """The command and folder of one ``(preset, row, seed)``, or None when its finished run
    is there already (or was copied from a ``reuse`` folder)."""
    preset, row, seed = key
    folder = run_dir(out, preset, row, seed)
    _check_run_folder(folder, out)
    config = config_from_argv(run_args(preset, row, seed) + list(extra), fast=fast)
    config.validate()  # a bad value fails here, once, not in every run
    want = asdict(config)
    why = run_state(folder, want)
    if why is not None and reuse and _copy_reusable(reuse, preset, row, seed, folder, want):
        why = None
    if why is None:
        return None
    if why != "missing":
        print(f"rerunning: {why}", file=sys.stderr)
    return _run_cmd(config, folder, device), folder


def compare(
    presets: Sequence[str],
    rows: Sequence[str],
    seeds: Sequence[int],
    out: str | Path,
    *,
    jobs: int = 1,
    overwrite: bool = False,
    extra_args: Sequence[str] = (),
    row_args: dict[str, Sequence[str]] | None = None,
    title: str = "",
    reuse: Sequence[str | Path] = (),
    fast: bool = False,
    pairs: Sequence[tuple[str, str]] | None = None,
    scheduler: Any = None,
    device: str = "cpu",
) -> Summary:
    """Run every (preset, row, seed) and aggregate mean +- 95% CI like Tables 1-3.

    Each run goes to ``out/runs/<preset>/<row>/seed<N>/``, in its own process with one
    thread, ``jobs`` at a time. A run folder that holds the finished run of the very
    configuration this compare wants (its ``config.json``, see :func:`run_state`) is reused;
    one of another configuration (the fields that differ are printed) or with an unreadable
    ``results.json`` is rerun (its old content kept aside until the new run's first
    checkpoint); an interrupted one is resumed. So ``compare`` can be re-launched after an
    interruption. Seeds given twice run once. One compare at a time writes into ``out`` (a
    second gets an error naming the first's pid). Writes ``out/summary.csv``,
    ``out/summary.json`` and, last, ``out/table.md`` (each atomically); these aggregate files
    are only replaced with ``overwrite``. ``extra_args`` (every run) and ``row_args`` (per
    row, e.g. ``{"jtfs": ["--steps", "40"]}``) add run-defining arguments
    (:func:`check_run_argv`). ``reuse`` lists other compare folders whose finished runs of
    the same (preset, row, seed) are copied instead of recomputed, when their configuration
    is the one this compare would run (runs are deterministic given their configuration,
    timings aside). ``fast`` runs the shrunk presets (``--fast`` on each run's command line,
    which carries the whole configuration: :func:`_run_cmd`). ``pairs``: rows compared seed
    by seed (see :func:`aggregate`).

    ``scheduler``: a Dask scheduler address (``tcp://HOST:8786``) or a ``distributed.Client``:
    each run becomes a task of that cluster instead of a process of the local pool (same
    command, same folders; :mod:`scrapl_edu.lab.cluster`); ``jobs`` is then the cluster's
    business (one task per worker thread). ``device`` (``cpu``, ``cuda``, ``cuda:N``,
    ``auto``) is passed to every run (``--device``); on a cluster, ``cuda`` tasks ask for
    the worker resource ``GPU=1``. A run that fails is reported with its log; finished runs
    are kept, and the table is built once every run is in.
    """
    out = Path(out)
    presets, rows = _check_request(presets, rows, pairs, reuse, jobs)
    seeds = _check_seeds(seeds)
    extra_args = check_run_argv(extra_args, "--run-arg")
    row_args = _check_row_args(row_args, rows)
    if scheduler is not None and not hasattr(scheduler, "submit"):
        scheduler = check_scheduler_address(scheduler)  # a malformed address: before any work
    elif scheduler is None:
        resolve_device(device)  # the local runs would each fail without the GPU: say it once
    check_out_folder(out, "compare --out")
    with RunLock(out, "comparison folder"):
        if (out / "table.md").exists() and not overwrite:
            raise FileExistsError(
                f"{out / 'table.md'} exists; pass --overwrite to rebuild the table"
            )
        for stale in out.glob(".*.tmp"):  # figures a kill interrupted
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
        todo = []
        for key in itertools.product(presets, rows, seeds):
            extra = extra_args + row_args.get(key[1], [])
            job = _plan_run(out, key, extra, reuse, fast, device)
            if job is not None:
                todo.append(job)
        _run_all(todo, out, scheduler, jobs, device)
        return aggregate(out, presets, rows, seeds, title=title, pairs=pairs)


def _run_all(
    todo: list[tuple[list[str], Path]],
    out: Path,
    scheduler: Any,
    jobs: int,
    device: str,
) -> None:
    """Run ``todo`` on the local pool or the Dask cluster; a RuntimeError lists failures.

    Each command carries its whole configuration, fast mode included; the environment only
    adds one thread per run.
    """
    threads = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env = {**os.environ, **threads}
    failures = []
    if scheduler is not None:  # every run a task of a Dask cluster, nothing for the local pool
        gpu = str(device).startswith("cuda")
        failures, todo = run_on_dask(todo, scheduler, threads, out, gpu=gpu), []
    # threads only wait: each run is a separate process with one thread of its own
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(_run_one, cmd, folder, env): folder for cmd, folder in todo}
        done = as_completed(futures)
        for fut in tqdm(done, total=len(futures), desc="compare runs", disable=not futures):
            folder, code = futures[fut], fut.result()
            if code != 0:
                failures.append(f"{folder} (exit {code}; see {folder / JOURNAL})")
    if failures:
        raise RuntimeError(
            "some runs failed:\n  "
            + "\n  ".join(sorted(failures))
            + "\nfinished runs are kept: rerun the same compare to finish the others"
        )


def _load_runs(out: Path, preset: str, row: str, seeds: Sequence[int]) -> list[Results]:
    found = []
    for seed in seeds:
        f = run_dir(out, preset, row, seed) / RESULTS_JSON
        if f.exists():
            found.append(Results.from_dict(read_json(f), source=f))
    return found


def _entry(preset: str, row: str, res: list[Results]) -> SummaryEntry:
    names = res[0].param_names
    excess = [excess_variation(np.asarray(r.val_theta_l1_permille) / 1000.0) for r in res]
    conv = [r.steps_to_convergence for r in res]
    seeds = [int(r.config["seed"]) for r in res]
    # every metric per seed, keyed by the seeds that finished: what paired statistics need
    per_seed = PerSeed(
        seeds=seeds,
        metrics={
            "theta_l1": [r.test_theta_l1_permille for r in res],
            **{f"{n}_l1": [r.test_theta_l1_permille_per_param[n] for r in res] for n in names},
            "total_var": [r.val_total_variation for r in res],
            "excess_var": excess,
        },
    )
    applied = None
    if any(r.applied_diag for r in res):  # SCRAPL's applied-step diagnostic, per seed
        applied = AppliedDiagnostic(seeds=seeds, per_seed=[r.applied_diag or [] for r in res])
    drums = drum_per_seed(res)  # drum presets: Tables 4, 8-9 and pi on the decay paths
    per_seed.metrics.update(drums)
    return SummaryEntry(
        preset=preset,
        row=row,
        label=ROW_LABELS[row],
        n_seeds=len(res),
        **ROWS[row],
        theta_l1=CI(*ci95([r.test_theta_l1_permille for r in res])),
        param_l1={
            n: CI(*ci95([r.test_theta_l1_permille_per_param[n] for r in res])) for n in names
        },
        total_var=CI(*ci95([r.val_total_variation for r in res])),
        excess_var=CI(*ci95(excess)),
        conv_rate=sum(c is not None for c in conv) / len(conv),
        conv_steps=CI(*ci95([c for c in conv if c is not None])),
        ms_per_step=CI(*ci95([r.ms_per_step for r in res])),
        wall_s=CI(*ci95([r.wall_s for r in res])),
        steps=CI(*ci95([r.steps for r in res])),
        param_names=names,
        per_seed_theta_l1=[r.test_theta_l1_permille for r in res],
        per_seed=per_seed,
        applied_diag=applied,
        drum={k.removeprefix("drum_"): CI(*ci95(v)) for k, v in drums.items()} or None,
    )


def validation_curves(
    out: str | Path, presets: Sequence[str], rows: Sequence[str], seeds: Sequence[int]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """label -> (validation steps (E,), theta L1 ‰ (seeds, E)) of the runs of a comparison."""
    curves = {}
    for preset in presets:
        for row in rows:
            res = _load_runs(Path(out), preset, row, seeds)
            if not res:
                continue
            n_min = min(len(r.val_steps) for r in res)
            steps = np.asarray(res[0].val_steps[:n_min])
            vals = np.asarray([r.val_theta_l1_permille[:n_min] for r in res])
            label = ROW_LABELS[row] + (f" [{preset}]" if len(presets) > 1 else "")
            curves[label] = (steps, vals)
    return curves


def aggregate(
    out: str | Path,
    presets: Sequence[str],
    rows: Sequence[str],
    seeds: Sequence[int],
    title: str = "",
    pairs: Sequence[tuple[str, str]] | None = None,
) -> Summary:
    """Read the runs of :func:`compare`; write ``table.md``, ``summary.csv``, ``summary.json``.

    ``pairs``: ``(a, b)`` rows whose per-seed differences ``b - a`` are reported
    (:func:`scrapl_edu.lab.paired.paired_stats`; default: the rows that differ by one switch).
    Returns the :class:`~scrapl_edu.lab.summary.Summary` written.
    """
    out = Path(out)
    entries = []
    for preset in presets:
        for row in rows:
            res = _load_runs(out, preset, row, seeds)
            if res:
                entries.append(_entry(preset, row, res))
    summary = Summary(
        presets=list(presets), rows=list(rows), seeds=list(seeds), title=title, entries=entries
    )
    summary.paired = paired_stats(summary, pairs)
    table = table_markdown(summary, title)
    _write_csv(out / "summary.csv", summary)
    summary.save(out)
    atomic_write_text(out / "table.md", table)  # last: it marks the comparison done
    return summary


def refresh_summary(out: str | Path, pairs: Sequence[tuple[str, str]] | None = None) -> Summary:
    """Recompute the paired statistics of a comparison from its ``summary.json`` alone.

    For comparisons whose ``runs/`` are not kept (the committed ``data/results/lab/*``):
    adds ``paired`` to ``summary.json`` and rewrites ``table.md`` (the title is kept from
    the summary, or from the table's heading). Metrics the summary does not hold per seed
    (older summaries: only the mean θ L1) are left out of the paired table.
    """
    out = Path(out)
    summary = load_summary(out)
    f = out / "summary.json" if out.is_dir() else out
    folder = f.parent
    if not summary.title:
        md = folder / "table.md"
        first = md.read_text().splitlines()[0] if md.exists() else ""
        summary.title = first[4:].strip() if first.startswith("### ") else ""
    try:
        summary.paired = paired_stats(summary, pairs)
        table = table_markdown(summary, summary.title)
    except (KeyError, TypeError, IndexError, ValueError, AttributeError) as err:
        what = f"no {err}" if isinstance(err, KeyError) else f"{type(err).__name__}: {err}"
        raise ValueError(
            f"{f} is not a valid comparison summary ({what}); was it edited by hand? "
            "Rebuild it with the compare that wrote it"
        ) from None
    summary.save(folder / "summary.json")
    atomic_write_text(folder / "table.md", table)
    return summary


def load_summary(out: str | Path) -> Summary:
    """The ``summary.json`` of a comparison (e.g. the committed ``data/results/lab/*``):
    :meth:`Summary.load <scrapl_edu.lab.summary.Summary.load>`, which refuses a file that
    is not one (an unknown or missing key, a value of the wrong type), naming it."""
    return Summary.load(out)


def _write_csv(path: Path, summary: Summary) -> None:
    cols = ["preset", "row", "n_seeds", "theta_l1", "theta_l1_ci", "p0_l1", "p0_l1_ci"]
    cols += ["p1_l1", "p1_l1_ci", "total_var", "conv_rate", "conv_steps", "ms_per_step"]
    cols += ["wall_s", "steps", "excess_var"]
    with io.StringIO(newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        for e in summary.entries:
            n0, n1 = e.param_names[:2]
            w.writerow(
                [
                    e.preset,
                    e.row,
                    e.n_seeds,
                    *e.theta_l1,
                    *e.param_l1[n0],
                    *e.param_l1[n1],
                    e.total_var.mean,
                    e.conv_rate,
                    e.conv_steps.mean,
                    e.ms_per_step.mean,
                    e.wall_s.mean,
                    e.steps.mean,
                    e.excess_var.mean if e.excess_var is not None else float("nan"),
                ]
            )
        atomic_write_text(path, f.getvalue())


def table_markdown(summary: Summary, title: str = "") -> str:
    """The comparison as a markdown table (Tables 1-3's columns), mean ± 95% CI."""
    entries = summary.entries
    if not entries:
        return "no finished runs\n"
    names = entries[0].param_names
    multi = len(summary.presets) > 1
    head = ["Method", "P-Adam", "P-SAGA", "θ-IS"] + (["Preset"] if multi else [])
    head += ["θ L1 ‰ ↓"] + [f"{n} L1 ‰ ↓" for n in names]
    head += ["Val. total var. ↓", "Val. excess var. ↓", "Conv. rate", "Conv. steps ↓"]
    head += ["ms/step ↓", "wall s", "steps"]
    lines = []
    if title:
        lines += [f"### {title}", ""]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for e in entries:
        scrapl = loss_kind(e.loss).switches_apply  # the switch columns apply
        sw = [("✓" if on else "") if scrapl else "" for on in (e.p_adam, e.p_saga, e.theta_is)]
        method = ROW_LABELS[e.row].split(" +")[0].split(" (")[0] if scrapl else e.label
        row = [method, *sw] + ([e.preset] if multi else [])
        row += [_fmt(*e.theta_l1)] + [_fmt(*e.param_l1[n]) for n in names]
        row += [
            _fmt(*e.total_var),
            _fmt(*e.excess_var) if e.excess_var is not None else "n/a",
            f"{100 * e.conv_rate:.0f}%",
            _fmt(*e.conv_steps, digits=4),
            _fmt(*e.ms_per_step),
            _fmt(*e.wall_s),
            f"{e.steps.mean:.0f}",
        ]
        lines.append("| " + " | ".join(row) + " |")
    n = sorted({e.n_seeds for e in entries})
    lines += [
        "",
        f"Mean ± 95% CI (Student t) over {'/'.join(map(str, n))} seeds. θ L1 in ‰ of the "
        "normalised parameter range (test set, final model); convergence = validation θ L1 "
        "< 100 ‰ (Table 2); total variation of the validation θ L1 curve (as a fraction); "
        "excess variation = total variation − |last − first|, the back-and-forth of the "
        "curve (0 for a monotone curve, so a run that learns is not counted as noisy).",
    ]
    paired = summary.paired or []
    if paired:
        lines += ["", "#### Paired differences (the paper's Table 6 in small)", ""]
        lines.append(paired_markdown(paired, names).rstrip("\n"))
    if any(e.drum is not None for e in entries):
        lines += ["", drum_report_markdown(summary).rstrip("\n")]
    return "\n".join(lines) + "\n"
