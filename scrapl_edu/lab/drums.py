"""The drum task in the lab (Section 4.4): test metrics of Tables 4, 8-9 and the decay's paths.

* :func:`drum_test_metrics`: at the end of a drum run, the encoder's test predictions are
  rendered at their target's shift, so both hits start at the same sample (the target's
  onset), and scored against the targets: the transient and decay errors of loudness, centroid
  and flatness (:func:`scrapl_edu.drum_metrics.drum_feature_errors`) and the MSS and full-JTFS
  distances (:func:`scrapl_edu.drum_metrics.audio_distances`), each a mean over the test set.
* :func:`path_grad_sq`: which paths carry a parameter's gradient. For each path p, the squared
  gradient of the path loss L_p (Eq. 3) with respect to the synth parameters at the encoder's
  predictions, ``G[p, u] = sum_x (dL_p / d theta_u)^2``. The *decay paths* of a run are the
  fewest paths that hold half of the decay parameters' gradient energy (:func:`carrier_paths`);
  θ-IS's π mass on them against their uniform share ``k / P`` is the paper's hypothesis
  (Section 5.3: informative low-frequency paths under-sampled "even after accounting for θ-IS").
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from scrapl_edu.drum_metrics import (
    DRUM_METRICS,
    DrumFeatureConfig,
    audio_distances,
    drum_feature_errors,
)
from scrapl_edu.lab.config import ROW_LABELS
from scrapl_edu.lab.files import atomic_write_json, read_json
from scrapl_edu.lab.paired import paired_difference
from scrapl_edu.lab.results import RESULTS_JSON, Results
from scrapl_edu.lab.summary import Summary, SummaryEntry
from scrapl_edu.synths import DRUM_PARAM_NAMES

__all__ = [
    "DECAY_PARAMS",
    "DRUM_ROW_LABELS",
    "DRUM_RESULT_METRICS",
    "TRANSIENT_PARAMS",
    "carrier_paths",
    "decay_mass",
    "drum_per_seed",
    "drum_report",
    "drum_report_markdown",
    "drum_test_metrics",
    "path_grad_sq",
    "path_share",
    "path_tables",
    "write_path_tables",
]

#: the parameters that set the decay: the T60s of the three amplitude envelopes
DECAY_PARAMS: tuple[str, ...] = ("osc1_decay_s", "osc2_decay_s", "noise_decay_s")
#: the parameters that shape the first milliseconds: pitch envelope, attack mix and drive
TRANSIENT_PARAMS: tuple[str, ...] = ("osc1_mod", "osc2_mod", "pitch_decay_s", "drive_db")
#: the numbers a drum run stores (results.json "drum_metrics"): Tables 8-9 and Table 4
DRUM_RESULT_METRICS: tuple[str, ...] = (*DRUM_METRICS, "mss", "jtfs")


def _chunks(n: int, size: int) -> list[slice]:
    return [slice(i, min(n, i + size)) for i in range(0, n, size)]


def drum_test_metrics(
    synth: nn.Module,
    theta_hat: Tensor,
    x: Tensor,
    shifts: Tensor,
    *,
    jtfs: nn.Module | None,
    rho: str | None,
    mss: nn.Module | None = None,
    chunk: int = 16,
) -> dict[str, float]:
    """Mean test errors of a drum run: ``{metric: value}`` for :data:`DRUM_RESULT_METRICS`.

    Args:
        synth: the run's :class:`~scrapl_edu.synths.DrumSynth`.
        theta_hat: ``(B, 14)`` predicted parameters; x: ``(B, 1, N)`` the targets.
        shifts: ``(B,)`` the targets' shifts: each prediction is rendered at its target's
            shift and both are read from the target's onset (``onset_samples + shift``).
        jtfs: the JTFS of the distance (None: no ``"jtfs"``); rho: its pointwise map.
        mss: the MSS distance module (None: :func:`scrapl_edu.losses.mss_loss` log + linear).
        chunk: examples per JTFS call (bounds the memory).

    Units: loudness and flatness errors in dB, centroid in semitones (Tables 8-9 report
    them x1000 of theirs); ``mss`` and ``jtfs`` as :func:`audio_distances` defines them.
    """
    cfg = synth.config
    feat = DrumFeatureConfig(sr=float(cfg.sr))
    shifts = torch.as_tensor(shifts, dtype=torch.int64)
    with torch.no_grad():
        x_hat = torch.cat(
            [synth(theta_hat[s], shifts=shifts[s]) for s in _chunks(len(x), chunk)]
        ).to(x.dtype)
    onset = cfg.onset_samples + shifts
    errors = drum_feature_errors(x_hat, x, feat, onset)
    out = {name: float(errors[name].mean()) for name in DRUM_METRICS}
    dist: dict[str, list[Tensor]] = {"mss": [], "jtfs": []}
    for s in _chunks(len(x), chunk):
        d = audio_distances(x_hat[s], x[s], jtfs=jtfs, rho=rho, mss=mss)
        for key, value in d.items():
            dist[key].append(value)
    for key, values in dist.items():
        if values:
            out[key] = float(torch.cat(values).mean())
    return out


def path_grad_sq(
    synth: nn.Module,
    path_loss: Any,
    theta_hat: Tensor,
    x: Tensor,
    n_paths: int,
    *,
    shifts: Tensor | int | None = None,
) -> Tensor:
    """``G[p, u] = sum_x (dL_p / d theta_u)^2``: each path's gradient energy per parameter.

    ``path_loss(x_hat, x, p)`` is the run's per-path loss (``SCRAPLLoss.path_loss``), taken at
    ``x_hat = synth(theta_hat, shifts=shifts)`` one example at a time (so the batch mean of
    Eq. 3 does not mix examples). Returns float64 ``(P, U)``.
    """
    theta_hat = theta_hat.detach()
    out = torch.zeros(n_paths, theta_hat.shape[1], dtype=torch.float64)
    shifts_t = None if shifts is None else torch.as_tensor(shifts, dtype=torch.int64).reshape(-1)
    for i in range(theta_hat.shape[0]):
        th = theta_hat[i : i + 1].clone().requires_grad_(True)
        sh = None if shifts_t is None else shifts_t[i if shifts_t.numel() > 1 else 0]
        x_hat = synth(th, shifts=sh)
        for p in range(n_paths):
            (g,) = torch.autograd.grad(path_loss(x_hat, x[i : i + 1], p), th, retain_graph=True)
            out[p] += g[0].double().pow(2)
    return out


def path_share(G: Any, params: Sequence[str] = DECAY_PARAMS) -> np.ndarray:
    """Each path's share of the gradient energy of ``params``: ``(P,)``, summing to 1."""
    G = np.asarray(G, dtype=float)
    cols = [DRUM_PARAM_NAMES.index(n) for n in params]
    energy = G[:, cols].sum(axis=1)
    total = energy.sum()
    if total <= 0:
        return np.full(len(energy), 1.0 / len(energy))
    return energy / total


