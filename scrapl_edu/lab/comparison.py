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

import csv
import json
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
from scrapl_edu.lab.config import ROW_LABELS, ROWS
from scrapl_edu.lab.device import resolve_device
from scrapl_edu.lab.drums import drum_per_seed, drum_report_markdown
from scrapl_edu.lab.paired import paired_markdown, paired_stats
from scrapl_edu.lab.results import RESULTS_JSON, Results, excess_variation
from scrapl_edu.lab.run_args import config_from_argv
from scrapl_edu.lab.train import CHECKPOINT
from scrapl_edu.presets import PRESETS

__all__ = [
    "aggregate",
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
    if spec["loss"] == "scrapl":
        for key, flag in (("p_adam", "--no-p-adam"), ("p_saga", "--no-p-saga")):
            if not spec[key]:
                args.append(flag)
        if spec.get("adaptive_pi"):
            args += ["--sampling", "adaptive"]
        elif not spec["theta_is"]:
            args.append("--no-theta-is")
    return args + ["--seed", str(seed)]


def _run_cmd(preset: str, row: str, seed: int, folder: Path, extra: Sequence[str]) -> list[str]:
    cmd = [sys.executable, "-m", "scrapl_edu.lab", "run", *run_args(preset, row, seed)]
    cmd += ["--out", str(folder), "--threads", "1", "--resume", "--no-progress"]
    return cmd + list(extra)


def _run_one(cmd: list[str], folder: Path, env: dict[str, str]) -> int:
    """One run in its own process, its output appended to ``folder/log.txt``."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "log.txt", "a") as log:
        return subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env).returncode


def _copy_reusable(
    reuse: Sequence[str | Path], preset: str, row: str, seed: int, folder: Path, want: dict
) -> None:
    """Copy a finished identical run (same configuration ``want``) from a ``reuse`` folder."""
    for other in reuse:
        src = run_dir(other, preset, row, seed)
        f = src / RESULTS_JSON
        if f.exists() and json.loads(f.read_text())["config"] == want:
            folder.mkdir(parents=True, exist_ok=True)
            for item in src.iterdir():
                if item.is_file() and item.name != CHECKPOINT:
                    shutil.copy2(item, folder / item.name)
            with (folder / "log.txt").open("a") as log:
                log.write(f"copied from {src}\n")
            return


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
) -> dict[str, Any]:
    """Run every (preset, row, seed) and aggregate mean +- 95% CI like Tables 1-3.

    Each run goes to ``out/runs/<preset>/<row>/seed<N>/``, in its own process with one
    thread, ``jobs`` at a time; finished runs are reused and interrupted ones resumed, so
    ``compare`` can be re-launched after an interruption. Writes ``out/table.md``,
    ``out/summary.csv`` and ``out/summary.json``; these aggregate files are only replaced
    with ``overwrite``. ``row_args`` adds per-row command-line arguments (e.g.
    ``{"jtfs": ["--steps", "40"]}``). ``reuse`` lists other compare folders whose finished
    runs of the same (preset, row, seed) are copied instead of recomputed, when their
    configuration is the one this compare would run (runs are deterministic given their
    configuration, timings aside). ``fast`` runs the shrunk presets (``SCRAPL_EDU_FAST=1``
    in the runs' environment). ``pairs``: rows compared seed by seed (see :func:`aggregate`).

    ``scheduler``: a Dask scheduler address (``tcp://HOST:8786``) or a ``distributed.Client``:
    each run becomes a task of that cluster instead of a process of the local pool (same
    command, same folders; :mod:`scrapl_edu.lab.cluster`); ``jobs`` is then the cluster's
    business (one task per worker thread). ``device`` (``cpu``, ``cuda``, ``cuda:N``,
    ``auto``) is passed to every run (``--device``); on a cluster, ``cuda`` tasks ask for
    the worker resource ``GPU=1``. A run that fails is reported with its log; finished runs
    are kept, and the table is built once every run is in.
    """
    out = Path(out)
    for r in rows:
        if r not in ROWS:
            raise ValueError(f"unknown row {r!r}; choose from {', '.join(ROWS)}")
    for p in presets:
        if p not in PRESETS:
            raise ValueError(f"unknown preset {p!r}; choose one of {sorted(PRESETS)}")
    if scheduler is not None and not hasattr(scheduler, "submit"):
        scheduler = check_scheduler_address(scheduler)  # a malformed address: before any work
    elif scheduler is None:
        resolve_device(device)  # the local runs would each fail without the GPU: say it once
    device_args = [] if device == "cpu" else ["--device", str(device)]
    if (out / "table.md").exists() and not overwrite:
        raise FileExistsError(f"{out / 'table.md'} exists; pass --overwrite to rebuild the table")
    out.mkdir(parents=True, exist_ok=True)
    row_args = row_args or {}
    todo = []
    for preset in presets:
        for row in rows:
            for seed in seeds:
                folder = run_dir(out, preset, row, seed)
                extra = list(extra_args) + list(row_args.get(row, ())) + device_args
                if not (folder / RESULTS_JSON).exists() and reuse:
                    cfg = config_from_argv(run_args(preset, row, seed) + extra, fast=fast)
                    want = json.loads(json.dumps(asdict(cfg)))  # as results.json holds it
                    _copy_reusable(reuse, preset, row, seed, folder, want)
                if not (folder / RESULTS_JSON).exists():
                    todo.append((_run_cmd(preset, row, seed, folder, extra), folder))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env["SCRAPL_EDU_FAST"] = "1" if fast else "0"
    failures = []
    if scheduler is not None:  # every run a task of a Dask cluster, nothing for the local pool
        forwarded = {k: env[k] for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "SCRAPL_EDU_FAST")}
        gpu = str(device).startswith("cuda")
        failures, todo = run_on_dask(todo, scheduler, forwarded, out, gpu=gpu), []
    # threads only wait: each run is a separate process with one thread of its own
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(_run_one, cmd, folder, env): folder for cmd, folder in todo}
        done = as_completed(futures)
        for fut in tqdm(done, total=len(futures), desc="compare runs", disable=not futures):
            folder, code = futures[fut], fut.result()
            if code != 0:
                failures.append(f"{folder} (exit {code}; see {folder / 'log.txt'})")
    if failures:
        raise RuntimeError(
            "some runs failed:\n  "
            + "\n  ".join(sorted(failures))
            + "\nfinished runs are kept: rerun the same compare to finish the others"
        )
    return aggregate(out, presets, rows, seeds, title=title, pairs=pairs)


def _load_runs(out: Path, preset: str, row: str, seeds: Sequence[int]) -> list[Results]:
    found = []
    for seed in seeds:
        f = run_dir(out, preset, row, seed) / RESULTS_JSON
        if f.exists():
            found.append(Results.from_dict(json.loads(f.read_text())))
    return found


def _entry(preset: str, row: str, res: list[Results]) -> dict[str, Any]:
    names = res[0].param_names
    e: dict[str, Any] = {"preset": preset, "row": row, "label": ROW_LABELS[row]}
    e["n_seeds"] = len(res)
    e.update(ROWS[row])
    e["theta_l1"] = ci95([r.test_theta_l1_permille for r in res])
    for n in names:
        e[f"{n}_l1"] = ci95([r.test_theta_l1_permille_per_param[n] for r in res])
    e["total_var"] = ci95([r.val_total_variation for r in res])
    excess = [excess_variation(np.asarray(r.val_theta_l1_permille) / 1000.0) for r in res]
    e["excess_var"] = ci95(excess)
    conv = [r.steps_to_convergence for r in res]
    e["conv_rate"] = sum(c is not None for c in conv) / len(conv)
    e["conv_steps"] = ci95([c for c in conv if c is not None])
    e["ms_per_step"] = ci95([r.ms_per_step for r in res])
    e["wall_s"] = ci95([r.wall_s for r in res])
    e["steps"] = ci95([r.steps for r in res])
    e["param_names"] = names
    e["per_seed_theta_l1"] = [r.test_theta_l1_permille for r in res]
    # every metric per seed, keyed by the seeds that finished: what paired statistics need
    e["per_seed"] = {
        "seeds": [int(r.config["seed"]) for r in res],
        "theta_l1": [r.test_theta_l1_permille for r in res],
        **{f"{n}_l1": [r.test_theta_l1_permille_per_param[n] for r in res] for n in names},
        "total_var": [r.val_total_variation for r in res],
        "excess_var": excess,
    }
    if any(r.applied_diag for r in res):  # SCRAPL's applied-step diagnostic, per seed
        e["applied_diag"] = {
            "seeds": e["per_seed"]["seeds"],
            "per_seed": [r.applied_diag or [] for r in res],
        }
    drums = drum_per_seed(res)  # drum presets: Tables 4, 8-9 and pi on the decay paths
    if drums:
        e["per_seed"].update(drums)
        e["drum"] = {k.removeprefix("drum_"): list(ci95(v)) for k, v in drums.items()}
    return e


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
) -> dict[str, Any]:
    """Read the runs of :func:`compare`; write ``table.md``, ``summary.csv``, ``summary.json``.

    ``pairs``: ``(a, b)`` rows whose per-seed differences ``b - a`` are reported
    (:func:`scrapl_edu.lab.paired.paired_stats`; default: the rows that differ by one switch).
    """
    out = Path(out)
    summary: dict[str, Any] = {
        "presets": list(presets),
        "rows": list(rows),
        "seeds": list(seeds),
        "title": title,
        "entries": [],
    }
    for preset in presets:
        for row in rows:
            res = _load_runs(out, preset, row, seeds)
            if res:
                summary["entries"].append(_entry(preset, row, res))
    summary["paired"] = paired_stats(summary, pairs)
    (out / "table.md").write_text(table_markdown(summary, title))
    _write_csv(out / "summary.csv", summary)
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary


def refresh_summary(
    out: str | Path, pairs: Sequence[tuple[str, str]] | None = None
) -> dict[str, Any]:
    """Recompute the paired statistics of a comparison from its ``summary.json`` alone.

    For comparisons whose ``runs/`` are not kept (the committed ``data/results/lab/*``):
    adds ``paired`` to ``summary.json`` and rewrites ``table.md`` (the title is kept from
    the summary, or from the table's heading). Metrics the summary does not hold per seed
    (older summaries: only the mean θ L1) are left out of the paired table.
    """
    out = Path(out)
    summary = load_summary(out)
    if not summary.get("title"):
        md = out / "table.md"
        first = md.read_text().splitlines()[0] if md.exists() else ""
        summary["title"] = first[4:].strip() if first.startswith("### ") else ""
    summary["paired"] = paired_stats(summary, pairs)
    (out / "table.md").write_text(table_markdown(summary, summary["title"]))
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary


def load_summary(out: str | Path) -> dict[str, Any]:
    """The ``summary.json`` of a comparison (e.g. the committed ``data/results/lab/*``)."""
    f = Path(out) / "summary.json" if Path(out).is_dir() else Path(out)
    summary = json.loads(f.read_text())
    for key in ("presets", "rows", "seeds", "entries"):
        if key not in summary:
            raise ValueError(f"{f} is not a comparison summary: no {key!r}")
    return summary


def _write_csv(path: Path, summary: dict[str, Any]) -> None:
    cols = ["preset", "row", "n_seeds", "theta_l1", "theta_l1_ci", "p0_l1", "p0_l1_ci"]
    cols += ["p1_l1", "p1_l1_ci", "total_var", "conv_rate", "conv_steps", "ms_per_step"]
    cols += ["wall_s", "steps", "excess_var"]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        for e in summary["entries"]:
            n0, n1 = e["param_names"][:2]
            w.writerow(
                [
                    e["preset"],
                    e["row"],
                    e["n_seeds"],
                    *e["theta_l1"],
                    *e[f"{n0}_l1"],
                    *e[f"{n1}_l1"],
                    e["total_var"][0],
                    e["conv_rate"],
                    e["conv_steps"][0],
                    e["ms_per_step"][0],
                    e["wall_s"][0],
                    e["steps"][0],
                    e.get("excess_var", [float("nan")])[0],
                ]
            )


def table_markdown(summary: dict[str, Any], title: str = "") -> str:
    """The comparison as a markdown table (Tables 1-3's columns), mean ± 95% CI."""
    entries = summary["entries"]
    if not entries:
        return "no finished runs\n"
    names = entries[0]["param_names"]
    multi = len(summary["presets"]) > 1
    head = ["Method", "P-Adam", "P-SAGA", "θ-IS"] + (["Preset"] if multi else [])
    head += ["θ L1 ‰ ↓"] + [f"{n} L1 ‰ ↓" for n in names]
    head += ["Val. total var. ↓", "Val. excess var. ↓", "Conv. rate", "Conv. steps ↓"]
    head += ["ms/step ↓", "wall s", "steps"]
    lines = []
    if title:
        lines += [f"### {title}", ""]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for e in entries:
        scrapl = e["loss"] == "scrapl"
        sw = [("✓" if e.get(k) else "") if scrapl else "" for k in ("p_adam", "p_saga", "theta_is")]
        method = ROW_LABELS[e["row"]].split(" +")[0].split(" (")[0] if scrapl else e["label"]
        row = [method, *sw] + ([e["preset"]] if multi else [])
        row += [_fmt(*e["theta_l1"])] + [_fmt(*e[f"{n}_l1"]) for n in names]
        row += [
            _fmt(*e["total_var"]),
            _fmt(*e["excess_var"]) if "excess_var" in e else "n/a",
            f"{100 * e['conv_rate']:.0f}%",
            _fmt(*e["conv_steps"], digits=4),
            _fmt(*e["ms_per_step"]),
            _fmt(*e["wall_s"]),
            f"{e['steps'][0]:.0f}",
        ]
        lines.append("| " + " | ".join(row) + " |")
    n = sorted({e["n_seeds"] for e in entries})
    lines += [
        "",
        f"Mean ± 95% CI (Student t) over {'/'.join(map(str, n))} seeds. θ L1 in ‰ of the "
        "normalised parameter range (test set, final model); convergence = validation θ L1 "
        "< 100 ‰ (Table 2); total variation of the validation θ L1 curve (as a fraction); "
        "excess variation = total variation − |last − first|, the back-and-forth of the "
        "curve (0 for a monotone curve, so a run that learns is not counted as noisy).",
    ]
    paired = summary.get("paired") or []
    if paired:
        lines += ["", "#### Paired differences (the paper's Table 6 in small)", ""]
        lines.append(paired_markdown(paired, names).rstrip("\n"))
    if any("drum" in e for e in entries):
        lines += ["", drum_report_markdown(summary).rstrip("\n")]
    return "\n".join(lines) + "\n"
