"""Tests of SCRAPLOptimizer (P-Adam Eq. 6-8, P-SAGA Eq. 9, Algorithm 1)."""

from __future__ import annotations

import copy
import io
import math
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import scrapl_edu.optim as optim_module
from scrapl_edu.optim import (
    SCRAPLOptimizer,
    adam_direction,
    p_adam_direction,
    p_saga_direction,
)
from scrapl_edu.sampling import PathSampler

FAST = settings(max_examples=40, deadline=None)
FIXTURE = Path(__file__).parent / "fixtures" / "optim_state_v0.pt"


def _mlp(seed: int = 0, dtype: torch.dtype = torch.float32) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 2)).to(dtype)


# ---------------------------------------------------------------- AdamW equivalence
@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
@pytest.mark.parametrize("foreach", [False, None])
def test_both_off_is_torch_adamw_bit_for_bit(weight_decay: float, foreach: bool | None) -> None:
    ref = _mlp()
    ours = copy.deepcopy(ref)
    groups_ref = [
        {"params": ref[0].parameters(), "lr": 3e-3},
        {"params": ref[2].parameters()},
    ]
    groups_ours = [
        {"params": ours[0].parameters(), "lr": 3e-3},
        {"params": ours[2].parameters()},
    ]
    opt_ref = torch.optim.AdamW(
        groups_ref, lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=weight_decay, foreach=foreach
    )
    opt_ours = SCRAPLOptimizer(
        groups_ours,
        n_paths=4,
        lr=1e-2,
        betas=(0.8, 0.99),
        eps=1e-6,
        weight_decay=weight_decay,
        p_adam=False,
        p_saga=False,
    )
    gen = torch.Generator().manual_seed(1)
    for k in range(150):
        x = torch.randn(16, 5, generator=gen)
        for model, opt in ((ref, opt_ref), (ours, opt_ours)):
            opt.zero_grad()
            model(x).pow(2).mean().backward()
            opt.step() if model is ref else opt.step(path=k % 4 if k % 2 else None)
    for a, b in zip(ref.parameters(), ours.parameters(), strict=True):
        assert torch.equal(a, b)


def test_both_off_is_torch_adam_without_weight_decay() -> None:
    ref = _mlp(3)
    ours = copy.deepcopy(ref)
    opt_ref = torch.optim.Adam(ref.parameters(), lr=5e-3)
    opt_ours = SCRAPLOptimizer(ours.parameters(), n_paths=1, lr=5e-3, p_adam=False, p_saga=False)
    gen = torch.Generator().manual_seed(2)
    for _ in range(100):
        x = torch.randn(8, 5, generator=gen)
        for model, opt in ((ref, opt_ref), (ours, opt_ours)):
            opt.zero_grad()
            (model(x) - 1).pow(2).sum().backward()
            opt.step()
    for a, b in zip(ref.parameters(), ours.parameters(), strict=True):
        assert (a - b).abs().max().item() <= 1e-7


# -------------------------------------------------------- Algorithm 1 by hand
PATHS = [0, 1, 0, 2, 2, 1, 0]
GRADS = [
    [0.5, -1.0],
    [2.0, 0.25],
    [-0.75, 0.5],
    [1.5, 1.5],
    [0.1, -0.2],
    [-3.0, 0.4],
    [0.3, 0.9],
]
W0 = [0.2, -0.4]
LR, B1, B2, EPS, WD = 0.1, 0.9, 0.999, 1e-8, 0.0
P = 3


