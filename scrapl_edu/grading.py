"""Checkers for the course's "build SCRAPL yourself" exercises, and sealed predictions.

A build-it exercise hands the student a stub (``raise NotImplementedError`` in the student
edition); its graded cell calls one ``check_*`` function below with the student's function.
Each checker runs a property test: many random cases (random shapes, random optimizer
states, first visits, zero rows, ...) drawn from a fixed seed, each compared with the
library's own implementation of the same equation, plus an invariant of the equation where
one exists (unbiasedness of Prop. 3.1, a distribution that sums to 1 for Eq. 10, the second
eigenvalue found after deflation). A grade therefore says that the student's code agrees
with the paper's equation on every case, not on one example. A failing case raises an
``AssertionError`` that names the case (shapes, state) and the largest error, not the
expected values.

=====================================  ==============================================  ======
checker                                the library's reference                         points
=====================================  ==============================================  ======
:func:`check_second_order`             :func:`scrapl_edu.jtfs.second_order_path` (Eq. 1)   4
:func:`check_reweighting`              :func:`scrapl_edu.diagnostics.estimator_table`      2
                                       (Prop. 3.1, ``reweight=True``)
:func:`check_p_adam_direction`         :func:`scrapl_edu.optim.p_adam_direction` (Eq. 6-8) 4
:func:`check_p_saga_direction`         :func:`scrapl_edu.optim.p_saga_direction` (Eq. 9)   2
:func:`check_probs_from_importance`    :func:`scrapl_edu.sampling.probs_from_importance`   2
                                       (Eq. 10)
:func:`check_deflated_power_step`      :func:`scrapl_edu.theta_is.deflated_power_step`     4
                                       (Eq. 12's λ, Appendix C)
:func:`check_applied_variance`         :func:`scrapl_edu.diagnostics.direction_variance`   2
:func:`check_paired_effect`            :func:`scrapl_edu.lessons.paired_summary`           3
                                       (Table 6's Δ and CI)
=====================================  ==============================================  ======

The points (:data:`POINTS`) weigh the exercises by difficulty; the notebooks' nbgrader
metadata carries them, and ``tests/test_grading.py`` checks that they agree.

**Sealed predictions.** A "predict, then check" exercise records a number with
:func:`predict` *before* the cell that reveals the answer; the reveal cell calls
:func:`reveal`, which fails unless the prediction was recorded first, and seals it: from then
on :func:`predict` refuses another value for the same key, in this kernel and (through a
small ledger file, :func:`ledger_path`, which travels with an nbgrader submission) after a
restart. The graded cell calls :func:`check_prediction`, which grades the sealed value
within the tolerance of :data:`PREDICTIONS` (the truths come from the reveal cell or the
committed classroom results, never from the notebook's text).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from scrapl_edu import optim  # p_adam_direction, p_saga_direction (Eq. 6-9)
from scrapl_edu.diagnostics import direction_variance, estimator_table
from scrapl_edu.jtfs import second_order_path
from scrapl_edu.lessons import paired_summary
from scrapl_edu.sampling import probs_from_importance
from scrapl_edu.theta_is import deflated_power_step

__all__ = [
    "POINTS",
    "PREDICTIONS",
    "Tolerance",
    "check_applied_variance",
    "check_deflated_power_step",
    "check_p_adam_direction",
    "check_p_saga_direction",
    "check_paired_effect",
    "check_prediction",
    "check_probs_from_importance",
    "check_reweighting",
    "check_second_order",
    "ledger_path",
    "predict",
    "reset_predictions",
    "reveal",
]

#: nbgrader points of each build-it exercise, by checker (weighted by difficulty)
POINTS: dict[str, int] = {
    "check_second_order": 4,
    "check_reweighting": 2,
    "check_p_adam_direction": 4,
    "check_p_saga_direction": 2,
    "check_probs_from_importance": 2,
    "check_deflated_power_step": 4,
    "check_applied_variance": 2,
    "check_paired_effect": 3,
}

#: random cases each checker draws (fixed seed: a grade is reproducible)
N_CASES = 40
SEED = 2026


# ------------------------------------------------------------------------------- helpers
def _as_tensor(value: Any, name: str) -> Tensor:
    """The student's result as a float64 tensor (numpy arrays and floats accepted)."""
    if value is None:
        raise AssertionError(f"{name}: the function returned None (a missing return?)")
    if isinstance(value, Tensor):
        return value.detach().to(torch.float64)
    return torch.as_tensor(np.asarray(value, dtype=np.float64))


