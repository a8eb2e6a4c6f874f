"""Paired statistics of a comparison: the paper's Table 6 in small.

The runs of a comparison share their seed across rows: the same data set, the same encoder
initialisation, the same batch order and random shifts (:func:`scrapl_edu.lab.train.build_parts`).
Two rows that differ by one switch are therefore compared *per seed*: the difference
``d_s = b_s - a_s`` of test θ L1 removes the seed-to-seed spread that both rows share, which is
often larger than the effect of the switch (issue 10). For each pair of rows this module
reports the mean of ``d_s``, its 95% confidence interval (Student t with n - 1 degrees of
freedom), a paired t-test (:func:`scipy.stats.ttest_rel`), a Wilcoxon signed-rank test
(:func:`scipy.stats.wilcoxon`, from n >= 6 seeds: with 5 its smallest two-sided p is
2 / 2**5 = 0.0625, so it could never reject at 5%) and "seeds improved" k / n, the seeds on
which the treatment row ``b`` has the lower error. The paper's Table 6 reads P-Adam, P-SAGA
and θ-IS the same way (significance over paired runs).

Lower θ L1 is better, so a negative mean difference means the switch helps.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

from scrapl_edu.lab.config import ROWS
from scrapl_edu.lab.loss_kinds import LOSS_KINDS
from scrapl_edu.lab.summary import PairedDifference, PairedRows, Summary, SummaryEntry

__all__ = [
    "SWITCHES",
    "WILCOXON_MIN_N",
    "one_switch_pairs",
    "paired_difference",
    "paired_markdown",
    "paired_stats",
    "per_seed_values",
]

#: SCRAPL's switches, in the order Algorithm 1 adds them, with their display names
SWITCHES: dict[str, str] = {"p_adam": "P-Adam", "p_saga": "P-SAGA", "theta_is": "θ-IS"}
#: the Wilcoxon signed-rank test is reported from this many seeds on (see the module doc)
WILCOXON_MIN_N = 6


def paired_difference(a: Sequence[float], b: Sequence[float]) -> dict[str, Any]:
    """Per-seed differences ``b - a`` and their paired statistics.

    Args:
        a: the baseline row's values, one per seed.
        b: the treatment row's values for the same seeds, in the same order.

    Returns:
        ``n``; ``diff`` (the list ``b_s - a_s``); ``mean`` and ``ci`` (half-width of the 95%
        Student-t interval; NaN below 2 seeds); ``t`` and ``p_t`` of the paired t-test;
        ``p_wilcoxon`` (None below :data:`WILCOXON_MIN_N` seeds); ``improved``: how many
        seeds have ``b_s < a_s`` (lower error is better).

    Raises:
        ValueError: if ``a`` and ``b`` differ in length or hold no pair.
    """
    x = np.asarray(a, dtype=float).reshape(-1)
    y = np.asarray(b, dtype=float).reshape(-1)
    if x.shape != y.shape:
        raise ValueError(
            f"a and b must hold one value per seed each, got {x.size} and {y.size} values"
        )
    if x.size == 0:
        raise ValueError("a and b are empty: need at least one seed")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("a and b must be finite numbers (a run without a value cannot be paired)")
    d = y - x
    n = int(d.size)
    out: dict[str, Any] = {
        "n": n,
        "diff": [float(v) for v in d],
        "mean": float(d.mean()),
        "ci": float("nan"),
        "t": float("nan"),
        "p_t": float("nan"),
        "p_wilcoxon": None,
        "improved": int((d < 0).sum()),
    }
    if n >= 2:
        sd = float(d.std(ddof=1))
        out["ci"] = float(stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n))
        if sd > 0:
            res = stats.ttest_rel(y, x)
            out["t"], out["p_t"] = float(res.statistic), float(res.pvalue)
        else:  # every seed moved by the same amount: the t statistic is undefined
            out["p_t"] = 0.0 if d[0] != 0 else 1.0
    if n >= WILCOXON_MIN_N:
        out["p_wilcoxon"] = float(stats.wilcoxon(y, x).pvalue) if np.any(d != 0) else 1.0
    return out


def one_switch_pairs(rows: Sequence[str]) -> list[tuple[str, str, str]]:
    """Pairs ``(a, b, switch)`` of SCRAPL rows among ``rows`` where ``b`` = ``a`` + one switch.

    The ablation (Table 2) gives ``sampling only -> + P-Adam -> + P-SAGA -> + θ-IS``; the
    θ-IS table (Table 3) gives ``uniform -> θ-IS``.
    """
    out = []
    for a in rows:
        for b in rows:
            sa, sb = ROWS.get(a, {}), ROWS.get(b, {})
            if not (_has_switches(sa) and _has_switches(sb)):
                continue
            diff = [k for k in SWITCHES if bool(sa.get(k)) != bool(sb.get(k))]
            if len(diff) == 1 and sb.get(diff[0]):
                out.append((a, b, diff[0]))
    return out


def _has_switches(spec: dict[str, Any]) -> bool:
    """Whether a row's loss kind has SCRAPL's switches (a row of another kind has none)."""
    kind = LOSS_KINDS.get(spec.get("loss", ""))
    return kind is not None and kind.switches_apply


def per_seed_values(entry: SummaryEntry, seeds: Sequence[int]) -> dict[str, dict[int, float]]:
    """Metric -> {seed: value} of one summary entry.

    Summaries written from now on hold ``entry.per_seed`` (seeds and every metric); older
    ones (the results committed before it) hold only ``per_seed_theta_l1``, in the order of
    ``seeds``, which is usable when every seed finished.
    """
    ps = entry.per_seed
    if ps is not None:
        got = [int(s) for s in ps.seeds]
        return {k: dict(zip(got, v)) for k, v in ps.metrics.items()}
    vals = entry.per_seed_theta_l1 or []
    if len(vals) != len(seeds):
        return {}
    return {"theta_l1": dict(zip([int(s) for s in seeds], vals))}


def _named_pairs(
    rows: Sequence[str], pairs: Sequence[tuple[str, str]] | None
) -> list[tuple[str, str, str]]:
    """``(a, b, switch)`` for ``pairs`` (``switch`` empty unless they differ by one), or
    :func:`one_switch_pairs` of ``rows`` when ``pairs`` is None."""
    if pairs is None:
        return one_switch_pairs(rows)
    named = []
    for a, b in pairs:
        for r in (a, b):
            if r not in ROWS:
                raise ValueError(f"unknown row {r!r} in pairs; choose from {', '.join(ROWS)}")
        one = [(x, y, s) for x, y, s in one_switch_pairs([a, b]) if (x, y) == (a, b)]
        named.append((a, b, one[0][2] if one else ""))
    return named


def paired_stats(
    summary: Summary, pairs: Sequence[tuple[str, str]] | None = None
) -> list[PairedRows]:
    """Paired differences of test θ L1 (and per parameter) for pairs of rows of a comparison.

    Args:
        summary: what :func:`scrapl_edu.lab.comparison.aggregate` returns (or its
            ``summary.json``, :meth:`~scrapl_edu.lab.summary.Summary.load`).
        pairs: ``(a, b)`` row names (``b - a`` is reported); default
            :func:`one_switch_pairs` of the summary's rows.

    Returns:
        One :class:`~scrapl_edu.lab.summary.PairedRows` per (preset, pair) whose rows both
        finished on at least one common seed: ``preset``, ``a``, ``b``, ``label`` (e.g.
        ``"+ P-SAGA"``), ``seeds`` (the common ones) and, per metric (``theta_l1`` and
        ``<param>_l1`` when stored), the :func:`paired_difference` of it.
    """
    named = _named_pairs(summary.rows, pairs)
    by_key = {(e.preset, e.row): e for e in summary.entries}
    out = []
    for preset in summary.presets:
        for a, b, switch in named:
            ea, eb = by_key.get((preset, a)), by_key.get((preset, b))
            if ea is None or eb is None:
                continue
            va = per_seed_values(ea, summary.seeds)
            vb = per_seed_values(eb, summary.seeds)
            metrics = [m for m in va if m in vb]
            if "theta_l1" not in metrics:
                continue
            common = sorted(set(va["theta_l1"]) & set(vb["theta_l1"]))
            if not common:
                continue
            label = f"+ {SWITCHES[switch]}" if switch else f"{eb.label} vs {ea.label}"
            diffs = {
                m: PairedDifference.from_dict(
                    paired_difference([va[m][s] for s in common], [vb[m][s] for s in common])
                )
                for m in metrics
            }
            out.append(
                PairedRows(preset=preset, a=a, b=b, label=label, seeds=common, metrics=diffs)
            )
    return out


def _p(p: float | None) -> str:
    if p is None or not np.isfinite(p):
        return "n/a"
    return f"{p:.2g}" if p >= 0.001 else "< 0.001"


def _d(stat: PairedDifference) -> str:
    m, h = stat.mean, stat.ci
    return f"{m:+.1f}" if not np.isfinite(h) else f"{m:+.1f} ± {h:.1f}"


def paired_markdown(paired: Sequence[PairedRows], param_names: Sequence[str]) -> str:
    """The paired differences as a markdown table (Table 6 in small), with a caption."""
    if not paired:
        return ""
    multi = len({p.preset for p in paired}) > 1
    head = ["Change"] + (["Preset"] if multi else []) + ["Δ θ L1 ‰ (95% CI)"]
    head += [f"Δ {n} ‰" for n in param_names]
    head += ["paired t p", "Wilcoxon p", "seeds improved"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for item in paired:
        th = item.theta_l1
        row = [item.label] + ([item.preset] if multi else []) + [_d(th)]
        row += [
            _d(item.metrics[f"{n}_l1"]) if f"{n}_l1" in item.metrics else "n/a" for n in param_names
        ]
        row += [_p(th.p_t), _p(th.p_wilcoxon), f"{th.improved}/{th.n}"]
        lines.append("| " + " | ".join(row) + " |")
    n = sorted({item.theta_l1.n for item in paired})
    lines += [
        "",
        f"Paired over {'/'.join(map(str, n))} seeds (same data, initialisation, batches and "
        "shifts in both rows): Δ = treatment − baseline per seed, mean ± 95% CI (Student t); "
        "negative = lower error with the change. p: scipy.stats.ttest_rel; Wilcoxon "
        f"signed-rank from {WILCOXON_MIN_N} seeds on (n/a below). Seeds improved: seeds "
        "with a lower test θ L1. Per-parameter columns are n/a where the summary stores "
        "only the mean θ L1 per seed.",
    ]
    return "\n".join(lines) + "\n"
