"""Training: the parts of a run, its state (the checkpoint), one step, validation, :func:`run`.

The experiment of Sections 4.2-4.3 (unsupervised DDSP sound matching, Appendix E)::

    x (B,1,N) --encoder--> theta_hat --synth (random shift)--> x_hat --loss(x_hat, x)--> step

* ``p_loss``: supervised L1 on theta (the paper's upper bound, Section 3.4 "P-loss");
* ``mss``: a multi-scale spectral loss (auraloss; Section 4.2 baselines);
* ``jtfs``: the full joint time-frequency scattering loss, all P paths every step (Eq. 3);
* ``scrapl``: one random path per step (Algorithm 1) with the P-Adam (Eq. 6-8), P-SAGA
  (Eq. 9) and theta-importance-sampling (Eq. 10-12) switches.

:func:`build_parts` makes what does not change (data, synth, loss, JTFS); :class:`TrainState`
holds what does (encoder, optimizer, generators, curves): its :meth:`TrainState.state_dict` is
the checkpoint. :func:`train_step` is one iteration of Algorithm 1, :func:`run` the outer loop.

``run(..., device="cuda")`` trains on a GPU (:mod:`scrapl_edu.lab.device`: what is on the device,
what stays on the CPU, and what is deterministic where); the default is the CPU.
"""

from __future__ import annotations

import dataclasses
import random
import resource
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from scrapl_edu.adaptive_pi import AdaptivePi
from scrapl_edu.jtfs import JTFS
from scrapl_edu.lab.applied import PROBE_SEED_OFFSET, applied_step_stats, make_probe
from scrapl_edu.lab.config import JTFS_LOSSES, LabConfig
from scrapl_edu.lab.data import make_dataset
from scrapl_edu.lab.device import device_label, resolve_device
from scrapl_edu.lab.drums import drum_test_metrics, path_grad_sq
from scrapl_edu.lab.results import (
    RESULTS_JSON,
    Results,
    Snapshot,
    convergence_step,
    total_variation,
)
from scrapl_edu.losses import JTFSLoss, SCRAPLLoss, mss_loss, path_distance
from scrapl_edu.models import Encoder, build_frontend
from scrapl_edu.optim import SCRAPLOptimizer
from scrapl_edu.sampling import PathSampler
from scrapl_edu.synths import SynthPreset
from scrapl_edu.theta_is import ThetaISResult, theta_importance_sampling

__all__ = [
    "CHECKPOINT",
    "GRAD_EMA",
    "GradEMA",
    "RunParts",
    "TrainState",
    "build_encoder",
    "build_jtfs",
    "build_parts",
    "l1_permille",
    "run",
    "train_step",
]

#: file name of the checkpoint inside a run folder
CHECKPOINT = "checkpoint.pt"
#: weight of the newest gradient in the running gradient-variance estimate (~10 steps)
GRAD_EMA = 0.1


# ------------------------------------------------------------------------------- parts
def build_jtfs(config: LabConfig) -> JTFS:
    """The JTFS of a run (Section 4.1; Table 11 at full scale)."""
    return JTFS(**config.jtfs_kwargs())


def build_encoder(config: LabConfig, n_params: int, x_fit: Tensor) -> Encoder:
    """The CNN encoder (:class:`scrapl_edu.models.Encoder`) on its fitted front end.

    The preset's ``frontend`` entry: :class:`~scrapl_edu.models.LogSpectrogram` (``kind``
    ``"stft"``, the default) or the paper's :class:`~scrapl_edu.models.LogCQT` (``"cqt"``).
    """
    frontend = build_frontend(config.frontend, config.synth_config().sr).fit(x_fit)
    return Encoder(n_params, frontend=frontend, channels=config.channels, log1p=False)


