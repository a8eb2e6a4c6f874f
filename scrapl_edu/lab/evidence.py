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
  it.

The paper's numbers quoted here are its own (Sections 1 and 5, Tables 1-3, 6); the lab's
are read from the files each time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from scrapl_edu.lab.applied import variance_ratio
from scrapl_edu.lab.comparison import load_summary
from scrapl_edu.lab.config import ROW_LABELS
from scrapl_edu.lab.paired import paired_stats

__all__ = [
    "ABLATIONS",
    "APPLIED_AFTER_STEP",
    "PAPER_TABLE3",
    "RESULTS_DIR",
    "Claim",
    "Evidence",
    "applied_variance",
    "claims",
    "cost_accuracy",
    "errors_per_parameter",
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
        summaries: comparison name -> its ``summary.json`` (:data:`SUMMARIES`).
        idle_ms: loss -> ms per training step on an idle machine (``timing/``).
        applied: synth (``"chirplet"``, ``"granular"``) -> one
            :func:`scrapl_edu.lab.applied.variance_ratio` per seed (with its ``seed``): the
            ablation's ``+ P-SAGA`` pair (P-Adam on, uniform π; P-SAGA off vs on).
        theta_is_quality: θ-IS's π with fewer examples / iterations against a long
            reference, one report per preset
            (:func:`scrapl_edu.lab.theta_is_quality.measure_theta_is_quality`).
    """

    root: Path
    summaries: dict[str, dict[str, Any]]
    idle_ms: dict[str, float]
    applied: dict[str, list[dict[str, Any]]]
    theta_is_quality: list[dict[str, Any]]


def applied_variance(
    summary: dict[str, Any], preset: str, after_step: int = APPLIED_AFTER_STEP
) -> list[dict[str, Any]]:
    """P-SAGA's cut of the applied step's variance in an ablation's summary, seed by seed.

    The rows ``scrapl_p_adam`` (P-SAGA off) and ``scrapl_no_theta_is`` (on) differ by P-SAGA
    alone and record ``applied_diag`` at their validations (each summary entry's
    ``applied_diag``: ``seeds`` and ``per_seed``); per seed that both hold,
    :func:`scrapl_edu.lab.applied.variance_ratio` after ``after_step`` (``ratio`` > 1:
    lower with P-SAGA), with ``seed`` added.
    """

    def by_seed(row: str) -> dict[int, list[dict[str, float]]]:
        found = _entry(summary, row, preset).get("applied_diag")
        if not found:  # a summary made before the diagnostic existed
            return {}
        return {int(s): d for s, d in zip(found["seeds"], found["per_seed"], strict=True) if d}

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


def _entry(summary: dict[str, Any], row: str, preset: str = "classroom") -> dict[str, Any]:
    for e in summary["entries"]:
        if e["row"] == row and e["preset"] == preset:
            return e
    raise KeyError(f"no row {row!r} on preset {preset!r} in the summary")


def cost_accuracy(ev: Evidence) -> list[dict[str, Any]]:
    """Fig. 1 in small: test θ L1 (mean, 95% CI half-width) against ms per training step.

    Step costs are the idle-machine timings (``timing/``: one run per loss) where measured;
    a loss without one gets the comparison's mean ms/step, measured while other jobs shared
    the machine, rescaled by SCRAPL's idle / loaded ratio (``estimated``: True). The
    full JTFS appears twice: at SCRAPL's compute (``losses_equal_compute``: as many steps as
    cost what SCRAPL's 400 cost on the idle machine) and at equal steps (``losses``).
    """
    losses, equal = ev.summaries["losses"], ev.summaries["losses_equal_compute"]
    scale = ev.idle_ms["scrapl"] / _entry(losses, "scrapl")["ms_per_step"][0]
    points = []
    for label, summary, row in (
        ("MSS", losses, "mss"),
        ("JTFS (SCRAPL's compute)", equal, "jtfs"),
        ("JTFS (equal steps)", losses, "jtfs"),
        ("SCRAPL", losses, "scrapl"),
        ("P-loss (supervised)", losses, "p_loss"),
    ):
        e = _entry(summary, row)
        loss = e["loss"]
        idle = loss in ev.idle_ms
        points.append(
            {
                "label": label,
                "theta_l1": tuple(e["theta_l1"]),
                "ms_per_step": ev.idle_ms[loss] if idle else e["ms_per_step"][0] * scale,
                "estimated": not idle,
                "steps": int(e["steps"][0]),
            }
        )
    return points


def paired_ablation(ev: Evidence, synth: str = "chirplet") -> list[dict[str, Any]]:
    """The ablation (Table 2 in small) of ``synth`` read seed by seed: one entry per switch."""
    if synth not in ABLATIONS:
        raise ValueError(f"synth must be one of {', '.join(ABLATIONS)}, got {synth!r}")
    summary = ev.summaries[ABLATIONS[synth][0]]
    return summary.get("paired") or paired_stats(summary)


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
                    "am": tuple(e["am_hz_l1"]),
                    "fm": tuple(e["fm_oct_per_s_l1"]),
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
        out.append({"label": label, "am": tuple(e["am_hz_l1"]), "fm": tuple(e["fm_oct_per_s_l1"])})
    return out


@dataclass(frozen=True)
class Claim:
    """A statement of the paper, tested on the lab's committed results.

    Attributes:
        key: a short stable name.
        paper: what the paper says, with its number and where.
        lab: what the lab measured, with its number.
        agrees: whether the lab's number supports the paper's statement.
    """

    key: str
    paper: str
    lab: str
    agrees: bool


def _paired(ev: Evidence, summary: str, label: str, preset: str = "classroom") -> dict:
    s = ev.summaries[summary]
    for item in s.get("paired") or paired_stats(s):
        if item["label"] == label and item["preset"] == preset:
            return item["theta_l1"]
    raise KeyError(f"no paired {label!r} on {preset!r} in {summary}")


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def _geo_mean(values: list[float]) -> float:
    return float(np.exp(np.mean(np.log(values)))) if values else float("nan")


def claims(ev: Evidence) -> list[Claim]:
    """The paper's statements this lab can test, each decided by the lab's numbers."""
    losses, equal = ev.summaries["losses"], ev.summaries["losses_equal_compute"]
    mss, sc = _entry(losses, "mss"), _entry(losses, "scrapl")
    jt_compute, jt_steps = _entry(equal, "jtfs"), _entry(losses, "jtfs")
    pl = _entry(losses, "p_loss")
    out = []

    def add(key: str, paper: str, lab: str, agrees: bool) -> None:
        out.append(Claim(key, paper, lab, bool(agrees)))

    (m_mss, h_mss), (m_sc, h_sc) = mss["theta_l1"], sc["theta_l1"]
    add(
        "mss_fails_under_shifts",
        "MSS cannot match the synth under random shifts; SCRAPL can (Table 1: MSS 195-370 ‰, "
        "SCRAPL 65.7 ‰)",
        f"MSS {m_mss:.0f} ± {h_mss:.0f} ‰ vs SCRAPL {m_sc:.0f} ± {h_sc:.0f} ‰ "
        f"({len(sc['per_seed_theta_l1'])} seeds)",
        m_mss - h_mss > m_sc + h_sc,
    )
    ratio = ev.idle_ms["jtfs"] / ev.idle_ms["scrapl"]
    add(
        "scrapl_step_is_cheap",
        "a full-JTFS step costs many SCRAPL steps (Fig. 1: JTFS 25x MSS's cost, SCRAPL within 2x)",
        f"idle machine: JTFS {ev.idle_ms['jtfs']:.0f} ms vs SCRAPL {ev.idle_ms['scrapl']:.0f} ms "
        f"per step ({ratio:.1f}x)",
        ratio >= 5.0,
    )
    acc = m_sc / jt_steps["theta_l1"][0]
    add(
        "scrapl_within_2x_of_jtfs",
        "SCRAPL is within a factor two of the full JTFS in accuracy (Section 1, Fig. 1)",
        f"equal steps ({sc['steps'][0]:.0f}): SCRAPL {m_sc:.0f} ‰ vs JTFS "
        f"{jt_steps['theta_l1'][0]:.0f} ‰ ({acc:.1f}x)",
        acc <= 2.0,
    )
    add(
        "scrapl_ahead_at_equal_compute",
        "per unit of compute SCRAPL learns faster than the full JTFS (Fig. 2, left)",
        f"the full JTFS given SCRAPL's compute ({jt_compute['steps'][0]:.0f} steps): "
        f"SCRAPL {m_sc:.0f} ‰ vs JTFS {jt_compute['theta_l1'][0]:.0f} ‰",
        m_sc < jt_compute["theta_l1"][0],
    )
    add(
        "supervised_is_best",
        "the supervised P-loss is the most accurate (Table 1: 20.5 ‰)",
        f"P-loss {pl['theta_l1'][0]:.0f} ‰ (θ_AM {pl['am_hz_l1'][0]:.0f}, θ_FM "
        f"{pl['fm_oct_per_s_l1'][0]:.0f}); JTFS {jt_steps['theta_l1'][0]:.0f} ‰",
        pl["theta_l1"][0] < min(m_mss, m_sc, jt_steps["theta_l1"][0], jt_compute["theta_l1"][0]),
    )
    am_jt = jt_steps["am_hz_l1"][0]
    add(
        "jtfs_learns_theta_am",
        "the JTFS loss carries θ_AM (Table 3: 55-124 ‰ with SCRAPL; the full JTFS is better)",
        f"full JTFS at equal steps: θ_AM {am_jt:.0f} ‰",
        am_jt < 100.0,
    )
    am_sc = sc["am_hz_l1"][0]
    add(
        "scrapl_learns_theta_am",
        "SCRAPL with θ-IS learns θ_AM (Table 3, AM 2.8-8.4 Hz / FM 2-4 oct/s: 54.9 ‰)",
        f"SCRAPL θ_AM {am_sc:.0f} ‰; a constant guess scores {CONSTANT_GUESS_PERMILLE:.0f} ‰",
        am_sc < 200.0,
    )
    add(
        "scrapl_converges",
        "SCRAPL converges below 100 ‰ within its budget (Table 2: 6014 steps)",
        f"{100 * sc['conv_rate']:.0f}% of the classroom runs below 100 ‰ in "
        f"{sc['steps'][0]:.0f} steps",
        sc["conv_rate"] > 0.5,
    )

    def paired(synth: str, label: str) -> tuple[dict, str]:
        folder, preset = ABLATIONS[synth]
        d = _paired(ev, folder, label, preset)
        text = (
            f"{synth}: {d['mean']:+.1f} ± {d['ci']:.1f} ‰, p {_p(d['p_t'])}, "
            f"{d['improved']}/{d['n']} seeds improved"
        )
        return d, text

    for synth in ABLATIONS:
        tag = "" if synth == "chirplet" else "_granular"
        pa, text = paired(synth, "+ P-Adam")
        add(
            "p_adam_not_significant" + tag,
            "P-Adam's effect on accuracy is not significant (Table 6, granular: −12.3 ± 17 ‰, "
            "p = 0.15)",
            "paired, " + text,
            pa["p_t"] > 0.05,
        )
        ps, text = paired(synth, "+ P-SAGA")
        add(
            "p_saga_significant" + tag,
            "P-SAGA lowers the error significantly (Table 6, granular: −13.6 ± 5.6 ‰, p < 0.01)",
            "paired, " + text,
            ps["mean"] < 0 and ps["p_t"] < 0.05,
        )
    ti, text = paired("chirplet", "+ θ-IS")
    add(
        "theta_is_helps_classroom",
        "θ-IS lowers the error on the AM 2.8-8.4 / FM 2-4 chirplet (Table 3)",
        "paired, " + text,
        ti["mean"] < 0 and ti["p_t"] < 0.05,
    )
    tg, text = paired("granular", "+ θ-IS")
    add(
        "theta_is_not_significant_granular",
        "on the granular synth θ-IS's effect on accuracy is small and not significant "
        "(Table 6: −8.13 ± 15 ‰, p = 0.26)",
        "paired, " + text,
        tg["p_t"] > 0.05,
    )
    t2 = _paired(ev, "theta_is", "+ θ-IS", "classroom_am1-2_fm0.5-1")
    add(
        "theta_is_helps_am1-2_fm0.5-1",
        "θ-IS lowers the error on the AM 1-2 / FM 0.5-1 chirplet (Table 3: 124/155 → 78/78 ‰)",
        f"paired: {t2['mean']:+.1f} ± {t2['ci']:.1f} ‰, p {_p(t2['p_t'])}, "
        f"{t2['improved']}/{t2['n']} seeds improved",
        t2["mean"] < 0 and t2["p_t"] < 0.05,
    )
    t3 = {(r["preset"], r["sampling"]): r for r in table3(ev)}
    gains = [1 - t3[(p, "theta_is")]["am"][0] / t3[(p, "uniform")]["am"][0] for p in TABLE3_PRESETS]
    add(
        "theta_is_improves_theta_am",
        "θ-IS improves θ_AM by 25-55% (Section 5.2, Table 7)",
        "θ_AM improvement " + ", ".join(f"{100 * g:.0f}%" for g in gains) + " on the two presets",
        min(gains) >= 0.25,
    )
    for synth in ABLATIONS:
        ratios = [r["ratio"] for r in ev.applied[synth]]
        lower = sum(r > 1.0 for r in ratios)
        add(
            "p_saga_lowers_step_variance" + ("" if synth == "chirplet" else "_granular"),
            "P-SAGA reduces the variance of the optimisation (Section 3.3, Table 2)",
            f"{synth}: the applied step's variance over the path draw after warm-up (steps "
            f"{APPLIED_AFTER_STEP}+), P-SAGA off / on, {_geo_mean(ratios):.2f}x (geometric "
            f"mean), lower on {lower}/{len(ratios)} seeds",
            bool(ratios) and lower == len(ratios),
        )
    gr = ev.summaries["ablation_granular"]
    tv_off = _entry(gr, "scrapl_p_adam", "classroom_granular")["total_var"][0]
    tv_on = _entry(gr, "scrapl_no_theta_is", "classroom_granular")["total_var"][0]
    add(
        "total_variation_falls_with_p_saga",
        "the validation curve's total variation falls with P-SAGA (Table 2, granular: 6.98 → 3.46)",
        f"granular: {tv_off:.3f} → {tv_on:.3f} (runs that do not converge: the total variation "
        "measures learning too)",
        tv_on < tv_off,
    )
    return out
