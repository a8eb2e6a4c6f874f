"""What the committed lab results say, next to what the paper says (notebook 09).

Reads only what is committed under ``data/results/lab/v2`` (the classroom presets' STFT
64/16 front end; no run): the comparison summaries (Tables 1-3 in small, the ablation on
both synths; they keep each run's applied-step diagnostic), the idle-machine timings and
the θ-IS quality measurement, and turns them into

* :func:`cost_accuracy`: Fig. 1 in small, test θ L1 against the cost of a training step;
* :func:`paired_ablation` and :func:`table3`: the ablation read seed by seed (Table 6 in
  small) on the chirplet and the granular synth, and θ-IS against uniform sampling
  (Table 3), with the paper's numbers beside;
* :func:`errors_per_parameter`: θ_AM and θ_FM of every method;
* :func:`applied_variance`: P-SAGA's cut of the applied step's variance, seed by seed;
* :func:`claims`: the paper's statements this lab can test, each with the lab's number and
  whether it agrees, so that a notebook can assert the story and fail when a rerun changes
  it. The statements are a data table, :data:`CLAIMS`: one :class:`PaperClaim` each (the
  statement, the paper's source and number, how the lab's number is read, the verdict's
  rule), which :func:`judge` evaluates.

The paper's numbers quoted here are its own (Sections 1 and 5, Tables 1-3, 6); the lab's
are read from the files each time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from scrapl_edu.lab.applied import variance_ratio
from scrapl_edu.lab.comparison import load_summary
from scrapl_edu.lab.config import ROW_LABELS
from scrapl_edu.lab.paired import paired_stats
from scrapl_edu.lab.summary import PairedDifference, PairedRows, Summary, SummaryEntry

__all__ = [
    "ABLATIONS",
    "APPLIED_AFTER_STEP",
    "CLAIMS",
    "PAPER_TABLE3",
    "RESULTS_DIR",
    "Claim",
    "Evidence",
    "PaperClaim",
    "Reading",
    "applied_variance",
    "claims",
    "cost_accuracy",
    "errors_per_parameter",
    "judge",
    "load_evidence",
    "paired_ablation",
    "table3",
]

#: the committed lab results read by default: the classroom presets' current front end (the
#: results of the previous one, STFT 128/64, are one folder up, kept for the record)
RESULTS_DIR = Path(__file__).resolve().parents[2] / "data" / "results" / "lab" / "v2"
#: the comparisons read, folder names under :data:`RESULTS_DIR`
SUMMARIES = ("losses", "losses_equal_compute", "ablation", "ablation_granular", "theta_is")
#: the ablation (Table 2) of each synth: its folder and preset
ABLATIONS = {
    "chirplet": ("ablation", "classroom"),
    "granular": ("ablation_granular", "classroom_granular"),
}
#: the paper's Table 3 (20 seeds): (θ_AM ‰, θ_FM ‰) for uniform and θ-IS sampling
PAPER_TABLE3: dict[str, dict[str, tuple[float, float]]] = {
    "am1-2_fm0.5-1": {"uniform": (124.0, 155.0), "theta_is": (77.7, 78.4)},
    "am1-2_fm2-4": {"uniform": (111.0, 68.6), "theta_is": (55.5, 44.4)},
    "am2.8-8.4_fm2-4": {"uniform": (122.0, 238.0), "theta_is": (54.9, 48.5)},
}
#: the classroom presets of Table 3 and the paper's configuration each one scales down
TABLE3_PRESETS = {"classroom": "am2.8-8.4_fm2-4", "classroom_am1-2_fm0.5-1": "am1-2_fm0.5-1"}
#: a constant prediction of 0.5 scores 250 ‰ on a uniform parameter (E|U - 1/2| = 1/4)
CONSTANT_GUESS_PERMILLE = 250.0
#: the applied-step diagnostic counts from this step on (after the warm-up of P-SAGA's table)
APPLIED_AFTER_STEP = 200


@dataclass
class Evidence:
    """The committed results, as read from disk.

    Attributes:
        root: the folder read (:data:`RESULTS_DIR` by default).
        summaries: comparison name -> its ``summary.json`` (:data:`SUMMARIES`), as a
            :class:`~scrapl_edu.lab.summary.Summary`.
        idle_ms: loss -> ms per training step on an idle machine (``timing/``).
        applied: synth (``"chirplet"``, ``"granular"``) -> one
            :func:`scrapl_edu.lab.applied.variance_ratio` per seed (with its ``seed``): the
            ablation's ``+ P-SAGA`` pair (P-Adam on, uniform π; P-SAGA off vs on).
        theta_is_quality: θ-IS's π with fewer examples / iterations against a long
            reference, one report per preset
            (:func:`scrapl_edu.lab.theta_is_quality.measure_theta_is_quality`).
    """

    root: Path
    summaries: dict[str, Summary]
    idle_ms: dict[str, float]
    applied: dict[str, list[dict[str, Any]]]
    theta_is_quality: list[dict[str, Any]]


def applied_variance(
    summary: Summary, preset: str, after_step: int = APPLIED_AFTER_STEP
) -> list[dict[str, Any]]:
    """P-SAGA's cut of the applied step's variance in an ablation's summary, seed by seed.

    The rows ``scrapl_p_adam`` (P-SAGA off) and ``scrapl_no_theta_is`` (on) differ by P-SAGA
    alone and record ``applied_diag`` at their validations (each summary entry's
    ``applied_diag``: ``seeds`` and ``per_seed``); per seed that both hold,
    :func:`scrapl_edu.lab.applied.variance_ratio` after ``after_step`` (``ratio`` > 1:
    lower with P-SAGA), with ``seed`` added.
    """

    def by_seed(row: str) -> dict[int, list[dict[str, float]]]:
        found = _entry(summary, row, preset).applied_diag
        if found is None:  # a summary made before the diagnostic existed
            return {}
        return found.by_seed()

    off, on = by_seed("scrapl_p_adam"), by_seed("scrapl_no_theta_is")
    return [
        {"seed": seed, **variance_ratio(off[seed], on[seed], after_step=after_step)}
        for seed in sorted(set(off) & set(on))
    ]


def load_evidence(root: str | Path | None = None) -> Evidence:
    """Read the committed results under ``root`` (default :data:`RESULTS_DIR`)."""
    root = RESULTS_DIR if root is None else Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"no results folder {root}: expected data/results/lab/v2")
    summaries = {name: load_summary(root / name) for name in SUMMARIES}
    idle = {}
    for path in sorted((root / "timing").glob("*/results.json")):  # one run per loss
        res = json.loads(path.read_text())
        idle[res["config"]["loss"]] = float(res["ms_per_step"])
    for loss in ("scrapl", "jtfs"):
        if loss not in idle:
            raise FileNotFoundError(f"no idle-machine timing of {loss!r} in {root / 'timing'}")
    applied = {
        synth: applied_variance(summaries[folder], preset)
        for synth, (folder, preset) in ABLATIONS.items()
    }
    quality = json.loads((root / "theta_is_quality" / "quality.json").read_text())
    return Evidence(
        root=root, summaries=summaries, idle_ms=idle, applied=applied, theta_is_quality=quality
    )


def _entry(summary: Summary, row: str, preset: str = "classroom") -> SummaryEntry:
    e = summary.entry(row, preset)
    if e is None:
        raise KeyError(f"no row {row!r} on preset {preset!r} in the summary")
    return e


def cost_accuracy(ev: Evidence) -> list[dict[str, Any]]:
    """Fig. 1 in small: test θ L1 (mean, 95% CI half-width) against ms per training step.

    Step costs are the idle-machine timings (``timing/``: one run per loss) where measured;
    a loss without one gets the comparison's mean ms/step, measured while other jobs shared
    the machine, rescaled by SCRAPL's idle / loaded ratio (``estimated``: True). The
    full JTFS appears twice: at SCRAPL's compute (``losses_equal_compute``: as many steps as
    cost what SCRAPL's 400 cost on the idle machine) and at equal steps (``losses``).
    """
    losses, equal = ev.summaries["losses"], ev.summaries["losses_equal_compute"]
    scale = ev.idle_ms["scrapl"] / _entry(losses, "scrapl").ms_per_step.mean
    points = []
    for label, summary, row in (
        ("MSS", losses, "mss"),
        ("JTFS (SCRAPL's compute)", equal, "jtfs"),
        ("JTFS (equal steps)", losses, "jtfs"),
        ("SCRAPL", losses, "scrapl"),
        ("P-loss (supervised)", losses, "p_loss"),
    ):
        e = _entry(summary, row)
        idle = e.loss in ev.idle_ms
        points.append(
            {
                "label": label,
                "theta_l1": tuple(e.theta_l1),
                "ms_per_step": ev.idle_ms[e.loss] if idle else e.ms_per_step.mean * scale,
                "estimated": not idle,
                "steps": int(e.steps.mean),
            }
        )
    return points


def paired_ablation(ev: Evidence, synth: str = "chirplet") -> list[PairedRows]:
    """The ablation (Table 2 in small) of ``synth`` read seed by seed: one item per switch."""
    if synth not in ABLATIONS:
        raise ValueError(f"synth must be one of {', '.join(ABLATIONS)}, got {synth!r}")
    summary = ev.summaries[ABLATIONS[synth][0]]
    return summary.paired or paired_stats(summary)


def table3(ev: Evidence) -> list[dict[str, Any]]:
    """θ-IS against uniform sampling on the classroom chirplets (Table 3), the paper's beside.

    One dict per (preset, sampling): ``preset``, ``paper_config``, ``sampling``
    (``"uniform"`` / ``"theta_is"``), the lab's ``am`` and ``fm`` (mean, CI) and the paper's
    ``paper_am`` / ``paper_fm``.
    """
    summary = ev.summaries["theta_is"]
    rows = []
    for preset, config in TABLE3_PRESETS.items():
        for sampling, row in (("uniform", "scrapl_no_theta_is"), ("theta_is", "scrapl")):
            e = _entry(summary, row, preset)
            am, fm = PAPER_TABLE3[config][sampling]
            rows.append(
                {
                    "preset": preset,
                    "paper_config": config,
                    "sampling": sampling,
                    "am": tuple(e.param_l1["am_hz"]),
                    "fm": tuple(e.param_l1["fm_oct_per_s"]),
                    "paper_am": am,
                    "paper_fm": fm,
                }
            )
    return rows


def errors_per_parameter(ev: Evidence) -> list[dict[str, Any]]:
    """θ_AM and θ_FM test errors (mean, CI) of every method of Table 1 in small."""
    out = []
    for name, row in (
        ("losses", "mss"),
        ("losses_equal_compute", "jtfs"),
        ("losses", "jtfs"),
        ("losses", "scrapl"),
        ("losses", "p_loss"),
    ):
        e = _entry(ev.summaries[name], row)
        label = ROW_LABELS[row] + (" (SCRAPL's compute)" if name == "losses_equal_compute" else "")
        am, fm = tuple(e.param_l1["am_hz"]), tuple(e.param_l1["fm_oct_per_s"])
        out.append({"label": label, "am": am, "fm": fm})
    return out


@dataclass(frozen=True)
class Claim:
    """A statement of the paper, tested on the lab's committed results.

    Attributes:
        key: a short stable name.
        paper: what the paper says, with its number and where.
        lab: what the lab measured, with its number.
        agrees: whether the lab's number supports the paper's statement.
        rule: the verdict's rule, in words (:attr:`PaperClaim.rule`).
    """

    key: str
    paper: str
    lab: str
    agrees: bool
    rule: str = ""


@dataclass(frozen=True)
class Reading:
    """The lab's side of a claim: the numbers the verdict needs and their wording."""

    values: Mapping[str, float]
    text: str


