"""What a run produces and reports: :class:`Results`, the live :class:`Snapshot`, Table 2's metrics.

* :class:`Results`: one finished run (``results.json`` + ``history.csv`` + ``validation.csv``);
  :meth:`Results.save` / :meth:`Results.load`.
* :class:`Snapshot`: the run so far, given to ``run(callback=...)`` at every validation
  (the dashboard's live figures draw from it); :class:`StepProgress`: the cheap per-step report.
* :func:`convergence_step` and :func:`total_variation`: Table 2's "Conv. steps" and "Total Var.";
  :func:`excess_variation`: a noise measure that does not reward a flat curve.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import types
import typing
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scrapl_edu.lab.files import atomic_write_text, read_json

__all__ = [
    "CONVERGENCE_PERMILLE",
    "RESULTS_JSON",
    "Results",
    "Snapshot",
    "StepProgress",
    "config_differences",
    "convergence_step",
    "excess_variation",
    "fits_type",
    "total_variation",
    "type_name",
]

#: convergence threshold on the validation theta L1 (Table 2 caption: "< 100 per mille")
CONVERGENCE_PERMILLE = 100.0
#: file name of a run's results inside its folder
RESULTS_JSON = "results.json"


def convergence_step(steps: Sequence[int], curve: Sequence[float]) -> int | None:
    """First step whose validation theta L1 is below 100 per mille (Table 2), else None."""
    for s, v in zip(steps, curve):
        if v < CONVERGENCE_PERMILLE:
            return int(s)
    return None


def total_variation(curve: Sequence[float]) -> float:
    """Sum of |v_{k+1} - v_k| (Table 2 "Total Var."), in the curve's units."""
    c = np.asarray(curve, dtype=float)
    return float(np.abs(np.diff(c)).sum()) if c.size > 1 else 0.0


def excess_variation(curve: Sequence[float]) -> float:
    """Total variation minus the net change, TV - |v_last - v_first|: the back-and-forth.

    Table 2's total variation measures the noise of a curve that has converged. The lab's
    classroom runs do not converge in their budget, so most of a curve's TV is what the run
    *learned* (a steady fall from 500 to 200 per mille has TV 300), and a run that learns
    nothing scores best. Subtracting the net change leaves twice the movement against the
    curve's overall direction: 0 for any monotone curve, flat or steep, and it grows only
    when the curve goes up and down. It is chosen over the residual around a smoothed curve
    because it needs no smoothing width and is in the same units as the TV.
    """
    c = np.asarray(curve, dtype=float)
    return total_variation(c) - float(abs(c[-1] - c[0])) if c.size > 1 else 0.0


@dataclass(frozen=True)
class StepProgress:
    """After every training step: ``step`` of ``steps`` done (progress bars)."""

    step: int
    steps: int


@dataclass(frozen=True)
class Snapshot:
    """The run so far, at a validation (step 0, every ``val_every`` steps, the last step).

    Every list is a copy, as it was then.

    Attributes:
        step, steps: steps done, steps planned.
        val_steps, val_theta_l1: the validation curve, theta L1 in per mille of the range.
        path_counts: SCRAPL's draws per path (None for the losses that draw no path).
        probs: theta-IS's path distribution pi (None: uniform, or no paths).
        losses: the training loss of every step.
        grad_var: running variance of the gradient at every step (see
            :func:`scrapl_edu.lab.train.update_grad_variance`).
        applied: SCRAPL's applied-step diagnostic so far, one dict per measured
            validation (:func:`scrapl_edu.lab.applied.applied_step_stats`: ``step``,
            ``var``, ``rel_var``, ``cos``, ``mean_cos``, ``raw_rel_var``, ``seconds``).
    """

    step: int
    steps: int
    val_steps: list[int]
    val_theta_l1: list[float]
    path_counts: list[int] | None
    probs: list[float] | None
    losses: list[float]
    grad_var: list[float]
    applied: list[dict[str, float]] = field(default_factory=list)


def _empty_history() -> dict[str, list]:
    return {"loss": [], "path": [], "step_s": [], "grad_var": []}