def mss_sizes(kind: str, n_samples: int, sr: float, ref_sr: float = 8192.0) -> dict[str, Any]:
    """MSS FFT sizes of the paper's ``ref_sr`` set-up, kept in seconds at the lab's ``sr``.

    ``ref_sr`` is the rate at which the paper's FFT sizes (2048 ... 64) are meant: 8192 Hz for
    the chirplet and granular tasks, 44.1 kHz for the drums (the largest window, 46 ms, then
    spans the +-46 ms meso shift, as in Section 4.4).

    The classroom presets keep every duration in seconds (4 s signals, +-0.25 s shifts), so
    the MSS windows must be too: at 8192 Hz the largest window (2048 samples) lasts 0.25 s,
    no longer than the random shift. Left in samples at 1024 Hz it would last 2 s, span the
    whole chirplet wherever it is, and make MSS shift invariant: a different experiment.
    Sizes are also capped at half the signal (auraloss pads by n_fft / 2).
    """
    scale = sr / ref_sr
    top = n_samples // 2

    def fit(n: int) -> int:
        return max(16, min(top, int(round(n * scale))))

    if kind == "random":
        return {"max_fft_size": fit(2048), "min_fft_size": fit(64)}
    base = [512, 1024, 2048] if kind == "revisited" else [2048, 1024, 512, 256, 128, 64]
    sizes = sorted({fit(n) for n in base}, reverse=True)
    return {"fft_sizes": sizes, "hop_sizes": [max(1, n // 4) for n in sizes], "win_lengths": sizes}


@dataclass
class RunParts:
    """What a run builds once and never changes: data, synth, JTFS and the loss's shape."""

    config: LabConfig
    data: dict[str, Tensor]
    synth_config: SynthPreset
    synth: nn.Module
    jtfs: JTFS | None
    probe: Any = None  # the applied-step diagnostic's probe batch, made at its first use

    @property
    def scrapl(self) -> bool:
        return self.config.loss == "scrapl"

    @property
    def n_paths(self) -> int:
        return 0 if self.jtfs is None else self.jtfs.n_paths

    @property
    def param_names(self) -> list[str]:
        return list(self.synth_config.param_names)

    @property
    def drums(self) -> bool:
        return getattr(self.synth_config, "kind", "") == "drums"


@dataclass
class GradEMA:
    """Running variance of the stochastic gradient, E‖g − E g‖², over ~10 steps.

    Exponential moving averages of g and of ‖g‖² (weight :data:`GRAD_EMA`); the variance is
    their difference, recorded per step as ``history["grad_var"]``. ``g`` is the gradient the
    optimizer receives (the one-path gradient for SCRAPL, scaled by ``loss_scale`` for the
    JTFS losses, so compare it within a loss): θ-IS changes it through the paths it draws,
    while P-Adam and P-SAGA act inside the step on what is done with it (notebooks 5 and 6
    measure those).
    """

    mean: Tensor | None = None
    sq: float = 0.0

    def update(self, model: nn.Module) -> float:
        """Fold in the current ``.grad`` of ``model``; returns the variance estimate."""
        grads = [p.grad.reshape(-1) for p in model.parameters() if p.grad is not None]
        if not grads:
            return float("nan")
        g = torch.cat(grads).detach().double()
        if self.mean is not None and self.mean.device != g.device:
            self.mean = self.mean.to(g.device)  # restored from a checkpoint of another device
        if self.mean is None:
            self.mean, self.sq = g.clone(), float(g.square().sum())
        else:
            self.mean.mul_(1 - GRAD_EMA).add_(g, alpha=GRAD_EMA)
            self.sq = (1 - GRAD_EMA) * self.sq + GRAD_EMA * float(g.square().sum())
        return max(self.sq - float(self.mean.square().sum()), 0.0)


def _empty_history() -> dict[str, list]:
    return {"loss": [], "path": [], "step_s": [], "grad_var": []}


@dataclass
class TrainState:
    """Everything that changes while training; :meth:`state_dict` is the checkpoint.

    Attributes:
        encoder, optimizer, loss_fn: the trained modules (``loss_fn`` None for ``p_loss``;
            SCRAPL's path sampler lives in it).
        batch_gen, shift_gen: generators of the batch order and the synth's random shifts.
        step: steps done; history: per step ``loss``, ``path``, ``step_s``, ``grad_var``.
        grad_ema: the running gradient variance.
        val_steps, val, val_pp: validation curve (theta L1 ‰, mean and per parameter).
        theta_is_probs, theta_is_s: theta-IS's pi and its time (None / 0 when off).
        elapsed_before: seconds spent before the last resume.
        perm, perm_pos: the current epoch's batch order and position in it.
        path_grad_init: drums with theta-IS: the per-path gradient energy per parameter at
            the initial encoder (:func:`scrapl_edu.lab.drums.path_grad_sq`), beside theta-IS.
        adaptive: the adaptive-pi schedule (None when off). It holds no state of its own (it
            reads the optimizer's), so it is not part of the checkpoint.
    """

    encoder: nn.Module
    optimizer: torch.optim.Optimizer
    loss_fn: nn.Module | None
    batch_gen: torch.Generator
    shift_gen: torch.Generator
    step: int = 0
    history: dict[str, list] = field(default_factory=_empty_history)
    grad_ema: GradEMA = field(default_factory=GradEMA)
    val_steps: list[int] = field(default_factory=list)
    val: list[float] = field(default_factory=list)
    val_pp: list[list[float]] = field(default_factory=list)
    theta_is_probs: list[float] | None = None
    theta_is_s: float = 0.0
    elapsed_before: float = 0.0
    perm: Tensor | None = None
    perm_pos: int = 0
    applied: list[dict[str, float]] = field(default_factory=list)
    path_grad_init: list[list[float]] | None = None
    adaptive: AdaptivePi | None = None

    _MODULES = ("encoder", "optimizer", "loss_fn", "batch_gen", "shift_gen", "adaptive")

    def state_dict(self, elapsed: float = 0.0) -> dict[str, Any]:
        """The checkpoint: modules, generators, global RNGs and counters (+ ``elapsed`` s)."""
        counters = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in self._MODULES
        }
        counters["grad_ema"] = asdict(self.grad_ema)
        counters["elapsed_before"] = self.elapsed_before + elapsed
        rng = {
            "torch": torch.get_rng_state(),
            "numpy": np.random.get_state(),
            "python": random.getstate(),
        }
        dev = self._device()
        if dev.type == "cuda":  # the encoder's dropout draws from the GPU's generator
            rng["cuda"] = torch.cuda.get_rng_state(dev)
        return {
            "encoder": self.encoder.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "loss": None if self.loss_fn is None else self.loss_fn.state_dict(),
            "batch_gen": self.batch_gen.get_state(),
            "shift_gen": self.shift_gen.get_state(),
            "rng": rng,
            "state": counters,
        }

    def _device(self) -> torch.device:
        return next(self.encoder.parameters()).device

    def load_state_dict(self, ck: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` (global RNGs included)."""
        self.encoder.load_state_dict(ck["encoder"])
        self.optimizer.load_state_dict(ck["optimizer"])
        if self.loss_fn is not None and ck["loss"] is not None:
            self.loss_fn.load_state_dict(ck["loss"])
        self.batch_gen.set_state(ck["batch_gen"])
        self.shift_gen.set_state(ck["shift_gen"])
        torch.set_rng_state(ck["rng"]["torch"])
        np.random.set_state(ck["rng"]["numpy"])
        random.setstate(ck["rng"]["python"])
        dev = self._device()
        if dev.type == "cuda" and "cuda" in ck["rng"]:
            torch.cuda.set_rng_state(ck["rng"]["cuda"], dev)
        for name, value in ck["state"].items():
            setattr(self, name, GradEMA(**value) if name == "grad_ema" else value)


def _make_loss(parts: RunParts) -> nn.Module | None:
    cfg = parts.config
    if cfg.loss == "mss":
        return mss_loss(cfg.mss_kind, **_mss_kwargs(parts))
    if cfg.loss == "jtfs":
        return JTFSLoss(parts.jtfs, rho=cfg.rho)
    if cfg.loss == "scrapl":
        sampler = PathSampler(parts.n_paths, seed=cfg.seed + 3, min_prob_frac=cfg.min_prob_frac)
        return SCRAPLLoss(parts.jtfs, sampler, rho=cfg.rho)
    return None


def _mss_kwargs(parts: RunParts, kind: str | None = None) -> dict[str, Any]:
    synth_cfg = parts.synth_config
    ref_sr = 44100.0 if parts.drums else 8192.0
    return mss_sizes(kind or parts.config.mss_kind, synth_cfg.n_samples, synth_cfg.sr, ref_sr)


def _make_optimizer(parts: RunParts, encoder: nn.Module) -> torch.optim.Optimizer:
    cfg = parts.config
    kw = {"lr": cfg.lr, "betas": cfg.betas, "eps": cfg.eps, "weight_decay": cfg.weight_decay}
    if parts.scrapl:
        return SCRAPLOptimizer(
            encoder.parameters(), n_paths=parts.n_paths, p_adam=cfg.p_adam, p_saga=cfg.p_saga, **kw
        )
    return torch.optim.AdamW(encoder.parameters(), **kw)


def build_parts(
    config: LabConfig, device: torch.device | str = "cpu"
) -> tuple[RunParts, TrainState]:
    """Seed everything and build the run's parts and its initial state (in this order).

    The order fixes which random numbers each part gets, so it is the same on every run:
    global seeds, data set, synth, encoder (its initialisation), JTFS, loss, optimizer, then
    the batch (``seed + 1``) and shift (``seed + 2``) generators; the path sampler has its
    own (``seed + 3``).

    Everything is built on the CPU, so the data set, the encoder's initial weights and its
    front end's statistics are the same on every ``device``; then the signals and parameters
    (``x_*``, ``theta_*``), the synth and the encoder move to ``device``. The generators stay
    on the CPU.
    """
    torch.manual_seed(config.seed)
    np.random.seed(config.seed % 2**32)
    random.seed(config.seed)
    data = make_dataset(config)
    synth_cfg = config.synth_config()
    synth = synth_cfg.build()
    encoder = build_encoder(config, synth.n_params, data["x_train"][:128])
    encoder.train()
    device = torch.device(device)
    if device.type != "cpu":
        moved = ("x_", "theta_")  # what the steps read; other entries (drum shifts) stay
        data = {k: v.to(device) if k.startswith(moved) else v for k, v in data.items()}
        synth.to(device)
        encoder.to(device)
    jtfs = build_jtfs(config) if config.loss in JTFS_LOSSES else None
    parts = RunParts(config, data, synth_cfg, synth, jtfs)
    loss_fn = _make_loss(parts)
    optimizer = _make_optimizer(parts, encoder)
    state = TrainState(
        encoder=encoder,
        optimizer=optimizer,
        loss_fn=loss_fn,
        batch_gen=torch.Generator().manual_seed(config.seed + 1),
        shift_gen=torch.Generator().manual_seed(config.seed + 2),
    )
    if config.adaptive_pi:
        # pi <- max(floor, c ||g_p||) every adaptive_every steps, from P-Adam's per-path v
        state.adaptive = AdaptivePi(
            loss_fn.sampler,
            optimizer,
            floor=config.floor(),
            every=config.adaptive_every,
            warmup=config.adaptive_every,
            source="v",
        )
    return parts, state


# -------------------------------------------------------------------------- the steps
def run_theta_is(parts: RunParts, state: TrainState, progress: bool) -> ThetaISResult:
    """θ-importance sampling once before training (Section 3.4, Eq. 10-12): sets π."""
    cfg = parts.config
    t0 = time.perf_counter()
    state.encoder.eval()
    res = theta_importance_sampling(
        state.encoder,
        parts.synth,
        state.loss_fn.path_loss,
        parts.data["x_train"][: cfg.theta_is_examples],
        n_iter=cfg.theta_is_iters,
        n_paths=parts.n_paths,
        synth_seed=cfg.seed,
        power_seed=cfg.seed,
        progress=progress,
    )
    state.encoder.train()
    state.loss_fn.sampler.set_probs(res.probs)
    state.theta_is_probs = [float(p) for p in res.probs]
    state.theta_is_s = time.perf_counter() - t0
    return res


def next_batch(state: TrainState, batch_size: int, n_train: int) -> Tensor:
    """Indices of the next batch: a new random order of the training set every epoch."""
    if state.perm is None or state.perm_pos + batch_size > n_train:
        state.perm = torch.randperm(n_train, generator=state.batch_gen)
        state.perm_pos = 0
    idx = state.perm[state.perm_pos : state.perm_pos + batch_size]
    state.perm_pos += batch_size
    return idx


def train_step(parts: RunParts, state: TrainState) -> None:
    """One iteration of Algorithm 1 (lines 4-10 for SCRAPL): batch, loss, backward, step.

    SCRAPL's loss draws a path p ~ π (Eq. 10-12's π, or uniform) and computes L_p (Eq. 3);
    the optimizer is told which path the gradient came from (P-Adam Eq. 6-8, P-SAGA Eq. 9).
    The other losses take a plain AdamW step.
    """
    cfg = parts.config
    t0 = time.perf_counter()
    x_train, th_train = parts.data["x_train"], parts.data["theta_train"]
    idx = next_batch(state, cfg.batch_size, len(x_train))
    x, theta = x_train[idx], th_train[idx]
    theta_hat = state.encoder(x)
    path = -1
    if cfg.loss == "p_loss":
        loss = (theta_hat - theta).abs().mean()
        scaled = loss
    else:
        x_hat = parts.synth(theta_hat, generator=state.shift_gen)
        loss = state.loss_fn(x_hat, x)
        scaled = loss * cfg.loss_scale if cfg.loss in JTFS_LOSSES else loss
        if parts.scrapl:
            path = int(state.loss_fn.last_path)
    state.optimizer.zero_grad(set_to_none=True)
    scaled.backward()
    grad_var = state.grad_ema.update(state.encoder)
    if parts.scrapl:
        state.optimizer.step(path=path)
        if state.adaptive is not None:
            state.adaptive.update()
    else:
        state.optimizer.step()
    state.step += 1
    h = state.history
    h["loss"].append(float(loss.detach()))
    h["path"].append(path)
    h["step_s"].append(time.perf_counter() - t0)
    h["grad_var"].append(grad_var)


def l1_permille(theta_hat: Tensor, theta: Tensor) -> np.ndarray:
    """Per-parameter mean |theta_hat - theta| in per mille of the [0, 1] range (Tables 1-3)."""
    return (theta_hat - theta).abs().mean(dim=0).double().cpu().numpy() * 1000.0


def predict(encoder: nn.Module, x: Tensor, batch: int = 64) -> Tensor:
    """The encoder's theta for every signal of ``x``, in eval mode, without gradients."""
    was = encoder.training
    encoder.eval()
    with torch.no_grad():
        out = torch.cat([encoder(x[i : i + batch]) for i in range(0, len(x), batch)])
    encoder.train(was)
    return out


def applied_due(config: LabConfig, step: int) -> bool:
    """Whether the applied-step diagnostic runs at the validation of ``step``."""
    return (
        config.loss == "scrapl"
        and config.applied_diag
        and (step % config.applied_every == 0 or step == config.steps)
    )


def measure_applied(parts: RunParts, state: TrainState) -> None:
    """The applied-step diagnostic now (:mod:`scrapl_edu.lab.applied`), appended to the run's."""
    cfg = parts.config
    if parts.probe is None:
        x = parts.data["x_train"][: cfg.applied_probe]
        seed = cfg.seed + PROBE_SEED_OFFSET
        parts.probe = make_probe(parts.jtfs, x, seed, getattr(cfg, "rho", None))
    stats = applied_step_stats(
        state.encoder,
        state.optimizer,
        parts.synth,
        parts.jtfs,
        parts.probe,
        state.loss_fn.sampler.probs,
        loss_scale=cfg.loss_scale,
        step=state.step,
    )
    state.applied.append(stats)


def validate(parts: RunParts, state: TrainState) -> Snapshot:
    """Theta L1 on the validation set, appended to the curve; returns the run's snapshot."""
    if applied_due(parts.config, state.step):
        measure_applied(parts, state)
    pp = l1_permille(predict(state.encoder, parts.data["x_val"]), parts.data["theta_val"])
    state.val_steps.append(state.step)
    state.val.append(float(pp.mean()))
    state.val_pp.append([float(v) for v in pp])
    h, probs = state.history, state.theta_is_probs
    return Snapshot(
        step=state.step,
        steps=parts.config.steps,
        val_steps=list(state.val_steps),
        val_theta_l1=list(state.val),
        path_counts=_path_counts(parts, state),
        probs=None if probs is None else list(probs),
        losses=list(h["loss"]),
        grad_var=list(h["grad_var"]),
        applied=[dict(a) for a in state.applied],
    )


def _path_counts(parts: RunParts, state: TrainState) -> list[int] | None:
    return [int(c) for c in state.loss_fn.sampler.counts] if parts.scrapl else None


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MiB (``ru_maxrss``: KiB on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024.0**2 if sys.platform == "darwin" else 1024.0)


#: examples of the per-path gradient tables of a drum run (each costs P backward passes)
DRUM_GRAD_EXAMPLES = 2


def _drum_path_loss(parts: RunParts, jtfs: JTFS) -> Callable[[Tensor, Tensor, int], Tensor]:
    def loss(x_hat: Tensor, x: Tensor, p: int) -> Tensor:
        return path_distance(jtfs, x_hat, x, p, parts.config.rho)

    return loss


def drum_path_grads(parts: RunParts, state: TrainState, split: str, n: int) -> list[list[float]]:
    """Per-path gradient energy per parameter at the encoder's predictions on ``n`` examples.

    The predictions are rendered at their targets' shifts (aligned): what each path says about
    each parameter, without the shift's noise (:func:`scrapl_edu.lab.drums.path_grad_sq`).
    """
    jtfs = parts.jtfs if parts.jtfs is not None else build_jtfs(parts.config)
    x = parts.data[f"x_{split}"][:n]
    theta_hat = predict(state.encoder, x)
    G = path_grad_sq(
        parts.synth,
        _drum_path_loss(parts, jtfs),
        theta_hat,
        x,
        jtfs.n_paths,
        shifts=parts.data[f"shift_{split}"][:n],
    )
    return G.tolist()


def drum_baseline(config: LabConfig, value: float = 0.5) -> dict[str, float]:
    """The drum metrics of a constant prediction (every test theta = ``value``), no training.

    The reference a trained row must beat: the same test set, shifts, JTFS and MSS as a run
    of ``config`` (Tables 4, 8-9; :func:`scrapl_edu.lab.drums.drum_test_metrics`).
    """
    config.validate()
    data = make_dataset(config)
    synth_cfg = config.synth_config()
    parts = RunParts(config, data, synth_cfg, synth_cfg.build(), build_jtfs(config))
    if not parts.drums:
        raise ValueError(f"preset {config.preset!r} is not a drum preset")
    theta = torch.full_like(data["theta_test"], float(value))
    return drum_test_metrics(
        parts.synth,
        theta,
        data["x_test"],
        data["shift_test"],
        jtfs=parts.jtfs,
        rho=config.rho,
        mss=mss_loss("log_linear", **_mss_kwargs(parts, "log_linear")),
    )


def _drum_results(parts: RunParts, state: TrainState, theta_hat: Tensor) -> dict[str, Any]:
    """Drum runs: the test metrics of Tables 4, 8-9 and the final per-path gradient table."""
    cfg = parts.config
    jtfs = parts.jtfs if parts.jtfs is not None else build_jtfs(cfg)
    metrics = drum_test_metrics(
        parts.synth,
        theta_hat,
        parts.data["x_test"],
        parts.data["shift_test"],
        jtfs=jtfs,
        rho=cfg.rho,
        mss=mss_loss("log_linear", **_mss_kwargs(parts, "log_linear")),
    )
    n = 1 if cfg.fast else min(DRUM_GRAD_EXAMPLES, len(parts.data["x_test"]))
    grads = {"final": drum_path_grads(parts, state, "test", n)}
    if state.path_grad_init is not None:
        grads["init"] = state.path_grad_init
    return {"drum_metrics": metrics, "path_grad_sq": grads}


def finish(parts: RunParts, state: TrainState, wall_s: float, stopped_early: bool) -> Results:
    """Test theta L1 of the final encoder and the run's :class:`Results` (+ drum metrics)."""
    names = parts.param_names
    dev = next(state.encoder.parameters()).device
    theta_hat = predict(state.encoder, parts.data["x_test"])
    test_pp = l1_permille(theta_hat, parts.data["theta_test"])
    step_s = np.asarray(state.history["step_s"], dtype=float)
    # the first steps warm up caches (FFT plans, filter windows): leave them out of ms/step
    warm = step_s[min(2, max(0, len(step_s) - 1)) :]
    return Results(
        config=asdict(parts.config),
        param_names=names,
        test_theta_l1_permille=float(test_pp.mean()),
        test_theta_l1_permille_per_param={n: float(v) for n, v in zip(names, test_pp)},
        val_steps=list(state.val_steps),
        val_theta_l1_permille=list(state.val),
        val_theta_l1_permille_per_param=list(state.val_pp),
        steps_to_convergence=convergence_step(state.val_steps, state.val),
        val_total_variation=total_variation(np.asarray(state.val) / 1000.0),
        steps=int(state.step),
        ms_per_step=float(warm.mean() * 1000.0) if warm.size else float("nan"),
        wall_s=float(wall_s),
        theta_is_s=float(state.theta_is_s),
        peak_rss_mb=peak_rss_mb(),
        history=state.history,
        theta_is_probs=state.theta_is_probs,
        path_counts=_path_counts(parts, state),
        n_paths=parts.n_paths,
        stopped_early=stopped_early,
        applied_diag=[dict(a) for a in state.applied] if state.applied else None,
        applied_s=float(sum(a["seconds"] for a in state.applied)),
        device=device_label(dev),
        peak_device_mb=_peak_device_mb(dev),
        final_probs=[float(p) for p in state.loss_fn.sampler.probs] if parts.scrapl else None,
        **(_drum_results(parts, state, theta_hat) if parts.drums else {}),
    )


def _peak_device_mb(device: torch.device) -> float | None:
    """Peak GPU memory allocated by torch during the run, in MiB (None on the CPU)."""
    if device.type != "cuda":
        return None
    return torch.cuda.max_memory_allocated(device) / 2.0**20


def _use_device(device: torch.device) -> None:
    """On CUDA: count peak memory from now and compute in float32 (no TF32), as the paper.

    TF32 (on by default for cuDNN convolutions on Ampere and newer) keeps 10 mantissa bits;
    it is switched off for the process so that a CUDA run is the CPU's computation up to
    float32 rounding. Nothing changes on the CPU.
    """
    if device.type != "cuda":
        return
    torch.cuda.reset_peak_memory_stats(device)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


# ------------------------------------------------------------------ folders, Ctrl-C
def prepare_out(out: Path | None, overwrite: bool, resume: bool) -> None:
    """Create the results folder; refuse one that holds results unless told what to do."""
    if out is None:
        return
    if out.exists() and any(out.iterdir()):
        done = (out / RESULTS_JSON).exists()
        if overwrite:
            for name in (RESULTS_JSON, CHECKPOINT, "history.csv", "validation.csv", "theta_is.npz"):
                (out / name).unlink(missing_ok=True)
            return
        if resume and not done:
            return  # continue from its checkpoint, or start from scratch in this folder
        why = "holds a finished run" if done else "is not empty"
        raise FileExistsError(
            f"results folder {out} {why}; pass --overwrite to replace it"
            + ("" if done else " or --resume to continue from its checkpoint")
        )
    out.mkdir(parents=True, exist_ok=True)


@contextmanager
def deferred_interrupt() -> Iterator[threading.Event]:
    """Turn the first Ctrl-C (SIGINT) into a request, honoured at the next step boundary.

    A checkpoint taken in the middle of a step would hold a half-advanced batch order,
    shift generator and path sampler, so the resumed run would differ. The training loop
    checks the event after each step, saves, and raises KeyboardInterrupt; a second
    Ctrl-C interrupts at once (no checkpoint). Only the main thread can take signals;
    elsewhere the event is never set and Ctrl-C behaves as usual.
    """
    requested = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield requested
        return

    def handler(signum, frame):  # noqa: ARG001 - the signal module's signature
        if requested.is_set():
            raise KeyboardInterrupt
        requested.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield requested
    finally:
        signal.signal(signal.SIGINT, previous)


def _switch_tag(config: LabConfig) -> str:
    switches = (("P-Adam", config.p_adam), ("P-SAGA", config.p_saga), ("θ-IS", config.theta_is))
    on = [n for n, v in switches if v]
    return "[" + "+".join(on) + "]" if on else "[sampling]"


def _check_hooks(callback: Any, on_step: Any) -> None:
    if callback is not None and not callable(callback):
        raise TypeError(
            f"callback must be a function of one Snapshot, or None; got {type(callback).__name__}"
        )
    if on_step is not None and not callable(on_step):
        raise TypeError(
            f"on_step must be a function of (step, steps), or None; got {type(on_step).__name__}"
        )


# --------------------------------------------------------------------------------- run
def run(
    config: LabConfig,
    out: str | Path | None = None,
    *,
    overwrite: bool = False,
    resume: bool = False,
    progress: bool = True,
    stop_after: int | None = None,
    ckpt_every: int | None = None,
    callback: Callable[[Snapshot], None] | None = None,
    on_step: Callable[[int, int], None] | None = None,
    on_finish: Callable[[RunParts, TrainState], None] | None = None,
    device: str | torch.device = "cpu",
) -> Results | None:
    """Train and evaluate one configuration (Sections 4.2-4.3; Algorithm 1 for ``scrapl``).

    Args:
        config: the run (see :func:`~scrapl_edu.lab.config.make_config`); validated first.
        out: results folder (None: nothing written, no checkpoint).
        overwrite: replace a finished or non-empty ``out``.
        resume: continue from ``out/checkpoint.pt`` if present.
        progress: tqdm progress bar.
        stop_after: simulate an interruption: checkpoint after this many steps and return
            None (used by the tests).
        ckpt_every: checkpoint every this many steps (default: ``val_every``).
        callback: called with a :class:`~scrapl_edu.lab.results.Snapshot` after every
            validation (step 0, every ``val_every`` steps and the last step). Live figures
            (the dashboard) draw from it.
        on_step: called after every training step with ``(step, steps)``: a cheap hook
            for progress bars (the dashboard's).
        on_finish: called once at the end with the run's parts and final state (the trained
            encoder), e.g. to render its reconstructions (:mod:`scrapl_edu.lab.listen`).
        device: ``"cpu"`` (default), ``"cuda"``, ``"cuda:N"`` or ``"auto"`` (CUDA when
            present); resolved before any work (:func:`scrapl_edu.lab.device.resolve_device`:
            ``"cuda"`` without a GPU raises a ValueError saying what to do). Not part of the
            configuration: the same config gives the same ``results.json["config"]`` and
            checkpoints on every device, and a checkpoint resumes on either (the CPU is
            bit-identical to an uninterrupted run; CUDA up to float32 rounding, see
            :mod:`scrapl_edu.lab.device`). ``results.json["device"]`` says where it ran.

    Returns:
        :class:`~scrapl_edu.lab.results.Results` (also saved to ``out``), or None if stopped
        by ``stop_after``.
    """
    config.validate()
    _check_hooks(callback, on_step)
    dev = resolve_device(device)  # before any work: a missing GPU fails here
    out_path = None if out is None else Path(out)
    prepare_out(out_path, overwrite, resume)
    ckpt_file = None if out_path is None else out_path / CHECKPOINT
    t_start = time.perf_counter()

    def elapsed() -> float:
        return state.elapsed_before + time.perf_counter() - t_start

    def save_checkpoint() -> None:
        if ckpt_file is not None:
            ck = {"config": asdict(config), **state.state_dict(time.perf_counter() - t_start)}
            torch.save(ck, ckpt_file.with_suffix(".tmp"))
            ckpt_file.with_suffix(".tmp").replace(ckpt_file)

    def check_validation() -> None:
        snap = validate(parts, state)
        if callback is not None:
            callback(snap)

    _use_device(dev)
    parts, state = build_parts(config, dev)
    resumed = resume and ckpt_file is not None and ckpt_file.exists()
    if resumed:
        # onto the CPU first: the generators' states must stay there; the encoder and the
        # optimizer copy their tensors to the run's device as they load them
        ck = torch.load(ckpt_file, map_location="cpu", weights_only=False)
        if ck["config"] != asdict(config):
            raise ValueError(
                f"checkpoint {ckpt_file} was written by a different configuration; "
                "resume with the same arguments or pass --overwrite"
            )
        state.load_state_dict(ck)
    elif parts.scrapl and config.theta_is:
        res = run_theta_is(parts, state, progress)
        if out_path is not None:
            np.savez(out_path / "theta_is.npz", probs=res.probs.numpy(), C=res.C.numpy())
        if parts.drums:  # which paths carry which parameter, where theta-IS measured pi
            n = 1 if config.fast else min(DRUM_GRAD_EXAMPLES, config.theta_is_examples)
            state.path_grad_init = drum_path_grads(parts, state, "train", n)

    if not state.val_steps:
        check_validation()  # the curve starts at step 0
    ckpt_every = ckpt_every or config.val_every
    tag = _switch_tag(config) if parts.scrapl else ""
    bar = tqdm(total=config.steps, initial=state.step, desc=config.loss + tag, disable=not progress)
    stopped_early, in_step = False, False  # in_step: generators advanced, step not counted
    with bar, deferred_interrupt() as interrupt:
        try:
            while state.step < config.steps:
                if config.max_wall_s is not None and elapsed() > config.max_wall_s:
                    stopped_early = True
                    break
                in_step = True
                train_step(parts, state)
                bar.update(1)
                if on_step is not None:
                    on_step(state.step, config.steps)
                if state.step % config.val_every == 0 or state.step == config.steps:
                    check_validation()
                    bar.set_postfix(val_l1=f"{state.val[-1]:.0f}‰")
                if state.step % ckpt_every == 0 and state.step < config.steps:
                    save_checkpoint()
                if stop_after is not None and stop_after <= state.step < config.steps:
                    save_checkpoint()
                    return None
                in_step = False
                if interrupt.is_set():  # Ctrl-C during the step: save now, at its boundary
                    save_checkpoint()
                    raise KeyboardInterrupt
        except KeyboardInterrupt:
            if not in_step and not interrupt.is_set():
                save_checkpoint()  # a Ctrl-C between steps (off the main thread)
            raise  # a second Ctrl-C mid-step: the last periodic checkpoint stays valid
    if state.val_steps[-1] != state.step:
        check_validation()
    results = finish(parts, state, elapsed(), stopped_early)
    if on_finish is not None:
        on_finish(parts, state)
    if out_path is not None:
        results.save(out_path)
        ckpt_file.unlink(missing_ok=True)
    return results