def carrier_paths(share: Any, mass: float = 0.5) -> np.ndarray:
    """The fewest paths whose ``share`` sums to at least ``mass`` (indices, largest first)."""
    if not 0.0 < mass <= 1.0:
        raise ValueError(f"mass must lie in (0, 1], got mass={mass}")
    s = np.asarray(share, dtype=float)
    order = np.argsort(-s, kind="stable")
    k = int(np.searchsorted(np.cumsum(s[order]), mass * s.sum() - 1e-12)) + 1
    return order[: min(k, len(s))]


def decay_mass(
    probs: Sequence[float] | None, grads: dict[str, Any] | None, mass: float = 0.5
) -> dict[str, float] | None:
    """π's mass on a run's decay paths against their uniform share ``k / P``.

    The decay paths are :func:`carrier_paths` of the decay parameters' gradient share
    (:func:`path_share`) in the run's table ``grads["init"]`` (measured where θ-IS measured
    π, at the initial encoder) or else ``grads["final"]``. Returns ``{"pi_mass", "uniform",
    "k", "table"}`` (``table`` 0 for init, 1 for final), or None without π or tables.
    """
    if probs is None or not grads:
        return None
    which = "init" if "init" in grads else "final"
    paths = carrier_paths(path_share(grads[which]), mass)
    p = np.asarray(probs, dtype=float)
    return {
        "pi_mass": float(p[paths].sum()),
        "uniform": len(paths) / len(p),
        "k": float(len(paths)),
        "table": 0.0 if which == "init" else 1.0,
    }


def drum_per_seed(res: Sequence[Any]) -> dict[str, list[float]]:
    """The drum numbers of one (preset, row) of a comparison, one value per seed.

    ``res`` are the row's :class:`~scrapl_edu.lab.results.Results`. Returns ``{}`` when the
    runs hold no drum metrics, else lists keyed ``drum_<metric>`` (:data:`DRUM_RESULT_METRICS`)
    and, for SCRAPL, ``pi_decay_mass`` / ``uniform_decay_mass`` (:func:`decay_mass`).
    """
    if not res or res[0].drum_metrics is None:
        return {}
    per_seed: dict[str, list[float]] = {}
    for m in DRUM_RESULT_METRICS:
        per_seed[f"drum_{m}"] = [float(r.drum_metrics.get(m, float("nan"))) for r in res]
    masses = [decay_mass(r.final_probs, r.path_grad_sq) for r in res]
    if all(d is not None for d in masses):
        per_seed["pi_decay_mass"] = [d["pi_mass"] for d in masses]
        per_seed["uniform_decay_mass"] = [d["uniform"] for d in masses]
    return per_seed


