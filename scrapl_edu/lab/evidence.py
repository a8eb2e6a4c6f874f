"""What the committed lab results say, next to what the paper says (notebook 09).

Reads only what is committed under ``data/results/lab`` (no run): the comparison summaries
(Tables 1-3 in small), the idle-machine timings and the applied-step diagnostic, and turns
them into

* :func:`cost_accuracy`: Fig. 1 in small, test θ L1 against the cost of a training step;
* :func:`paired_ablation` and :func:`table3`: the ablation read seed by seed (Table 6 in
  small) and θ-IS against uniform sampling (Table 3), with the paper's numbers beside;
* :func:`errors_per_parameter`: θ_AM and θ_FM of every method;
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

from scrapl_edu.lab.applied import variance_ratio
from scrapl_edu.lab.comparison import load_summary
from scrapl_edu.lab.config import ROW_LABELS
from scrapl_edu.lab.paired import paired_stats

__all__ = [
    "PAPER_TABLE3",
    "RESULTS_DIR",
    "Claim",
    "Evidence",
    "claims",
    "cost_accuracy",
    "errors_per_parameter",
    "load_evidence",
    "paired_ablation",
    "table3",
]

#: the committed lab results of the repository (the kernel of a notebook runs in notebooks/)
RESULTS_DIR = Path(__file__).resolve().parents[2] / "data" / "results" / "lab"
#: the comparisons read, folder names under :data:`RESULTS_DIR`
SUMMARIES = ("losses", "losses_equal_steps", "ablation", "theta_is")
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


@dataclass
class Evidence:
    """The committed results, as read from disk.

    Attributes:
        root: the folder read (:data:`RESULTS_DIR` by default).
        summaries: comparison name -> its ``summary.json`` (:data:`SUMMARIES`).
        idle_ms: loss -> ms per training step on an idle machine (``timing/``).
        applied: ``"saga_on"`` / ``"saga_off"`` -> the runs' ``applied_diag``.
    """

    root: Path
    summaries: dict[str, dict[str, Any]]
    idle_ms: dict[str, float]
    applied: dict[str, list[dict[str, float]]]


def load_evidence(root: str | Path | None = None) -> Evidence:
    """Read the committed results under ``root`` (default :data:`RESULTS_DIR`)."""
    root = RESULTS_DIR if root is None else Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"no results folder {root}: expected data/results/lab")
    summaries = {name: load_summary(root / name) for name in SUMMARIES}
    idle = {}
    for folder in ("scrapl_full_run", "jtfs_12_steps"):
        res = json.loads((root / "timing" / folder / "results.json").read_text())
        idle[res["config"]["loss"]] = float(res["ms_per_step"])
    applied = {}
    for name in ("saga_on", "saga_off"):
        res = json.loads((root / "applied_diag" / name / "results.json").read_text())
        applied[name] = res["applied_diag"]
    return Evidence(root=root, summaries=summaries, idle_ms=idle, applied=applied)


def _entry(summary: dict[str, Any], row: str, preset: str = "classroom") -> dict[str, Any]:
    for e in summary["entries"]:
        if e["row"] == row and e["preset"] == preset:
            return e
    raise KeyError(f"no row {row!r} on preset {preset!r} in the summary")


def cost_accuracy(ev: Evidence) -> list[dict[str, Any]]:
    """Fig. 1 in small: test θ L1 (mean, 95% CI half-width) against ms per training step.

    Step costs are the idle-machine timings (``timing/``: SCRAPL, full JTFS) where measured;
    the others (MSS, P-loss) are the comparison's mean ms/step, measured while other jobs
    shared the machine, rescaled by SCRAPL's idle / loaded ratio (``estimated``: True). The
    full JTFS appears twice: at SCRAPL's wall-clock budget (``losses``) and at equal steps.
    """
    losses, equal = ev.summaries["losses"], ev.summaries["losses_equal_steps"]
    scale = ev.idle_ms["scrapl"] / _entry(losses, "scrapl")["ms_per_step"][0]
    points = []
    for label, summary, row in (
        ("MSS", losses, "mss"),
        ("JTFS (SCRAPL's time budget)", losses, "jtfs"),
        ("JTFS (equal steps)", equal, "jtfs"),
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


def paired_ablation(ev: Evidence) -> list[dict[str, Any]]:
    """The ablation (Table 2 in small) read seed by seed: one entry per switch turned on."""
    summary = ev.summaries["ablation"]
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
        ("losses", "jtfs"),
        ("losses_equal_steps", "jtfs"),
        ("losses", "scrapl"),
        ("losses", "p_loss"),
    ):
        e = _entry(ev.summaries[name], row)
        label = ROW_LABELS[row] + (" (equal steps)" if name == "losses_equal_steps" else "")
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


def claims(ev: Evidence) -> list[Claim]:
    """The paper's statements this lab can test, each decided by the lab's numbers."""
    losses, equal = ev.summaries["losses"], ev.summaries["losses_equal_steps"]
    mss, sc = _entry(losses, "mss"), _entry(losses, "scrapl")
    jt_time, jt_steps = _entry(losses, "jtfs"), _entry(equal, "jtfs")
    pl = _entry(losses, "p_loss")
    out = []

    def add(key: str, paper: str, lab: str, agrees: bool) -> None:
        out.append(Claim(key, paper, lab, bool(agrees)))

    (m_mss, h_mss), (m_sc, h_sc) = mss["theta_l1"], sc["theta_l1"]
    add(
        "mss_fails_under_shifts",
        "MSS cannot match the synth under random shifts; SCRAPL can (Table 1: MSS 195-370 ‰, "
        "SCRAPL 65.7 ‰)",
        f"MSS {m_mss:.0f} ± {h_mss:.0f} ‰ vs SCRAPL {m_sc:.0f} ± {h_sc:.0f} ‰ (5 seeds)",
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
        f"equal steps (400): SCRAPL {m_sc:.0f} ‰ vs JTFS {jt_steps['theta_l1'][0]:.0f} ‰ "
        f"({acc:.1f}x)",
        acc <= 2.0,
    )
    add(
        "scrapl_ahead_at_equal_time",
        "per unit of wall-clock time SCRAPL learns faster than the full JTFS (Fig. 2, left)",
        f"same budget ({jt_time['wall_s'][0]:.0f} s, JTFS {jt_time['steps'][0]:.0f} steps): "
        f"SCRAPL {m_sc:.0f} ‰ vs JTFS {jt_time['theta_l1'][0]:.0f} ‰",
        m_sc < jt_time["theta_l1"][0],
    )
    add(
        "supervised_is_best",
        "the supervised P-loss is the most accurate (Table 1: 20.5 ‰)",
        f"P-loss {pl['theta_l1'][0]:.0f} ‰, lowest of all rows",
        pl["theta_l1"][0] < min(m_mss, m_sc, jt_steps["theta_l1"][0], jt_time["theta_l1"][0]),
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
        f"{100 * sc['conv_rate']:.0f}% of the classroom runs below 100 ‰ in 400 steps",
        sc["conv_rate"] > 0.5,
    )
    pa = _paired(ev, "ablation", "+ P-Adam")
    add(
        "p_adam_not_significant",
        "P-Adam's effect on accuracy is not significant (Table 6: −12.3 ± 17 ‰, p = 0.15)",
        f"paired: {pa['mean']:+.1f} ± {pa['ci']:.1f} ‰, p = {pa['p_t']:.2f}, "
        f"{pa['improved']}/{pa['n']} seeds improved",
        pa["p_t"] > 0.05,
    )
    ps = _paired(ev, "ablation", "+ P-SAGA")
    add(
        "p_saga_significant",
        "P-SAGA lowers the error significantly (Table 6: −13.6 ± 5.6 ‰, p < 0.01)",
        f"paired: {ps['mean']:+.1f} ± {ps['ci']:.1f} ‰, p = {ps['p_t']:.3f}, "
        f"{ps['improved']}/{ps['n']} seeds improved",
        ps["mean"] < 0 and ps["p_t"] < 0.05,
    )
    ti = _paired(ev, "ablation", "+ θ-IS")
    add(
        "theta_is_helps_classroom",
        "θ-IS lowers the error on the AM 2.8-8.4 / FM 2-4 chirplet (Table 3)",
        f"paired: {ti['mean']:+.1f} ± {ti['ci']:.1f} ‰, p = {ti['p_t']:.3f}, "
        f"{ti['improved']}/{ti['n']} seeds improved",
        ti["mean"] < 0 and ti["p_t"] < 0.05,
    )
    t2 = _paired(ev, "theta_is", "+ θ-IS", "classroom_am1-2_fm0.5-1")
    add(
        "theta_is_helps_am1-2_fm0.5-1",
        "θ-IS lowers the error on the AM 1-2 / FM 0.5-1 chirplet (Table 3: 124/155 → 78/78 ‰)",
        f"paired: {t2['mean']:+.1f} ± {t2['ci']:.1f} ‰, p = {t2['p_t']:.2f}, "
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
    on, off = ev.applied["saga_on"], ev.applied["saga_off"]
    steps = sorted(int(a["step"]) for a in on)
    vr = variance_ratio(off, on, after_step=steps[-1] // 2)
    add(
        "p_saga_lowers_step_variance",
        "P-SAGA reduces the variance of the optimisation (Section 3.3, Table 2)",
        f"applied step's variance over the path draw {vr['ratio']:.1f}x lower with P-SAGA after "
        f"warm-up (steps {vr['steps'][0]}-{vr['steps'][-1]}, seed 0)",
        vr["ratio"] > 1.5,
    )
    ab = ev.summaries["ablation"]
    tv_off = _entry(ab, "scrapl_p_adam")["total_var"][0]
    tv_on = _entry(ab, "scrapl_no_theta_is")["total_var"][0]
    add(
        "total_variation_falls_with_p_saga",
        "the validation curve's total variation falls with P-SAGA (Table 2: 6.98 → 3.46)",
        f"{tv_off:.3f} → {tv_on:.3f} (runs that do not converge: the TV measures learning too)",
        tv_on < tv_off,
    )
    return out