@dataclass(frozen=True)
class PaperClaim:
    """One row of :data:`CLAIMS`: a statement of the paper and how the lab decides it.

    Attributes:
        key: a short stable name (:attr:`Claim.key`).
        statement: what the paper says.
        source: where it says it (a table, figure or section of the paper).
        number: the paper's number there ("" where the statement carries it).
        read: how the lab's number is read from the committed results.
        rule: the verdict in words; ``agrees``: the same rule on the reading's values.
    """

    key: str
    statement: str
    source: str
    number: str
    read: Callable[[Evidence], Reading]
    rule: str
    agrees: Callable[[Mapping[str, float]], bool]

    @property
    def paper(self) -> str:
        """The paper's side as the table shows it: ``statement (source: number)``."""
        where = f"{self.source}: {self.number}" if self.number else self.source
        return f"{self.statement} ({where})"


def _row(ev: Evidence, name: str, row: str, preset: str = "classroom") -> SummaryEntry:
    return _entry(ev.summaries[name], row, preset)


def _paired(ev: Evidence, summary: str, label: str, preset: str = "classroom") -> PairedDifference:
    s = ev.summaries[summary]
    for item in s.paired or paired_stats(s):
        if item.label == label and item.preset == preset:
            return item.theta_l1
    raise KeyError(f"no paired {label!r} on {preset!r} in {summary}")


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def _geo_mean(values: list[float]) -> float:
    return float(np.exp(np.mean(np.log(values)))) if values else float("nan")


