"""The applied-step diagnostic: what P-Adam and P-SAGA change in a SCRAPL run (issue 10).

SCRAPL draws one path p ~ π per step (Algorithm 1) and the optimizer turns that path's
gradient into a step: P-Adam normalises it with path p's own moments (Eq. 6-8), P-SAGA adds
the table's correction (Eq. 9). Neither changes the raw one-path gradient G_p, so its
variance over the draw cannot show their effect; the step they *apply* does. At a
validation, on a fixed probe batch, this module measures:

* G_p = ∇_w (s L_p) for every path p (Eq. 3, ``s`` the run's ``loss_scale``), exactly, by
  back-propagating each path; the full-JTFS gradient is g = (1/P) Σ_p G_p (Eq. 13);
* d_p, the direction the optimizer would apply if path p were drawn now
  (:func:`scrapl_edu.diagnostics.applied_directions`: a dry step of a light copy; the
  run's optimizer, weights and random generators are left as they were, so a run with the
  diagnostic on trains exactly as one with it off);
* ``var`` = Σ_p π_p ‖d_p − d̄‖² with d̄ = Σ_p π_p d_p: the variance of the applied step
  over the path draw (what P-SAGA lowers), ``rel_var`` = var / ‖d̄‖²;
* ``cos`` = Σ_p π_p cos(d_p, g): how well one step points along the full gradient on
  average, and ``mean_cos`` = cos(d̄, g), the expected step's alignment;
* ``raw_rel_var`` = Σ_p π_p ‖G_p − Ḡ‖² / ‖Ḡ‖² (Ḡ = Σ π_p G_p): the raw one-path
  gradient's relative variance, for comparison (θ-IS changes it through π; P-Adam and
  P-SAGA cannot).

The probe runs the encoder in eval mode (no dropout: the same weights give the same
numbers) and renders its predictions with fixed random shifts (a generator seeded with
``seed + 4``), so two validations differ only by the weights and the optimizer's state.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from scrapl_edu.diagnostics import applied_directions, cosine_similarity, direction_variance
from scrapl_edu.losses import check_path_loss, rho_transform

__all__ = [
    "AppliedProbe",
    "applied_step_stats",
    "make_probe",
    "path_gradient_table",
    "variance_ratio",
]

#: offset of the probe's shift generator from the run's seed (+1..+3 are taken by the run)
PROBE_SEED_OFFSET = 4


@dataclass
class AppliedProbe:
    """The fixed probe batch of a run: signals, their coefficients, the shifts' seed.

    Attributes:
        x: the probe signals ``(B, 1, N)`` (the first ``B`` training signals).
        target: ``ρ(φ(x))`` for every path, ``(B, P, rows, frames)``, computed once.
        shift_seed: seed of the generator that draws the probe's random shifts.
        rho: the pointwise map of the coefficients (None or ``"log1p"``).
        path_loss: the run's per-path loss, ``"squared"`` (Eq. 3) or ``"norm"``
            (:func:`scrapl_edu.losses.path_distance`).
    """

    x: Tensor
    target: Tensor
    shift_seed: int
    rho: str | None = None
    path_loss: str = "squared"


def make_probe(
    jtfs: nn.Module,
    x: Tensor,
    shift_seed: int,
    rho: str | None = None,
    path_loss: str = "squared",
) -> AppliedProbe:
    """The probe of a run: ``x`` and its coefficients on every path (no gradient)."""
    if x.dim() != 3 or x.shape[0] < 1:
        raise ValueError(f"x must be a batch (B, 1, N) with B >= 1, got shape {tuple(x.shape)}")
    check_path_loss(path_loss)
    with torch.no_grad():
        target = rho_transform(jtfs(x), rho)
    return AppliedProbe(
        x=x, target=target, shift_seed=int(shift_seed), rho=rho, path_loss=path_loss
    )


def path_gradient_table(
    encoder: nn.Module,
    synth: nn.Module,
    jtfs: Any,
    probe: AppliedProbe,
    loss_scale: float = 1.0,
) -> Tensor:
    """G_p = ∇_w (s L_p(w)) for every path p on the probe, shape (P, |w|), float64.

    L_p = P · mean_b ‖ρφ_p(x̂_b) − ρφ_p(x_b)‖² (Eq. 3; mean_b ‖·‖₂ for the probe's
    ``path_loss="norm"``) with x̂ = synth(encoder(x)) rendered
    with the probe's shifts; ``w`` are the encoder's trainable weights in ``parameters()``
    order (the optimizer's). The chain rule is split where the batch is small: dL_p/dθ̂
    (``B x U`` numbers) by one backward pass of path p through the JTFS and the synth, then
    the encoder's Jacobian dθ̂/dw (``B U`` backward passes, once): G_p = s (dθ̂/dw)ᵀ dL_p/dθ̂.
    """
    P = int(jtfs.n_paths)
    params = [w for w in encoder.parameters() if w.requires_grad]
    was = encoder.training
    encoder.eval()
    try:
        theta = encoder(probe.x)
        rows = []
        flat = theta.reshape(-1)
        for i in range(flat.numel()):
            grads = torch.autograd.grad(flat[i], params, retain_graph=True, allow_unused=True)
            rows.append(
                torch.cat(
                    [
                        (g if g is not None else torch.zeros_like(w)).reshape(-1).double()
                        for g, w in zip(grads, params, strict=True)
                    ]
                )
            )
        jac = torch.stack(rows)  # (B U, |w|)
        th = theta.detach().requires_grad_(True)
        gen = torch.Generator().manual_seed(probe.shift_seed)
        x_hat = synth(th, generator=gen)
        dtheta = []
        for p in range(P):
            pred = rho_transform(jtfs.path(x_hat, p), probe.rho)
            diff = pred - probe.target[:, p]
            sq = diff.pow(2).reshape(diff.shape[0], -1).sum(dim=1)
            loss = sq.sqrt().mean() if probe.path_loss == "norm" else P * sq.mean()
            (d,) = torch.autograd.grad(loss, th, retain_graph=p + 1 < P)
            dtheta.append(d.reshape(-1).double())
    finally:
        encoder.train(was)
    return float(loss_scale) * torch.stack(dtheta).cpu() @ jac.to(torch.float64).cpu()


def applied_step_stats(
    encoder: nn.Module,
    optimizer: Any,
    synth: nn.Module,
    jtfs: Any,
    probe: AppliedProbe,
    probs: Tensor | None,
    *,
    loss_scale: float = 1.0,
    step: int = 0,
) -> dict[str, float]:
    """The applied-step diagnostic at the current weights and optimizer state (module doc).

    Args:
        encoder: the run's encoder (its trainable weights are the optimizer's).
        optimizer: the run's :class:`scrapl_edu.optim.SCRAPLOptimizer` (not changed).
        synth, jtfs, probe: the decoder, the transform and the probe batch.
        probs: π, the path distribution steps are drawn from (None: uniform).
        loss_scale: the factor on the loss before backward (the run's ``loss_scale``).
        step: the run's step count, recorded with the numbers.

    Returns:
        ``step``, ``var``, ``rel_var``, ``cos``, ``mean_cos``, ``raw_rel_var`` and
        ``seconds`` (the diagnostic's own wall time).
    """
    t0 = time.perf_counter()
    G = path_gradient_table(encoder, synth, jtfs, probe, loss_scale)
    D = applied_directions(optimizer, G)
    P = G.shape[0]
    pi = (
        torch.full((P,), 1.0 / P, dtype=torch.float64)
        if probs is None
        else torch.as_tensor(probs, dtype=torch.float64).reshape(-1).cpu()
    )
    g = G.mean(dim=0)
    d_bar = (pi[:, None] * D).sum(dim=0)
    g_bar = (pi[:, None] * G).sum(dim=0)
    var = direction_variance(D, pi)
    cos = sum(float(pi[p]) * cosine_similarity(D[p], g) for p in range(P))
    raw = direction_variance(G, pi)
    return {
        "step": int(step),
        "var": var,
        "rel_var": var / max(float(d_bar.pow(2).sum()), 1e-300),
        "cos": float(cos),
        "mean_cos": cosine_similarity(d_bar, g),
        "raw_rel_var": raw / max(float(g_bar.pow(2).sum()), 1e-300),
        "seconds": time.perf_counter() - t0,
    }


def variance_ratio(
    base: list[dict[str, float]], treated: list[dict[str, float]], after_step: int
) -> dict[str, Any]:
    """How much a switch lowers the applied step's variance, after a warm-up.

    Args:
        base, treated: the ``applied_diag`` of two runs of the same seed (e.g. P-SAGA off,
            on), measured at the same steps.
        after_step: the warm-up: only measurements at ``step >= after_step`` count.

    Returns:
        ``steps`` (the measurements counted), ``base_var`` and ``treated_var`` (their
        means), ``ratio`` = base_var / treated_var (> 1: the switch lowers the variance),
        ``per_step`` (the ratio at each step) and ``base_cos`` / ``treated_cos`` (mean
        cosine of the applied step with the full-JTFS gradient over the same steps).
    """
    b = {int(a["step"]): a for a in base if a["step"] >= after_step}
    t = {int(a["step"]): a for a in treated if a["step"] >= after_step}
    steps = sorted(set(b) & set(t))
    if not steps:
        raise ValueError(
            f"no common measurement at step >= after_step={after_step}: the runs measured "
            f"{sorted(int(a['step']) for a in base)} and {sorted(int(a['step']) for a in treated)}"
        )
    bv = float(np.mean([b[s]["var"] for s in steps]))
    tv = float(np.mean([t[s]["var"] for s in steps]))
    return {
        "steps": steps,
        "base_var": bv,
        "treated_var": tv,
        "ratio": bv / tv,
        "per_step": [b[s]["var"] / t[s]["var"] for s in steps],
        "base_cos": float(np.mean([b[s]["cos"] for s in steps])),
        "treated_cos": float(np.mean([t[s]["cos"] for s in steps])),
    }
