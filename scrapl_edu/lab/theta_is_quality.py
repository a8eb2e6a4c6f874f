"""How many examples and power iterations θ-IS needs: N_IS and iterations from a measurement.

θ-IS (Section 3.4, Eq. 10-12) estimates π from N_IS examples with a power iteration per
(example, parameter, path). Both numbers trade cost for accuracy. One long run on a lab
preset's untrained encoder (``ref_examples`` × ``ref_iters``, the paper's 16 × 20 by
default) keeps every iterate, so π of every cheaper setting is read from it exactly
(:meth:`scrapl_edu.theta_is.ThetaISResult.probs_at`: the examples are the same prefix of
the training set and the iterates are nested) and compared with the reference π by
Spearman's rank correlation and total-variation distance, against its cost.

The setting is chosen by a rule fixed before looking at the numbers
(:data:`RHO_MIN`, :data:`TV_MAX`): the cheapest grid point whose π has rank correlation
≥ 0.9 with the reference and differs from it by at most 0.1 in total variation.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import stats

from scrapl_edu.lab.config import make_config
from scrapl_edu.lab.files import atomic_open, atomic_write_json, atomic_write_text, check_out_folder
from scrapl_edu.lab.parts import RunParts, TrainState, build_parts
from scrapl_edu.theta_is import ThetaISResult, theta_importance_sampling

__all__ = ["RHO_MIN", "TV_MAX", "choose_setting", "measure_theta_is_quality"]

#: the choice rule: Spearman ρ(π, π_ref) at least this ...
RHO_MIN = 0.9
#: ... and total variation ½ Σ |π − π_ref| at most this
TV_MAX = 0.1


def _grid_check(name: str, values: Sequence[int], top: int) -> list[int]:
    vals = sorted(set(values))
    if not vals or any(isinstance(v, bool) or not isinstance(v, int) for v in vals):
        raise ValueError(f"{name} must be a non-empty list of integers, got {list(values)!r}")
    if vals[0] < 1 or vals[-1] > top:
        raise ValueError(f"{name} must lie in [1, {top}] (the reference's size), got {vals}")
    return vals


def choose_setting(rows: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The cheapest row with ``rho >= RHO_MIN`` and ``tv <= TV_MAX`` (None if none is)."""
    ok = [r for r in rows if r["rho"] >= RHO_MIN and r["tv"] <= TV_MAX]
    return min(ok, key=lambda r: (r["cost_s"], r["n_examples"], r["n_iter"])) if ok else None