# ------------------------------------------------------------- how each number is read
def _read_mss_vs_scrapl(ev: Evidence) -> Reading:
    mss, sc = _row(ev, "losses", "mss"), _row(ev, "losses", "scrapl")
    (m_mss, h_mss), (m_sc, h_sc) = mss.theta_l1, sc.theta_l1
    text = (
        f"MSS {m_mss:.0f} ± {h_mss:.0f} ‰ vs SCRAPL {m_sc:.0f} ± {h_sc:.0f} ‰ "
        f"({len(sc.per_seed_theta_l1)} seeds)"
    )
    return Reading({"mss": m_mss, "mss_ci": h_mss, "scrapl": m_sc, "scrapl_ci": h_sc}, text)


def _read_step_cost(ev: Evidence) -> Reading:
    jtfs, scrapl = ev.idle_ms["jtfs"], ev.idle_ms["scrapl"]
    ratio = jtfs / scrapl
    text = f"idle machine: JTFS {jtfs:.0f} ms vs SCRAPL {scrapl:.0f} ms per step ({ratio:.1f}x)"
    return Reading({"ratio": ratio}, text)


def _read_accuracy_ratio(ev: Evidence) -> Reading:
    sc, jt = _row(ev, "losses", "scrapl"), _row(ev, "losses", "jtfs")
    ratio = sc.theta_l1.mean / jt.theta_l1.mean
    text = (
        f"equal steps ({sc.steps.mean:.0f}): SCRAPL {sc.theta_l1.mean:.0f} ‰ vs JTFS "
        f"{jt.theta_l1.mean:.0f} ‰ ({ratio:.1f}x)"
    )
    return Reading({"ratio": ratio}, text)


