"""Gradient diagnostics: per-path gradients, unbiasedness (Prop. 3.1) and estimator variance.

All functions are pure: they read a model/loss or a table of per-path gradients and return
numbers. Notation: G is the (P, |w|) table of per-path gradients G_p = ∇_w L_p (Eq. 3) at a
fixed w and batch; the full gradient is g = ∇_w L^Φ = (1/P) Σ_p G_p (Eq. 13).
"""

from __future__ import annotations

import copy
import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils import flop_counter as fc

from scrapl_edu.sampling import PathSampler

__all__ = [
    "applied_directions",
    "arithmetic_cost",
    "forward_backward_seconds",
    "EstimatorStats",
    "MonteCarloResult",
    "check_unbiased_exact",
    "cosine_similarity",
    "estimator_table",
    "estimator_variance",
    "flat_grad",
    "full_gradient",
    "monte_carlo_unbiasedness",
    "optimizer_directions",
    "per_path_gradients",
    "direction_variance",
]


def _params(model_or_params: nn.Module | Iterable[Tensor]) -> list[Tensor]:
    if isinstance(model_or_params, nn.Module):
        return [w for w in model_or_params.parameters() if w.requires_grad]
    return list(model_or_params)


def flat_grad(loss: Tensor, params: Sequence[Tensor]) -> Tensor:
    """∇_w loss as one flat float64 vector (zeros for weights the loss does not reach)."""
    grads = torch.autograd.grad(loss, list(params), allow_unused=True)
    return torch.cat(
        [
            (g if g is not None else torch.zeros_like(w)).reshape(-1).to(torch.float64)
            for g, w in zip(grads, params, strict=True)
        ]
    )


def per_path_gradients(
    model_or_params: nn.Module | Iterable[Tensor],
    path_loss: Callable[[int], Tensor],
    n_paths: int,
) -> Tensor:
    """Table G of per-path gradients, shape (P, |w|): G_p = ∇_w L_p(w) (Eq. 3, 14).

    Args:
        model_or_params: the model (or its weights) w.
        path_loss: ``path_loss(p)`` returns the scalar L_p for the fixed batch.
        n_paths: P.
    """
    params = _params(model_or_params)
    return torch.stack([flat_grad(path_loss(p), params) for p in range(n_paths)])


def full_gradient(
    model_or_params: nn.Module | Iterable[Tensor], full_loss: Callable[[], Tensor]
) -> Tensor:
    """The full gradient g = ∇_w L^Φ(w) as a flat float64 vector (Eq. 13)."""
    return flat_grad(full_loss(), _params(model_or_params))


def cosine_similarity(estimate: Tensor, full: Tensor) -> float:
    """cos(ĝ, g) = ⟨ĝ, g⟩ / (‖ĝ‖ ‖g‖) (0 if either vector is zero)."""
    a = estimate.reshape(-1).to(torch.float64)
    b = full.reshape(-1).to(torch.float64)
    den = float(a.norm() * b.norm())
    return float(torch.dot(a, b)) / den if den > 0 else 0.0


def check_unbiased_exact(G: Tensor, full: Tensor, rtol: float = 1e-5, atol: float = 1e-8) -> float:
    """Prop. 3.1 (Eq. 5), exactly: E_{p∼U}[G_p] = (1/P) Σ_p G_p equals the full gradient.

    Returns the relative error ‖mean_p G_p − g‖ / max(‖g‖, atol); raises AssertionError if
    it exceeds ``rtol``.
    """
    err = float((G.to(torch.float64).mean(dim=0) - full.to(torch.float64)).norm())
    rel = err / max(float(full.norm()), atol)
    if rel > rtol:
        raise AssertionError(
            f"mean of per-path gradients differs from the full gradient: rel {rel:.3g}"
        )
    return rel


def _weights(P: int, probs: Tensor | None, reweight: bool) -> tuple[Tensor, Tensor]:
    if probs is None:
        pi = torch.full((P,), 1.0 / P, dtype=torch.float64)
    else:
        pi = torch.as_tensor(probs, dtype=torch.float64).reshape(-1)
        if pi.numel() != P:
            raise ValueError(f"probs must have length P={P}, got {pi.numel()}")
    if reweight:
        if (pi <= 0).any():
            raise ValueError("reweight=True needs every path to have probability > 0")
        w = 1.0 / (P * pi)
    else:
        w = torch.ones(P, dtype=torch.float64)
    return pi, w