def _check_reference(
    ref_examples: int, ref_iters: int, examples: Sequence[int], iters: Sequence[int]
) -> tuple[list[int], list[int]]:
    """The reference's size checked, and the grid's N_IS and iteration values (sorted)."""
    for name, value in (("ref_examples", ref_examples), ("ref_iters", ref_iters)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if ref_iters < 2:
        raise ValueError(f"ref_iters must be >= 2 to separate the cost terms, got {ref_iters}")
    return _grid_check("examples", examples, ref_examples), _grid_check("iters", iters, ref_iters)


def _theta_is_call(
    parts: RunParts, state: TrainState, seed: int, progress: bool, n: int, k: int, keep: bool
) -> ThetaISResult:
    """θ-IS on the run's first ``n`` training examples with ``k`` power iterations, as
    ``lab.train.run_theta_is`` calls it (``keep``: keep the iterates, show progress)."""
    return theta_importance_sampling(
        state.encoder,
        parts.synth,
        state.loss_fn.path_loss,
        parts.data["x_train"][:n],
        n_iter=k,
        n_paths=parts.n_paths,
        synth_seed=seed,
        power_seed=seed,
        progress=progress and keep,
        keep_iterates=keep,
    )


def _reference_and_cost(
    call: Callable[[int, int, bool], ThetaISResult], ref_examples: int, ref_iters: int
) -> tuple[ThetaISResult, float, float, float]:
    """The reference run (iterates kept), its seconds, and the cost model's a and b.

    A θ-IS call with n examples and k iterations costs n (a + b k): a + b is the time of a
    1 × 1 call, a + ``ref_iters`` b the reference's time per example (both clamped at 0).
    """
    t0 = time.perf_counter()
    call(1, 1, False)
    t_11 = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = call(ref_examples, ref_iters, True)
    t_ref = time.perf_counter() - t0
    b = max(0.0, (t_ref / ref_examples - t_11) / (ref_iters - 1))
    a = max(0.0, t_11 - b)
    return ref, t_ref, a, b


def _distance(pi: np.ndarray, probs_ref: np.ndarray) -> dict[str, float]:
    """Spearman's ρ(π, π_ref) and the total variation ½ Σ |π − π_ref|."""
    return {
        "rho": float(stats.spearmanr(pi, probs_ref).statistic),
        "tv": float(0.5 * np.abs(pi - probs_ref).sum()),
    }


def _grid_rows(
    ref: ThetaISResult, ex_grid: list[int], it_grid: list[int], a: float, b: float
) -> list[dict[str, Any]]:
    """Every grid point's π (read from the reference's iterates) against π_ref, with its cost."""
    probs_ref = ref.probs.numpy()
    return [
        {
            "n_examples": n,
            "n_iter": k,
            **_distance(ref.probs_at(n, k).numpy(), probs_ref),
            "cost_s": n * (a + b * k),
        }
        for n in ex_grid
        for k in it_grid
    ]


def _preset_setting(ref: ThetaISResult, own: tuple[int, int]) -> dict[str, Any]:
    """The preset's own (N_IS, iterations) and, when the reference covers it, its π and its
    distance to π_ref."""
    setting: dict[str, Any] = {"n_examples": own[0], "n_iter": own[1]}
    n_ex, _, _, n_it = ref.iterates.shape
    if own[0] <= n_ex and own[1] <= n_it:
        own_pi = ref.probs_at(*own).numpy()
        setting.update(**_distance(own_pi, ref.probs.numpy()), probs=[float(p) for p in own_pi])
    return setting


def measure_theta_is_quality(
    preset: str,
    *,
    seed: int = 0,
    ref_examples: int = 16,
    ref_iters: int = 20,
    examples: Sequence[int] = (1, 2, 4, 8, 16),
    iters: Sequence[int] = (1, 2, 3, 5, 10, 20),
    fast: bool = False,
    progress: bool = True,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """π of every (N_IS, iterations) on the grid against the reference's, with its cost.

    The encoder, data and seeds are those of a lab run of ``preset`` and ``seed``
    (:func:`scrapl_edu.lab.parts.build_parts`), so the grid point of the preset's own
    setting is exactly the π that run draws from.

    Cost: seconds of a θ-IS call with n examples and k iterations, modelled as
    n (a + b k) (a: building one example's graphs for every path, b: one power iteration
    over every path and parameter), with a + b from a timed 1 × 1 call and a + ``ref_iters``
    b from the reference's time per example (:func:`_reference_and_cost`). Both are wall
    clock on the machine that ran it.

    Returns:
        ``(report, arrays)``: the report (``preset``, ``seed``, the reference size and
        seconds, ``a_s``/``b_s``, the preset's own setting, ``rows`` with ``n_examples``,
        ``n_iter``, ``rho``, ``tv``, ``cost_s`` for every grid point, and ``chosen``: the
        rule's pick, :func:`choose_setting`) and the arrays (``probs_ref``, ``iterates``).
    """
    ex_grid, it_grid = _check_reference(ref_examples, ref_iters, examples, iters)
    cfg = make_config(preset, fast=fast, loss="scrapl", seed=seed)
    cfg.validate()
    parts, state = build_parts(cfg)
    state.encoder.eval()
    n_train = parts.data["x_train"].shape[0]
    if ref_examples > n_train:
        raise ValueError(f"ref_examples must be <= {n_train} (the training set)")
    call = partial(_theta_is_call, parts, state, cfg.seed, progress)
    ref, t_ref, a, b = _reference_and_cost(call, ref_examples, ref_iters)
    rows = _grid_rows(ref, ex_grid, it_grid, a, b)
    report: dict[str, Any] = {
        "preset": preset,
        "seed": seed,
        "n_paths": parts.n_paths,
        "reference": {"n_examples": ref_examples, "n_iter": ref_iters, "seconds": t_ref},
        "a_s": a,
        "b_s": b,
        "threads": torch.get_num_threads(),
        "preset_setting": _preset_setting(ref, (cfg.theta_is_examples, cfg.theta_is_iters)),
        "rule": {"rho_min": RHO_MIN, "tv_max": TV_MAX},
        "rows": rows,
        "chosen": choose_setting(rows),
    }
    arrays = {"probs_ref": ref.probs.numpy(), "iterates": ref.iterates.numpy()}
    return report, arrays


def quality_table(reports: Sequence[dict[str, Any]]) -> str:
    """Markdown: per preset, ρ / TV / cost of every grid point, the rule's pick marked."""
    lines = []
    for rep in reports:
        ref, own = rep["reference"], rep["preset_setting"]
        lines += [
            f"### {rep['preset']} (seed {rep['seed']}, P = {rep['n_paths']}; reference "
            f"{ref['n_examples']} × {ref['n_iter']}, {ref['seconds']:.0f} s)",
            "",
            "| N_IS | iterations | Spearman ρ | TV distance | est. cost s |",
            "|---|---|---|---|---|",
        ]
        chosen = rep["chosen"]
        for r in rep["rows"]:
            mark = []
            if chosen and (r["n_examples"], r["n_iter"]) == (
                chosen["n_examples"],
                chosen["n_iter"],
            ):
                mark.append("**rule's pick**")
            if (r["n_examples"], r["n_iter"]) == (own["n_examples"], own["n_iter"]):
                mark.append("preset's setting")
            tag = f" ({', '.join(mark)})" if mark else ""
            lines.append(
                f"| {r['n_examples']}{tag} | {r['n_iter']} | {r['rho']:.3f} | {r['tv']:.3f} | "
                f"{r['cost_s']:.0f} |"
            )
        pick = f"{chosen['n_examples']} × {chosen['n_iter']}" if chosen else "none on the grid"
        lines += [
            "",
            f"Rule (fixed beforehand): the cheapest setting with ρ ≥ {RHO_MIN} and TV ≤ "
            f"{TV_MAX} → **{pick}**. Cost model n (a + b k): a = {rep['a_s']:.2f} s, "
            f"b = {rep['b_s']:.2f} s ({rep['threads']} thread(s)).",
            "",
        ]
    return "\n".join(lines)


def theta_is_quality(
    presets: Sequence[str],
    out: str | Path,
    *,
    overwrite: bool = False,
    **kwargs: Any,
) -> list[dict[str, Any]]:
    """:func:`measure_theta_is_quality` for each preset -> ``out/quality.{json,md,npz}``."""
    out = Path(out)
    if (out / "quality.json").exists() and not overwrite:
        raise FileExistsError(f"{out / 'quality.json'} exists; pass --overwrite to replace it")
    check_out_folder(out)  # a file, a device or a read-only folder: before any work
    reports, arrays = [], {}
    for preset in presets:
        rep, arr = measure_theta_is_quality(preset, **kwargs)
        reports.append(rep)
        arrays.update({f"{preset}/{k}": v for k, v in arr.items()})
    with atomic_open(out / "quality.npz", "wb") as f:
        np.savez(f, **arrays)
    atomic_write_text(out / "quality.md", quality_table(reports))
    atomic_write_json(out / "quality.json", reports)  # last: it marks the folder done
    return reports