def _read_equal_compute(ev: Evidence) -> Reading:
    sc, jt = _row(ev, "losses", "scrapl"), _row(ev, "losses_equal_compute", "jtfs")
    text = (
        f"the full JTFS given SCRAPL's compute ({jt.steps.mean:.0f} steps): "
        f"SCRAPL {sc.theta_l1.mean:.0f} ‰ vs JTFS {jt.theta_l1.mean:.0f} ‰"
    )
    return Reading({"scrapl": sc.theta_l1.mean, "jtfs": jt.theta_l1.mean}, text)


def _read_supervised(ev: Evidence) -> Reading:
    pl, jt = _row(ev, "losses", "p_loss"), _row(ev, "losses", "jtfs")
    others = [
        _row(ev, "losses", "mss").theta_l1.mean,
        _row(ev, "losses", "scrapl").theta_l1.mean,
        jt.theta_l1.mean,
        _row(ev, "losses_equal_compute", "jtfs").theta_l1.mean,
    ]
    text = (
        f"P-loss {pl.theta_l1.mean:.0f} ‰ (θ_AM {pl.param_l1['am_hz'].mean:.0f}, θ_FM "
        f"{pl.param_l1['fm_oct_per_s'].mean:.0f}); JTFS {jt.theta_l1.mean:.0f} ‰"
    )
    return Reading({"p_loss": pl.theta_l1.mean, "best_other": min(others)}, text)