def _algorithm1_oracle(
    paths: list[int],
    grads: list[list[float]],
    w0: list[float],
    n_paths: int,
    *,
    p_adam: bool,
    p_saga: bool | list[bool],
    lr: float = LR,
    betas: tuple[float, float] = (B1, B2),
    eps: float = EPS,
    wd: float = WD,
) -> list[list[float]]:
    """Algorithm 1 with plain Python floats, line by line from the paper.

    ``p_saga`` may be one switch per step: while it is off the table ĝ and Γ are left as
    they are (the optimizer's documented behaviour when P-SAGA is turned off and on).
    """
    b1, b2 = betas
    n = len(w0)
    w = list(w0)
    tau = [0] * n_paths
    m = [[0.0] * n for _ in range(n_paths)]
    v = [[0.0] * n for _ in range(n_paths)]
    g_hat = [[0.0] * n for _ in range(n_paths)]
    gamma: list[int] = []
    m_shared, v_shared = [0.0] * n, [0.0] * n
    saga = p_saga if isinstance(p_saga, list) else [p_saga] * len(paths)
    history = []
    for k, (p, g) in enumerate(zip(paths, grads, strict=True), start=1):
        w = [wi * (1 - lr * wd) for wi in w]
        g_current = [0.0] * n
        for i in range(n):
            if p_adam:
                a1 = b1 ** ((k - tau[p]) / n_paths)
                a2 = b2 ** ((k - tau[p]) / n_paths)
                m[p][i] = a1 * m[p][i] + (1 - a1) * g[i]  # Eq. (6)
                v[p][i] = a2 * v[p][i] + (1 - a2) * g[i] * g[i]  # Eq. (7)
                m_hat = m[p][i] / (1 - b1 ** (k / n_paths))
                v_hat = v[p][i] / (1 - b2 ** (k / n_paths))
            else:
                m_shared[i] = b1 * m_shared[i] + (1 - b1) * g[i]
                v_shared[i] = b2 * v_shared[i] + (1 - b2) * g[i] * g[i]
                m_hat = m_shared[i] / (1 - b1**k)
                v_hat = v_shared[i] / (1 - b2**k)
            g_current[i] = m_hat / (eps + math.sqrt(v_hat))  # Eq. (8)
        tau[p] = k
        if saga[k - 1]:
            g_avg = [sum(g_hat[q][i] for q in gamma) / max(1, len(gamma)) for i in range(n)]
            g_saga = [g_current[i] - g_hat[p][i] + g_avg[i] for i in range(n)]  # Eq. (9)
            g_hat[p] = list(g_current)
            if p not in gamma:
                gamma.append(p)
        else:
            g_saga = g_current
        w = [w[i] - lr * g_saga[i] for i in range(n)]
        history.append(list(w))
    return history


def _algorithm1_by_hand(p_adam: bool, p_saga: bool, wd: float = WD) -> list[list[float]]:
    return _algorithm1_oracle(PATHS, GRADS, W0, P, p_adam=p_adam, p_saga=p_saga, wd=wd)


@pytest.mark.parametrize(
    ("p_adam", "p_saga", "wd"),
    [(True, True, 0.0), (True, False, 0.0), (False, True, 0.0), (True, True, 0.01)],
)
def test_algorithm1_hand_computed(p_adam: bool, p_saga: bool, wd: float) -> None:
    expected = _algorithm1_by_hand(p_adam, p_saga, wd)
    w = nn.Parameter(torch.tensor(W0, dtype=torch.float64))
    opt = SCRAPLOptimizer(
        [w],
        n_paths=P,
        lr=LR,
        betas=(B1, B2),
        eps=EPS,
        weight_decay=wd,
        p_adam=p_adam,
        p_saga=p_saga,
    )
    for step, (p, g) in enumerate(zip(PATHS, GRADS, strict=True)):
        w.grad = torch.tensor(g, dtype=torch.float64)
        opt.step(path=p)
        assert w.detach().tolist() == pytest.approx(expected[step], rel=1e-12, abs=1e-14)
    assert opt.global_step == len(PATHS)
    assert opt.visited_paths == [0, 1, 2]


def test_saga_mean_semantics_at_first_visits() -> None:
    """Eq. (9) reads Γ and ĝ before the update and divides by max(1, card Γ)."""
    w_saga = nn.Parameter(torch.zeros(2, dtype=torch.float64))
    w_plain = nn.Parameter(torch.zeros(2, dtype=torch.float64))
    opt_saga = SCRAPLOptimizer([w_saga], n_paths=4, lr=1.0, p_saga=True)
    opt_plain = SCRAPLOptimizer([w_plain], n_paths=4, lr=1.0, p_saga=False)
    grads = {0: [1.0, -2.0], 1: [0.5, 4.0], 2: [-1.0, 1.0]}
    seq = [0, 1, 0, 2]
    g_cur = []
    for opt, w, out in ((opt_plain, w_plain, g_cur), (opt_saga, w_saga, None)):
        prev = w.detach().clone()
        deltas = []
        for p in seq:
            w.grad = torch.tensor(grads[p], dtype=torch.float64)
            opt.step(path=p)
            deltas.append(prev - w.detach())  # lr = 1: the update direction
            prev = w.detach().clone()
        if out is not None:
            out.extend(deltas)
        else:
            d_saga = deltas
    g0, g1, g0b, g2 = g_cur  # P-Adam's g_current (independent of P-SAGA)
    # k=1, Γ = ∅: g_SAGA = g_current
    torch.testing.assert_close(d_saga[0], g0, rtol=0, atol=1e-14)
    # k=2, new path 1, Γ = {0}: ĝ_1 = 0, mean = ĝ_0
    torch.testing.assert_close(d_saga[1], g1 + g0, rtol=0, atol=1e-14)
    # k=3, revisit 0, Γ = {0, 1}: divide by 2 (scrapl-loss would divide by 1)
    torch.testing.assert_close(d_saga[2], g0b - g0 + (g0 + g1) / 2, rtol=0, atol=1e-14)
    # k=4, new path 2, Γ = {0, 1}: ĝ_0 is now g0b
    torch.testing.assert_close(d_saga[3], g2 + (g0b + g1) / 2, rtol=0, atol=1e-14)


