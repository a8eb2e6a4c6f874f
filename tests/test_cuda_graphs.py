"""The optional CUDA-graph path loss (scrapl_edu.cuda_graphs), on a machine without a GPU.

What can be checked here: the capturable loss is the eager loss bit for bit (values and
gradients, both input layouts, ρ = identity and log1p), the wrapper refuses the CPU clearly,
and its bookkeeping (one graph per path and shape, reuse, the least recently used dropped,
one loss waiting for its backward at a time) with the capture replaced by the eager function.
Whether a replay equals the eager call on a GPU is checked by benchmarks/gpu_check.py there.
"""

from __future__ import annotations

from functools import partial

import pytest
import torch

from scrapl_edu import cuda_graphs
from scrapl_edu.cuda_graphs import CUDAGraphPathLoss, path_coefficients, path_loss_unchecked
from scrapl_edu.jtfs import JTFS
from scrapl_edu.losses import path_distance

N = 1024


@pytest.fixture(scope="module")
def jtfs() -> JTFS:
    return JTFS(shape=N, J=7, Q1=4, Q2=1, J_fr=2, Q_fr=1, T=128, F=4)


def _signals(seed: int, shape=(3, 1, N)) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g), torch.randn(shape, generator=g)


@pytest.mark.parametrize("rho", [None, "log1p"])
@pytest.mark.parametrize("shape", [(3, 1, N), (2, N)])
def test_capturable_loss_is_the_eager_loss_bit_for_bit(jtfs, rho, shape):
    torch.set_num_threads(1)
    for p in (0, jtfs.n_paths // 2, jtfs.n_paths - 1):
        x_hat, x = _signals(p, shape)
        a = x_hat.clone().requires_grad_(True)
        b = x_hat.clone().requires_grad_(True)
        la = path_distance(jtfs, a, x, p, rho)
        lb = path_loss_unchecked(jtfs, b, x, p=p, rho=rho)
        la.backward()
        lb.backward()
        assert torch.equal(la.detach(), lb.detach()), p
        assert torch.equal(a.grad, b.grad), p
        assert torch.equal(path_coefficients(jtfs, x, jtfs.paths[p]), jtfs.path(x, p))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without CUDA")
def test_refuses_the_cpu_clearly(jtfs):
    with pytest.raises(RuntimeError, match="needs a CUDA GPU.*path_distance"):
        CUDAGraphPathLoss(jtfs)


@pytest.fixture()
def fake_gpu(monkeypatch, jtfs):
    """A wrapper whose capture is the eager function, on CPU tensors (bookkeeping only)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    loss = CUDAGraphPathLoss(jtfs, max_graphs=2)
    captured = []

    def capture(p, x_hat, x):
        captured.append((p, tuple(x.shape)))
        loss.captures += 1
        return partial(path_loss_unchecked, jtfs, p=p)

    def check(x_hat, x):
        if x_hat.shape != x.shape:
            raise ValueError("shape")

    monkeypatch.setattr(loss, "_capture", capture)
    monkeypatch.setattr(loss, "_check", check)
    return loss, captured


def test_one_graph_per_path_and_shape_reused_and_dropped_lru(fake_gpu, jtfs):
    loss, captured = fake_gpu
    x_hat, x = _signals(0)
    for p in (3, 3, 5, 3):
        a = x_hat.clone().requires_grad_(True)
        value = loss(a, x, p)
        value.backward()
        assert torch.equal(value.detach(), path_distance(jtfs, x_hat, x, p).detach())
    assert captured == [(3, (3, 1, N)), (5, (3, 1, N))] and loss.n_graphs == 2
    loss(x_hat[:2].clone().requires_grad_(True), x[:2], 3).backward()  # a new shape
    assert captured[-1] == (3, (2, 1, N)) and loss.n_graphs == 2  # (5, B=3) dropped
    loss(x_hat.clone().requires_grad_(True), x, 5).backward()
    assert captured[-1] == (5, (3, 1, N)) and loss.captures == 4
    with pytest.raises(ValueError, match="p must"):
        loss(x_hat, x, jtfs.n_paths)


def test_one_loss_waits_for_its_backward_at_a_time(fake_gpu):
    loss, _ = fake_gpu
    x_hat, x = _signals(1)
    first = loss(x_hat.clone().requires_grad_(True), x, 2)
    with pytest.raises(RuntimeError, match="path 2 has not been backpropagated"):
        loss(x_hat.clone().requires_grad_(True), x, 4)
    first.backward()  # the backward releases it
    with torch.no_grad():  # no backward will come: nothing waits
        loss(x_hat, x, 4)
        loss(x_hat, x, 4)
    loss(x_hat.clone().requires_grad_(True), x, 4)
    loss.release()
    loss(x_hat.clone().requires_grad_(True), x, 4).backward()


def test_input_checks_name_the_problem(monkeypatch, jtfs):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    loss = CUDAGraphPathLoss(jtfs)
    x_hat, x = _signals(2)
    with pytest.raises(ValueError, match="x_hat is on cpu; CUDAGraphPathLoss runs on CUDA"):
        loss(x_hat, x, 0)
    for kwargs, match in (
        ({"warmup": 0}, "warmup must be a positive integer"),
        ({"max_graphs": 0}, "max_graphs must be a positive integer or None"),
        ({"rho": "sqrt"}, "rho must be None or 'log1p'"),
    ):
        with pytest.raises(ValueError, match=match):
            CUDAGraphPathLoss(jtfs, **kwargs)
    with pytest.raises(TypeError, match="jtfs must be a scrapl_edu.JTFS"):
        CUDAGraphPathLoss(torch.nn.Identity())
    assert cuda_graphs.__all__ == ["CUDAGraphPathLoss", "path_coefficients", "path_loss_unchecked"]
