"""SCRAPL's optimizer: P-Adam (Eq. 6-8) and P-SAGA (Eq. 9) as a ``torch.optim.Optimizer``.

The arithmetic of Algorithm 1 lives in three pure functions, which notebooks and exercises
call directly; :class:`SCRAPLOptimizer` only gathers each parameter's state and calls them,
as ``torch.optim.Adam`` does with its functional ``adam()``:

* :func:`p_adam_direction`: path p's moments and the direction g_current, Eq. (6)-(8);
* :func:`adam_direction`: g_current from one shared pair of Adam moments (``p_adam=False``);
* :func:`p_saga_direction`: the SAGA-corrected direction, Eq. (9).

The switches live in ``param_groups``, as torch keeps ``amsgrad`` and ``maximize``:

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

__all__ = ["SCRAPLOptimizer", "adam_direction", "p_adam_direction", "p_saga_direction"]

_FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
#: the keys of ``param_groups`` that this optimizer adds to torch's (lr, betas, eps, ...)
_SWITCHES = ("n_paths", "p_adam", "p_saga", "state_dtype")


# ------------------------------------------------------------------ pure functions
def p_adam_direction(
    grad: Tensor,
    m: Tensor | None,
    v: Tensor | None,
    *,
    k: int,
    tau: int,
    n_paths: int,
    betas: tuple[float, float],
    eps: float,
) -> tuple[Tensor, Tensor, Tensor]:
    r"""P-Adam, Eq. (6)-(8): path p's new moments and its direction g_current at step k.

    With ``P = n_paths``, ``g = grad`` and ``τ = tau`` the step of path p's last visit::

        m_p ← β1^((k-τ)/P) m_p + (1 - β1^((k-τ)/P)) g                      # Eq. (6)
        v_p ← β2^((k-τ)/P) v_p + (1 - β2^((k-τ)/P)) g⊙g                    # Eq. (7)
        m̂_p = m_p / (1 - β1^(k/P)),   v̂_p = v_p / (1 - β2^(k/P))
        g_current = m̂_p / (ε + √v̂_p)                                       # Eq. (8)

    The moments decay by the steps elapsed since the path's last visit, counted in units of
    P steps (a path is drawn once every P steps on average), and ε sits outside the root.

    Args:
        grad: ∇ L_p(w), the gradient of the sampled path's loss; the result has its dtype.
        m, v: path p's moments (any dtype, cast to ``grad``'s), or None at its first visit
            (both None: zero moments).
        k: this step, 1-based.
        tau: the step of path p's last visit, in [0, k) (0 if never visited).
        n_paths: P, the number of paths.
        betas: (β1, β2).
        eps: ε.

    Returns:
        ``(g_current, m_new, v_new)``, all with ``grad``'s dtype and shape.
    """
    if (m is None) != (v is None):
        raise ValueError("m and v must both be tensors or both be None (a path's first visit)")
    if not 0 <= tau < k:
        raise ValueError(
            f"need 0 <= tau < k (tau is the step of the path's last visit, before this step k); "
            f"got k={k!r}, tau={tau!r}"
        )
    if n_paths < 1:
        raise ValueError(f"n_paths must be >= 1, got {n_paths!r}")
    beta1, beta2 = betas
    decay1 = beta1 ** ((k - tau) / n_paths)  # Eq. (6)
    decay2 = beta2 ** ((k - tau) / n_paths)  # Eq. (7)
    if m is None or v is None:
        m_new = (1 - decay1) * grad
        v_new = (1 - decay2) * grad * grad
    else:
        m_new = m.to(grad.dtype) * decay1 + (1 - decay1) * grad
        v_new = v.to(grad.dtype) * decay2 + (1 - decay2) * grad * grad
    m_hat = m_new / (1 - beta1 ** (k / n_paths))  # Eq. (8), bias correction with k/P
    v_hat = v_new / (1 - beta2 ** (k / n_paths))
    g_current = m_hat / (eps + v_hat.sqrt())  # Eq. (8), ε outside the root
    return g_current, m_new, v_new


def adam_direction(
    grad: Tensor,
    m: Tensor | None,
    v: Tensor | None,
    *,
    step: int,
    betas: tuple[float, float],
    eps: float,
) -> tuple[Tensor, Tensor, Tensor]:
    r"""Adam's direction from one pair of moments shared by all paths (``p_adam=False``).

    The baseline that P-Adam replaces: Eq. (6)-(8) with P = 1 and no per-path state::

        m ← β1 m + (1 - β1) g;   v ← β2 v + (1 - β2) g⊙g
        g_current = (m / (1 - β1^k)) / (√v / √(1 - β2^k) + ε)

    Args:
        grad: the gradient g; the result has its dtype.
        m, v: the shared moments (grad's dtype), or None before the first step (zeros).
        step: k, this parameter's step, 1-based.
        betas: (β1, β2).
        eps: ε.

    Returns:
        ``(g_current, m_new, v_new)``.
    """
    if step < 1:
        raise ValueError(f"step must be >= 1 (1-based), got {step!r}")
    beta1, beta2 = betas
    m = torch.zeros_like(grad) if m is None else m
    v = torch.zeros_like(grad) if v is None else v
    m_new = torch.lerp(m, grad, 1 - beta1)
    v_new = (v * beta2).addcmul_(grad, grad, value=1 - beta2)  # in place on the new tensor
    m_hat = m_new / (1 - beta1**step)
    g_current = m_hat / (v_new.sqrt() / (1 - beta2**step) ** 0.5 + eps)
    return g_current, m_new, v_new


def p_saga_direction(g_current: Tensor, g_hat_p: Tensor | None, g_avg: Tensor) -> Tensor:
    r"""P-SAGA, Eq. (9): ``g_SAGA = g_current - ĝ_p + g_avg``.

    ``ĝ_p`` is path p's table entry (its g_current at its last visit) and
    ``g_avg = (Σ_{γ∈Γ} ĝ_γ) / max(1, card Γ)`` the mean of the table over the visited paths
    Γ, both read *before* this step's table update: on the first step g_SAGA = g_current.

    Args:
        g_current: this step's direction (Eq. 8); the result has its dtype.
        g_hat_p: ĝ_p (any dtype), or None at path p's first visit (ĝ_p = 0).
        g_avg: the table's mean over Γ (any dtype).
    """
    if g_hat_p is None:
        return g_current + g_avg.to(g_current.dtype)
    return g_current - g_hat_p.to(g_current.dtype) + g_avg.to(g_current.dtype)


def _adamw_(p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
    """torch.optim.AdamW's single-tensor update, operation for operation (both switches off)."""
    lr, wd, eps = group["lr"], group["weight_decay"], group["eps"]
    beta1, beta2 = group["betas"]
    grad = p.grad
    if len(state) == 0:
        state["step"] = torch.tensor(0.0, dtype=torch.float32)
        state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
    if not isinstance(state["step"], Tensor):  # an int, from steps taken with P-SAGA on
        state["step"] = torch.tensor(float(state["step"]), dtype=torch.float32)
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


def _check_switches(group: dict[str, Any]) -> None:
    for name in ("p_adam", "p_saga"):
        if not isinstance(group[name], bool):
            raise ValueError(f"{name} must be True or False, got {group[name]!r}")
    dtype = group["state_dtype"]
    if dtype is not None and dtype not in _FLOAT_DTYPES:
        raise ValueError(
            f"state_dtype must be None or one of {[str(d) for d in _FLOAT_DTYPES]}, got {dtype!r}"
        )


def _moved(value: Any, device: torch.device) -> Any:
    """A loaded state value on ``device`` with its saved dtype (scalars stay on the CPU)."""
    if isinstance(value, Tensor):
        return value.detach().to(device=device if value.dim() > 0 else "cpu").clone()
    if isinstance(value, dict):
        return {k: _moved(v, device) for k, v in value.items()}
    return value


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

    Here ``k`` counts the steps a parameter has taken (``k = 1`` on the first one), kept in
    ``state[w]["step"]`` as torch's Adam keeps it (a Python int; torch's float tensor when
    both switches are off): it is the number of :meth:`step` calls when every parameter has
    a gradient at every step, the paper's setting. ``τ_p`` is the step at which path ``p``
    was last visited (0 before its first visit) and ``P`` is ``n_paths``. ε sits outside the square root, as in Eq. (8) and in ``torch.optim.Adam``.
    g_avg and ĝ_p are read *before* this step's table update, so on the first step
    g_SAGA = g_current, and on the first visit of a new path ĝ_p = 0. :meth:`step` gathers
    each parameter's state and calls :func:`p_adam_direction` (or :func:`adam_direction`)
    and :func:`p_saga_direction`.

    Switches (keys of ``defaults`` and of every ``param_groups`` entry, so a group may set
    its own): ``p_adam=False`` replaces Eq. (6)-(8) by one shared pair of Adam moments with
    the usual bias correction ``1 - β^k``; ``p_saga=False`` uses ``w ← w - α g_current``.
    With both off a group is, number for number, ``torch.optim.AdamW`` (``Adam`` for
    ``weight_decay=0``); ``path`` is then optional. Weight decay is decoupled as in AdamW:
    ``w ← w (1 - α λ)`` before the update. The properties ``p_adam``, ``p_saga`` and
    ``state_dtype`` read (and set) the switch of every group.

    Changing a switch after the first step:

    * ``p_saga`` may be turned off and on at any time: while off, the table and Γ are kept
      as they are (not updated); when turned on, the table continues from them (a parameter
      that never had P-SAGA starts with Γ = ∅).
    * ``state_dtype`` may change at any time: an entry takes the new dtype when next written.
    * ``p_adam`` may not: per-path moments and shared moments cannot be converted into one
      another, so the next :meth:`step` refuses, naming the switch.
    * ``n_paths`` is fixed at construction (one P for the whole optimizer).

    :meth:`step` with no gradient on any parameter is refused (``ValueError``): nothing
    changes, k does not advance.

    Implementation notes:

    * P-SAGA keeps a running sum ``Σ_{γ∈Γ} ĝ_γ`` (in float64) so that a step costs O(|w|),
      not O(P |w|).
    * Per-path state (m_p, v_p, ĝ_p) is allocated lazily, at a path's first visit. It may be
      stored in a lower precision with ``state_dtype`` (e.g. ``torch.bfloat16``); arithmetic
      is done in the parameter's precision (at least float32). See :meth:`memory_report`.
    * :meth:`state_dict` is torch's: ``state`` (k, τ_p, m_p, v_p, ĝ_p, the running sum) and
      ``param_groups`` (hyper-parameters and switches), tensors and plain data only, so
      ``torch.load(..., weights_only=True)`` reads it and a resumed run is bit-identical to
      an uninterrupted one. :meth:`load_state_dict` also reads the format of earlier
      versions (switches in a separate ``"scrapl"`` entry).

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
        defaults = {
            "lr": float(lr),
            "betas": (float(betas[0]), float(betas[1])),
            "eps": float(eps),
            "weight_decay": float(weight_decay),
            "n_paths": n_paths,
            "p_adam": bool(p_adam),
            "p_saga": bool(p_saga),
            "state_dtype": state_dtype,
        }
        _check_switches(defaults)
        super().__init__(params, defaults)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """torch's ``add_param_group``, then a check of the group's switches."""
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        if group["n_paths"] != self.defaults["n_paths"]:
            self.param_groups.pop()
            raise ValueError(
                f"n_paths is one number for the whole optimizer ({self.defaults['n_paths']}); "
                f"a param group asked for n_paths={group['n_paths']!r}"
            )
        try:
            _check_switches(group)
        except ValueError:
            self.param_groups.pop()
            raise

    def __setstate__(self, state: dict[str, Any]) -> None:
        # An optimizer pickled by an earlier version kept the switches as attributes; move
        # them into the groups, as torch fills in a new flag with ``setdefault``.
        old = {name: state.pop(name) for name in (*_SWITCHES, "global_step") if name in state}
        super().__setstate__(state)
        for group in (self.defaults, *self.param_groups):
            for name in _SWITCHES:
                if name in old:
                    group.setdefault(name, old[name])
        if old.get("global_step") and old.get("p_adam"):
            for st in self.state.values():
                if "tau" in st:
                    st.setdefault("step", int(old["global_step"]))

    # --------------------------------------------------------------- switches
    def _switch(self, name: str) -> Any:
        values = {g[name] for g in self.param_groups}
        if len(values) != 1:
            raise ValueError(
                f"the param groups differ in {name} ({sorted(map(str, values))}); "
                f"read optimizer.param_groups[i][{name!r}]"
            )
        return values.pop()

    def _set_switch(self, name: str, value: Any) -> None:
        for group in self.param_groups:
            _check_switches({**group, name: value})
        self.defaults = {**self.defaults, name: value}  # a copy: copy.copy shares defaults
        for group in self.param_groups:
            group[name] = value

    @property
    def n_paths(self) -> int:
        """P, the number of paths (fixed at construction)."""
        return int(self.defaults["n_paths"])

    @property
    def p_adam(self) -> bool:
        """Whether P-Adam (Eq. 6-8) is on, in every param group."""
        return bool(self._switch("p_adam"))

    @p_adam.setter
    def p_adam(self, value: bool) -> None:
        self._set_switch("p_adam", value)

    @property
    def p_saga(self) -> bool:
        """Whether P-SAGA (Eq. 9) is on, in every param group."""
        return bool(self._switch("p_saga"))

    @p_saga.setter
    def p_saga(self, value: bool) -> None:
        self._set_switch("p_saga", value)

    @property
    def state_dtype(self) -> torch.dtype | None:
        """Storage dtype of the per-path tensors (None: each parameter's dtype)."""
        return self._switch("state_dtype")  # type: ignore[no-any-return]

    @state_dtype.setter
    def state_dtype(self, value: torch.dtype | None) -> None:
        self._set_switch("state_dtype", value)

    @property
    def global_step(self) -> int:
        """k of Algorithm 1: the steps taken so far (the most of any parameter; 0 before)."""
        steps = [int(st["step"]) for st in self.state.values() if "step" in st]
        return max(steps, default=0)

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
        switch = "p_saga" if source == "g_hat" else "p_adam"
        if not all(g[switch] for g in self.param_groups):
            raise ValueError(
                f"source={source!r} needs {switch}=True in every param group "
                f"(p_adam={[g['p_adam'] for g in self.param_groups]}, "
                f"p_saga={[g['p_saga'] for g in self.param_groups]})"
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
                (required when ``p_adam`` or ``p_saga`` is on in some group).

        Returns:
            The closure's loss, if a closure was given.

        Raises:
            ValueError: no parameter has a gradient (nothing changes, k does not advance),
                ``path`` is missing or out of range, or ``p_adam`` changed since the
                parameter's first step.
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
        if path is not None:
            path = check_path_index(path, self.n_paths, name="path")
        else:
            for g in self.param_groups:
                if g["p_adam"] or g["p_saga"]:
                    raise ValueError(
                        "step() needs path=<index of the sampled path> when p_adam or p_saga "
                        f"is on (p_adam={g['p_adam']}, p_saga={g['p_saga']}); pass the path "
                        "used for the loss, e.g. optimizer.step(path=loss_fn.last_path)"
                    )
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()

        todo = [(p, g) for g in self.param_groups for p in g["params"] if p.grad is not None]
        if not todo:
            raise ValueError(
                "step() found no gradient on any parameter (every .grad is None): call "
                "loss.backward() before optimizer.step(); nothing was changed"
            )
        for p, group in todo:  # refuse before anything changes
            if p.grad.is_sparse:
                raise RuntimeError("SCRAPLOptimizer does not support sparse gradients")
            state = self.state.get(p)
            if state and ("tau" in state) != group["p_adam"]:
                raise ValueError(
                    f"p_adam was switched to {group['p_adam']} after the first step; the state "
                    f"holds {'per-path' if 'tau' in state else 'shared'} Adam moments, which "
                    "cannot be converted: build a new SCRAPLOptimizer to change p_adam"
                )
        for p, group in todo:
            state = self.state[p]
            if not group["p_adam"] and not group["p_saga"]:
                _adamw_(p, state, group)
            else:
                self._scrapl_update(p, state, group, path)  # type: ignore[arg-type]
        return loss

    def _scrapl_update(
        self, p: Tensor, state: dict[str, Any], group: dict[str, Any], path: int
    ) -> None:
        """Gather p's state, call Eq. (6)-(8) and Eq. (9), write the state and the weight."""
        lr, wd = group["lr"], group["weight_decay"]
        cdt = torch.promote_types(p.dtype, torch.float32)  # compute dtype
        sdt = group["state_dtype"] or p.dtype  # storage dtype of the per-path tensors
        grad = p.grad.to(cdt)
        k = int(state.get("step", 0)) + 1  # a Python int (a tensor in earlier states)
        state["step"] = k
        if wd != 0:
            p.mul_(1 - lr * wd)

        if group["p_adam"]:
            if "tau" not in state:
                state["m"], state["v"], state["tau"] = {}, {}, {}
            ms, vs, taus = state["m"], state["v"], state["tau"]
            g_current, m, v = p_adam_direction(
                grad, ms.get(path), vs.get(path), k=k, tau=taus.get(path, 0),
                n_paths=group["n_paths"], betas=group["betas"], eps=group["eps"],
            )  # fmt: skip
            ms[path], vs[path], taus[path] = m.to(sdt), v.to(sdt), k
        else:
            g_current, state["exp_avg"], state["exp_avg_sq"] = adam_direction(
                grad, state.get("exp_avg"), state.get("exp_avg_sq"),
                step=k, betas=group["betas"], eps=group["eps"],
            )  # fmt: skip

        if group["p_saga"]:
            table: dict[int, Tensor] = state.setdefault("g_hat", {})
            if "g_sum" not in state:  # Σ_{γ∈Γ} ĝ_γ, float64 (float32 on MPS)
                sum_dtype = torch.float32 if p.device.type == "mps" else torch.float64
                state["g_sum"] = torch.zeros_like(p, dtype=sum_dtype)
            g_sum: Tensor = state["g_sum"]
            g_old = table.get(path)
            update = p_saga_direction(g_current, g_old, g_sum / max(1, len(table)))
            g_new = g_current.to(sdt)
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
    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """torch's ``load_state_dict``, keeping every tensor's saved dtype.

        The saved hyper-parameters (lr, betas, ...) replace the constructor's, as in torch;
        ``n_paths``, ``p_adam`` and ``p_saga`` must equal this optimizer's (ValueError naming
        the switch otherwise) and ``state_dtype`` stays this optimizer's (saved per-path
        tensors are cast to it). torch's loader would cast floating state to the parameter's
        dtype, changing the float64 SAGA sum and any ``state_dtype`` storage, so the state
        is restored from the saved tensors with their own dtypes.

        A state dict of an earlier version (switches and k in a ``"scrapl"`` entry, no
        ``"step"`` under P-Adam) is read too: the switches are filled in with ``setdefault``.
        """
        sd = dict(state_dict)
        legacy = sd.pop("scrapl", None)
        groups = [dict(g) for g in sd["param_groups"]]
        saved_state = dict(sd["state"])
        if legacy is not None:
            for g in groups:
                for name in ("n_paths", "p_adam", "p_saga"):
                    g.setdefault(name, legacy[name])
            for pid, st in saved_state.items():
                if "tau" in st and "step" not in st:
                    saved_state[pid] = {"step": int(legacy["global_step"]), **st}
        for i, (saved, group) in enumerate(zip(groups, self.param_groups, strict=False)):
            for name in ("n_paths", "p_adam", "p_saga"):
                if name not in saved:
                    raise ValueError(
                        f"param group {i} of the state_dict has no {name!r}: it was not saved by "
                        "SCRAPLOptimizer.state_dict()"
                    )
                if saved[name] != group[name]:
                    raise ValueError(
                        f"state_dict was saved with {name}={saved[name]!r} but this optimizer "
                        f"has {name}={group[name]!r}; construct it with the same {name}"
                    )
            saved["state_dtype"] = group["state_dtype"]
        super().load_state_dict({**sd, "param_groups": groups, "state": saved_state})
        for group, saved in zip(self.param_groups, groups, strict=True):
            for pid, p in zip(saved["params"], group["params"], strict=True):
                if pid not in saved_state:
                    continue
                st = _moved(saved_state[pid], p.device)
                if group["state_dtype"] is not None:
                    for key in ("m", "v", "g_hat"):
                        if key in st:
                            st[key] = {i: t.to(group["state_dtype"]) for i, t in st[key].items()}
                self.state[p] = st