def test_running_sum_matches_table() -> None:
    model = _mlp(4)
    opt = SCRAPLOptimizer(model.parameters(), n_paths=6, lr=1e-2)
    sampler = PathSampler(6, seed=0)
    gen = torch.Generator().manual_seed(0)
    for _ in range(60):
        opt.zero_grad()
        model(torch.randn(4, 5, generator=gen)).pow(2).mean().backward()
        opt.step(path=sampler.sample())
    for p in model.parameters():
        st = opt.state[p]
        exact = torch.stack([t.double() for t in st["g_hat"].values()]).sum(0)
        torch.testing.assert_close(st["g_sum"], exact, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------ memory
@pytest.mark.parametrize(("dtype", "size"), [(None, 4), (torch.bfloat16, 2), (torch.float16, 2)])
def test_lazy_state_and_memory_report(dtype: torch.dtype | None, size: int) -> None:
    model = _mlp(5)
    n_w = sum(p.numel() for p in model.parameters())
    opt = SCRAPLOptimizer(model.parameters(), n_paths=50, state_dtype=dtype)
    assert opt.memory_report()["bytes_used"] == 0
    for p in (3, 17, 3):
        opt.zero_grad()
        model(torch.randn(4, 5)).sum().backward()
        opt.step(path=p)
    rep = opt.memory_report()
    assert rep["n_visited"] == 2
    assert rep["bytes_per_path_state"] == 2 * 3 * n_w * size  # m_p, v_p, ĝ_p for 2 paths
    assert rep["bytes_used"] == rep["bytes_per_path_state"] + 8 * n_w  # + float64 sum
    assert rep["bytes_reference"] == 3 * 50 * n_w * 4
    if dtype is not None:
        st = opt.state[next(iter(model.parameters()))]
        assert st["m"][3].dtype == dtype and st["g_hat"][17].dtype == dtype


# ------------------------------------------------------------------ resume
def _train(model, opt, sampler, n_steps: int, gen: torch.Generator) -> None:
    for _ in range(n_steps):
        x = torch.randn(8, 5, generator=gen)
        p = sampler.sample()
        opt.zero_grad()
        out = model(x)
        loss = (out[:, p % 2] - x[:, p]).pow(2).mean() * 3
        loss.backward()
        opt.step(path=p)


@pytest.mark.parametrize(
    ("p_adam", "p_saga", "dtype"),
    [(True, True, None), (True, False, None), (False, True, None), (True, True, torch.bfloat16)],
)
def test_resume_from_checkpoint_is_bit_identical(p_adam, p_saga, dtype) -> None:
    def make():
        model = _mlp(7)
        opt = SCRAPLOptimizer(
            model.parameters(), n_paths=5, lr=1e-2, weight_decay=0.01, p_adam=p_adam,
            p_saga=p_saga, state_dtype=dtype,
        )  # fmt: skip
        return model, opt, PathSampler(5, seed=11)

    model, opt, sampler = make()
    gen = torch.Generator().manual_seed(3)
    _train(model, opt, sampler, 40, gen)

    model2, opt2, sampler2 = make()
    gen2 = torch.Generator().manual_seed(3)
    _train(model2, opt2, sampler2, 23, gen2)
    buf = io.BytesIO()
    torch.save(
        {
            "model": model2.state_dict(),
            "opt": opt2.state_dict(),
            "sampler": sampler2.state_dict(),
            "gen": gen2.get_state(),
        },
        buf,
    )
    del model2, opt2, sampler2
    buf.seek(0)
    ckpt = torch.load(buf, weights_only=True)  # the state holds only tensors and plain data
    model3, opt3, sampler3 = make()
    model3.load_state_dict(ckpt["model"])
    opt3.load_state_dict(ckpt["opt"])
    sampler3.load_state_dict(ckpt["sampler"])
    gen3 = torch.Generator()
    gen3.set_state(ckpt["gen"])
    _train(model3, opt3, sampler3, 17, gen3)
    for a, b in zip(model.parameters(), model3.parameters(), strict=True):
        assert torch.equal(a, b)
    assert opt3.global_step == 40
    if dtype is not None:
        st = opt3.state[next(iter(model3.parameters()))]
        assert all(t.dtype == dtype for t in st["m"].values())


def test_load_state_dict_rejects_other_configuration() -> None:
    model = _mlp()
    opt = SCRAPLOptimizer(model.parameters(), n_paths=5)
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="n_paths"):
        SCRAPLOptimizer(model.parameters(), n_paths=6).load_state_dict(sd)
    with pytest.raises(ValueError, match="p_saga"):
        SCRAPLOptimizer(model.parameters(), n_paths=5, p_saga=False).load_state_dict(sd)


