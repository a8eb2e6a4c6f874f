"""Algorithm 1 in miniature: match *one* sound by fitting its synth parameters θ directly.

The lab (:mod:`scrapl_edu.lab`) trains an encoder E_x(w) on a data set, which takes minutes.
The notebooks on P-Adam and P-SAGA need the same ingredients in seconds, so here the
"network" is the parameter vector itself: w = logit(θ), F(w) = D(sigmoid(w)) (Section 3.4 with
an encoder that ignores its input). Everything else is the library's: the lab preset's synth
and JTFS (Eq. 1), the per-path loss L_p of Eq. (3),
:class:`~scrapl_edu.optim.SCRAPLOptimizer` (Eq. 6-9, Algorithm 1) and
:class:`~scrapl_edu.sampling.PathSampler`.

Scale: the preset's (:mod:`scrapl_edu.presets`): ``fast=True`` gives the tiny CI sizes
(:func:`scrapl_edu.presets.shrink`; the notebooks pass ``fast=scrapl_edu.config.fast_mode()``,
``SCRAPL_EDU_FAST=1``) and ``fast=False`` the classroom ones (1024 Hz, 4 s, P = 63).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

from scrapl_edu.jtfs import JTFS, JTFSConfig
from scrapl_edu.losses import path_distance
from scrapl_edu.optim import SCRAPLOptimizer
from scrapl_edu.presets import get_preset, shrink
from scrapl_edu.sampling import PathSampler
from scrapl_edu.synths import ChirpletConfig

__all__ = [
    "FitHistory",
    "FrozenTable",
    "ThetaModel",
    "ToyProblem",
    "fit",
    "gradient_table",
    "make_problem",
    "replay",
]

_JTFS_CACHE: dict[JTFSConfig, JTFS] = {}


def _jtfs(config: JTFSConfig) -> JTFS:
    if config not in _JTFS_CACHE:  # the filters and gather plans are worth keeping
        _JTFS_CACHE[config] = JTFS.from_config(config)
    return _JTFS_CACHE[config]


class ThetaModel(nn.Module):
    """The smallest "encoder": θ = sigmoid(w), the same for every input (w = logit θ0).

    ``model(x)`` returns θ of shape (B, U) for a batch x (B, 1, N); ``model()`` returns (1, U).
    """

    def __init__(self, theta0: Sequence[float]) -> None:
        super().__init__()
        t = torch.as_tensor(theta0, dtype=torch.float32).reshape(-1).clamp(1e-4, 1 - 1e-4)
        self.w = nn.Parameter(torch.logit(t))

    @property
    def theta(self) -> Tensor:
        """Current θ, shape (U,), detached."""
        return torch.sigmoid(self.w).detach()

    def forward(self, x: Tensor | None = None) -> Tensor:
        theta = torch.sigmoid(self.w)[None]
        return theta if x is None else theta.expand(x.shape[0], -1)


@dataclass
class ToyProblem:
    """One target sound x = D(θ*) and what is needed to match it (Section 3.4).

    Attributes:
        config: the synth configuration (at the chosen scale).
        jtfs: the JTFS whose paths define the loss (Eq. 1, 3).
        theta_star: the target's parameters, shape (1, U).
        target: the target sound, shape (1, 1, N) (with a random shift drawn from ``seed``).
        seed: seed of the target's shift and of the reconstruction's shifts.
        loss_scale: multiplies L_p (as the lab's ``loss_scale``): the JTFS gradients are
            ~1e-10, below Adam's ε, and Adam-type updates are otherwise scale-free.
    """

    config: ChirpletConfig
    jtfs: JTFS
    theta_star: Tensor
    target: Tensor
    seed: int = 0
    loss_scale: float = 1e8
    synth: nn.Module = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.synth = self.config.build()

    @property
    def n_paths(self) -> int:
        return self.jtfs.n_paths

    def render(self, theta: Tensor, shift_seed: int | None = None) -> Tensor:
        """x̂ = D(θ), shifted at random (seeded by ``shift_seed``; None: no shift)."""
        if shift_seed is None:
            return self.synth(theta, shifts=0)
        return self.synth(theta, seed=int(shift_seed))

    def path_loss(self, model: nn.Module, p: int, shift_seed: int | None = None) -> Tensor:
        """``loss_scale`` · L_p(w) of Eq. (3) for the reconstruction D(model()) vs the target."""
        x_hat = self.render(model(), shift_seed)
        return self.loss_scale * path_distance(self.jtfs, x_hat, self.target, p)


def make_problem(
    preset: str = "classroom",
    theta_star: Sequence[float] = (0.6, 0.4),
    seed: int = 0,
    *,
    fast: bool,
) -> ToyProblem:
    """A :class:`ToyProblem` for a chirplet preset of :mod:`scrapl_edu.presets`.

    ``fast``: use :func:`scrapl_edu.presets.shrink` of the preset. Required: a library
    function never reads the environment; an entry point (a notebook, a script) passes
    ``fast=scrapl_edu.config.fast_mode()``.
    """
    p = get_preset(preset)
    if fast:
        p = shrink(p)
    cfg = p.synth
    if not isinstance(cfg, ChirpletConfig):
        raise ValueError(f"the toy problems use chirplet presets, got {preset!r} ({cfg.kind})")
    ts = torch.as_tensor(theta_star, dtype=torch.float32).reshape(1, -1)
    if ts.shape[1] != cfg.n_params or bool(((ts < 0) | (ts > 1)).any()):
        raise ValueError(f"theta_star must be {cfg.n_params} numbers in [0, 1], got {theta_star}")
    target = cfg.build()(ts, seed=10_000 + seed).detach()
    jtfs = _jtfs(p.jtfs_config())
    return ToyProblem(config=cfg, jtfs=jtfs, theta_star=ts, target=target, seed=seed)


def gradient_table(
    problem: ToyProblem, model: nn.Module, paths: Sequence[int] | None = None, shift_seed: int = 0
) -> Tensor:
    """G[p] = ∇_w L_p(w) for each path (one reconstruction shift for all), shape (P, |w|).

    Rows of paths not listed in ``paths`` are zero. The full gradient is G.mean(0) (Eq. 13).
    """
    params = [w for w in model.parameters() if w.requires_grad]
    n = sum(w.numel() for w in params)
    G = torch.zeros(problem.n_paths, n, dtype=torch.float64)
    for p in range(problem.n_paths) if paths is None else paths:
        grads = torch.autograd.grad(problem.path_loss(model, p, shift_seed), params)
        G[p] = torch.cat([g.reshape(-1) for g in grads]).to(torch.float64)
    return G


@dataclass
class FitHistory:
    """What :func:`fit` records at every step k = 1..K.

    Attributes:
        theta: θ after each step, shape (K + 1, U) (row 0: θ0).
        theta_error: mean |θ − θ*| after each step, shape (K + 1,).
        paths: the path drawn at each step, shape (K,).
        loss: L_p at each step, shape (K,).
    """

    theta: np.ndarray
    theta_error: np.ndarray
    paths: np.ndarray
    loss: np.ndarray


def fit(
    problem: ToyProblem,
    steps: int = 300,
    p_adam: bool = True,
    p_saga: bool = True,
    probs: Tensor | None = None,
    lr: float = 0.05,
    seed: int = 0,
    theta0: Sequence[float] = (0.25, 0.75),
    callback: Callable[[int, FitHistory, ThetaModel, SCRAPLOptimizer], None] | None = None,
) -> tuple[FitHistory, ThetaModel, SCRAPLOptimizer]:
    """Run Algorithm 1 on the toy problem: K steps, one path each, p ~ π (uniform if None).

    Each step renders D(θ) with a fresh random shift (the nondeterministic decoder of
    Section 4), computes L_p (Eq. 3), back-propagates and calls
    ``SCRAPLOptimizer.step(path=p)`` (P-Adam Eq. 6-8 and P-SAGA Eq. 9 as switched).
    ``callback(k, history_so_far, model, optimizer)`` runs after every step.
    """
    if steps < 1:
        raise ValueError(f"steps must be a positive number of optimisation steps, got {steps}")
    model = ThetaModel(theta0)
    opt = SCRAPLOptimizer(
        model.parameters(), n_paths=problem.n_paths, lr=lr, p_adam=p_adam, p_saga=p_saga
    )
    sampler = PathSampler(problem.n_paths, probs, seed=seed)
    thetas = [model.theta.numpy().copy()]
    paths, losses = [], []
    star = problem.theta_star[0].numpy()
    for k in range(1, steps + 1):
        p = sampler.sample()
        loss = problem.path_loss(model, p, shift_seed=seed * 1_000_003 + k)
        opt.zero_grad()
        loss.backward()
        opt.step(path=p)
        thetas.append(model.theta.numpy().copy())
        paths.append(p)
        losses.append(float(loss.detach()))
        if callback is not None:
            callback(k, _history(thetas, star, paths, losses), model, opt)
    return _history(thetas, star, paths, losses), model, opt


def _history(thetas: list, star: np.ndarray, paths: list, losses: list) -> FitHistory:
    th = np.asarray(thetas, dtype=float)
    return FitHistory(
        theta=th,
        theta_error=np.abs(th - star).mean(axis=1),
        paths=np.asarray(paths, dtype=int),
        loss=np.asarray(losses, dtype=float),
    )


class FrozenTable(nn.Module):
    """A linear stand-in for the network: L_p(w) = ⟨G_p, w⟩, so ∇_w L_p = G_p exactly.

    Replaying a gradient table G through :class:`SCRAPLOptimizer` isolates the optimizer
    (Eq. 6-9) from the loss landscape: the only thing that changes from step to step is
    which path is drawn.
    """

    def __init__(self, G: Tensor) -> None:
        super().__init__()
        self.register_buffer("G", torch.as_tensor(G, dtype=torch.float64))
        self.w = nn.Parameter(torch.zeros(self.G.shape[1], dtype=torch.float64))

    def path_loss(self, p: int) -> Tensor:
        return (self.G[p] * self.w).sum()


def replay(
    G: Tensor,
    paths: Sequence[int],
    p_adam: bool,
    p_saga: bool,
    lr: float = 1e-3,
    callback: Callable[[int, FrozenTable, SCRAPLOptimizer], None] | None = None,
) -> np.ndarray:
    """Run :class:`SCRAPLOptimizer` on the fixed gradients ``G`` (P, |w|) along ``paths``.

    Returns the update direction (w_before − w_after) / lr of every step, shape (K, |w|).
    ``callback(k, model, optimizer)`` runs after step k.
    """
    model = FrozenTable(G)
    opt = SCRAPLOptimizer(
        model.parameters(), n_paths=G.shape[0], lr=lr, p_adam=p_adam, p_saga=p_saga
    )
    out = []
    for k, p in enumerate(paths, start=1):
        before = model.w.detach().clone()
        opt.zero_grad()
        model.path_loss(int(p)).backward()
        opt.step(path=int(p))
        out.append(((before - model.w.detach()) / lr).numpy())
        if callback is not None:
            callback(k, model, opt)
    return np.asarray(out)