def _close(got: Any, want: Tensor, case: str, name: str, rtol: float = 1e-6) -> None:
    """Assert ``got`` ≈ ``want`` (same shape; error relative to the scale of ``want``)."""
    g = _as_tensor(got, name)
    w = want.detach().to(torch.float64)
    if g.shape != w.shape:
        raise AssertionError(f"{name}: shape {tuple(g.shape)}, expected {tuple(w.shape)} ({case})")
    if not torch.isfinite(g).all():
        raise AssertionError(f"{name}: non-finite values ({case})")
    scale = max(float(w.abs().max()) if w.numel() else 0.0, 1e-12)
    err = float((g - w).abs().max()) if w.numel() else 0.0
    if err > rtol * scale:
        raise AssertionError(f"{name}: max error {err:.3g} (scale {scale:.3g}) for {case}")


def _rng(seed: int = SEED) -> np.random.Generator:
    return np.random.default_rng(seed)


def _t(a: np.ndarray) -> Tensor:
    return torch.as_tensor(a, dtype=torch.float64)


def _log_uniform(rng: np.random.Generator, size: Any, lo: float = -3, hi: float = 3) -> np.ndarray:
    return 10.0 ** rng.uniform(lo, hi, size=size)


# --------------------------------------------------------------------------- Eq. 1 (JTFS)
def check_second_order(fn: Callable[..., Any], n_cases: int = N_CASES) -> int:
    """Grade ``fn(U1, psi2_f, psi_fr_f, phi_t_f, phi_f_f)``: one path from the first order.

    ``U1`` (n1, N) is the first-order modulus |x ∗ ψ1| (rows in log-frequency order);
    ``psi2_f`` (N,), ``phi_t_f`` (N,) are the temporal wavelet and low-pass in the Fourier
    domain; ``psi_fr_f`` (F,), ``phi_f_f`` (F,) or ``None`` the frequential ones (F ≥ n1:
    the frequential axis is zero-padded to F). The answer is the (F, N) path
    |(U1 ∗_t ψ2) ∗_fr ψ_fr| ∗_t φ_T [∗_fr φ_F], compared with
    :func:`scrapl_edu.jtfs.second_order_path`. Returns the number of cases passed.
    """
    rng = _rng()
    for i in range(n_cases):
        n1 = int(rng.integers(1, 9))
        N = int(2 ** rng.integers(3, 7))
        F = int(2 ** math.ceil(math.log2(n1))) * int(rng.integers(1, 3))
        U1 = _t(np.abs(rng.standard_normal((n1, N))))
        psi2 = _t(rng.standard_normal(N)) + 1j * _t(rng.standard_normal(N)) * (i % 2)
        psi_fr = _t(rng.standard_normal(F)) + 1j * _t(rng.standard_normal(F))
        phi_t = _t(np.abs(rng.standard_normal(N)))
        phi_f = None if i % 3 == 0 else _t(np.abs(rng.standard_normal(F)))
        want = second_order_path(U1, psi2, psi_fr, phi_t, phi_f)
        got = fn(U1.clone(), psi2.clone(), psi_fr.clone(), phi_t.clone(),
                 None if phi_f is None else phi_f.clone())  # fmt: skip
        case = f"case {i}: n1={n1}, N={N}, F={F}, phi_f={'None' if phi_f is None else 'given'}"
        _close(got, want, case, "second-order path", rtol=1e-8)
    return n_cases