# ------------------------------------------------------------------ errors
def test_step_without_path_is_an_error() -> None:
    model = _mlp()
    model(torch.randn(2, 5)).sum().backward()
    for flags in ({"p_adam": True, "p_saga": False}, {"p_adam": False, "p_saga": True}):
        opt = SCRAPLOptimizer(model.parameters(), n_paths=3, **flags)
        with pytest.raises(ValueError, match="path"):
            opt.step()


@pytest.mark.parametrize("bad", [-1, 3, 10, 1.0, "0", True])
def test_path_out_of_range(bad) -> None:
    model = _mlp()
    model(torch.randn(2, 5)).sum().backward()
    opt = SCRAPLOptimizer(model.parameters(), n_paths=3)
    with pytest.raises(ValueError, match=r"path must be an integer in \[0, 2\]"):
        opt.step(path=bad)


def test_path_accepts_integer_tensor() -> None:
    model = _mlp()
    model(torch.randn(2, 5)).sum().backward()
    opt = SCRAPLOptimizer(model.parameters(), n_paths=3)
    opt.step(path=torch.tensor(2))
    assert opt.visited_paths == [2]


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"lr": -1e-3}, "lr"),
        ({"betas": (1.0, 0.999)}, r"betas\[0\]"),
        ({"betas": (0.9, -0.1)}, r"betas\[1\]"),
        ({"betas": (0.9,)}, "betas"),
        ({"eps": -1.0}, "eps"),
        ({"weight_decay": -0.1}, "weight_decay"),
        ({"n_paths": 0}, "n_paths"),
        ({"n_paths": 2.5}, "n_paths"),
        ({"state_dtype": torch.int8}, "state_dtype"),
    ],
)
def test_bad_hyperparameters(kwargs, name) -> None:
    args = {"n_paths": 3, **kwargs}
    with pytest.raises(ValueError, match=name):
        SCRAPLOptimizer(_mlp().parameters(), **args)


@pytest.mark.parametrize("old", [3, np.int64(1), torch.tensor(2)])
def test_positional_path_is_refused(old) -> None:
    """step(closure=None, *, path=None): the old form step(3) names the keyword to use."""
    model = _mlp()
    model(torch.randn(2, 5)).sum().backward()
    opt = SCRAPLOptimizer(model.parameters(), n_paths=3)
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(TypeError, match=r"keyword-only: call step\(path="):
        opt.step(old)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert opt.global_step == 0
    with pytest.raises(TypeError, match="closure must be a callable"):
        opt.step("0")


def test_step_calls_the_closure_with_grad_enabled() -> None:
    model = _mlp()
    x = torch.randn(4, 5)
    opt = SCRAPLOptimizer(model.parameters(), n_paths=3)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = model(x).pow(2).sum()
        loss.backward()
        return loss

    loss = opt.step(closure, path=1)
    assert loss is not None and loss.requires_grad
    assert opt.visited_paths == [1]


# ------------------------------------------------------------ pure functions
def _tensors(seed: int, shape: list[int], n: int) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=gen, dtype=torch.float64) for _ in range(n)]


shapes = st.lists(st.integers(min_value=1, max_value=4), min_size=0, max_size=3)
betas_st = st.tuples(
    st.floats(min_value=0.0, max_value=0.99), st.floats(min_value=0.5, max_value=0.9999)
)