#: the drum table's names of the rows (the SCRAPL rows differ by their path distribution)
DRUM_ROW_LABELS: dict[str, str] = {
    "mss": "MSS",
    "jtfs": "JTFS",
    "scrapl_no_theta_is": "SCRAPL (uniform)",
    "scrapl": "SCRAPL (θ-IS)",
    "scrapl_adaptive": "SCRAPL (adaptive π)",
}


def _label(row: str) -> str:
    return DRUM_ROW_LABELS.get(row, ROW_LABELS.get(row, row))


#: the paired questions of issue 12: (label, metrics, [(preset_a, row_a, preset_b, row_b)])
_TRANSIENT = ("loudness_transient", "centroid_transient", "flatness_transient")
_DECAY = ("loudness_decay", "centroid_decay", "flatness_decay")
_UNITS = {"loudness": "dB", "centroid": "st", "flatness": "dB"}


def _seeded(entry: SummaryEntry, key: str) -> dict[int, float]:
    ps = entry.per_seed
    if ps is None or key not in ps.metrics:
        return {}
    return {int(s): float(v) for s, v in zip(ps.seeds, ps.metrics[key])}


def _pair(a: SummaryEntry, b: SummaryEntry, key_a: str, key_b: str) -> dict[str, Any] | None:
    va, vb = _seeded(a, key_a), _seeded(b, key_b)
    seeds = sorted(set(va) & set(vb))
    if not seeds:
        return None
    out = paired_difference([va[s] for s in seeds], [vb[s] for s in seeds])
    out["seeds"] = seeds
    return out


def drum_report(summary: Summary) -> list[dict[str, Any]]:
    """The paired comparisons of issue 12 from a drum comparison's summary.

    For every question, ``b - a`` per seed (same seed = same data, initialisation, batches):
    (a) meso - micro of each row's transient errors; (b) SCRAPL (θ-IS) - full JTFS and
    SCRAPL (θ-IS) - MSS on the decay errors, and θ-IS's π mass on the decay paths - their
    uniform share; (c) adaptive π - θ-IS, adaptive π - uniform and θ-IS - uniform on the
    decay errors. Each item:
    ``{"question", "a", "b", "metric", **paired_difference}``.
    """
    entries = {(e.preset, e.row): e for e in summary.entries if e.drum is not None}
    presets = list(dict.fromkeys(p for p, _ in entries))
    rows = list(dict.fromkeys(r for _, r in entries))
    out: list[dict[str, Any]] = []

    def add(question: str, ka: tuple, kb: tuple, metric: str, key_a: str, key_b: str) -> None:
        if ka in entries and kb in entries:
            stat = _pair(entries[ka], entries[kb], key_a, key_b)
            if stat is not None:
                out.append(
                    {"question": question, "a": list(ka), "b": list(kb), "metric": metric, **stat}
                )

    micro = [p for p in presets if p.endswith("micro")]
    for pm in micro:
        pz = pm[: -len("micro")] + "meso"
        for row in rows:
            for m in _TRANSIENT:
                add("a", (pm, row), (pz, row), m, f"drum_{m}", f"drum_{m}")
    for p in presets:
        for m in _DECAY:
            add("b", (p, "jtfs"), (p, "scrapl"), m, f"drum_{m}", f"drum_{m}")
            add("b", (p, "mss"), (p, "scrapl"), m, f"drum_{m}", f"drum_{m}")
        if (p, "scrapl") in entries:
            add(
                "b",
                (p, "scrapl"),
                (p, "scrapl"),
                "pi_decay_mass",
                "uniform_decay_mass",
                "pi_decay_mass",
            )
        for ra, rb in (
            ("scrapl", "scrapl_adaptive"),
            ("scrapl_no_theta_is", "scrapl_adaptive"),
            ("scrapl_no_theta_is", "scrapl"),
        ):
            for m in _DECAY:
                add("c", (p, ra), (p, rb), m, f"drum_{m}", f"drum_{m}")
    return out


def _fmt(mean: float, ci: float) -> str:
    if not np.isfinite(mean):
        return "n/a"
    return f"{mean:.3g}" if not np.isfinite(ci) else f"{mean:.3g} ± {ci:.2g}"