# ----------------------------------------------------------------------- Prop. 3.1
def check_reweighting(fn: Callable[[Tensor, Tensor], Any], n_cases: int = N_CASES) -> int:
    """Grade ``fn(G, probs)``: the reweighted one-path estimates g_p / (P π_p) (Prop. 3.1).

    ``G`` (P, D) holds one gradient per path, ``probs`` (P,) the sampling distribution π > 0.
    Checked against :func:`scrapl_edu.diagnostics.estimator_table` (``reweight=True``), and
    the invariant of Prop. 3.1: Σ_p π_p ĝ_p equals the full gradient mean_p G_p.
    """
    rng = _rng()
    for i in range(n_cases):
        P, D = int(rng.integers(1, 40)), int(rng.integers(1, 6))
        G = _t(rng.standard_normal((P, D)) * _log_uniform(rng, (P, 1)))
        pi = _log_uniform(rng, P, -2, 0) if i % 4 else np.ones(P)
        probs = _t(pi / pi.sum())
        case = f"case {i}: P={P}, D={D}, {'uniform π' if i % 4 == 0 else 'random π'}"
        got = fn(G.clone(), probs.clone())
        _close(got, estimator_table(G, probs, reweight=True), case, "reweighted estimates")
        mean = (probs[:, None] * _as_tensor(got, "estimates")).sum(dim=0)
        _close(mean, G.mean(dim=0), case, "E_π[ĝ] (Prop. 3.1: unbiased)")
    return n_cases


# ---------------------------------------------------------------------- Eq. 6-8, Eq. 9
def _p_adam_cases(rng: np.random.Generator, n: int) -> Iterator[dict[str, Any]]:
    for i in range(n):
        shape = tuple(int(s) for s in rng.integers(1, 5, size=int(rng.integers(1, 3))))
        n_paths = int(rng.integers(1, 70))
        first = i % 3 == 0
        tau = 0 if first else int(rng.integers(1, 200))
        k = tau + int(rng.integers(1, 3 * n_paths + 2))
        grad = _t(rng.standard_normal(shape) * _log_uniform(rng, 1))
        m = None if first else _t(rng.standard_normal(shape) * 0.1)
        v = None if first else _t(np.abs(rng.standard_normal(shape)) * 0.01)
        betas = (float(rng.choice([0.9, 0.5, 0.99])), float(rng.choice([0.999, 0.9, 0.95])))
        eps = float(rng.choice([1e-8, 1e-3]))
        yield dict(grad=grad, m=m, v=v, k=k, tau=tau, n_paths=n_paths, betas=betas, eps=eps)


def check_p_adam_direction(fn: Callable[..., Any], n_cases: int = N_CASES) -> int:
    """Grade ``fn(grad, m, v, *, k, tau, n_paths, betas, eps) -> (g_current, m, v)`` (Eq. 6-8).

    ``m`` and ``v`` are ``None`` at a path's first visit (``tau`` = 0); ``k`` is this step
    (1-based), ``tau`` the step of the path's last visit. Checked against
    :func:`scrapl_edu.optim.p_adam_direction` on random shapes, states, clocks and betas.
    """
    for i, c in enumerate(_p_adam_cases(_rng(), n_cases)):
        want = optim.p_adam_direction(**c)
        got = fn(
            c["grad"].clone(),
            None if c["m"] is None else c["m"].clone(),
            None if c["v"] is None else c["v"].clone(),
            k=c["k"],
            tau=c["tau"],
            n_paths=c["n_paths"],
            betas=c["betas"],
            eps=c["eps"],
        )
        if not isinstance(got, (tuple, list)) or len(got) != 3:
            raise AssertionError("return a tuple (g_current, m_new, v_new)")
        case = (
            f"case {i}: shape {tuple(c['grad'].shape)}, k={c['k']}, tau={c['tau']}, "
            f"P={c['n_paths']}, betas={c['betas']}, eps={c['eps']}"
            + (", first visit (m, v None)" if c["m"] is None else "")
        )
        for name, g, w in zip(("g_current", "m_new", "v_new"), got, want, strict=True):
            _close(g, w, case, name)
    return n_cases