@FAST
@given(
    shape=shapes,
    seed=st.integers(0, 2**16),
    k=st.integers(1, 60),
    tau_frac=st.floats(0.0, 0.999),
    n_paths=st.integers(1, 40),
    betas=betas_st,
    eps=st.floats(1e-10, 1e-3),
    first=st.booleans(),
)
def test_p_adam_direction_is_eq_6_to_8(shape, seed, k, tau_frac, n_paths, betas, eps, first):
    """Element by element against Eq. (6)-(8) in Python floats, at first visits and revisits."""
    tau = 0 if first else int(tau_frac * k)
    grad, m, v = _tensors(seed, shape, 3)
    v = v.abs()
    g_current, m_new, v_new = p_adam_direction(
        grad, None if first else m, None if first else v,
        k=k, tau=tau, n_paths=n_paths, betas=betas, eps=eps,
    )  # fmt: skip
    assert g_current.shape == m_new.shape == v_new.shape == grad.shape
    b1, b2 = betas
    a1, a2 = b1 ** ((k - tau) / n_paths), b2 ** ((k - tau) / n_paths)
    for i, g in enumerate(grad.reshape(-1).tolist()):
        m0 = 0.0 if first else m.reshape(-1)[i].item()
        v0 = 0.0 if first else v.reshape(-1)[i].item()
        m1 = a1 * m0 + (1 - a1) * g  # Eq. (6)
        v1 = a2 * v0 + (1 - a2) * g * g  # Eq. (7)
        want = (m1 / (1 - b1 ** (k / n_paths))) / (eps + math.sqrt(v1 / (1 - b2 ** (k / n_paths))))
        assert m_new.reshape(-1)[i].item() == pytest.approx(m1, rel=1e-12, abs=1e-300)
        assert v_new.reshape(-1)[i].item() == pytest.approx(v1, rel=1e-12, abs=1e-300)
        assert g_current.reshape(-1)[i].item() == pytest.approx(want, rel=1e-10, abs=1e-300)


def test_p_adam_direction_first_visit_equals_zero_moments() -> None:
    grad, m, _ = _tensors(0, [5], 3)
    zero = torch.zeros(5, dtype=torch.float64)
    kw = {"k": 4, "tau": 0, "n_paths": 3, "betas": (0.9, 0.999), "eps": 1e-8}
    for a, b in zip(
        p_adam_direction(grad, None, None, **kw),
        p_adam_direction(grad, zero, zero, **kw),
        strict=True,
    ):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="both be tensors or both be None"):
        p_adam_direction(grad, m, None, **kw)
    with pytest.raises(ValueError, match="0 <= tau < k"):
        p_adam_direction(grad, m, m.abs(), **{**kw, "tau": 4})


def test_pure_functions_compute_in_the_gradient_dtype() -> None:
    """Moments and table entries stored in bfloat16 are read in the gradient's precision."""
    grad = torch.randn(6)
    m, v = torch.randn(6).to(torch.bfloat16), torch.rand(6).to(torch.bfloat16)
    kw = {"k": 5, "tau": 2, "n_paths": 3, "betas": (0.9, 0.999), "eps": 1e-8}
    out = p_adam_direction(grad, m, v, **kw)
    ref = p_adam_direction(grad, m.float(), v.float(), **kw)
    assert all(t.dtype == torch.float32 for t in out)
    assert all(torch.equal(a, b) for a, b in zip(out, ref, strict=True))
    g_avg = torch.randn(6, dtype=torch.float64)
    d = p_saga_direction(grad, m, g_avg)
    assert d.dtype == torch.float32
    assert torch.equal(d, grad - m.float() + g_avg.float())


@FAST
@given(shape=shapes, seed=st.integers(0, 2**16), first=st.booleans())
def test_p_saga_direction_is_eq_9(shape, seed, first) -> None:
    g_current, g_hat, g_avg = _tensors(seed, shape, 3)
    got = p_saga_direction(g_current, None if first else g_hat, g_avg)
    for i, g in enumerate(g_current.reshape(-1).tolist()):
        h = 0.0 if first else g_hat.reshape(-1)[i].item()  # ĝ_p = 0 at a first visit
        assert got.reshape(-1)[i].item() == pytest.approx(g - h + g_avg.reshape(-1)[i].item())


@FAST
@given(
    shape=shapes,
    seed=st.integers(0, 2**16),
    step=st.integers(1, 60),
    betas=betas_st,
    eps=st.floats(1e-10, 1e-3),
    first=st.booleans(),
)
def test_adam_direction_is_shared_adam(shape, seed, step, betas, eps, first) -> None:
    grad, m, v = _tensors(seed, shape, 3)
    v = v.abs()
    g_current, m_new, v_new = adam_direction(
        grad, None if first else m, None if first else v, step=step, betas=betas, eps=eps
    )
    b1, b2 = betas
    for i, g in enumerate(grad.reshape(-1).tolist()):
        m0 = 0.0 if first else m.reshape(-1)[i].item()
        v0 = 0.0 if first else v.reshape(-1)[i].item()
        m1, v1 = b1 * m0 + (1 - b1) * g, b2 * v0 + (1 - b2) * g * g
        want = (m1 / (1 - b1**step)) / (math.sqrt(v1) / math.sqrt(1 - b2**step) + eps)
        assert m_new.reshape(-1)[i].item() == pytest.approx(m1, rel=1e-12, abs=1e-15)
        assert v_new.reshape(-1)[i].item() == pytest.approx(v1, rel=1e-12, abs=1e-300)
        assert g_current.reshape(-1)[i].item() == pytest.approx(want, rel=1e-9, abs=1e-12)