def _read_jtfs_theta_am(ev: Evidence) -> Reading:
    am = _row(ev, "losses", "jtfs").param_l1["am_hz"].mean
    return Reading({"am": am}, f"full JTFS at equal steps: θ_AM {am:.0f} ‰")


def _read_scrapl_theta_am(ev: Evidence) -> Reading:
    am = _row(ev, "losses", "scrapl").param_l1["am_hz"].mean
    text = f"SCRAPL θ_AM {am:.0f} ‰; a constant guess scores {CONSTANT_GUESS_PERMILLE:.0f} ‰"
    return Reading({"am": am}, text)


def _read_convergence(ev: Evidence) -> Reading:
    sc = _row(ev, "losses", "scrapl")
    text = (
        f"{100 * sc.conv_rate:.0f}% of the classroom runs below 100 ‰ in {sc.steps.mean:.0f} steps"
    )
    return Reading({"conv_rate": sc.conv_rate}, text)


def _read_paired(ev: Evidence, folder: str, preset: str, label: str, tag: str = "") -> Reading:
    """The paired difference ``label`` of ``folder`` on ``preset``; ``tag`` names the synth."""
    d = _paired(ev, folder, label, preset)
    text = (
        f"paired{tag}: {d.mean:+.1f} ± {d.ci:.1f} ‰, p {_p(d.p_t)}, "
        f"{d.improved}/{d.n} seeds improved"
    )
    return Reading({"mean": d.mean, "p_t": d.p_t, "improved": d.improved, "n": d.n}, text)


def _read_ablation(synth: str, label: str) -> Callable[[Evidence], Reading]:
    """How a switch of the ablation (Table 2 in small) of ``synth`` is read: paired."""
    folder, preset = ABLATIONS[synth]
    return partial(_read_paired, folder=folder, preset=preset, label=label, tag=f", {synth}")


def _read_theta_am_gain(ev: Evidence) -> Reading:
    t3 = {(r["preset"], r["sampling"]): r for r in table3(ev)}
    gains = [1 - t3[(p, "theta_is")]["am"][0] / t3[(p, "uniform")]["am"][0] for p in TABLE3_PRESETS]
    text = "θ_AM improvement " + ", ".join(f"{100 * g:.0f}%" for g in gains)
    return Reading({"least": min(gains)}, text + " on the two presets")


def _read_step_variance(synth: str) -> Callable[[Evidence], Reading]:
    """How P-SAGA's cut of the applied step's variance on ``synth`` is read (per seed)."""

    def read(ev: Evidence) -> Reading:
        ratios = [r["ratio"] for r in ev.applied[synth]]
        lower = sum(r > 1.0 for r in ratios)
        text = (
            f"{synth}: the applied step's variance over the path draw after warm-up (steps "
            f"{APPLIED_AFTER_STEP}+), P-SAGA off / on, {_geo_mean(ratios):.2f}x (geometric "
            f"mean), lower on {lower}/{len(ratios)} seeds"
        )
        return Reading({"lower": lower, "n": len(ratios)}, text)

    return read


def _read_total_variation(ev: Evidence) -> Reading:
    off = _row(ev, "ablation_granular", "scrapl_p_adam", "classroom_granular").total_var.mean
    on = _row(ev, "ablation_granular", "scrapl_no_theta_is", "classroom_granular").total_var.mean
    text = (
        f"granular: {off:.3f} → {on:.3f} (runs that do not converge: the total variation "
        "measures learning too)"
    )
    return Reading({"off": off, "on": on}, text)