def check_p_saga_direction(fn: Callable[..., Any], n_cases: int = N_CASES) -> int:
    """Grade ``fn(g_current, g_hat_p, g_avg)``: P-SAGA's direction (Eq. 9).

    ``g_hat_p`` is ``None`` at the path's first visit (no table entry yet). Checked against
    :func:`scrapl_edu.optim.p_saga_direction`.
    """
    rng = _rng()
    for i in range(n_cases):
        shape = tuple(int(s) for s in rng.integers(1, 6, size=int(rng.integers(1, 3))))
        g = _t(rng.standard_normal(shape))
        g_hat = None if i % 3 == 0 else _t(rng.standard_normal(shape))
        g_avg = _t(rng.standard_normal(shape))
        want = optim.p_saga_direction(g, g_hat, g_avg)
        got = fn(g.clone(), None if g_hat is None else g_hat.clone(), g_avg.clone())
        case = f"case {i}: shape {shape}" + (
            ", first visit (g_hat_p None)" if g_hat is None else ""
        )
        _close(got, want, case, "P-SAGA direction")
    return n_cases


# ------------------------------------------------------------------------------- Eq. 10
def check_probs_from_importance(fn: Callable[[Tensor], Any], n_cases: int = N_CASES) -> int:
    """Grade ``fn(C) -> π``: Eq. (10), π_p = (1/U) Σ_u C[u, p] / Σ_p' C[u, p'].

    ``C`` (U, P) is non-negative; some cases have a row of zeros (a parameter no path sees),
    which contributes the uniform distribution. Checked against
    :func:`scrapl_edu.sampling.probs_from_importance`, and π must sum to 1.
    """
    rng = _rng()
    for i in range(n_cases):
        U, P = int(rng.integers(1, 5)), int(rng.integers(1, 40))
        C = np.abs(rng.standard_normal((U, P))) * _log_uniform(rng, (U, 1), -4, 4)
        if i % 5 == 4:
            C[int(rng.integers(U))] = 0.0
        C_t = _t(C)
        got = fn(C_t.clone())
        case = f"case {i}: U={U}, P={P}" + (", a zero row" if i % 5 == 4 else "")
        _close(got, probs_from_importance(C_t), case, "π")
        total = float(_as_tensor(got, "π").sum())
        if abs(total - 1.0) > 1e-9:
            raise AssertionError(f"π sums to {total:.6g}, not 1 ({case})")
    return n_cases


# ------------------------------------------------------------ Eq. 12, power iteration
def check_deflated_power_step(fn: Callable[..., Any], n_cases: int = N_CASES) -> int:
    """Grade ``fn(hvp, v, found) -> (lam, v_next)``: one power iteration with deflation.

    ``hvp`` computes H v (a Hessian-vector product); ``v`` has unit norm; ``found`` lists the
    eigenpairs ``(lam_i, u_i)`` already found. One step applies the deflated operator
    H' v = H v − Σ_i lam_i (u_iᵀ v) u_i, returns the Rayleigh quotient vᵀ H' v and
    H' v / ‖H' v‖. Checked against :func:`scrapl_edu.theta_is.deflated_power_step`, and
    iterated: after deflating the top eigenpair the student's steps find the second.
    """
    rng = _rng()
    for i in range(n_cases):
        n = int(rng.integers(2, 9))
        Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        lams = np.sort(_log_uniform(rng, n, -1, 2))[::-1] * rng.choice([-1, 1], size=n)
        order = np.argsort(-np.abs(lams))
        lams, Q = lams[order], Q[:, order]
        H = _t(Q @ np.diag(lams) @ Q.T)
        found = [(float(lams[0]), _t(Q[:, 0]))] if i % 2 else []
        v = _t(rng.standard_normal(n))
        v = v / v.norm()

        def hvp(x: Tensor, H: Tensor = H) -> Tensor:
            return H @ x

        want_lam, want_v = deflated_power_step(hvp, v, found)
        got = fn(hvp, v.clone(), [(lam, u.clone()) for lam, u in found])
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise AssertionError("return a tuple (lam, v_next)")
        case = f"case {i}: n={n}, {len(found)} eigenpair(s) deflated"
        _close(torch.tensor(float(got[0]), dtype=torch.float64), torch.tensor(want_lam), case,
               "Rayleigh quotient")  # fmt: skip
        _close(got[1], want_v, case, "next vector")
    # the property that makes deflation worth it: the second eigenvalue, from the student's steps
    n = 6
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    lams = np.array([8.0, -4.0, 1.0, 0.5, 0.25, 0.1])
    H = _t(Q @ np.diag(lams) @ Q.T)
    v = _t(np.ones(n) / math.sqrt(n))
    lam = 0.0
    for _ in range(200):
        lam, v = fn(lambda x: H @ x, v, [(8.0, _t(Q[:, 0]))])
        v = _as_tensor(v, "next vector")
    if abs(float(lam) - (-4.0)) > 1e-6:
        raise AssertionError(f"deflating λ1 = 8, 200 steps found {float(lam):.4g}, not λ2")
    return n_cases + 1


