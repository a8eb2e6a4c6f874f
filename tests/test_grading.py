"""The course's graded pieces (scrapl_edu.grading) and the exercises that use them.

* every "build it" exercise: its graded check passes on the solution cell of the notebook
  and fails on the student edition's stub (and on a plausible wrong answer), and its points
  are the checker's weight in ``grading.POINTS``;
* at least 8 build-it exercises, 30 exercises in all, weighted points, a hand-graded capstone
  with a rubric;
* sealed predictions: each is recorded before the cell that reveals it, the reveal refuses
  to run first, a changed value after the reveal is refused (in the kernel and through the
  ledger file), and the grade is a tolerance;
* the library's reference for Eq. (1)'s dense path, checked against a direct loop
  (hypothesis).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from scrapl_edu import curriculum as cur
from scrapl_edu import grading, optim
from scrapl_edu.jtfs import second_order_path
from scrapl_edu.theta_is import deflated_power_step

ROOT = Path(__file__).resolve().parents[1]
NB = ROOT / "notebooks"
SOURCES = cur.notebook_sources(NB)
CHECK = re.compile(r"grading\.(check_(?!prediction)\w+)\((\w+)\)")
NEEDS_OPTIM = {
    "check_p_adam_direction": "p_adam_direction",
    "check_p_saga_direction": "p_saga_direction",
}


def _notebooks() -> dict[str, object]:
    return {p.name[:2]: cur.read_notebook(p) for p in SOURCES}


NOTEBOOKS = _notebooks()


def _build_its() -> list[tuple[str, cur.Exercise, str, str]]:
    """(notebook, exercise, checker name, function name) of every build-it exercise."""
    out = []
    for number, nb in NOTEBOOKS.items():
        for ex in cur.exercises(nb):
            m = CHECK.search(ex.test_source or "")
            if m:
                out.append((number, ex, m.group(1), m.group(2)))
    return out


BUILD_ITS = _build_its()


def _namespace() -> dict[str, object]:
    return {"np": np, "torch": torch, "math": math, "grading": grading}


def _skip_without_optim(checker: str) -> None:
    name = NEEDS_OPTIM.get(checker)
    if name and not hasattr(optim, name):
        pytest.skip(f"scrapl_edu.optim.{name} is not on this branch yet")


def test_at_least_eight_build_it_exercises_weighted_by_difficulty() -> None:
    checkers = sorted({c for _, _, c, _ in BUILD_ITS})
    assert len(BUILD_ITS) >= 8, [ex.grade_id for _, ex, _, _ in BUILD_ITS]
    assert set(checkers) == set(grading.POINTS), checkers
    for _, ex, checker, _ in BUILD_ITS:
        assert ex.test_points == grading.POINTS[checker], (ex.grade_id, ex.test_points)
    assert len(set(grading.POINTS.values())) >= 3  # weighted, not all alike


@pytest.mark.parametrize(
    ("number", "ex", "checker", "fn"), BUILD_ITS, ids=[b[1].grade_id for b in BUILD_ITS]
)
def test_build_it_check_passes_on_solution_and_fails_on_stub(number, ex, checker, fn) -> None:
    _skip_without_optim(checker)
    check = getattr(grading, checker)
    ns = _namespace()
    exec(compile(ex.source, f"{ex.grade_id} (solution)", "exec"), ns)
    assert check(ns[fn]) >= grading.N_CASES
    student = cur.student_version(NOTEBOOKS[number])
    stub = next(
        c.source
        for c in student.cells
        if c.metadata.get("nbgrader", {}).get("grade_id") == ex.grade_id
    )
    assert "raise NotImplementedError" in stub
    ns = _namespace()
    exec(compile(stub, f"{ex.grade_id} (stub)", "exec"), ns)
    with pytest.raises(NotImplementedError):
        check(ns[fn])


# plausible mistakes: each must be caught by its checker
def _wrong_second_order(U1, psi2_f, psi_fr_f, phi_t_f, phi_f_f):  # modulus after averaging
    F = psi_fr_f.shape[0]
    Y2 = torch.fft.ifft(torch.fft.fft(U1, dim=1) * psi2_f, dim=1)
    Z = torch.fft.ifft(torch.fft.fft(Y2, n=F, dim=0) * psi_fr_f[:, None], dim=0)
    S = torch.fft.ifft(torch.fft.fft(Z, dim=1) * phi_t_f, dim=1).abs()
    if phi_f_f is not None:
        S = torch.fft.ifft(torch.fft.fft(S, dim=0) * phi_f_f[:, None], dim=0).real
    return S


WRONG = {
    "check_second_order": _wrong_second_order,
    "check_reweighting": lambda G, probs: G * probs[:, None] * G.shape[0],
    "check_probs_from_importance": lambda C: (C / C.sum()).sum(dim=0),
    "check_deflated_power_step": lambda hvp, v, found: (
        float(v @ hvp(v)),
        hvp(v) / hvp(v).norm(),
    ),
    "check_applied_variance": lambda D, probs: float(D.var(dim=0, unbiased=False).sum()),
    "check_paired_effect": lambda a, b: (
        float(np.mean(b - a)),
        float(1.96 * np.std(b - a, ddof=1) / np.sqrt(len(a))),
    ),
    "check_p_saga_direction": lambda g, h, avg: g - (0 if h is None else h),
}


@pytest.mark.parametrize("checker", sorted(WRONG))
def test_checkers_catch_a_plausible_mistake(checker) -> None:
    _skip_without_optim(checker)
    with pytest.raises(AssertionError):
        getattr(grading, checker)(WRONG[checker])


def test_the_paired_effect_checker_rejects_the_normal_quantile() -> None:
    """1.96 instead of t_{0.975, n-1}: wrong for small samples, which the checker draws."""
    with pytest.raises(AssertionError, match="95% half-width"):
        grading.check_paired_effect(WRONG["check_paired_effect"])


def test_course_size_and_capstone() -> None:
    all_ex = [ex for nb in NOTEBOOKS.values() for ex in cur.exercises(nb)]
    assert len(all_ex) >= 30, len(all_ex)
    for number, nb in NOTEBOOKS.items():
        assert cur.exercises(nb), f"notebook {number} has no exercise"
    points = [ex.test_points or ex.points for ex in all_ex]
    assert len(set(points)) >= 3
    manual = [ex for ex in all_ex if ex.cell_type == "markdown"]
    assert manual and max(ex.points for ex in manual) >= 10
    capstone_text = cur.notebook_text(NOTEBOOKS["08"], kinds=("markdown",))
    assert "Rubric" in capstone_text and "| points | criterion |" in capstone_text


# ----------------------------------------------------------------------- predictions
def _prediction_cells(nb) -> dict[str, dict[str, int]]:
    where: dict[str, dict[str, int]] = {}
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for kind in ("predict", "reveal", "check_prediction"):
            for key in re.findall(rf"grading\.{kind}\(\"(\w+)\"", cell.source):
                where.setdefault(key, {})[kind] = i
    return where


def test_every_prediction_is_sealed_before_its_reveal() -> None:
    found = {}
    for number, nb in NOTEBOOKS.items():
        for key, at in _prediction_cells(nb).items():
            assert set(at) == {"predict", "reveal", "check_prediction"}, (number, key, at)
            assert at["predict"] < at["reveal"] <= at["check_prediction"], (number, key, at)
            cell = nb.cells[at["predict"]]
            assert cell.metadata["nbgrader"]["solution"], (number, key)
            graded = nb.cells[at["check_prediction"]].metadata["nbgrader"]
            assert graded["grade"] and graded["locked"] and graded["points"] > 0
            found[key] = number
    assert set(found) == set(grading.PREDICTIONS), sorted(found)


@pytest.fixture
def ledger(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "ledger.json"
    monkeypatch.setenv("SCRAPL_EDU_PREDICTIONS", str(path))
    grading.reset_predictions()
    yield path
    grading.reset_predictions()


def test_prediction_flow(ledger) -> None:
    with pytest.raises(AssertionError, match="run the prediction cell"):
        grading.reveal("06_saga_cut")
    grading.predict("06_saga_cut", 1.5)
    with pytest.raises(AssertionError, match="before its reveal"):
        grading.check_prediction("06_saga_cut", 1.35)
    grading.reveal("06_saga_cut")
    assert grading.check_prediction("06_saga_cut", 1.35)
    with pytest.raises(AssertionError, match="outside the tolerance"):
        grading.check_prediction("06_saga_cut", 10.0)
    with pytest.raises(ValueError, match="sealed"):
        grading.predict("06_saga_cut", 1.35)  # no change after the answer was shown
    grading.predict("06_saga_cut", 1.5)  # re-running the same prediction is fine
    grading.reset_predictions()  # a restarted kernel: the ledger file still holds the seal
    with pytest.raises(ValueError, match="sealed"):
        grading.predict("06_saga_cut", 1.3)
    with pytest.raises(KeyError):
        grading.predict("no_such_key", 1.0)


def test_tolerances() -> None:
    assert grading.Tolerance("abs", 0.2).accepts(0.3, 0.45)
    assert not grading.Tolerance("abs", 0.2).accepts(0.3, 0.55)
    assert grading.Tolerance("factor", 2.0).accepts(1.0, 1.9)
    assert not grading.Tolerance("factor", 2.0).accepts(1.0, 2.1)
    assert not grading.Tolerance("factor", 2.0).accepts(-1.0, 1.0)
    with pytest.raises(ValueError):
        grading.Tolerance("relative", 1.0).accepts(1.0, 1.0)


# ------------------------------------------------------------------- library references
@settings(max_examples=30, deadline=None)
@given(
    n1=st.integers(1, 4),
    N=st.sampled_from([4, 8]),
    pad=st.integers(0, 3),
    spin=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_second_order_path_is_the_convolution_chain(n1, N, pad, spin, seed) -> None:
    """Eq. (1) for one path, by direct circular sums (no FFT), equals the library's."""
    rng = np.random.default_rng(seed)
    F = n1 + pad
    U1 = np.abs(rng.standard_normal((n1, N)))
    h2, hfr = rng.standard_normal(N), rng.standard_normal(F) + 1j * rng.standard_normal(F)
    ht, hf = rng.standard_normal(N), rng.standard_normal(F)

    def circ(x, h, axis):  # circular convolution along axis with the filter whose DFT is h
        k = np.fft.ifft(h)
        x = np.moveaxis(x, axis, -1)
        n = x.shape[-1]
        out = np.zeros_like(x, dtype=complex)
        for t in range(n):
            for s in range(n):
                out[..., t] += x[..., s] * k[(t - s) % n]
        return np.moveaxis(out, -1, axis)

    Y2 = circ(U1.astype(complex), h2, 1)
    Y2 = np.concatenate([Y2, np.zeros((pad, N))], axis=0)
    S = circ(np.abs(circ(Y2, hfr, 0)), ht, 1).real
    if spin:
        S = circ(S, hf, 0).real
    got = second_order_path(
        torch.as_tensor(U1),
        torch.as_tensor(h2.astype(complex)),
        torch.as_tensor(hfr),
        torch.as_tensor(ht.astype(complex)),
        torch.as_tensor(hf.astype(complex)) if spin else None,
    )
    assert np.allclose(got.numpy(), S, atol=1e-9 * max(1.0, np.abs(S).max()))


def test_deflated_power_step_finds_the_second_eigenvalue() -> None:
    gen = torch.Generator().manual_seed(0)
    Q, _ = torch.linalg.qr(torch.randn(5, 5, generator=gen, dtype=torch.float64))
    lams = torch.tensor([5.0, -3.0, 1.0, 0.5, 0.1], dtype=torch.float64)
    H = Q @ torch.diag(lams) @ Q.T
    v = torch.ones(5, dtype=torch.float64) / 5**0.5
    for _ in range(300):
        lam, v = deflated_power_step(lambda x: H @ x, v, [(5.0, Q[:, 0])])
    assert abs(lam + 3.0) < 1e-9
    lam0, _ = deflated_power_step(lambda x: H @ x, Q[:, 0], [])
    assert abs(lam0 - 5.0) < 1e-12
    zero_lam, same = deflated_power_step(lambda x: 0 * x, v)
    assert zero_lam == 0.0 and torch.equal(same, v)
