"""Path sampling: the categorical distribution π of Algorithm 1.

* :class:`PathSampler` draws one path index per training step from π (uniform by default;
  Prop. 3.1 / Eq. (5) shows that the uniform draw gives an unbiased gradient).
* :func:`probs_from_importance` turns an importance table into π (Eq. 10);
  :mod:`scrapl_edu.theta_is` fills that table from loss curvature (Eq. 11-12).

This module knows nothing of the JTFS or the losses (it imports no scrapl_edu module), so
the losses can hold a sampler and θ-IS can build one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

__all__ = ["PathSampler", "apply_min_prob", "probs_from_importance", "validate_probs"]


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
        """Restore a state saved by :meth:`state_dict`, after checking it.

        ``probs`` and ``base_probs`` must be distributions over ``n_paths`` paths (finite,
        >= 0, summing to 1 within 1e-6: :func:`validate_probs`), ``min_prob_frac`` in
        [0, 1], ``counts`` ``n_paths`` non-negative integers; otherwise ValueError naming the
        entry, and the sampler is left as it was. The saved values are kept bit for bit
        (not renormalised), so a resumed run draws the same paths.
        """
        if int(state["n_paths"]) != self.n_paths:
            raise ValueError(
                f"state was saved with n_paths={state['n_paths']} but this sampler has "
                f"n_paths={self.n_paths}"
            )
        probs = {}
        for key in ("base_probs", "probs"):
            validate_probs(state[key], self.n_paths, name=f"the sampler state's {key}")
            probs[key] = torch.as_tensor(state[key], dtype=torch.float64).detach().cpu().clone()
        f = state["min_prob_frac"]
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0.0 <= f <= 1.0:
            raise ValueError(f"the sampler state's min_prob_frac must be in [0, 1], got {f!r}")
        counts = torch.as_tensor(state["counts"])
        if (
            counts.shape != (self.n_paths,)
            or counts.is_floating_point()
            or counts.dtype == torch.bool
            or bool((counts < 0).any())
        ):
            raise ValueError(
                f"the sampler state's counts must be {self.n_paths} non-negative integers, "
                f"got {state['counts']!r}"
            )
        seed = state["seed"]
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ValueError(f"the sampler state's seed must be an integer, got {seed!r}")
        try:  # on a spare generator first, so that a bad state changes nothing
            torch.Generator(device="cpu").set_state(state["generator_state"])
        except (TypeError, RuntimeError) as err:
            raise ValueError(f"the sampler state's generator_state is not valid: {err}") from err
        self.seed = int(seed)
        self.min_prob_frac = float(f)
        self.base_probs, self.probs = probs["base_probs"], probs["probs"]
        self.counts = counts.to(torch.int64).clone()
        self.generator.set_state(state["generator_state"])

    def __repr__(self) -> str:
        return (
            f"PathSampler(n_paths={self.n_paths}, seed={self.seed}, "
            f"min_prob_frac={self.min_prob_frac}, min_prob={self.probs.min().item():.3g}, "
            f"max_prob={self.probs.max().item():.3g})"
        )
