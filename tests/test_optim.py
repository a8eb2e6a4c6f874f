"""Tests of SCRAPLOptimizer (P-Adam Eq. 6-8, P-SAGA Eq. 9, Algorithm 1)."""

from __future__ import annotations

import copy
import io
import math

import numpy as np
import pytest
import torch
from torch import nn

from scrapl_edu.optim import SCRAPLOptimizer
from scrapl_edu.sampling import PathSampler


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


def _algorithm1_by_hand(p_adam: bool, p_saga: bool, wd: float = WD) -> list[list[float]]:
    """Algorithm 1 with plain Python floats, line by line from the paper."""
    w = list(W0)
    tau = [0] * P
    m = [[0.0, 0.0] for _ in range(P)]
    v = [[0.0, 0.0] for _ in range(P)]
    g_hat = [[0.0, 0.0] for _ in range(P)]
    gamma: list[int] = []
    m_shared, v_shared = [0.0, 0.0], [0.0, 0.0]
    history = []
    for k, (p, g) in enumerate(zip(PATHS, GRADS, strict=True), start=1):
        w = [wi * (1 - LR * wd) for wi in w]
        g_current = [0.0, 0.0]
        for i in range(2):
            if p_adam:
                a1 = B1 ** ((k - tau[p]) / P)
                a2 = B2 ** ((k - tau[p]) / P)
                m[p][i] = a1 * m[p][i] + (1 - a1) * g[i]  # Eq. (6)
                v[p][i] = a2 * v[p][i] + (1 - a2) * g[i] * g[i]  # Eq. (7)
                m_hat = m[p][i] / (1 - B1 ** (k / P))
                v_hat = v[p][i] / (1 - B2 ** (k / P))
            else:
                m_shared[i] = B1 * m_shared[i] + (1 - B1) * g[i]
                v_shared[i] = B2 * v_shared[i] + (1 - B2) * g[i] * g[i]
                m_hat = m_shared[i] / (1 - B1**k)
                v_hat = v_shared[i] / (1 - B2**k)
            g_current[i] = m_hat / (EPS + math.sqrt(v_hat))  # Eq. (8)
        tau[p] = k
        if p_saga:
            g_avg = [sum(g_hat[q][i] for q in gamma) / max(1, len(gamma)) for i in range(2)]
            g_saga = [g_current[i] - g_hat[p][i] + g_avg[i] for i in range(2)]  # Eq. (9)
        else:
            g_saga = g_current
        w = [w[i] - LR * g_saga[i] for i in range(2)]
        g_hat[p] = list(g_current)
        if p not in gamma:
            gamma.append(p)
        history.append(list(w))
    return history


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
    ckpt = torch.load(buf)  # weights_only=True: the state holds only plain types
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