def drum_report_markdown(summary: Summary) -> str:
    """The drum metrics table (Tables 4, 8-9 in small) and the paired comparisons, markdown."""
    entries = [e for e in summary.entries if e.drum is not None]
    if not entries:
        return ""
    cols = [*_TRANSIENT, *_DECAY, "mss", "jtfs"]
    head = (
        ["Method", "Preset"]
        + [
            f"{c.replace('_', ' ')} ({_UNITS[c.split('_')[0]]}) ↓" if "_" in c else f"{c.upper()} ↓"
            for c in cols
        ]
        + ["π on decay paths (uniform share)"]
    )
    lines = ["#### Drum metrics (Tables 4, 8-9 in small)", ""]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for e in entries:
        d = e.drum or {}
        row = [_label(e.row), e.preset]
        row += [_fmt(*d[c]) if c in d else "n/a" for c in cols]
        if "pi_decay_mass" in d:
            row.append(f"{_fmt(*d['pi_decay_mass'])} ({_fmt(*d['uniform_decay_mass'])})")
        else:
            row.append("")
        lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        "Mean ± 95% CI over seeds of the test-set mean error, each prediction rendered at its "
        "target's shift and both read from the target's onset: transient = frames 0-1, decay "
        "= frames 2-65 of 46 ms frames, 11.6 ms hop (the paper's 2048 / 512 at 44.1 kHz, in "
        "seconds); loudness and flatness in dB, centroid in semitones; MSS log + linear and "
        "full-JTFS (log1p) distances. Decay paths: the fewest paths holding half the gradient "
        "energy of the decay times (osc1/osc2/noise T60) at the initial encoder (θ-IS runs) "
        "or the final one.",
    ]
    report = drum_report(summary)
    if report:
        lines += ["", "#### Paired differences b - a (drums)", ""]
        lines += [
            "| Q | a | b | metric | mean ± 95% CI | p (t) | seeds b < a |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in report:
            a = f"{_label(r['a'][1])} [{r['a'][0]}]"
            b = f"{_label(r['b'][1])} [{r['b'][0]}]"
            p = "n/a" if not np.isfinite(r["p_t"]) else f"{r['p_t']:.3g}"
            lines.append(
                f"| {r['question']} | {a} | {b} | {r['metric']} | {_fmt(r['mean'], r['ci'])} | "
                f"{p} | {r['improved']}/{r['n']} |"
            )
        lines += [
            "",
            "(a) meso - micro per row; (b) SCRAPL (θ-IS) - full JTFS or MSS, and θ-IS's π mass "
            "on the decay paths - their uniform share; (c) between the three path distributions.",
        ]
    return "\n".join(lines) + "\n"


def path_tables(runs: Any, presets: Sequence[str], seeds: Sequence[int]) -> dict[str, Any]:
    """Per-path numbers of a drum comparison, small enough to commit (``paths.json``).

    ``runs`` maps ``(preset, row, seed)`` to a :class:`~scrapl_edu.lab.results.Results` (or
    is missing the key). For each preset and seed: θ-IS's π (``scrapl`` row), the adaptive
    π at the end of training (``scrapl_adaptive``), and each path's share of the decay and
    the transient parameters' gradient energy at the initial encoder (the θ-IS run's
    ``path_grad_sq["init"]``, where θ-IS measured π).
    """
    out: dict[str, Any] = {"decay_params": list(DECAY_PARAMS)}
    out["transient_params"] = list(TRANSIENT_PARAMS)
    for preset in presets:
        per: dict[str, Any] = {}
        for seed in seeds:
            tis = runs.get((preset, "scrapl", seed))
            ada = runs.get((preset, "scrapl_adaptive", seed))
            item: dict[str, Any] = {}
            if tis is not None:
                item["theta_is_probs"] = tis.theta_is_probs
                G = (tis.path_grad_sq or {}).get("init")
                if G is not None:
                    item["decay_share"] = path_share(G, DECAY_PARAMS).tolist()
                    item["transient_share"] = path_share(G, TRANSIENT_PARAMS).tolist()
            if ada is not None:
                item["adaptive_probs"] = ada.final_probs
                G = (ada.path_grad_sq or {}).get("final")
                if G is not None:
                    item["decay_share_final_adaptive"] = path_share(G, DECAY_PARAMS).tolist()
            if item:
                per[str(seed)] = item
        out[preset] = per
    return out


def write_path_tables(out: str | Path, presets: Sequence[str], seeds: Sequence[int]) -> Path:
    """:func:`path_tables` of the runs of a comparison folder, written to ``out/paths.json``."""
    runs = {}
    for preset in presets:
        for row in ("scrapl", "scrapl_adaptive"):
            for seed in seeds:
                f = Path(out) / "runs" / preset / row / f"seed{seed}" / RESULTS_JSON
                if f.exists():
                    runs[(preset, row, seed)] = Results.from_dict(read_json(f), source=f)
    target = Path(out) / "paths.json"
    atomic_write_json(target, path_tables(runs, presets, seeds), indent=None)
    return target