@FAST
@given(
    n_paths=st.integers(1, 5),
    raw_paths=st.lists(st.integers(0, 4), min_size=1, max_size=12),
    seed=st.integers(0, 2**16),
    p_adam=st.booleans(),
    p_saga=st.booleans(),
    wd=st.sampled_from([0.0, 0.03]),
)
def test_step_follows_the_algorithm1_oracle(n_paths, raw_paths, seed, p_adam, p_saga, wd) -> None:
    """SCRAPLOptimizer.step against Algorithm 1 in Python floats, for random path sequences."""
    paths = [p % n_paths for p in raw_paths]
    gen = torch.Generator().manual_seed(seed)
    grads = torch.randn(len(paths), 3, generator=gen, dtype=torch.float64).tolist()
    w0 = [0.3, -0.2, 0.05]
    want = _algorithm1_oracle(paths, grads, w0, n_paths, p_adam=p_adam, p_saga=p_saga, wd=wd)
    w = nn.Parameter(torch.tensor(w0, dtype=torch.float64))
    opt = SCRAPLOptimizer(
        [w], n_paths=n_paths, lr=LR, betas=(B1, B2), eps=EPS, weight_decay=wd,
        p_adam=p_adam, p_saga=p_saga,
    )  # fmt: skip
    for step, (p, g) in enumerate(zip(paths, grads, strict=True)):
        w.grad = torch.tensor(g, dtype=torch.float64)
        opt.step(path=p)
        assert w.detach().tolist() == pytest.approx(want[step], rel=1e-10, abs=1e-12)


@pytest.mark.parametrize(("p_adam", "p_saga"), [(True, True), (True, False), (False, True)])
def test_step_calls_the_pure_functions(monkeypatch, p_adam, p_saga) -> None:
    """step() gathers state and calls Eq. (6)-(8) / Eq. (9) from the module's functions."""
    calls: list[str] = []

    def spy(name):
        real = getattr(optim_module, name)

        def wrapped(*args, **kwargs):
            calls.append(name)
            return real(*args, **kwargs)

        return wrapped

    for name in ("p_adam_direction", "adam_direction", "p_saga_direction"):
        monkeypatch.setattr(optim_module, name, spy(name))
    model = _mlp()
    opt = SCRAPLOptimizer(model.parameters(), n_paths=3, p_adam=p_adam, p_saga=p_saga)
    model(torch.randn(2, 5)).sum().backward()
    opt.step(path=1)
    n = len(list(model.parameters()))
    want = ["p_adam_direction" if p_adam else "adam_direction"] * n
    want += ["p_saga_direction"] * n if p_saga else []
    assert sorted(calls) == sorted(want)


# ------------------------------------------------------------ torch's shape
def test_switches_live_in_param_groups_and_state_dict() -> None:
    model = _mlp()
    opt = SCRAPLOptimizer(model.parameters(), n_paths=4, p_saga=False, state_dtype=torch.bfloat16)
    for key, value in (("n_paths", 4), ("p_adam", True), ("p_saga", False)):
        assert opt.defaults[key] == value and opt.param_groups[0][key] == value
    assert opt.param_groups[0]["state_dtype"] is torch.bfloat16
    assert not hasattr(SCRAPLOptimizer, "_EXTRA_ATTRS")
    assert "__getstate__" not in SCRAPLOptimizer.__dict__
    model(torch.randn(2, 5)).sum().backward()
    opt.step(path=2)
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}  # torch's, no private entry
    buf = io.BytesIO()
    torch.save(sd, buf)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=True)
    assert loaded["param_groups"][0]["state_dtype"] is torch.bfloat16
    assert loaded["state"][0]["step"] == 1 and loaded["state"][0]["tau"] == {2: 1}


def test_copies_keep_the_switches() -> None:
    """No custom __getstate__: deepcopy and pickle carry the switches in param_groups."""
    model = _mlp()
    opt = SCRAPLOptimizer(model.parameters(), n_paths=3, p_saga=False, lr=1e-2)
    model(torch.randn(2, 5)).sum().backward()
    opt.step(path=0)
    m2, o2 = copy.deepcopy((model, opt))
    m3, o3 = pickle.loads(pickle.dumps((model, opt)))
    x = torch.randn(2, 5)
    for m, o in ((model, opt), (m2, o2), (m3, o3)):
        assert (o.n_paths, o.p_adam, o.p_saga, o.global_step) == (3, True, False, 1)
        o.zero_grad()
        m(x).pow(2).sum().backward()
        o.step(path=1)
    for a, b, c in zip(model.parameters(), m2.parameters(), m3.parameters(), strict=True):
        assert torch.equal(a, b) and torch.equal(a, c)


