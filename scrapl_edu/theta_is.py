"""θ-importance sampling (Section 3.4, Eq. 10-12): a path distribution π from loss curvature.

* :func:`theta_importance_sampling` builds π from the curvature of each path's loss with
  respect to each synthesizer parameter, Eq. (10)-(12).
* :func:`top_eigenvalue_hvp` is the power iteration used for λ_max in Eq. (12).

The per-path loss comes in as a plain callable ``(x_hat, x, path) -> scalar`` (e.g.
``SCRAPLLoss.path_loss``), so this module depends on :mod:`scrapl_edu.sampling` only.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from scrapl_edu.checks import check_path_index
from scrapl_edu.sampling import PathSampler, probs_from_importance

__all__ = [
    "PathLoss",
    "ThetaISResult",
    "deflated_power_step",
    "load_probs",
    "theta_importance_sampling",
    "top_eigenvalue_hvp",
]

#: the per-path loss L_p of Eq. (3): ``(x_hat, x, path) -> scalar``
PathLoss = Callable[[Tensor, Tensor, int], Tensor]


# ------------------------------------------------------------------- power iteration
def deflated_power_step(
    hvp_fn: Callable[[Tensor], Tensor],
    v: Tensor,
    found: Sequence[tuple[float, Tensor]] = (),
) -> tuple[float, Tensor]:
    """One power iteration with deflation (Eq. 12's λ; Appendix C's "power iteration with
    deflation").

    The deflated operator removes the eigenpairs ``(λ_i, u_i)`` already found (Hotelling
    deflation, for a symmetric operator such as a Hessian with unit-norm u_i)::

        H' v = H v − Σ_i λ_i (u_iᵀ v) u_i

    and one step returns the Rayleigh quotient λ = vᵀ H' v (``v`` of unit norm) and the next
    vector H' v / ‖H' v‖ (``v`` itself when H' v = 0). Repeated, it converges to the largest
    eigenvalue in magnitude among those not yet found. With ``found`` empty this is the step
    of :func:`top_eigenvalue_hvp`: the top eigenvalue needs no deflation.
    """
    w = hvp_fn(v).reshape(-1).detach()
    v_flat = v.reshape(-1)
    for lam_i, u_i in found:
        u = u_i.reshape(-1).to(w)
        w = w - float(lam_i) * torch.dot(u, v_flat.to(w)) * u
    lam = float(torch.dot(v_flat.to(w), w))
    norm = float(w.norm())
    return lam, (w / norm if norm > 0 else v_flat.clone())


def top_eigenvalue_hvp(
    hvp_fn: Callable[[Tensor], Tensor],
    dim_or_example: int | Tensor,
    n_iter: int = 20,
    seed: int = 0,
    tol: float = 0.0,
    trace: list[float] | None = None,
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
        trace: a list that receives the estimate after every iteration (its k-th entry is
            what ``n_iter=k`` would return; it stops where the iteration stops early), for
            measuring convergence.

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
        if trace is not None:  # what n_iter = len(trace) returns
            trace.append(0.0 if norm == 0.0 else new_lam)
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
        iterates: with ``keep_iterates=True``, the estimate after every power iteration,
            shape (n_examples, U, P, n_iter) (``iterates[..., -1]`` is ``eigs``); else None.
    """

    probs: Tensor
    C: Tensor
    eigs: Tensor
    iterates: Tensor | None = None

    def probs_at(self, n_examples: int, n_iter: int) -> Tensor:
        """π as a run with the first ``n_examples`` examples and ``n_iter`` power iterations
        would give it (Eq. 10-12), read from :attr:`iterates` without recomputing.

        The power iteration is deterministic and its iterates are nested, so this equals
        ``theta_importance_sampling(..., x_batch[:n_examples], n_iter)`` (same seeds, tol 0):
        one long run prices every cheaper setting.
        """
        if self.iterates is None:
            raise ValueError("no iterates kept: run theta_importance_sampling(keep_iterates=True)")
        n_ex, _, _, n_it = self.iterates.shape
        for name, value, top in (("n_examples", n_examples, n_ex), ("n_iter", n_iter, n_it)):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
                raise ValueError(f"{name} must be an integer in [1, {top}], got {value!r}")
        C = self.iterates[:n_examples, :, :, n_iter - 1].abs().mean(dim=0)  # Eq. (12)
        return probs_from_importance(C)  # Eq. (10)

    def to_sampler(self, seed: int | None = None, min_prob_frac: float = 0.0) -> PathSampler:
        """A :class:`PathSampler` drawing from this π."""
        return PathSampler(self.probs.numel(), self.probs, seed=seed, min_prob_frac=min_prob_frac)


def _check_args(
    path_loss: PathLoss, x_batch: Tensor, n_paths: int, paths: Sequence[int] | None
) -> tuple[Tensor, list[int]]:
    """Validate the inputs of :func:`theta_importance_sampling`; return (x_batch, path list)."""
    if isinstance(path_loss, nn.Module) and hasattr(path_loss, "path_loss"):
        raise ValueError(
            "path_loss must be the per-path loss callable, e.g. loss_fn.path_loss (the "
            "unweighted L_p of Eq. 3), not the loss module itself"
        )
    if not callable(path_loss):
        raise ValueError(
            f"path_loss must be a callable (x_hat, x, path) -> scalar, got {path_loss!r}"
        )
    if isinstance(n_paths, bool) or not isinstance(n_paths, int) or n_paths < 1:
        raise ValueError(f"n_paths must be an integer >= 1, got {n_paths!r}")
    if paths is None:
        path_list = list(range(n_paths))
    else:
        path_list = [check_path_index(p, n_paths, name="paths") for p in paths]
    if x_batch.dim() == 2:
        x_batch = x_batch.unsqueeze(1)
    if x_batch.dim() != 3 or x_batch.shape[0] < 1:
        raise ValueError(
            f"x_batch must have shape (B, 1, N) or (B, N) with B >= 1, got {tuple(x_batch.shape)}"
        )
    return x_batch, path_list


def _curvature_eigenvalues(
    theta: Tensor,
    loss: Tensor,
    params: list[Tensor],
    n_iter: int,
    power_seed: int,
    tol: float,
    traces: list[list[float]] | None = None,
) -> list[float]:
    """|w|-dimensional λ_max of M (Eq. 12) for every parameter u, at one (x, p).

    ``loss`` = L_p(D(θ)) with θ = E_x(w) still attached to the graph of the weights.
    ``traces``, if given, receives each u's list of power-iteration estimates.
    """
    (s,) = torch.autograd.grad(loss, theta, create_graph=True)  # Eq. (11)
    example = torch.cat([w.detach().reshape(-1) for w in params])
    eigs = []
    for u in range(theta.shape[-1]):
        # F(w) = s_u(w) ∇_w E_u(w): vector-Jacobian product with s_u as the
        # (differentiable) cotangent.
        cot = torch.zeros_like(theta)
        cot[:, u] = 1.0
        field = torch.autograd.grad(
            theta, params, grad_outputs=s * cot, create_graph=True, allow_unused=True
        )
        field = [
            f if f is not None else torch.zeros_like(w) for f, w in zip(field, params, strict=True)
        ]
        flat_field = torch.cat([f.reshape(-1) for f in field])
        if not flat_field.requires_grad:
            eigs.append(0.0)
            if traces is not None:
                traces.append([0.0])
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

        trace: list[float] | None = None if traces is None else []
        eigs.append(
            top_eigenvalue_hvp(hvp, example, n_iter=n_iter, seed=power_seed, tol=tol, trace=trace)
        )
        if traces is not None and trace is not None:
            traces.append(trace)
    return eigs


def _weights(encoder: nn.Module, params: Sequence[Tensor] | None) -> list[Tensor]:
    """The weights w of Eq. (11)-(12): ``params``, or else the encoder's trainable parameters."""
    params = [w for w in encoder.parameters() if w.requires_grad] if params is None else params
    params = list(params)
    if not params:
        raise ValueError("params is empty: the encoder has no trainable weights")
    return params


def _render(
    synth: Callable[[Tensor], Tensor], theta: Tensor, synth_seed: int | None, i: int
) -> Tensor:
    """x̂ = D(θ) for example i, a random synth's draws frozen by seeding torch's global RNG
    with ``synth_seed + i`` inside ``torch.random.fork_rng`` (the caller's RNG state is left
    untouched); ``synth_seed=None`` renders with the RNG as it is."""
    if synth_seed is None:
        return synth(theta)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(synth_seed) + i)
        return synth(theta)


def _eigenvalues_at(
    encoder: nn.Module,
    synth: Callable[[Tensor], Tensor],
    path_loss: PathLoss,
    x_batch: Tensor,
    i: int,
    p: int,
    params: list[Tensor],
    n_params: int,
    *,
    n_iter: int,
    synth_seed: int | None,
    power_seed: int,
    tol: float,
    keep_iterates: bool,
) -> tuple[Tensor, Tensor | None]:
    """λ_max of M (Eq. 12) for each of the ``n_params`` parameters u at one example
    x = ``x_batch[i]`` and path p.

    Builds the graph once: θ = E_x(w), x̂ = D(θ) (:func:`_render`) and L_p(x̂, x), whose
    θ-gradient is s of Eq. (11); :func:`_curvature_eigenvalues` runs the power iterations.

    Returns:
        The signed eigenvalues, shape (U,), float64, and with ``keep_iterates`` every
        power iteration's estimate, shape (U, n_iter) (an iteration that stopped early
        repeats its last estimate), else None.
    """
    x = x_batch[i : i + 1]
    with torch.enable_grad():
        theta = encoder(x)
        if theta.dim() != 2 or theta.shape[-1] != n_params:
            raise ValueError(f"encoder must return θ of shape (B, U), got {tuple(theta.shape)}")
        x_hat = _render(synth, theta, synth_seed, i)
        traces: list[list[float]] | None = [] if keep_iterates else None
        lam = _curvature_eigenvalues(
            theta, path_loss(x_hat, x, p), params, n_iter, power_seed, tol, traces
        )
    if traces is None:
        return torch.tensor(lam, dtype=torch.float64), None
    padded = [trace + [trace[-1]] * (n_iter - len(trace)) for trace in traces]
    iterates = torch.tensor(padded, dtype=torch.float64).reshape(len(traces), n_iter)
    return torch.tensor(lam, dtype=torch.float64), iterates


def theta_importance_sampling(
    encoder: nn.Module,
    synth: Callable[[Tensor], Tensor],
    path_loss: PathLoss,
    x_batch: Tensor,
    n_iter: int = 20,
    *,
    n_paths: int,
    paths: Sequence[int] | None = None,
    params: Sequence[Tensor] | None = None,
    synth_seed: int | None = 0,
    power_seed: int = 0,
    tol: float = 0.0,
    progress: bool = True,
    keep_iterates: bool = False,
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

    The parts: :func:`_eigenvalues_at` builds one (x, p)'s graph (s of Eq. 11, with
    :func:`_render` freezing the synth's draws) and :func:`_curvature_eigenvalues` takes
    λ_max of each u's M (Eq. 12); this function averages |λ| into C (Eq. 12) and normalises
    C into π (Eq. 10).

    Put the encoder in ``eval()`` mode first if it has dropout or batch normalisation.

    Differences from ``scrapl-loss`` (we follow Eq. 12): it computes one eigenvalue per
    *batch* of the batch-averaged matrix (mean loss over the batch), sums the products over
    batches and takes |λ| of that; here λ is computed per example and averaged (E_x outside
    λ_max). Its power iteration starts from an unseeded ``torch.rand`` vector.

    Args:
        encoder: module mapping x (B, 1, N) to θ (B, U) (typically in [0, 1]).
        synth: differentiable decoder θ (B, U) -> x̂ (B, 1, N).
        path_loss: ``f(x_hat, x, path) -> scalar``, the per-path loss L_p of Eq. (3), e.g.
            :meth:`scrapl_edu.losses.SCRAPLLoss.path_loss`.
        x_batch: the representative examples X, shape (N_IS, 1, N) or (N_IS, N).
        n_iter: power-iteration steps per (x, u, p) (paper: 20).
        n_paths: P, the number of paths ``path_loss`` accepts (0 .. P-1).
        paths: subset of paths to evaluate (others get C = 0); default all.
        params: the weights w (default: all encoder parameters requiring grad).
        synth_seed: base seed that freezes a random synth (None: do not reseed).
        power_seed: seed of the power-iteration start vectors.
        tol: early-stopping tolerance of the power iteration.
        progress: show a tqdm progress bar.
        keep_iterates: keep every power iteration's estimate (``iterates``), so that
            :meth:`ThetaISResult.probs_at` gives π for any fewer examples or iterations.

    Returns:
        :class:`ThetaISResult` with ``probs`` (P,), ``C`` (U, P), per-example ``eigs`` and,
        with ``keep_iterates``, ``iterates``.
    """
    x_batch, path_list = _check_args(path_loss, x_batch, n_paths, paths)
    params = _weights(encoder, params)
    n_ex = x_batch.shape[0]
    with torch.no_grad():
        U = encoder(x_batch[:1]).shape[-1]
    eigs = torch.zeros(n_ex, U, n_paths, dtype=torch.float64)
    iterates = torch.zeros(n_ex, U, n_paths, n_iter, dtype=torch.float64) if keep_iterates else None
    pairs = [(i, p) for i in range(n_ex) for p in path_list]
    for i, p in tqdm(pairs, desc="θ-IS", disable=not progress):
        lam, estimates = _eigenvalues_at(
            encoder,
            synth,
            path_loss,
            x_batch,
            i,
            p,
            params,
            U,
            n_iter=n_iter,
            synth_seed=synth_seed,
            power_seed=power_seed,
            tol=tol,
            keep_iterates=keep_iterates,
        )
        eigs[i, :, p] = lam
        if iterates is not None:
            iterates[i, :, p] = estimates
    C = eigs.abs().mean(dim=0)  # Eq. (12): E_x |λ_max(M)|
    probs = probs_from_importance(C)  # Eq. (10)
    return ThetaISResult(probs=probs, C=C, eigs=eigs, iterates=iterates)


def load_probs(path: str | os.PathLike[str], n_paths: int) -> Tensor:
    """π read from a file, checked against the run's P (the authors compute π once and reuse it).

    ``path`` is an ``.npz`` file with an array ``probs`` (a run's ``theta_is.npz``, or a
    reference extracted from the theta-IS quality table); it is read with
    ``allow_pickle=False``, so no code in the file can run. The probabilities must be P
    finite numbers >= 0 summing to 1 (within 1e-6).

    Raises:
        ValueError: naming the file and what is wrong with it.
    """
    p = Path(path)
    where = f"pi file {str(p)!r}"
    if not p.is_file():
        raise ValueError(f"{where} does not exist or is not a file; give an .npz with 'probs'")
    try:
        with np.load(p, allow_pickle=False) as data:
            files = list(getattr(data, "files", []))
            probs = np.asarray(data["probs"], dtype=np.float64) if "probs" in files else None
    except Exception as err:  # truncated, foreign or pickled: say which file
        raise ValueError(f"{where} is not a readable .npz file of arrays ({err})") from None
    if probs is None:
        raise ValueError(
            f"{where} has no array 'probs' (it has {', '.join(files) or 'none'}); "
            "give a run's theta_is.npz or an .npz with 'probs'"
        )
    if probs.ndim != 1 or probs.shape[0] != n_paths:
        raise ValueError(
            f"{where} holds {probs.shape[0] if probs.ndim == 1 else probs.shape} probabilities "
            f"but this run has P={n_paths} paths; compute π for this preset's JTFS"
        )
    if not np.all(np.isfinite(probs)) or np.any(probs < 0):
        raise ValueError(f"{where}: probabilities must be finite and >= 0")
    if abs(float(probs.sum()) - 1.0) > 1e-6:
        raise ValueError(f"{where}: probabilities sum to {probs.sum():.6g}, not 1")
    return torch.from_numpy(probs)