# ------------------------------------------------------------------- applied-step variance
def check_applied_variance(fn: Callable[..., Any], n_cases: int = N_CASES) -> int:
    """Grade ``fn(D, probs)``: Σ_p π_p ‖d_p − Σ_q π_q d_q‖², the variance of the applied step.

    ``D`` (P, D) holds the step the optimizer would apply if path p were drawn; ``probs``
    is π or ``None`` (uniform). Checked against :func:`scrapl_edu.diagnostics.direction_variance`.
    """
    rng = _rng()
    for i in range(n_cases):
        P, D = int(rng.integers(1, 40)), int(rng.integers(1, 6))
        Dt = _t(rng.standard_normal((P, D)) * _log_uniform(rng, 1) + rng.standard_normal(D))
        pi = None if i % 3 == 0 else _log_uniform(rng, P, -2, 0)
        probs = None if pi is None else _t(pi / pi.sum())
        want = direction_variance(Dt, probs)
        got = fn(Dt.clone(), None if probs is None else probs.clone())
        case = f"case {i}: P={P}, D={D}, {'uniform (probs None)' if probs is None else 'random π'}"
        _close(torch.tensor(float(got), dtype=torch.float64), torch.tensor(want), case,
               "variance")  # fmt: skip
    return n_cases


# -------------------------------------------------------------------- paired effect, CI
def check_paired_effect(fn: Callable[..., Any], n_cases: int = N_CASES) -> int:
    """Grade ``fn(a, b) -> (mean, ci95)``: the paired difference b − a over seeds and the
    half-width of its 95 % t-interval, as the paper's Table 6 reports them.

    ``a`` and ``b`` are numpy arrays of one value per seed (2 to 20 seeds). Checked against
    :func:`scrapl_edu.lessons.paired_summary`.
    """
    rng = _rng()
    for i in range(n_cases):
        n = int(rng.integers(2, 21))
        a = rng.standard_normal(n) * _log_uniform(rng, 1, -2, 2)
        b = a + rng.standard_normal(n) * _log_uniform(rng, 1, -2, 1) + rng.standard_normal()
        want = paired_summary(a, b, better="lower")
        got = fn(a.copy(), b.copy())
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise AssertionError("return a tuple (mean, ci95)")
        case = f"case {i}: {n} seeds"
        _close(torch.tensor(float(got[0])), torch.tensor(want.mean, dtype=torch.float64), case,
               "mean difference")  # fmt: skip
        _close(torch.tensor(float(got[1])), torch.tensor(want.ci95, dtype=torch.float64), case,
               "95% half-width")  # fmt: skip
    return n_cases


# ----------------------------------------------------------------------- sealed predictions
@dataclass(frozen=True)
class Tolerance:
    """How a prediction is graded: ``abs`` (|pred − truth| ≤ tol) or ``factor``
    (pred and truth > 0 and max(pred/truth, truth/pred) ≤ tol)."""

    kind: str
    tol: float

    def accepts(self, pred: float, truth: float) -> bool:
        if not (math.isfinite(pred) and math.isfinite(truth)):
            return False
        if self.kind == "abs":
            return abs(pred - truth) <= self.tol
        if self.kind == "factor":
            return pred > 0 and truth > 0 and max(pred / truth, truth / pred) <= self.tol
        raise ValueError(f"kind must be 'abs' or 'factor', got {self.kind!r}")