def estimator_table(
    G: Tensor,
    probs: Tensor | None = None,
    reweight: bool = False,
    correction: Tensor | None = None,
    visited: Tensor | Sequence[int] | None = None,
) -> Tensor:
    """The value ĝ_p of the one-path estimator for every path p, shape (P, |w|).

    * plain: ĝ_p = w_p G_p, with w_p = 1/(P π_p) if ``reweight`` else 1;
    * with a SAGA table H (``correction``, (P, |w|)) over the visited set Γ (default: all
      paths): ĝ_p = w_p (G_p − H_p) + (1/max(1, |Γ|)) Σ_{γ∈Γ} H_γ  (Eq. 9 on gradients;
      H_p = 0 for p ∉ Γ).
    """
    G = G.to(torch.float64)
    P = G.shape[0]
    _, w = _weights(P, probs, reweight)
    if correction is None:
        return w[:, None] * G
    H = correction.to(torch.float64).clone()
    mask = torch.ones(P, dtype=torch.bool)
    if visited is not None:
        mask = torch.zeros(P, dtype=torch.bool)
        mask[torch.as_tensor(list(visited) if not isinstance(visited, Tensor) else visited)] = True
    H[~mask] = 0.0
    h_avg = H.sum(dim=0) / max(1, int(mask.sum()))
    return w[:, None] * (G - H) + h_avg[None, :]


@dataclass
class EstimatorStats:
    """Exact moments of a one-path estimator ĝ (p ∼ π), from the gradient table.

    Attributes:
        mean: E[ĝ] = Σ_p π_p ĝ_p.
        mse: E‖ĝ − g‖² (g the full gradient).
        variance: E‖ĝ − E ĝ‖².
        bias_sq: ‖E ĝ − g‖² (mse = variance + bias_sq).
    """

    mean: Tensor
    mse: float
    variance: float
    bias_sq: float


def estimator_variance(
    G: Tensor,
    probs: Tensor | None = None,
    reweight: bool = False,
    correction: Tensor | None = None,
    visited: Tensor | Sequence[int] | None = None,
    full: Tensor | None = None,
) -> EstimatorStats:
    """Exact mean, variance and MSE of the one-path gradient estimator under π.

    E‖ĝ − g‖² = Σ_p π_p ‖ĝ_p − g‖², with ĝ_p from :func:`estimator_table` and g the full
    gradient (default: mean_p G_p, Eq. 13). Without reweighting and with π ≠ uniform the
    estimator is biased (E ĝ = Σ π_p G_p); with ``reweight=True`` it is unbiased for any π > 0.
    """
    G = G.to(torch.float64)
    P = G.shape[0]
    pi, _ = _weights(P, probs, reweight)
    table = estimator_table(G, probs, reweight, correction, visited)
    g = G.mean(dim=0) if full is None else full.to(torch.float64).reshape(-1)
    mean = (pi[:, None] * table).sum(dim=0)
    mse = float((pi * (table - g).pow(2).sum(dim=1)).sum())
    var = float((pi * (table - mean).pow(2).sum(dim=1)).sum())
    bias_sq = float((mean - g).pow(2).sum())
    return EstimatorStats(mean=mean, mse=mse, variance=var, bias_sq=bias_sq)


@dataclass
class MonteCarloResult:
    """Monte-Carlo check of unbiasedness.

    Attributes:
        mean: average of the n sampled estimates.
        error: ‖mean − g‖.
        std_error: sqrt(E‖ĝ − E ĝ‖² / n), the expected size of ``error`` if unbiased.
        z: error / std_error.
    """

    mean: Tensor
    error: float
    std_error: float
    z: float


def monte_carlo_unbiasedness(
    G: Tensor,
    probs: Tensor | None = None,
    reweight: bool = False,
    n_samples: int = 10_000,
    seed: int = 0,
    full: Tensor | None = None,
) -> MonteCarloResult:
    """Draw ``n_samples`` paths from π (seeded :class:`PathSampler`) and average ĝ_p.

    For an unbiased estimator E[error²] = std_error², so ``z`` is typically about 1 (a few
    at most); a biased one gives a ``z`` that grows like sqrt(n_samples).
    """
    G = G.to(torch.float64)
    P = G.shape[0]
    pi, _ = _weights(P, probs, reweight)
    table = estimator_table(G, probs, reweight)
    sampler = PathSampler(P, pi, seed=seed)
    draws = torch.tensor(sampler.sample_many(n_samples))
    mean = table[draws].mean(dim=0)
    g = G.mean(dim=0) if full is None else full.to(torch.float64).reshape(-1)
    stats = estimator_variance(G, pi, reweight, full=g)
    err = float((mean - g).norm())
    se = (stats.variance / n_samples) ** 0.5
    return MonteCarloResult(
        mean=mean, error=err, std_error=se, z=err / se if se > 0 else float("inf")
    )