# ----------------------------------------------------------------------- the verdicts
def _not_significant(v: Mapping[str, float]) -> bool:
    return v["p_t"] > 0.05


def _lowers_significantly(v: Mapping[str, float]) -> bool:
    return v["mean"] < 0 and v["p_t"] < 0.05


_NOT_SIGNIFICANT = "paired t-test p > 0.05"
_LOWERS = "mean paired difference < 0 with paired t-test p < 0.05"
_P_ADAM = (
    "P-Adam's effect on accuracy is not significant",
    "Table 6, granular",
    "−12.3 ± 17 ‰, p = 0.15",
)
_P_SAGA = ("P-SAGA lowers the error significantly", "Table 6, granular", "−13.6 ± 5.6 ‰, p < 0.01")
_STEP_VARIANCE = (
    "P-SAGA reduces the variance of the optimisation",
    "Section 3.3, Table 2",
    "",
)
_EVERY_SEED = "the variance is lower with P-SAGA on every seed"

#: the paper's statements this lab can test, in the order notebook 09 shows them: each with
#: the paper's source and number (Tables 1-3, 6 and 7, Fig. 1-2, Sections 1, 3.3 and 5.2),
#: how the lab's number is read from the committed results, and the verdict's rule
CLAIMS: tuple[PaperClaim, ...] = (
    PaperClaim(
        "mss_fails_under_shifts",
        "MSS cannot match the synth under random shifts; SCRAPL can",
        "Table 1",
        "MSS 195-370 ‰, SCRAPL 65.7 ‰",
        _read_mss_vs_scrapl,
        "MSS's 95% interval of test θ L1 lies above SCRAPL's",
        lambda v: v["mss"] - v["mss_ci"] > v["scrapl"] + v["scrapl_ci"],
    ),
    PaperClaim(
        "scrapl_step_is_cheap",
        "a full-JTFS step costs many SCRAPL steps",
        "Fig. 1",
        "JTFS 25x MSS's cost, SCRAPL within 2x",
        _read_step_cost,
        "a full-JTFS step costs at least 5 SCRAPL steps on the idle machine",
        lambda v: v["ratio"] >= 5.0,
    ),
    PaperClaim(
        "scrapl_within_2x_of_jtfs",
        "SCRAPL is within a factor two of the full JTFS in accuracy",
        "Section 1, Fig. 1",
        "",
        _read_accuracy_ratio,
        "SCRAPL's test θ L1 at most twice the full JTFS's at equal steps",
        lambda v: v["ratio"] <= 2.0,
    ),
    PaperClaim(
        "scrapl_ahead_at_equal_compute",
        "per unit of compute SCRAPL learns faster than the full JTFS",
        "Fig. 2, left",
        "",
        _read_equal_compute,
        "SCRAPL's test θ L1 below the full JTFS's given SCRAPL's compute",
        lambda v: v["scrapl"] < v["jtfs"],
    ),
    PaperClaim(
        "supervised_is_best",
        "the supervised P-loss is the most accurate",
        "Table 1",
        "20.5 ‰",
        _read_supervised,
        "P-loss's test θ L1 below every other method's",
        lambda v: v["p_loss"] < v["best_other"],
    ),
    PaperClaim(
        "jtfs_learns_theta_am",
        "the JTFS loss carries θ_AM",
        "Table 3",
        "55-124 ‰ with SCRAPL; the full JTFS is better",
        _read_jtfs_theta_am,
        "the full JTFS's θ_AM below 100 ‰",
        lambda v: v["am"] < 100.0,
    ),
    PaperClaim(
        "scrapl_learns_theta_am",
        "SCRAPL with θ-IS learns θ_AM",
        "Table 3, AM 2.8-8.4 Hz / FM 2-4 oct/s",
        "54.9 ‰",
        _read_scrapl_theta_am,
        "SCRAPL's θ_AM below 200 ‰ (a constant guess scores 250 ‰)",
        lambda v: v["am"] < 200.0,
    ),
    PaperClaim(
        "scrapl_converges",
        "SCRAPL converges below 100 ‰ within its budget",
        "Table 2",
        "6014 steps",
        _read_convergence,
        "more than half of the runs reach a validation θ L1 below 100 ‰",
        lambda v: v["conv_rate"] > 0.5,
    ),
    PaperClaim(
        "p_adam_not_significant",
        *_P_ADAM,
        _read_ablation("chirplet", "+ P-Adam"),
        _NOT_SIGNIFICANT,
        _not_significant,
    ),
    PaperClaim(
        "p_saga_significant",
        *_P_SAGA,
        _read_ablation("chirplet", "+ P-SAGA"),
        _LOWERS,
        _lowers_significantly,
    ),
    PaperClaim(
        "p_adam_not_significant_granular",
        *_P_ADAM,
        _read_ablation("granular", "+ P-Adam"),
        _NOT_SIGNIFICANT,
        _not_significant,
    ),
    PaperClaim(
        "p_saga_significant_granular",
        *_P_SAGA,
        _read_ablation("granular", "+ P-SAGA"),
        _LOWERS,
        _lowers_significantly,
    ),
    PaperClaim(
        "theta_is_helps_classroom",
        "θ-IS lowers the error on the AM 2.8-8.4 / FM 2-4 chirplet",
        "Table 3",
        "",
        _read_ablation("chirplet", "+ θ-IS"),
        _LOWERS,
        _lowers_significantly,
    ),
    PaperClaim(
        "theta_is_not_significant_granular",
        "on the granular synth θ-IS's effect on accuracy is small and not significant",
        "Table 6",
        "−8.13 ± 15 ‰, p = 0.26",
        _read_ablation("granular", "+ θ-IS"),
        _NOT_SIGNIFICANT,
        _not_significant,
    ),
    PaperClaim(
        "theta_is_helps_am1-2_fm0.5-1",
        "θ-IS lowers the error on the AM 1-2 / FM 0.5-1 chirplet",
        "Table 3",
        "124/155 → 78/78 ‰",
        partial(_read_paired, folder="theta_is", preset="classroom_am1-2_fm0.5-1", label="+ θ-IS"),
        _LOWERS,
        _lowers_significantly,
    ),
    PaperClaim(
        "theta_is_improves_theta_am",
        "θ-IS improves θ_AM by 25-55%",
        "Section 5.2, Table 7",
        "",
        _read_theta_am_gain,
        "θ-IS's θ_AM gain over uniform sampling at least 25% on both presets",
        lambda v: v["least"] >= 0.25,
    ),
    PaperClaim(
        "p_saga_lowers_step_variance",
        *_STEP_VARIANCE,
        _read_step_variance("chirplet"),
        _EVERY_SEED,
        lambda v: v["n"] > 0 and v["lower"] == v["n"],
    ),
    PaperClaim(
        "p_saga_lowers_step_variance_granular",
        *_STEP_VARIANCE,
        _read_step_variance("granular"),
        _EVERY_SEED,
        lambda v: v["n"] > 0 and v["lower"] == v["n"],
    ),
    PaperClaim(
        "total_variation_falls_with_p_saga",
        "the validation curve's total variation falls with P-SAGA",
        "Table 2, granular",
        "6.98 → 3.46",
        _read_total_variation,
        "the total variation with P-SAGA below that without (granular ablation)",
        lambda v: v["on"] < v["off"],
    ),
)


def judge(claim: PaperClaim, ev: Evidence) -> Claim:
    """One claim of :data:`CLAIMS` decided by the lab's number: read it, apply the rule."""
    reading = claim.read(ev)
    agrees = bool(claim.agrees(reading.values))
    return Claim(claim.key, claim.paper, reading.text, agrees, rule=claim.rule)


def claims(ev: Evidence, table: Sequence[PaperClaim] = CLAIMS) -> list[Claim]:
    """The paper's statements this lab can test (:data:`CLAIMS`), each decided by the lab's
    numbers (:func:`judge`)."""
    return [judge(c, ev) for c in table]