#: the course's predictions: key -> tolerance (the questions are in the notebooks)
PREDICTIONS: dict[str, Tolerance] = {
    "01_chirp_gap": Tolerance("abs", 0.15),
    "02_falling_up_share": Tolerance("abs", 0.2),
    "03_mss_kept": Tolerance("abs", 0.3),
    "04_steps_per_full_over_P": Tolerance("abs", 0.25),
    "05_padam_cos_full": Tolerance("abs", 0.25),
    "06_saga_cut": Tolerance("factor", 2.0),
}

_LEDGER: dict[str, dict[str, Any]] = {}
_CLOCK = [0]


def ledger_path() -> Path:
    """Where sealed predictions persist: ``$SCRAPL_EDU_PREDICTIONS``, else
    ``.scrapl_predictions.json`` in the notebook's folder (the kernel's working directory)."""
    env = os.environ.get("SCRAPL_EDU_PREDICTIONS", "").strip()
    return Path(env) if env else Path.cwd() / ".scrapl_predictions.json"


def _digest(key: str, value: float) -> str:
    return hashlib.sha256(f"{key}={value!r}".encode()).hexdigest()


def _read_ledger() -> dict[str, Any]:
    try:
        return json.loads(ledger_path().read_text())
    except (OSError, ValueError):
        return {}


def _seal(key: str, value: float) -> None:
    path = ledger_path()
    data = _read_ledger()
    data[key] = {"value": value, "sha256": _digest(key, value)}
    try:
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=1))
        os.replace(tmp, path)
    except OSError:  # a read-only folder: the seal holds for this kernel only
        pass


def predict(key: str, value: float) -> float:
    """Record the prediction ``value`` for ``key`` (before its reveal); returns it.

    After the reveal (in this kernel, or sealed in the ledger file by an earlier run), a
    different value is refused: a prediction cannot be changed once the answer was shown.
    """
    if key not in PREDICTIONS:
        raise KeyError(f"no prediction named {key!r}; known: {sorted(PREDICTIONS)}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"a prediction must be a finite number, got {value!r}")
    sealed = _LEDGER.get(key, {}).get("revealed_at") is not None
    old = _LEDGER.get(key, {}).get("value")
    stored = _read_ledger().get(key)
    if (stored is not None and stored.get("sha256") != _digest(key, value)) or (
        sealed and old != value
    ):
        raise ValueError(
            f"prediction {key!r} was sealed at its reveal ({ledger_path()}); it cannot change "
            "now. Starting the notebook over means deleting that file, which your instructor "
            "can see in a submission."
        )
    _CLOCK[0] += 1
    _LEDGER[key] = {"value": value, "at": _CLOCK[0], "revealed_at": None}
    return value


def reveal(key: str) -> None:
    """Mark the cell that shows the answer to ``key``; fails unless :func:`predict` ran first."""
    entry = _LEDGER.get(key)
    if entry is None:
        raise AssertionError(
            f"run the prediction cell for {key!r} first: the answer is revealed below"
        )
    _CLOCK[0] += 1
    entry["revealed_at"] = _CLOCK[0]
    _seal(key, entry["value"])


def check_prediction(key: str, truth: float) -> bool:
    """Grade the sealed prediction ``key`` against ``truth`` within :data:`PREDICTIONS`.

    Fails if the prediction was not recorded, or not recorded before its reveal, or is
    outside the tolerance.
    """
    entry = _LEDGER.get(key)
    if entry is None or entry.get("revealed_at") is None or entry["at"] > entry["revealed_at"]:
        raise AssertionError(f"prediction {key!r} was not recorded before its reveal")
    tol = PREDICTIONS[key]
    if not tol.accepts(entry["value"], float(truth)):
        raise AssertionError(f"prediction {key!r} is outside the tolerance ({tol.kind} {tol.tol})")
    return True


def reset_predictions() -> None:
    """Forget this kernel's predictions (tests); the ledger file is left alone."""
    _LEDGER.clear()