def optimizer_directions(
    model: nn.Module,
    optimizer: Any,
    path_loss: Callable[[nn.Module, int], Tensor],
    paths: Sequence[int],
    overrides: dict[str, Any] | None = None,
) -> Tensor:
    """The update direction the optimizer *would* take for each candidate path.

    For each p, a deep copy of (model, optimizer) computes ``path_loss(model_copy, p)``,
    back-propagates and calls ``step(path=p)``; the direction is (w_before − w_after) / lr,
    i.e. g_SAGA (or g_current with ``overrides={"p_saga": False}``) of Algorithm 1 when
    weight decay is 0. The originals are left untouched. Shape (len(paths), |w|).
    """
    rows = []
    for p in paths:
        m2, opt2 = copy.deepcopy((model, optimizer))
        for key, val in (overrides or {}).items():
            setattr(opt2, key, val)
        before = torch.cat([w.detach().reshape(-1).to(torch.float64) for w in m2.parameters()])
        opt2.zero_grad()
        path_loss(m2, p).backward()
        opt2.step(path=p)
        after = torch.cat([w.detach().reshape(-1).to(torch.float64) for w in m2.parameters()])
        lr = opt2.param_groups[0]["lr"]
        rows.append((before - after) / lr)
    return torch.stack(rows)


def _light_state(st: dict[str, Any]) -> dict[str, Any]:
    # A SCRAPLOptimizer step replaces its per-path entries (m_p, v_p, ĝ_p, τ_p) and never
    # changes them in place, so a shallow copy of each dict keeps the originals intact;
    # shared tensors (the running SAGA sum, shared Adam moments, step counts) change in
    # place and are cloned. O(|w|) per copy instead of deep copy's O(P |w|).
    return {
        k: v.clone() if isinstance(v, Tensor) else dict(v) if isinstance(v, dict) else v
        for k, v in st.items()
    }


def applied_directions(
    optimizer: Any,
    G: Tensor,
    paths: Sequence[int] | None = None,
    *,
    exclude_weight_decay: bool = True,
    overrides: dict[str, Any] | None = None,
) -> Tensor:
    """The update direction a SCRAPLOptimizer *would* apply for each path, given its gradient.

    The numbers of :func:`optimizer_directions` (tested equal) for a path whose gradient is
    ``G[p]``, but without a forward pass and without deep copies: each candidate steps a
    light copy of the optimizer (its weights and shared tensors cloned, the per-path tables
    shared, as a step replaces their entries and never edits them), so a probe of all P
    paths costs P optimizer steps. The optimizer and its weights are left as they were.

    The direction is ``d_p = (w − w_after) / α`` (Algorithm 1: g_SAGA with P-SAGA, g_current
    of Eq. 8 without). With ``exclude_weight_decay`` the decoupled decay's share ``λ w`` is
    taken out (it is the same for every path), so ``d_p`` is the update of Eq. (8)-(9) alone.

    Args:
        optimizer: a :class:`scrapl_edu.optim.SCRAPLOptimizer` (``step(path=p)``).
        G: gradient table (P, |w|): row p is ∇_w L_p for the optimizer's parameters,
            flattened in ``param_groups`` order (e.g. :func:`per_path_gradients`).
        paths: candidate paths (default: every row of ``G``).
        exclude_weight_decay: remove ``λ w`` from the direction.
        overrides: attributes set on the copy only, e.g. ``{"p_saga": False}``.

    Returns:
        Shape (len(paths), |w|), float64.
    """
    groups = optimizer.param_groups
    params = [w for g in groups for w in g["params"]]
    sizes = [w.numel() for w in params]
    G = torch.as_tensor(G, dtype=torch.float64)
    if G.dim() != 2 or G.shape[1] != sum(sizes):
        raise ValueError(f"G must have shape (P, |w|={sum(sizes)}), got {tuple(G.shape)}")
    if any(g["lr"] <= 0 for g in groups):
        raise ValueError("the optimizer's lr must be > 0 to read a direction from a step")
    rows = []
    for p in range(G.shape[0]) if paths is None else paths:
        clone = {w: w.detach().clone() for w in params}
        trial = copy.copy(optimizer)  # shares nothing that a step changes, see below
        trial.param_groups = [{**g, "params": [clone[w] for w in g["params"]]} for g in groups]
        trial.state = defaultdict(dict)
        for w, st in optimizer.state.items():
            trial.state[clone[w]] = _light_state(st)
        for key, val in (overrides or {}).items():
            setattr(trial, key, val)
        for w, c in zip(params, torch.split(G[int(p)], sizes), strict=True):
            clone[w].grad = c.reshape(w.shape).to(device=w.device, dtype=w.dtype)
        trial.step(path=int(p))
        parts = []
        for g in groups:
            for w in g["params"]:
                before = w.detach().reshape(-1).to("cpu", torch.float64)
                d = (before - clone[w].detach().reshape(-1).to("cpu", torch.float64)) / g["lr"]
                if exclude_weight_decay:
                    d = d - g["weight_decay"] * before
                parts.append(d)
        rows.append(torch.cat(parts))
    return torch.stack(rows)