@dataclass
class Results:
    """What one run produced (the JSON of ``results.json`` is :meth:`to_dict`).

    Attributes:
        config: the full :class:`~scrapl_edu.lab.config.LabConfig` as a dict.
        param_names: names of the synth parameters.
        test_theta_l1_permille: test theta L1, mean over parameters, per mille of the range.
        test_theta_l1_permille_per_param: the same per parameter (name -> value).
        val_steps, val_theta_l1_permille, val_theta_l1_permille_per_param: validation curve.
        steps_to_convergence: first validation step with theta L1 < 100 per mille (None: never).
        val_total_variation: sum |v_k+1 - v_k| of the validation curve, theta L1 as a
            fraction of the range (Table 2, "Total Var.").
        steps: optimizer steps done; ms_per_step: mean training step time; wall_s: the whole
            run (data, theta-IS, training, evaluation); theta_is_s: theta-IS time.
        peak_rss_mb: peak resident memory of the process (``resource.getrusage``).
        history: per step ``loss``, ``path`` (-1 if none), ``step_s`` and ``grad_var``
            (empty when loaded from ``results.json`` alone).
        theta_is_probs: the path distribution pi (None unless theta-IS ran).
        path_counts: visits per path (SCRAPL) or None.
        n_paths: P of the run's JTFS (0 for p_loss / mss).
        stopped_early: training stopped by ``max_wall_s``.
        applied_diag: SCRAPL's applied-step diagnostic, one dict per measured validation
            (see :class:`Snapshot`), or None when off; applied_s: its total time (part of
            ``wall_s``, not of ``ms_per_step``).
        device: where the run computed (``"cpu"`` or ``"cuda:0 (GPU name)"``; not part
            of ``config``: see :mod:`scrapl_edu.lab.device`).
        peak_device_mb: peak GPU memory allocated by torch in MiB (None on the CPU).
        final_probs: SCRAPL's path distribution at the end (differs from ``theta_is_probs``
            under adaptive pi; None for the losses that draw no path).
        drum_metrics: drum presets: mean test errors of Tables 4, 8-9 (transient and decay
            loudness / centroid / flatness, MSS and JTFS distances; see
            :func:`scrapl_edu.lab.drums.drum_test_metrics`), else None.
        path_grad_sq: drum presets: ``{"init": G, "final": G}``, the per-path gradient energy
            per synth parameter (P x U, :func:`scrapl_edu.lab.drums.path_grad_sq`) at the
            initial and the final encoder's predictions, else None.
    """

    config: dict[str, Any]
    param_names: list[str]
    test_theta_l1_permille: float
    test_theta_l1_permille_per_param: dict[str, float]
    val_steps: list[int]
    val_theta_l1_permille: list[float]
    val_theta_l1_permille_per_param: list[list[float]]
    steps_to_convergence: int | None
    val_total_variation: float
    steps: int
    ms_per_step: float
    wall_s: float
    theta_is_s: float
    peak_rss_mb: float
    history: dict[str, list] = field(default_factory=_empty_history)
    theta_is_probs: list[float] | None = None
    path_counts: list[int] | None = None
    n_paths: int = 0
    stopped_early: bool = False
    applied_diag: list[dict[str, float]] | None = None
    applied_s: float = 0.0
    device: str = "cpu"
    peak_device_mb: float | None = None
    final_probs: list[float] | None = None
    drum_metrics: dict[str, float] | None = None
    path_grad_sq: dict[str, list[list[float]]] | None = None

    def to_dict(self, with_history: bool = False) -> dict[str, Any]:
        d = asdict(self)
        if not with_history:
            d.pop("history")
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str | Path | None = None) -> Results:
        """The inverse of :meth:`to_dict`.

        Unknown or missing keys, and values of the wrong type (a hand-edited file), are
        refused with a ValueError naming ``source`` (the file) and the key.
        """
        where = f"{source}" if source is not None else "results dict"
        if not isinstance(d, dict):
            raise ValueError(
                f"{where} is not a results dict (a JSON object), got {type(d).__name__}"
            )
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = set(d) - set(fields)
        if unknown:
            raise ValueError(f"{where} is not a run's results: unknown keys {sorted(unknown)}")
        required = [
            n
            for n, f in fields.items()
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ]
        missing = [n for n in required if n not in d]
        if missing:
            raise ValueError(f"{where} is not a run's results: it lacks {', '.join(missing)}")
        hints = typing.get_type_hints(cls)
        for name, value in d.items():
            if not fits_type(value, hints[name]):
                raise ValueError(
                    f"{where}: {name} should be {type_name(hints[name])}, got {value!r:.80}"
                )
        return cls(**d)

    @classmethod
    def load(cls, folder: str | Path) -> Results:
        """Read ``folder/results.json`` and, when present, ``history.csv``.

        ``history`` comes from the CSV, so its losses carry its 6 significant digits.
        """
        folder = Path(folder)
        f = folder / RESULTS_JSON if folder.is_dir() else folder
        res = cls.from_dict(read_json(f), source=f)
        hist = f.parent / "history.csv"
        if hist.exists():
            h = _empty_history()
            try:
                with open(hist, newline="") as fh:
                    for row in csv.DictReader(fh):
                        h["loss"].append(float(row["loss"]))
                        h["path"].append(int(row["path"]))
                        h["step_s"].append(float(row["step_s"]))
                        h["grad_var"].append(float(row.get("grad_var") or "nan"))
            except (KeyError, TypeError, ValueError, csv.Error) as err:
                raise ValueError(
                    f"{hist} is not a run's history ({type(err).__name__}: {err})"
                ) from None
            res.history = h
        return res

    def save(self, out: str | Path) -> None:
        """Write ``history.csv``, ``validation.csv`` and, last, ``results.json`` into ``out``.

        Each file is written atomically (:func:`~scrapl_edu.lab.files.atomic_write_text`), and
        ``results.json``, which marks the run as finished, comes last.
        """
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        with io.StringIO(newline="") as f:
            w = csv.writer(f)
            w.writerow(["step", "loss", "path", "step_s", "grad_var"])
            h = self.history
            gv = h.get("grad_var") or [float("nan")] * len(h["loss"])
            for k in range(len(h["loss"])):
                w.writerow(
                    [
                        k + 1,
                        f"{h['loss'][k]:.6g}",
                        h["path"][k],
                        f"{h['step_s'][k]:.5f}",
                        f"{gv[k]:.6g}",
                    ]
                )
            atomic_write_text(out / "history.csv", f.getvalue())
        with io.StringIO(newline="") as f:
            w = csv.writer(f)
            w.writerow(
                ["step", "theta_l1_permille", *[f"{n}_l1_permille" for n in self.param_names]]
            )
            for s, v, pp in zip(
                self.val_steps, self.val_theta_l1_permille, self.val_theta_l1_permille_per_param
            ):
                w.writerow([s, f"{v:.4f}", *[f"{x:.4f}" for x in pp]])
            atomic_write_text(out / "validation.csv", f.getvalue())
        atomic_write_text(out / RESULTS_JSON, json.dumps(self.to_dict(), indent=1))


