"""Path sampling: the categorical distribution π of Algorithm 1 and θ-importance sampling.

* :class:`PathSampler` draws one path index per training step from π (uniform by default;
  Prop. 3.1 / Eq. (5) shows that the uniform draw gives an unbiased gradient).
* :func:`theta_importance_sampling` builds π from the curvature of each path's loss with
  respect to each synthesizer parameter, Eq. (10)-(12).
* :func:`top_eigenvalue_hvp` is the power iteration used for λ_max in Eq. (12).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

__all__ = [
    "PathSampler",
    "ThetaISResult",
    "apply_min_prob",
    "probs_from_importance",
    "theta_importance_sampling",
    "top_eigenvalue_hvp",
    "validate_probs",
]


# --------------------------------------------------------------------------- probabilities
def validate_probs(probs: Any, n_paths: int, name: str = "probs") -> Tensor:
    """Check a probability vector over ``n_paths`` paths and return it as float64.

    Raises ValueError (naming ``name``) if it has the wrong shape, contains NaN/inf or
    negative entries, is all zero, or does not sum to 1 within 1e-6. The returned tensor is
    renormalised exactly (divided by its float64 sum).
    """
    try:
        arr = torch.as_tensor(np.asarray(probs, dtype=np.float64), dtype=torch.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a sequence of {n_paths} numbers, got {probs!r}") from err
    arr = arr.detach().cpu().clone()
    if arr.dim() != 1 or arr.numel() != n_paths:
        raise ValueError(
            f"{name} must be a 1-D vector of length n_paths={n_paths}, got shape {tuple(arr.shape)}"
        )
    if not torch.isfinite(arr).all():
        raise ValueError(f"{name} must be finite (no NaN or inf), got {arr.tolist()}")
    if (arr < 0).any():
        raise ValueError(f"{name} must be non-negative, got min {arr.min().item():.3g}")
    total = arr.sum().item()
    if total <= 0.0:
        raise ValueError(f"{name} must not be all zero; it must sum to 1")
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"{name} must sum to 1 (within 1e-6), got sum {total:.9g}")
    return arr / arr.sum()


def apply_min_prob(probs: Tensor, min_prob_frac: float) -> Tensor:
    """Give every path at least ``min_prob_frac / P`` probability.

    π'_p = (1 - f) π_p + f / P, with f = ``min_prob_frac`` in [0, 1]: a mixture with the
    uniform distribution, which keeps the sum at 1 and guarantees π'_p >= f / P exactly
    (clipping at f / P and renormalising would not). This is the floor ``scrapl-loss`` uses.
    """
    if isinstance(min_prob_frac, bool) or not 0.0 <= float(min_prob_frac) <= 1.0:
        raise ValueError(f"min_prob_frac must be in [0, 1], got {min_prob_frac!r}")
    f = float(min_prob_frac)
    n = probs.numel()
    out = (1.0 - f) * probs.to(torch.float64) + f / n
    return out / out.sum()


def probs_from_importance(C: Tensor) -> Tensor:
    """Eq. (10): π_p = (1/U) Σ_u C[u, p] / Σ_p' C[u, p'].

    ``C`` has shape (U, P) and non-negative entries. A row that is all zero (parameter u has
    no measurable effect on any path) contributes the uniform distribution.
    """
    C = torch.as_tensor(C, dtype=torch.float64)
    if C.dim() != 2:
        raise ValueError(f"C must have shape (U, P), got {tuple(C.shape)}")
    if not torch.isfinite(C).all() or (C < 0).any():
        raise ValueError("C must be finite and non-negative")
    row = C.sum(dim=1, keepdim=True)
    uniform = torch.full_like(C, 1.0 / C.shape[1])
    rel = torch.where(row > 0, C / row.clamp_min(torch.finfo(torch.float64).tiny), uniform)
    probs = rel.mean(dim=0)
    return probs / probs.sum()


# ---------------------------------------------------------------------------- sampler
class PathSampler:
    """Draw path indices from a categorical distribution π (Algorithm 1, line "p ← ...").

    Args:
        n_paths: number of paths P (>= 1).
        probs: π as a length-P vector summing to 1 (None: uniform).
        seed: seed of the sampler's own ``torch.Generator`` (None: a random seed); the
            global torch RNG is never touched.
        min_prob_frac: floor f in [0, 1]: every path gets at least f / P (see
            :func:`apply_min_prob`).

    Attributes:
        probs: the float64 distribution actually sampled from (after the floor).
        counts: int64 tensor of visits per path.
    """

    def __init__(
        self,
        n_paths: int,
        probs: Any = None,
        seed: int | None = None,
        min_prob_frac: float = 0.0,
    ) -> None:
        if isinstance(n_paths, bool) or not isinstance(n_paths, (int, np.integer)) or n_paths < 1:
            raise ValueError(f"n_paths must be an integer >= 1, got {n_paths!r}")
        self.n_paths = int(n_paths)
        if isinstance(min_prob_frac, bool) or not 0.0 <= float(min_prob_frac) <= 1.0:
            raise ValueError(f"min_prob_frac must be in [0, 1], got {min_prob_frac!r}")
        self.min_prob_frac = float(min_prob_frac)
        self.generator = torch.Generator(device="cpu")
        if seed is None:
            self.seed = int(self.generator.seed())
        else:
            if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
                raise ValueError(f"seed must be an integer or None, got {seed!r}")
            self.seed = int(seed)
            self.generator.manual_seed(self.seed)
        self.counts = torch.zeros(self.n_paths, dtype=torch.int64)
        self.set_probs(probs)

    def set_probs(self, probs: Any = None) -> None:
        """Replace π (None: uniform); the floor ``min_prob_frac`` is applied again."""
        if probs is None:
            base = torch.full((self.n_paths,), 1.0 / self.n_paths, dtype=torch.float64)
        else:
            base = validate_probs(probs, self.n_paths, name="probs")
        self.base_probs = base
        self.probs = apply_min_prob(base, self.min_prob_frac)

    def sample(self) -> int:
        """Draw one path index p ~ π and count the visit."""
        p = int(torch.multinomial(self.probs, 1, generator=self.generator).item())
        self.counts[p] += 1
        return p

    def sample_many(self, n: int) -> list[int]:
        """Draw ``n`` paths one after another (same sequence as ``n`` calls to sample())."""
        return [self.sample() for _ in range(int(n))]

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume the exact same sequence of draws."""
        return {
            "n_paths": self.n_paths,
            "seed": self.seed,
            "min_prob_frac": self.min_prob_frac,
            "base_probs": self.base_probs.clone(),
            "probs": self.probs.clone(),
            "counts": self.counts.clone(),
            "generator_state": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a state saved by :meth:`state_dict`."""
        if int(state["n_paths"]) != self.n_paths:
            raise ValueError(
                f"state was saved with n_paths={state['n_paths']} but this sampler has "
                f"n_paths={self.n_paths}"
            )
        self.seed = int(state["seed"])
        self.min_prob_frac = float(state["min_prob_frac"])
        self.base_probs = torch.as_tensor(state["base_probs"], dtype=torch.float64).clone()
        self.probs = torch.as_tensor(state["probs"], dtype=torch.float64).clone()
        self.counts = torch.as_tensor(state["counts"], dtype=torch.int64).clone()
        self.generator.set_state(state["generator_state"])

    def __repr__(self) -> str:
        return (
            f"PathSampler(n_paths={self.n_paths}, seed={self.seed}, "
            f"min_prob_frac={self.min_prob_frac}, min_prob={self.probs.min().item():.3g}, "
            f"max_prob={self.probs.max().item():.3g})"
        )


# ------------------------------------------------------------------- power iteration
def top_eigenvalue_hvp(
    hvp_fn: Callable[[Tensor], Tensor],
    dim_or_example: int | Tensor,
    n_iter: int = 20,
    seed: int = 0,
    tol: float = 0.0,
) -> float:
    """Largest-magnitude eigenvalue of a linear operator known only through ``v ↦ M v``.

    Power iteration: v ← M v / ‖M v‖, with the Rayleigh quotient vᵀ M v (v of unit norm) as
    the eigenvalue estimate; it converges to the dominant eigenvalue (with its sign) when
    that eigenvalue is real and strictly largest in magnitude. Used for λ_max in Eq. (12),
    where M v is a Hessian-vector product (one double-backward pass). The paper's "power
    iteration with deflation" needs no deflation for the first eigenvalue.

    Args:
        hvp_fn: function computing M v for a flat vector v.
        dim_or_example: the dimension of v, or an example tensor (dtype, device, numel).
        n_iter: maximum number of iterations (each costs one ``hvp_fn`` call).
        seed: seed of the random start vector (own generator; global RNG untouched).
        tol: stop early when the relative change of the estimate is below ``tol``.

    Returns:
        The eigenvalue estimate as a Python float (0.0 if M v = 0).
    """
    if isinstance(dim_or_example, Tensor):
        dim = dim_or_example.numel()
        dtype, device = dim_or_example.dtype, dim_or_example.device
    else:
        dim, dtype, device = int(dim_or_example), torch.float32, torch.device("cpu")
    if dim < 1:
        raise ValueError(f"dim_or_example must describe a vector of length >= 1, got {dim}")
    if n_iter < 1:
        raise ValueError(f"n_iter must be >= 1, got {n_iter}")
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    v = torch.randn(dim, generator=gen, dtype=torch.float64).to(dtype=dtype, device=device)
    v = v / v.norm()
    lam = 0.0
    for _ in range(n_iter):
        mv = hvp_fn(v).reshape(-1).detach()
        new_lam = float(torch.dot(v, mv))
        norm = float(mv.norm())
        if norm == 0.0 or not math.isfinite(norm):
            return 0.0 if norm == 0.0 else new_lam
        v = mv / norm
        if tol > 0 and lam != 0.0 and abs(new_lam - lam) <= tol * abs(new_lam):
            return new_lam
        lam = new_lam
    return lam


# -------------------------------------------------------------------------- θ-IS
@dataclass
class ThetaISResult:
    """Output of :func:`theta_importance_sampling`.

    Attributes:
        probs: π, shape (P,), float64, Eq. (10).
        C: importance table C[u, p], shape (U, P), Eq. (12) (mean over the examples).
        eigs: per-example eigenvalue estimates (signed), shape (n_examples, U, P).
    """

    probs: Tensor
    C: Tensor
    eigs: Tensor

    def to_sampler(self, seed: int | None = None, min_prob_frac: float = 0.0) -> PathSampler:
        """A :class:`PathSampler` drawing from this π."""
        return PathSampler(self.probs.numel(), self.probs, seed=seed, min_prob_frac=min_prob_frac)


def _resolve_path_loss(obj: Any) -> tuple[Callable[[Tensor, Tensor, int], Tensor], int | None]:
    """Accept a per-path loss callable, a SCRAPL-style loss, or a JTFS object."""
    n_paths = getattr(obj, "n_paths", None)
    if hasattr(obj, "path_loss") and callable(obj.path_loss):
        return obj.path_loss, n_paths
    if hasattr(obj, "path") and callable(obj.path) and hasattr(obj, "paths"):
        from scrapl_edu.losses import path_distance

        def loss(x_hat: Tensor, x: Tensor, p: int) -> Tensor:
            return path_distance(obj, x_hat, x, p)

        return loss, n_paths
    if callable(obj):
        return obj, n_paths
    raise ValueError(
        "per_path_loss must be a callable (x_hat, x, p) -> scalar, an object with a "
        "path_loss method, or a JTFS object with .path() and .paths"
    )


def theta_importance_sampling(
    encoder: nn.Module,
    synth: Callable[[Tensor], Tensor],
    per_path_loss: Any,
    x_batch: Tensor,
    n_iter: int = 20,
    *,
    n_paths: int | None = None,
    paths: Sequence[int] | None = None,
    params: Sequence[Tensor] | None = None,
    synth_seed: int | None = 0,
    power_seed: int = 0,
    tol: float = 0.0,
    progress: bool = True,
) -> ThetaISResult:
    r"""θ-importance sampling, Eq. (10)-(12): a path distribution π from loss curvature.

    For every example x of ``x_batch``, path p and synthesizer parameter u:

    * s_{x,u,p}(w) = ∂(L_p ∘ D)/∂θ_u evaluated at θ = E_x(w)                     (Eq. 11)
      — *not* detached: s depends on w through θ = E_x(w);
    * M = ∇_w ( s_{x,u,p}(w) ∇_w E_{x,u}(w) ), a |w| × |w| matrix                 (Eq. 12)
      = s ∇²_w E_{x,u} + ∇_w E_{x,u} (∇_w s)ᵀ;
    * C[u, p] = mean over x of |λ_max(M)|, by power iteration (:func:`top_eigenvalue_hvp`);
    * π_p = (1/U) Σ_u C[u, p] / Σ_p' C[u, p']                                     (Eq. 10).

    M is not symmetric in general (the paper calls it positive definite; the cross term
    ∇E_u (∇s)ᵀ is not symmetric when U > 1). The product computed here by double backward,
    v ↦ ∇_w⟨F(w), v⟩ with F = s ∇E_u, is Mᵀ v; Mᵀ and M have the same eigenvalues.

    The synth may be random (e.g. grain positions): its draws are frozen by seeding torch's
    global RNG with ``synth_seed + i`` (inside ``torch.random.fork_rng``, so the caller's RNG
    state is untouched) before synthesising example i, and the graph is built once per
    (x, p), so every Hessian-vector product differentiates the same deterministic function.

    Put the encoder in ``eval()`` mode first if it has dropout or batch normalisation.

    Differences from ``scrapl-loss`` (we follow Eq. 12): it computes one eigenvalue per
    *batch* of the batch-averaged matrix (mean loss over the batch), sums the products over
    batches and takes |λ| of that; here λ is computed per example and averaged (E_x outside
    λ_max). Its power iteration starts from an unseeded ``torch.rand`` vector.

    Args:
        encoder: module mapping x (B, 1, N) to θ (B, U) (typically in [0, 1]).
        synth: differentiable decoder θ (B, U) -> x̂ (B, 1, N).
        per_path_loss: ``f(x_hat, x, p) -> scalar`` (L_p of Eq. 3), or an object with a
            ``path_loss(x_hat, x, p)`` method (e.g. :class:`scrapl_edu.losses.SCRAPLLoss`),
            or a JTFS object (then L_p = P · mean ‖φ_p(x) − φ_p(x̂)‖²).
        x_batch: the representative examples X, shape (N_IS, 1, N) or (N_IS, N).
        n_iter: power-iteration steps per (x, u, p) (paper: 20).
        n_paths: P (taken from ``per_path_loss.n_paths`` when present).
        paths: subset of paths to evaluate (others get C = 0); default all.
        params: the weights w (default: all encoder parameters requiring grad).
        synth_seed: base seed that freezes a random synth (None: do not reseed).
        power_seed: seed of the power-iteration start vectors.
        tol: early-stopping tolerance of the power iteration.
        progress: show a tqdm progress bar.

    Returns:
        :class:`ThetaISResult` with ``probs`` (P,), ``C`` (U, P) and per-example ``eigs``.
    """
    from tqdm.auto import tqdm

    loss_fn, found_p = _resolve_path_loss(per_path_loss)
    P = n_paths if n_paths is not None else found_p
    if P is None:
        raise ValueError("n_paths is required when per_path_loss has no n_paths attribute")
    P = int(P)
    path_list = list(range(P)) if paths is None else [int(p) for p in paths]
    for p in path_list:
        if not 0 <= p < P:
            raise ValueError(f"paths must hold integers in [0, {P - 1}], got {p}")
    if params is None:
        params = [w for w in encoder.parameters() if w.requires_grad]
    params = list(params)
    if not params:
        raise ValueError("params is empty: the encoder has no trainable weights")
    if x_batch.dim() == 2:
        x_batch = x_batch.unsqueeze(1)
    if x_batch.dim() != 3:
        raise ValueError(f"x_batch must have shape (B, 1, N) or (B, N), got {tuple(x_batch.shape)}")
    n_ex = x_batch.shape[0]
    with torch.no_grad():
        U = encoder(x_batch[:1]).shape[-1]
    eigs = torch.zeros(n_ex, U, P, dtype=torch.float64)
    example = torch.cat([w.detach().reshape(-1) for w in params])

    bar = tqdm(total=n_ex * len(path_list), desc="θ-IS", disable=not progress)
    for i in range(n_ex):
        x = x_batch[i : i + 1]
        for p in path_list:
            with torch.enable_grad():
                theta = encoder(x)
                if theta.dim() != 2 or theta.shape[-1] != U:
                    raise ValueError(
                        f"encoder must return θ of shape (B, U), got {tuple(theta.shape)}"
                    )
                if synth_seed is None:
                    x_hat = synth(theta)
                else:
                    with torch.random.fork_rng(devices=[]):
                        torch.manual_seed(int(synth_seed) + i)
                        x_hat = synth(theta)
                loss = loss_fn(x_hat, x, p)
                (s,) = torch.autograd.grad(loss, theta, create_graph=True)  # Eq. (11)
                for u in range(U):
                    # F(w) = s_u(w) ∇_w E_u(w): vector-Jacobian product with s_u as the
                    # (differentiable) cotangent.
                    cot = torch.zeros_like(theta)
                    cot[:, u] = 1.0
                    field = torch.autograd.grad(
                        theta, params, grad_outputs=s * cot, create_graph=True, allow_unused=True
                    )
                    field = [
                        f if f is not None else torch.zeros_like(w)
                        for f, w in zip(field, params, strict=True)
                    ]
                    flat_field = torch.cat([f.reshape(-1) for f in field])
                    if not flat_field.requires_grad:
                        eigs[i, u, p] = 0.0
                        continue

                    def hvp(v: Tensor, flat_field: Tensor = flat_field) -> Tensor:
                        out = torch.autograd.grad(
                            flat_field, params, grad_outputs=v, retain_graph=True, allow_unused=True
                        )
                        return torch.cat(
                            [
                                (o if o is not None else torch.zeros_like(w)).reshape(-1)
                                for o, w in zip(out, params, strict=True)
                            ]
                        )

                    eigs[i, u, p] = top_eigenvalue_hvp(
                        hvp, example, n_iter=n_iter, seed=power_seed, tol=tol
                    )
            bar.update(1)
    bar.close()
    C = eigs.abs().mean(dim=0)  # Eq. (12): E_x |λ_max(M)|
    probs = probs_from_importance(C)  # Eq. (10)
    return ThetaISResult(probs=probs, C=C, eigs=eigs)
