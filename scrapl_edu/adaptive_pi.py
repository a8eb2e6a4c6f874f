r"""Adaptive path distribution: π updated during training from what the optimizer holds.

The paper leaves this as future work (Section 5.3): SCRAPL loses the decay of drum hits,
which the authors attribute to informative low-frequency paths being under-sampled "even
after accounting for θ-IS", a distribution computed once, before training. Here π follows
the per-path gradient norms during training.

**The rule.** SCRAPL estimates the gradient of the full loss ``L = (1/P) Σ_p L_p`` (Eq. 3)
from one path. Write ``g_p = ∇L_p / P`` so that ``∇L = G = Σ_p g_p``. Draw ``p ~ π`` and use
the importance-weighted one-sample estimator ``Ĝ = g_p / π_p`` (``SCRAPLLoss(reweight=True)``
multiplies ``L_p`` by ``1 / (P π_p)``: the same thing). It is unbiased::

    E[Ĝ] = Σ_p π_p g_p / π_p = G,

and its variance (trace of the covariance) is::

    Var(Ĝ) = E||Ĝ||² - ||G||² = Σ_p ||g_p||² / π_p - ||G||².

Only the first term depends on π. Minimise ``Σ_p n_p² / π_p`` (``n_p = ||g_p||``) subject to
``Σ_p π_p = 1``: the Lagrangian ``Σ_p n_p² / π_p + λ (Σ_p π_p - 1)`` is stationary where
``-n_p² / π_p² + λ = 0``, i.e.::

    π_p = n_p / √λ  ∝  ||g_p||,        min Var = (Σ_p n_p)² - ||G||².

The uniform π gives ``P Σ_p n_p² - ||G||²``, and by Cauchy-Schwarz ``(Σ_p n_p)² <= P Σ_p n_p²``:
π ∝ ||g|| never does worse than uniform, and does as well only when all norms are equal.
When ``g_p`` is itself random (a mini-batch), ``n_p² = E||g_p||²``: π ∝ the RMS norm.

**The floor.** A path with a small norm now is not worthless later (its norm is measured only
when it is visited), so every path keeps ``π_p >= f`` with ``f`` in ``(0, 1/P]``. The
minimiser of ``Σ n_p² / π_p`` on ``{π >= f, Σ π = 1}`` follows from the KKT conditions
(``n_p² / π_p² = λ - μ_p``, ``μ_p >= 0``, ``μ_p (π_p - f) = 0``)::

    π_p = max(f, c n_p),   c such that Σ_p π_p = 1

("water-filling"; :func:`adaptive_probs` solves for ``c`` exactly). ``f = 1/P`` is uniform.

**Which norms.** :meth:`scrapl_edu.optim.SCRAPLOptimizer.path_update_norms` gives, without new
state, either ``"v"``: ``sqrt(Σ v̂_p)`` from P-Adam's per-path second moment (Eq. 7), the RMS
norm of path p's raw gradient at its visits (the running per-path curvature proxy Adam keeps:
the diagonal of the empirical Fisher), which is the ``n_p`` of the derivation; or ``"g_hat"``:
``||ĝ_p||``, the P-SAGA table entry (Eq. 9). ``"v"`` is the default here because ĝ_p is
*Adam-normalised* (``m̂ / (ε + √v̂)``, about one per coordinate whatever the gradient's size),
so its norm hardly tells paths apart. Unvisited paths have no norm; ``fill`` decides theirs
(``"max"``: the largest measured norm, so they are tried soon).

**Caveats.** (1) Without reweighting (the paper's θ-IS default) the estimator is ``g_p``, not
``g_p / π_p``: its mean is ``Σ π_p g_p``, so moving π re-weights the objective towards the
high-norm paths; use ``SCRAPLLoss(reweight=True)`` where unbiasedness matters. (2) With
P-Adam on, each path's update is normalised by its own second moment, which cancels a
constant per-path factor such as ``1 / (P π_p)``: the derivation above is exact for the raw
gradient (SGD, or Adam with ``p_adam=False``) and a heuristic for Algorithm 1.

θ-IS (Eq. 10-12, :mod:`scrapl_edu.theta_is`) is computed once, before training, from the
curvature of each path's loss with respect to the synth parameters; the adaptive π is
recomputed during training from the gradients of the network's weights.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
from torch import Tensor

__all__ = [
    "AdaptivePi",
    "adaptive_probs",
    "importance_weights",
    "one_sample_variance",
]

Fill = Literal["max", "mean", "floor"]


def _check_floor(floor: Any, n_paths: int) -> float:
    if isinstance(floor, bool) or not isinstance(floor, (int, float)):
        raise ValueError(
            f"floor must be a number in (0, 1/P] = (0, {1 / n_paths:.6g}], got {floor!r}"
        )
    f = float(floor)
    # a tolerance of one ulp-ish so that floor=1/P computed in float passes
    if not (math.isfinite(f) and 0.0 < f <= (1.0 / n_paths) * (1.0 + 1e-12)):
        raise ValueError(
            f"floor must lie in (0, 1/P] = (0, {1 / n_paths:.6g}] for P={n_paths} paths (a "
            f"floor above 1/P cannot sum to 1; 0 would let a path starve), got floor={floor!r}"
        )
    return min(f, 1.0 / n_paths)


def adaptive_probs(norms: Any, floor: float, *, fill: Fill = "max") -> Tensor:
    """π_p = max(floor, c n_p) with Σ π = 1: the variance-optimal π with a floor.

    Args:
        norms: ``(P,)`` non-negative per-path norms (e.g. ``optimizer.path_update_norms("v")``);
            NaN marks an unvisited path, whose norm is taken from ``fill``.
        floor: the least probability of any path, in ``(0, 1/P]`` (``1/P``: uniform).
        fill: norm of the unvisited paths: ``"max"`` (the largest measured, so they are tried
            soon), ``"mean"`` (the mean measured) or ``"floor"`` (0: only the floor).

    Returns:
        float64 ``(P,)``: every entry ``>= floor``, summing to 1 (to float64 rounding). With no
        measured norm (or all zero) the result is uniform.

    See the module docstring for the derivation (the water-filling solution of the KKT
    conditions); ``c`` is found exactly by sorting.
    """
    n = torch.as_tensor(norms, dtype=torch.float64).detach().cpu().clone()
    if n.dim() != 1 or n.numel() < 1:
        raise ValueError(f"norms must be a non-empty 1-D vector (P,), got shape {tuple(n.shape)}")
    P = n.numel()
    f = _check_floor(floor, P)
    if fill not in ("max", "mean", "floor"):
        raise ValueError(f"fill must be 'max', 'mean' or 'floor', got {fill!r}")
    measured = ~torch.isnan(n)
    if bool((n[measured] < 0).any()) or bool(torch.isinf(n).any()):
        raise ValueError("norms must be finite and >= 0 (NaN marks an unvisited path)")
    if bool(measured.any()):
        known = n[measured]
        value = {"max": known.max(), "mean": known.mean(), "floor": torch.zeros(())}[fill]
        n = torch.where(measured, n, value)
    else:
        n = torch.zeros(P, dtype=torch.float64)
    if float(n.max()) <= 0.0:
        return torch.full((P,), 1.0 / P, dtype=torch.float64)
    n = n / n.max()  # π depends on ratios only; this keeps tiny (even subnormal) norms exact
    # water-filling: the k largest norms are free (π = c_k n), the other P - k sit at the
    # floor, c_k = (1 - (P - k) f) / (sum of the k largest); k is the largest k whose
    # smallest free path still clears the floor, n_(k) c_k >= f (k = 1 always does: f <= 1/P)
    sorted_n = torch.sort(n, descending=True).values
    k = torch.arange(1, P + 1, dtype=torch.float64)
    c = (1.0 - (P - k) * f) / torch.cumsum(sorted_n, 0)  # the first sum is 1
    ok = (sorted_n * c >= f) & (sorted_n > 0)
    k_star = int(torch.nonzero(ok).max()) if bool(ok.any()) else 0
    probs = torch.clamp(c[k_star] * n, min=f)
    if abs(float(probs.sum()) - 1.0) > 1e-9:  # pragma: no cover - a broken invariant
        raise RuntimeError(f"adaptive_probs: the probabilities sum to {float(probs.sum())}")
    return probs


def importance_weights(probs: Any) -> Tensor:
    """``1 / (P π_p)``: the factor that makes the one-path loss unbiased under π (Eq. 5)."""
    p = torch.as_tensor(probs, dtype=torch.float64)
    if bool((p <= 0).any()):
        raise ValueError("probs must be > 0 everywhere to be reweighted by 1 / (P π_p)")
    return 1.0 / (p.numel() * p)


def one_sample_variance(grads: Tensor, probs: Any) -> float:
    """Exact ``Var(Ĝ) = Σ_p ||g_p||² / π_p - ||Σ_p g_p||²`` of ``Ĝ = g_p / π_p``, ``p ~ π``.

    ``grads`` is ``(P, d)`` (one row per path), ``probs`` ``(P,)`` with positive entries.
    """
    g = torch.as_tensor(grads, dtype=torch.float64)
    p = torch.as_tensor(probs, dtype=torch.float64)
    if g.dim() != 2 or p.shape != (g.shape[0],):
        raise ValueError(
            f"grads must be (P, d) and probs (P,), got {tuple(g.shape)}, {tuple(p.shape)}"
        )
    if bool((p <= 0).any()):
        raise ValueError("probs must be > 0 everywhere")
    second = (g.pow(2).sum(dim=1) / p).sum()
    return float(second - g.sum(dim=0).pow(2).sum())


class AdaptivePi:
    """Every ``every`` optimizer steps, set the sampler's π to :func:`adaptive_probs`.

    Call :meth:`update` after each ``optimizer.step(path=p)``. The schedule reads the
    optimizer's step counter (``global_step``) and its per-path state, so the helper holds
    no state of its own: a run resumed from the optimizer's and the sampler's state dicts
    (the sampler's holds π and its generator) draws exactly the same paths.

    Args:
        sampler: a :class:`scrapl_edu.sampling.PathSampler` (its ``set_probs`` is called).
        optimizer: a :class:`scrapl_edu.optim.SCRAPLOptimizer`.
        floor: the least probability of any path, in ``(0, 1/P]``.
        every: update period in steps (>= 1).
        warmup: no update before this many steps (the norms need visits).
        source: ``"v"`` or ``"g_hat"`` (see :meth:`SCRAPLOptimizer.path_update_norms`).
        fill: the norm of unvisited paths (see :func:`adaptive_probs`).
    """

    def __init__(
        self,
        sampler: Any,
        optimizer: Any,
        floor: float,
        every: int = 50,
        warmup: int = 0,
        source: str = "v",
        fill: Fill = "max",
    ) -> None:
        P = int(sampler.n_paths)
        if int(optimizer.n_paths) != P:
            raise ValueError(
                f"sampler has n_paths={P} but the optimizer has n_paths={optimizer.n_paths}"
            )
        self.floor = _check_floor(floor, P)
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be an integer >= 1 (steps), got every={every!r}")
        if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
            raise ValueError(f"warmup must be an integer >= 0 (steps), got warmup={warmup!r}")
        if fill not in ("max", "mean", "floor"):
            raise ValueError(f"fill must be 'max', 'mean' or 'floor', got {fill!r}")
        optimizer.path_update_norms(source)  # refuses a source the optimizer does not keep
        self.sampler, self.optimizer = sampler, optimizer
        self.every, self.warmup, self.source, self.fill = every, warmup, source, fill

    def due(self) -> bool:
        """Whether :meth:`update` changes π at the optimizer's current step."""
        k = int(self.optimizer.global_step)
        return k >= max(self.warmup, 1) and k % self.every == 0

    def probs(self) -> Tensor:
        """The adaptive π from the optimizer's current per-path state (changes nothing)."""
        norms = self.optimizer.path_update_norms(self.source)
        return adaptive_probs(norms, self.floor, fill=self.fill)

    def update(self) -> bool:
        """Set the sampler's π if due; returns whether it did."""
        if not self.due():
            return False
        self.sampler.set_probs(self.probs())
        return True