def test_per_group_switches() -> None:
    """A group with both switches off is torch's AdamW while the other runs Algorithm 1."""
    ref = _mlp(2)
    ours = copy.deepcopy(ref)
    opt = SCRAPLOptimizer(
        [{"params": ours[0].parameters()}, {"params": ours[2].parameters(), "p_adam": False,
          "p_saga": False}],
        n_paths=3, lr=1e-2,
    )  # fmt: skip
    scrapl = SCRAPLOptimizer(ref[0].parameters(), n_paths=3, lr=1e-2)
    adamw = torch.optim.AdamW(ref[2].parameters(), lr=1e-2, weight_decay=0.0, foreach=False)
    gen = torch.Generator().manual_seed(0)
    for k in range(20):
        x = torch.randn(4, 5, generator=gen)
        for model in (ref, ours):
            model.zero_grad()
            model(x).pow(2).mean().backward()
        opt.step(path=k % 3)
        scrapl.step(path=k % 3)
        adamw.step()
    for a, b in zip(ref.parameters(), ours.parameters(), strict=True):
        assert torch.equal(a, b)
    assert opt.visited_paths == [0, 1, 2]
    with pytest.raises(ValueError, match="param groups differ in p_adam"):
        _ = opt.p_adam
    with pytest.raises(ValueError, match="n_paths is one number"):
        opt.add_param_group({"params": [nn.Parameter(torch.zeros(2))], "n_paths": 5})
    with pytest.raises(ValueError, match="p_saga must be True or False"):
        opt.add_param_group({"params": [nn.Parameter(torch.zeros(2))], "p_saga": "yes"})
    assert len(opt.param_groups) == 2


# ------------------------------------------------------------ changed switches
def test_p_adam_changed_after_the_first_step_is_refused() -> None:
    model = _mlp()
    for first in (True, False):
        opt = SCRAPLOptimizer(model.parameters(), n_paths=3, p_adam=first)
        model.zero_grad()
        model(torch.randn(2, 5)).sum().backward()
        opt.step(path=0)
        opt.p_adam = not first
        before = [w.detach().clone() for w in model.parameters()]
        with pytest.raises(ValueError, match=f"p_adam was switched to {not first} after the first"):
            opt.step(path=1)
        assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
        assert opt.global_step == 1


@pytest.mark.parametrize("p_adam", [True, False])
def test_p_saga_turned_off_and_on_follows_the_oracle(p_adam) -> None:
    """While P-SAGA is off the table and Γ stay as they are; turned on, they are used again."""
    saga = [True, True, False, False, True, True, True]
    want = _algorithm1_oracle(PATHS, GRADS, W0, P, p_adam=p_adam, p_saga=saga)
    w = nn.Parameter(torch.tensor(W0, dtype=torch.float64))
    opt = SCRAPLOptimizer([w], n_paths=P, lr=LR, betas=(B1, B2), eps=EPS, p_adam=p_adam)
    for step, (p, g) in enumerate(zip(PATHS, GRADS, strict=True)):
        opt.p_saga = saga[step]
        w.grad = torch.tensor(g, dtype=torch.float64)
        opt.step(path=p)
        assert w.detach().tolist() == pytest.approx(want[step], rel=1e-12, abs=1e-14)
    # and a parameter that never had P-SAGA starts with an empty table
    w2 = nn.Parameter(torch.tensor(W0, dtype=torch.float64))
    opt2 = SCRAPLOptimizer([w2], n_paths=P, lr=LR, betas=(B1, B2), eps=EPS, p_saga=False)
    saga2 = [False] * 3 + [True] * 4
    want2 = _algorithm1_oracle(PATHS, GRADS, W0, P, p_adam=True, p_saga=saga2)
    for step, (p, g) in enumerate(zip(PATHS, GRADS, strict=True)):
        opt2.p_saga = saga2[step]
        w2.grad = torch.tensor(g, dtype=torch.float64)
        opt2.step(path=p)
    assert w2.detach().tolist() == pytest.approx(want2[-1], rel=1e-12, abs=1e-14)


def test_state_dtype_changed_after_the_first_step() -> None:
    model = _mlp()
    opt = SCRAPLOptimizer(model.parameters(), n_paths=3)
    for p, dtype in ((0, None), (1, torch.bfloat16), (1, torch.bfloat16)):
        opt.state_dtype = dtype
        model.zero_grad()
        model(torch.randn(2, 5)).sum().backward()
        opt.step(path=p)
    st_w = opt.state[model[0].weight]
    assert st_w["m"][0].dtype == torch.float32 and st_w["m"][1].dtype == torch.bfloat16
    assert st_w["g_hat"][1].dtype == torch.bfloat16 and st_w["g_sum"].dtype == torch.float64
    with pytest.raises(ValueError, match="state_dtype"):
        opt.state_dtype = torch.int8