def _plain_json(obj: Any) -> Any:
    """``obj`` as JSON holds it (tuples as lists)."""
    return json.loads(json.dumps(obj))


def config_differences(
    recorded: dict[str, Any], want: dict[str, Any], defaults: dict[str, Any] | None = None
) -> list[str]:
    """The fields in which a recorded configuration differs from ``want``, for messages.

    Both are compared as JSON holds them (tuples as lists). A field that ``recorded`` lacks
    (a file written before the field existed) counts as its value in ``defaults``. Returns
    ``["lr: 0.001 recorded, 0.05 wanted", ...]`` (empty: the same configuration).
    """
    rec, wnt = _plain_json(recorded), _plain_json(want)
    dflt = _plain_json(defaults or {})
    out = []
    for key in sorted(set(rec) | set(wnt)):
        a = rec.get(key, dflt.get(key, _ABSENT))
        b = wnt.get(key, _ABSENT)
        if a != b and not (_nan(a) and _nan(b)):
            out.append(f"{key}: {_show(a)} recorded, {_show(b)} wanted")
    return out


_ABSENT = object()


def _show(v: Any) -> str:
    return "(absent)" if v is _ABSENT else repr(v)


def _nan(v: Any) -> bool:
    return isinstance(v, float) and math.isnan(v)


def type_name(tp: Any) -> str:
    """A field's type as an error message names it (``float``, ``list[int]``)."""
    if typing.get_origin(tp) is None and hasattr(tp, "__name__"):
        return tp.__name__
    return str(tp).replace("typing.", "")


def fits_type(value: Any, tp: Any) -> bool:
    """Whether a JSON value fits a field's type (``float`` takes ints; bools are not numbers)."""
    if tp is Any:
        return True
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return any(fits_type(value, a) for a in typing.get_args(tp))
    if tp is type(None):
        return value is None
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp in (str, bool):
        return isinstance(value, tp)
    if origin is list:
        (item,) = typing.get_args(tp) or (Any,)
        return isinstance(value, list) and all(fits_type(v, item) for v in value)
    if origin is dict:
        key, item = typing.get_args(tp) or (Any, Any)
        return isinstance(value, dict) and all(
            fits_type(k, key) and fits_type(v, item) for k, v in value.items()
        )
    return True