def direction_variance(D: Tensor, probs: Tensor | None = None) -> float:
    """Σ_p π_p ‖d_p − Σ_q π_q d_q‖² for a (P, |w|) table of update directions."""
    D = D.to(torch.float64)
    pi, _ = _weights(D.shape[0], probs, False)
    mean = (pi[:, None] * D).sum(dim=0)
    return float((pi * (D - mean).pow(2).sum(dim=1)).sum())


def forward_backward_seconds(fn: Callable[[Tensor], Tensor], x: Tensor, repeats: int = 5) -> float:
    """Best wall time of ``fn(x).pow(2).sum().backward()`` over ``repeats`` runs.

    The cost a training step pays for a loss term: notebook 4 compares one path
    (``jtfs.path``) with all paths (``jtfs``). The best of several runs is the least
    disturbed by other work on a shared machine.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    best = float("inf")
    for _ in range(repeats):
        xr = x.detach().clone().requires_grad_(True)
        t0 = time.perf_counter()
        fn(xr).pow(2).sum().backward()
        best = min(best, time.perf_counter() - t0)
    return best


def _fft_flops(x: Tensor, dim: Sequence[int], n_out: int | None, real: bool) -> int:
    """5 N log2 N per complex FFT of N points, half that for a real one (the usual count)."""
    shape = list(x.shape)
    if n_out is not None:  # c2r: the transform's length is the real output's
        shape[dim[-1]] = n_out
    n = math.prod(shape[d] for d in dim)
    if n <= 1:
        return 0
    batch = math.prod(shape) // n
    return round(batch * (2.5 if real else 5.0) * n * math.log2(n))


def _raw(formula: Callable[..., int]) -> Callable[..., int]:
    formula._get_raw = True  # type: ignore[attr-defined]  # FlopCounterMode passes tensors
    return formula


def _cost_mapping() -> dict[Any, Callable[..., int]]:
    """FFT formulas, and matrix products counted ×4 when complex, for ``FlopCounterMode``."""
    aten = torch.ops.aten

    def complex_aware(formula: Callable[..., int]) -> Callable[..., int]:
        def count(*args: Any, **kwargs: Any) -> int:
            n = formula(*args, **kwargs)
            return 4 * n if any(isinstance(a, Tensor) and a.is_complex() for a in args) else n

        return _raw(count)

    return {
        aten._fft_r2c: _raw(lambda x, dim, *a, out_val=None, **k: _fft_flops(x, dim, None, True)),
        aten._fft_c2r: _raw(
            lambda x, dim, norm, n, *a, out_val=None, **k: _fft_flops(x, dim, n, True)
        ),
        aten._fft_c2c: _raw(lambda x, dim, *a, out_val=None, **k: _fft_flops(x, dim, None, False)),
        aten.mm: complex_aware(fc.mm_flop),
        aten.addmm: complex_aware(fc.addmm_flop),
        aten.bmm: complex_aware(fc.bmm_flop),
        aten.baddbmm: complex_aware(fc.baddbmm_flop),
    }


def arithmetic_cost(
    fn: Callable[[Tensor], Tensor], x: Tensor, backward: bool = True
) -> dict[str, int]:
    """Floating-point operations of ``fn(x)`` (and its backward), counted, not timed.

    A count does not depend on what else the machine is doing, so notebook 4 can check
    that one path costs a small fraction of the full transform (Section 3) where a timing
    would be noisy. It counts the arithmetic that dominates a scattering transform, with
    ``torch.utils.flop_counter.FlopCounterMode``: matrix products (2·m·n·k, ×4 when
    complex) and FFTs (5·N·log2 N per complex transform of N points, 2.5·N·log2 N per
    real one). Elementwise work (modulus, filter products, gathers) is not counted.

    Returns ``{"total": ..., "fft": ..., "matmul": ...}``. With ``backward`` (default)
    it runs ``fn(x).pow(2).sum().backward()`` on a fresh leaf copy of ``x``, the cost
    a training step pays, as in :func:`forward_backward_seconds`.
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    xr = x.detach().clone().requires_grad_(backward)
    with fc.FlopCounterMode(display=False, custom_mapping=_cost_mapping()) as counter:
        out = fn(xr)
        if backward:
            out.pow(2).sum().backward()
    counts = counter.get_flop_counts()["Global"]
    fft = int(sum(v for k, v in counts.items() if "fft" in str(k)))
    matmul = int(sum(v for k, v in counts.items() if "mm" in str(k)))
    return {"total": int(counter.get_total_flops()), "fft": fft, "matmul": matmul}