# ------------------------------------------------------------ no gradient
def test_step_without_any_gradient_is_refused_and_changes_nothing() -> None:
    model = _mlp()
    opt = SCRAPLOptimizer(model.parameters(), n_paths=3)
    model(torch.randn(2, 5)).sum().backward()
    opt.step(path=0)
    opt.zero_grad()  # set_to_none: every .grad is None
    state = str(opt.state_dict())
    before = [w.detach().clone() for w in model.parameters()]
    with pytest.raises(ValueError, match="no gradient on any parameter"):
        opt.step(path=1)
    with pytest.raises(ValueError, match="no gradient on any parameter"):
        opt.step(lambda: torch.tensor(0.0), path=1)  # a closure that computes no gradient
    assert opt.global_step == 1 and str(opt.state_dict()) == state
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    # the next real step is the second one (k = 2)
    model(torch.randn(2, 5)).sum().backward()
    opt.step(path=1)
    assert opt.global_step == 2 and opt.state[model[0].weight]["tau"] == {0: 1, 1: 2}


# ------------------------------------------------------------ earlier checkpoints
CASES_V0 = ["p_adam+p_saga", "p_adam", "p_saga", "adamw", "p_adam+p_saga+bf16"]


@pytest.mark.parametrize("case", CASES_V0)
def test_state_saved_before_the_redesign_continues_identically(case) -> None:
    """A state dict of the optimizer of 599eaa3 ("scrapl" entry, switches outside the groups)
    loads with weights_only=True and continues to the very weights that optimizer reached."""
    fx = torch.load(FIXTURE, weights_only=True)
    c = fx["cases"][case]
    sw = c["switches"]
    assert "scrapl" in c["optimizer"] and "p_adam" not in c["optimizer"]["param_groups"][0]
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    model.load_state_dict(c["model"])
    dtype = None if sw["state_dtype"] is None else getattr(torch, sw["state_dtype"])
    # default hyper-parameters: the saved ones replace them, as in torch
    opt = SCRAPLOptimizer(
        model.parameters(), n_paths=fx["n_paths"], p_adam=sw["p_adam"], p_saga=sw["p_saga"],
        state_dtype=dtype,
    )  # fmt: skip
    opt.load_state_dict(c["optimizer"])
    assert opt.param_groups[0]["lr"] == 0.05 and opt.global_step == fx["n_before"]
    continuation = zip(fx["paths"][fx["n_before"] :], fx["grads"][fx["n_before"] :], strict=True)
    for (path, grads), want in zip(continuation, c["weights_after"], strict=True):
        for w, g in zip(model.parameters(), grads, strict=True):
            w.grad = g.clone()
        opt.step(path=path)
        assert all(torch.equal(a, b) for a, b in zip(model.parameters(), want, strict=True))
    assert opt.global_step == len(fx["paths"])


def test_state_dict_of_another_optimizer_is_refused() -> None:
    model = _mlp()
    adam = torch.optim.Adam(model.parameters())
    with pytest.raises(ValueError, match="not saved by SCRAPLOptimizer"):
        SCRAPLOptimizer(model.parameters(), n_paths=3).load_state_dict(adam.state_dict())


def test_optimizer_pickled_before_the_redesign_is_read() -> None:
    """An optimizer pickled with the earlier attributes gets them back in its groups."""
    model = _mlp()
    opt = SCRAPLOptimizer(model.parameters(), n_paths=3)
    model(torch.randn(2, 5)).sum().backward()
    opt.step(path=0)
    state = opt.__getstate__()
    old = {
        "defaults": {k: v for k, v in state["defaults"].items() if k not in optim_module._SWITCHES},
        "state": {w: {k: v for k, v in st.items() if k != "step"} for w, st in opt.state.items()},
        "param_groups": [
            {k: v for k, v in g.items() if k not in optim_module._SWITCHES}
            for g in state["param_groups"]
        ],
        "n_paths": 3, "p_adam": True, "p_saga": False, "state_dtype": None, "global_step": 1,
    }  # fmt: skip
    restored = SCRAPLOptimizer.__new__(SCRAPLOptimizer)
    restored.__setstate__(old)
    assert (restored.n_paths, restored.p_adam, restored.p_saga, restored.global_step) == (
        3, True, False, 1,
    )  # fmt: skip
    assert restored.defaults["p_saga"] is False
