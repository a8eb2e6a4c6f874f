"""SCRAPL's optimizer: P-Adam (Eq. 6-8) and P-SAGA (Eq. 9) as a ``torch.optim.Optimizer``.

The class below implements Algorithm 1 of the paper (lines "P-Adam" and "P-SAGA") with
switches for each technique, so that a student can turn them on and off and compare:

======================  ===========================================================
``p_adam  p_saga``      update
======================  ===========================================================
False     False         exactly ``torch.optim.AdamW`` (``Adam`` when weight_decay=0)
True      False         P-Adam: one pair of moments per path, Eq. (6)-(8)
False     True          shared Adam moments give g_current, then P-SAGA, Eq. (9)
True      True          Algorithm 1 (the paper's SCRAPL)
======================  ===========================================================
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.optim import Optimizer

from scrapl_edu.checks import check_path_index

__all__ = ["SCRAPLOptimizer"]

_FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


class SCRAPLOptimizer(Optimizer):
    r"""Adam with path-wise moments (P-Adam) and a path-wise SAGA table (P-SAGA).

    Algorithm 1 of the paper, written out (batch of one, path ``p`` drawn from ``π``)::

        Γ ← ∅;  for every path p: τ_p ← 0, m_p ← 0, v_p ← 0, ĝ_p ← 0
        for k = 1, ..., K:
            p ← draw from π;  g ← ∇ L_p(w)                                     # Eq. (3)
            m_p ← β1^((k-τ_p)/P) m_p + (1 - β1^((k-τ_p)/P)) g                  # Eq. (6)
            v_p ← β2^((k-τ_p)/P) v_p + (1 - β2^((k-τ_p)/P)) g⊙g                # Eq. (7)
            m̂ ← m_p / (1 - β1^(k/P));  v̂ ← v_p / (1 - β2^(k/P))
            g_current ← m̂ / (ε + √v̂)                                          # Eq. (8)
            τ_p ← k
            g_avg ← (Σ_{γ∈Γ} ĝ_γ) / max(1, card Γ)
            g_SAGA ← g_current - ĝ_p + g_avg                                   # Eq. (9)
            w ← w - α_k g_SAGA
            ĝ_p ← g_current;  Γ ← Γ ∪ {p}

    Here ``k`` counts every call of :meth:`step` (``k = 1`` on the first one), ``τ_p`` is the
    step at which path ``p`` was last visited (0 before its first visit) and ``P`` is
    ``n_paths``. Note that ε sits outside the square root, as in Eq. (8) and as in
    ``torch.optim.Adam``. g_avg and ĝ_p are read *before* this step's table update, so on the
    first step g_SAGA = g_current, and on the first visit of a new path ĝ_p = 0.

    Switches: ``p_adam=False`` replaces Eq. (6)-(8) by one shared pair of Adam moments with the
    usual bias correction ``1 - β^k``; ``p_saga=False`` uses ``w ← w - α g_current``. With both
    off the optimizer is, number for number, ``torch.optim.AdamW`` (``Adam`` for
    ``weight_decay=0``); ``path`` is then optional. Weight decay is decoupled as in AdamW:
    ``w ← w (1 - α λ)`` before the update.

    Implementation notes:

    * P-SAGA keeps a running sum ``Σ_{γ∈Γ} ĝ_γ`` (in float64) so that a step costs O(|w|),
      not O(P |w|).
    * Per-path state (m_p, v_p, ĝ_p) is allocated lazily, at a path's first visit. It may be
      stored in a lower precision with ``state_dtype`` (e.g. ``torch.bfloat16``); arithmetic
      is done in the parameter's precision (at least float32). See :meth:`memory_report`.
    * :meth:`state_dict` / :meth:`load_state_dict` carry everything (k, τ_p, m_p, v_p, ĝ_p,
      the running sum, Γ), so that a run resumed from a checkpoint is bit-identical to an
      uninterrupted one.

    Differences from the reference package ``scrapl-loss`` 0.1.0 (we follow the paper):

    * its P-SAGA divides the table sum by ``max(1, n_seen - 1)`` where ``n_seen`` already
      counts the current path: on a *revisit* this is ``card Γ - 1`` instead of Eq. (9)'s
      ``max(1, card Γ)`` (on a first visit both agree);
    * it implements P-Adam/P-SAGA as gradient hooks feeding a plain SGD optimizer (so weight
      decay is coupled, SGD style), applies them to the *raw* gradient when P-Adam is off
      (here: to shared-Adam g_current), multiplies gradients by ``grad_mult = 1e8`` by
      default, and allocates ``3 P |w|`` float32 numbers up front;
    * its moments and SAGA table are not part of any state dict, so training cannot be
      resumed from a checkpoint with the optimizer state attached.

    Args:
        params: parameters or parameter groups, as for any torch optimizer.
        n_paths: number of scattering paths ``P`` (an int >= 1).
        lr: learning rate ``α`` (>= 0).
        betas: ``(β1, β2)``, each in [0, 1).
        eps: ``ε`` of Eq. (8) (>= 0).
        weight_decay: decoupled weight decay ``λ`` (>= 0).
        p_adam: use path-wise moments, Eq. (6)-(8).
        p_saga: use the path-wise SAGA correction, Eq. (9).
        state_dtype: storage dtype of the per-path tensors (None: the parameter's dtype).
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        n_paths: int,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        p_adam: bool = True,
        p_saga: bool = True,
        state_dtype: torch.dtype | None = None,
    ) -> None:
        if isinstance(n_paths, bool) or not isinstance(n_paths, int) or n_paths < 1:
            raise ValueError(
                f"n_paths must be an integer >= 1 (the number of paths P), got {n_paths!r}"
            )
        if not isinstance(lr, (int, float)) or isinstance(lr, bool) or not lr >= 0.0:
            raise ValueError(f"lr (learning rate) must be a float >= 0, got {lr!r}")
        if not isinstance(eps, (int, float)) or not eps >= 0.0:
            raise ValueError(f"eps must be a float >= 0, got {eps!r}")
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(
                f"betas must be a pair (beta1, beta2) with each in [0, 1), got {betas!r}"
            )
        for i, b in enumerate(betas):
            if not isinstance(b, (int, float)) or not 0.0 <= b < 1.0:
                raise ValueError(f"betas[{i}] must be in [0, 1), got {b!r}")
        if not isinstance(weight_decay, (int, float)) or not weight_decay >= 0.0:
            raise ValueError(f"weight_decay must be a float >= 0, got {weight_decay!r}")
        if state_dtype is not None and state_dtype not in _FLOAT_DTYPES:
            raise ValueError(
                f"state_dtype must be None or one of {[str(d) for d in _FLOAT_DTYPES]}, "
                f"got {state_dtype!r}"
            )
        defaults = {
            "lr": float(lr),
            "betas": (float(betas[0]), float(betas[1])),
            "eps": float(eps),
            "weight_decay": float(weight_decay),
        }
        super().__init__(params, defaults)
        self.n_paths = n_paths
        self.p_adam = bool(p_adam)
        self.p_saga = bool(p_saga)
        self.state_dtype = state_dtype
        self.global_step = 0  # k of Algorithm 1; 0 before the first step

    _EXTRA_ATTRS = ("n_paths", "p_adam", "p_saga", "state_dtype", "global_step")

    def __getstate__(self) -> dict[str, Any]:
        # torch's Optimizer pickles only defaults/state/param_groups; keep ours too so that
        # copy.deepcopy and pickle give a working optimizer.
        state = super().__getstate__()
        state.update({name: getattr(self, name) for name in self._EXTRA_ATTRS})
        return state

    # ------------------------------------------------------------------ helpers
    def _store_dtype(self, p: Tensor) -> torch.dtype:
        return self.state_dtype if self.state_dtype is not None else p.dtype

    @staticmethod
    def _compute_dtype(p: Tensor) -> torch.dtype:
        return torch.promote_types(p.dtype, torch.float32)

    @staticmethod
    def _sum_dtype(p: Tensor) -> torch.dtype:
        return torch.float32 if p.device.type == "mps" else torch.float64

    @property
    def visited_paths(self) -> list[int]:
        """The set Γ of paths visited so far (sorted), taken from the first parameter's state."""
        for group in self.param_groups:
            for p in group["params"]:
                st = self.state.get(p)
                if st and "tau" in st:
                    return sorted(st["tau"])
                if st and "g_hat" in st:
                    return sorted(st["g_hat"])
        return []

    @torch.no_grad()
    def path_update_norms(self, source: str = "g_hat") -> Tensor:
        """Per-path norms over all parameters, ``(n_paths,)`` float64; NaN for unvisited paths.

        Read-only (copies nothing into the state). ``source="g_hat"``: ``||ĝ_p||``, the P-SAGA
        table entry of path p (its last ``g_current``, Eq. 9; needs ``p_saga``).
        ``source="v"``: ``sqrt(Σ v̂_p)``, the RMS norm of path p's raw gradient from P-Adam's
        second moment (Eq. 7), debiased at p's last visit τ_p by ``1 - β2^(τ_p / P)``, which
        makes it the weighted mean of the g⊙g seen on p's visits (needs ``p_adam``). Computed
        in float64 whatever ``state_dtype`` stores. Used by :mod:`scrapl_edu.adaptive_pi`.
        """
        if source not in ("g_hat", "v"):
            raise ValueError(f"source must be 'g_hat' or 'v', got {source!r}")
        if (source == "g_hat" and not self.p_saga) or (source == "v" and not self.p_adam):
            raise ValueError(
                f"source={source!r} needs {'p_saga' if source == 'g_hat' else 'p_adam'}=True "
                f"(p_adam={self.p_adam}, p_saga={self.p_saga})"
            )
        total = torch.zeros(self.n_paths, dtype=torch.float64)
        seen = torch.zeros(self.n_paths, dtype=torch.bool)
        for group in self.param_groups:
            beta2 = group["betas"][1]
            for p in group["params"]:
                st = self.state.get(p) or {}
                for path, t in st.get(source, {}).items():
                    sq = t.detach().to(device="cpu", dtype=torch.float64)
                    if source == "g_hat":
                        value = sq.pow(2).sum()
                    else:
                        value = sq.sum() / (1.0 - beta2 ** (st["tau"][path] / self.n_paths))
                    total[path] += value
                    seen[path] = True
        return torch.where(seen, total.sqrt(), torch.full_like(total, math.nan))

    # --------------------------------------------------------------------- step
    @torch.no_grad()
    def step(  # type: ignore[override]
        self, closure: Callable[[], Tensor] | None = None, *, path: int | None = None
    ) -> Tensor | None:
        """Perform one optimization step with the gradient of path ``path``.

        torch's signature (``closure`` first) with the path keyword-only:
        ``optimizer.step(path=loss_fn.last_path)``.

        Args:
            closure: optional closure that re-evaluates the model and returns the loss.
            path: index of the path whose per-path loss produced the current ``.grad``
                (required when ``p_adam`` or ``p_saga`` is on).

        Returns:
            The closure's loss, if a closure was given.
        """
        if closure is not None and not callable(closure):
            hint = (
                f"; the path is keyword-only: call step(path={closure!r})"
                if isinstance(closure, (int, np.integer, Tensor))
                else ""
            )
            raise TypeError(
                f"closure must be a callable returning the loss or None, got {closure!r}{hint}"
            )
        if path is None:
            if self.p_adam or self.p_saga:
                raise ValueError(
                    "step() needs path=<index of the sampled path> when p_adam or p_saga is on "
                    f"(p_adam={self.p_adam}, p_saga={self.p_saga}); pass the path used for the "
                    "loss, e.g. optimizer.step(path=loss_fn.last_path)"
                )
        else:
            path = check_path_index(path, self.n_paths, name="path")
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()

        self.global_step += 1
        k = self.global_step
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError("SCRAPLOptimizer does not support sparse gradients")
                if not self.p_adam and not self.p_saga:
                    self._adamw_update(p, group)
                else:
                    self._scrapl_update(p, group, path, k)  # type: ignore[arg-type]
        return loss

    def _adamw_update(self, p: Tensor, group: dict[str, Any]) -> None:
        """torch.optim.AdamW's single-tensor update, operation for operation."""
        lr, wd, eps = group["lr"], group["weight_decay"], group["eps"]
        beta1, beta2 = group["betas"]
        grad = p.grad
        state = self.state[p]
        if len(state) == 0:
            state["step"] = torch.tensor(0.0, dtype=torch.float32)
            state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        exp_avg, exp_avg_sq, step_t = state["exp_avg"], state["exp_avg_sq"], state["step"]
        step_t += 1
        if wd != 0:
            p.mul_(1 - lr * wd)
        exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        step = step_t.item()
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        step_size = lr / bias_correction1
        denom = (exp_avg_sq.sqrt() / bias_correction2**0.5).add_(eps)
        p.addcdiv_(exp_avg, denom, value=-step_size)

    def _scrapl_update(self, p: Tensor, group: dict[str, Any], path: int, k: int) -> None:
        lr, wd, eps = group["lr"], group["weight_decay"], group["eps"]
        beta1, beta2 = group["betas"]
        P = self.n_paths
        cdt = self._compute_dtype(p)
        grad = p.grad.to(cdt)
        state = self.state[p]
        if len(state) == 0:
            if self.p_adam:
                state["m"] = {}
                state["v"] = {}
                state["tau"] = {}
            else:
                state["step"] = torch.tensor(0.0, dtype=torch.float32)
                state["exp_avg"] = torch.zeros_like(p, dtype=cdt)
                state["exp_avg_sq"] = torch.zeros_like(p, dtype=cdt)
            if self.p_saga:
                state["g_hat"] = {}
                state["g_sum"] = torch.zeros_like(p, dtype=self._sum_dtype(p))

        if wd != 0:
            p.mul_(1 - lr * wd)

        if self.p_adam:
            tau = state["tau"].get(path, 0)
            decay1 = beta1 ** ((k - tau) / P)  # Eq. (6)
            decay2 = beta2 ** ((k - tau) / P)  # Eq. (7)
            if path in state["m"]:
                m = state["m"][path].to(cdt) * decay1 + (1 - decay1) * grad
                v = state["v"][path].to(cdt) * decay2 + (1 - decay2) * grad * grad
            else:
                m = (1 - decay1) * grad
                v = (1 - decay2) * grad * grad
            m_hat = m / (1 - beta1 ** (k / P))  # Eq. (8), bias correction with k/P
            v_hat = v / (1 - beta2 ** (k / P))
            g_current = m_hat / (eps + v_hat.sqrt())  # Eq. (8), ε outside the root
            sdt = self._store_dtype(p)
            state["m"][path] = m.to(sdt)
            state["v"][path] = v.to(sdt)
            state["tau"][path] = k
        else:
            exp_avg, exp_avg_sq, step_t = state["exp_avg"], state["exp_avg_sq"], state["step"]
            step_t += 1
            exp_avg.lerp_(grad, 1 - beta1)
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            step = step_t.item()
            m_hat = exp_avg / (1 - beta1**step)
            g_current = m_hat / (exp_avg_sq.sqrt() / (1 - beta2**step) ** 0.5 + eps)

        if self.p_saga:
            table: dict[int, Tensor] = state["g_hat"]
            g_sum: Tensor = state["g_sum"]
            n_visited = len(table)  # card Γ before this step
            g_avg = (g_sum / max(1, n_visited)).to(cdt)
            g_old = table.get(path)
            if g_old is None:
                update = g_current + g_avg  # ĝ_p = 0 at a first visit
            else:
                update = g_current - g_old.to(cdt) + g_avg  # Eq. (9)
            g_new = g_current.to(self._store_dtype(p))
            g_sum.add_(g_new.to(g_sum.dtype))
            if g_old is not None:
                g_sum.sub_(g_old.to(g_sum.dtype))
            table[path] = g_new
        else:
            update = g_current
        p.add_(update.to(p.dtype), alpha=-lr)

    # --------------------------------------------------------------- reporting
    def memory_report(self) -> dict[str, float | int]:
        """Bytes held by the optimizer state versus the reference's ``3 P |w|`` float32.

        Returns:
            A dict with ``n_weights`` (|w|), ``n_paths`` (P), ``n_visited`` (card Γ),
            ``bytes_used`` (all tensors in the state: per-path tensors, shared moments and
            the running SAGA sum), ``bytes_per_path_state`` (the per-path tensors only),
            ``bytes_reference`` (``3 * P * |w| * 4``, what ``scrapl-loss`` allocates) and
            ``fraction`` (``bytes_used / bytes_reference``).
        """
        n_weights = sum(p.numel() for g in self.param_groups for p in g["params"])
        used = 0
        per_path = 0
        for st in self.state.values():
            if not isinstance(st, dict):
                continue
            for key, val in st.items():
                if isinstance(val, Tensor):
                    if key != "step":
                        used += val.numel() * val.element_size()
                elif isinstance(val, dict):
                    for t in val.values():
                        if isinstance(t, Tensor):
                            nb = t.numel() * t.element_size()
                            used += nb
                            per_path += nb
        reference = 3 * self.n_paths * n_weights * 4
        return {
            "n_weights": n_weights,
            "n_paths": self.n_paths,
            "n_visited": len(self.visited_paths),
            "bytes_used": used,
            "bytes_per_path_state": per_path,
            "bytes_reference": reference,
            "fraction": used / reference if reference else math.nan,
        }

    # ------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """torch's optimizer state dict plus a ``"scrapl"`` entry (k, P, switches)."""
        sd = super().state_dict()
        sd["scrapl"] = {
            "global_step": self.global_step,
            "n_paths": self.n_paths,
            "p_adam": self.p_adam,
            "p_saga": self.p_saga,
            "state_dtype": None if self.state_dtype is None else str(self.state_dtype),
        }
        return sd

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state saved by :meth:`state_dict`, keeping every tensor's saved dtype.

        torch's default loader casts floating state to the parameter's dtype; that would
        change the float64 SAGA sum and any ``state_dtype`` storage, so tensors are restored
        here from the saved values with their own dtypes (moved to the parameter's device).
        """
        sd = dict(state_dict)
        extra = sd.pop("scrapl", None)
        if extra is None:
            raise ValueError(
                "state_dict has no 'scrapl' entry; it was not saved by SCRAPLOptimizer.state_dict()"
            )
        for name in ("n_paths", "p_adam", "p_saga"):
            if extra[name] != getattr(self, name):
                raise ValueError(
                    f"state_dict was saved with {name}={extra[name]!r} but this optimizer has "
                    f"{name}={getattr(self, name)!r}; construct it with the same {name}"
                )
        saved_state = sd["state"]
        super().load_state_dict(sd)
        saved_ids = [i for g in sd["param_groups"] for i in g["params"]]
        params = [p for g in self.param_groups for p in g["params"]]
        for pid, p in zip(saved_ids, params, strict=True):
            if pid in saved_state:
                self.state[p] = self._restore(saved_state[pid], p)
        self.global_step = int(extra["global_step"])

    def _restore(self, value: Any, p: Tensor) -> Any:
        if isinstance(value, Tensor):
            return value.detach().to(device=p.device if value.dim() > 0 else "cpu").clone()
        if isinstance(value, dict):
            out = {k: self._restore(v, p) for k, v in value.items()}
            if self.state_dtype is not None:
                for key in ("m", "v", "g_hat"):
                    if key in out:
                        out[key] = {i: t.to(self.state_dtype) for i, t in out[key].items()}
            return out
        return value
