"""The parts of a run: what does not change (data, synth, loss, JTFS) and its state.

:func:`build_parts` makes :class:`RunParts` (data, synth, loss, JTFS, on the run's device) and
a fresh :class:`TrainState` (encoder, optimizer, generators, curves), whose
:meth:`TrainState.state_dict` is the checkpoint; :func:`predict` reads θ̂ off the encoder.
The loss module and the optimizer are the run's loss kind's
(:mod:`scrapl_edu.lab.loss_kinds`).
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from scrapl_edu.adaptive_pi import AdaptivePi
from scrapl_edu.jtfs import JTFS
from scrapl_edu.lab.config import LabConfig
from scrapl_edu.lab.data import make_dataset
from scrapl_edu.lab.loss_kinds import LossKind, mss_kwargs, mss_sizes
from scrapl_edu.models import Encoder, build_frontend
from scrapl_edu.synths import SynthPreset

__all__ = [
    "GRAD_EMA",
    "GradEMA",
    "RunParts",
    "TrainState",
    "build_encoder",
    "build_jtfs",
    "build_parts",
    "l1_permille",
    "mss_kwargs",
    "mss_sizes",
    "predict",
]

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
    def kind(self) -> LossKind:
        """The run's loss kind (:mod:`scrapl_edu.lab.loss_kinds`): its parts, step, description."""
        return self.config.loss_kind

    @property
    def n_paths(self) -> int:
        return 0 if self.jtfs is None else self.jtfs.n_paths

    @property
    def param_names(self) -> list[str]:
        return list(self.synth_config.param_names)

    @property
    def drums(self) -> bool:
        """A drum preset (Section 4.4): a property of the synth, not of the loss kind (a drum
        run trains with the same kinds; the drum metrics and path tables are the synth's)."""
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
        """The checkpoint: modules, generators, global RNGs and counters (+ ``elapsed`` s).

        It holds only tensors and plain data (dicts, lists, tuples, numbers, strings, None):
        what ``torch.load(..., weights_only=True)`` reads without running any code. The numpy
        generator's state is stored as plain data (:func:`numpy_rng_state`).
        """
        counters = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in self._MODULES
        }
        counters["grad_ema"] = asdict(self.grad_ema)
        counters["elapsed_before"] = self.elapsed_before + elapsed
        counters = _plain(counters)
        rng = {
            "torch": torch.get_rng_state(),
            "numpy": numpy_rng_state(),
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
        set_numpy_rng_state(ck["rng"]["numpy"])
        random.setstate(ck["rng"]["python"])
        dev = self._device()
        if dev.type == "cuda" and "cuda" in ck["rng"]:
            torch.cuda.set_rng_state(ck["rng"]["cuda"], dev)
        for name, value in ck["state"].items():
            setattr(self, name, GradEMA(**value) if name == "grad_ema" else value)


def _plain(obj: Any) -> Any:
    """``obj`` with numpy scalars and arrays turned into Python numbers and tensors."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_plain(v) for v in obj)
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(obj.copy())
    return obj


def numpy_rng_state() -> dict[str, Any]:
    """numpy's global generator state as plain data (a checkpoint holds no numpy object)."""
    kind, key, pos, has_gauss, cached = np.random.get_state()
    return {
        "kind": str(kind),
        "key": torch.from_numpy(np.asarray(key, dtype=np.int64)),
        "pos": int(pos),
        "has_gauss": int(has_gauss),
        "cached_gaussian": float(cached),
    }


def set_numpy_rng_state(state: dict[str, Any]) -> None:
    """Restore numpy's global generator from :func:`numpy_rng_state`'s plain data."""
    key = np.asarray(state["key"].numpy() if isinstance(state["key"], Tensor) else state["key"])
    np.random.set_state(
        (
            state["kind"],
            key.astype(np.uint32),
            int(state["pos"]),
            int(state["has_gauss"]),
            float(state["cached_gaussian"]),
        )
    )


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
    kind = config.loss_kind
    jtfs = build_jtfs(config) if kind.uses_jtfs else None
    parts = RunParts(config, data, synth_cfg, synth, jtfs)
    loss_fn = kind.make_loss(parts)
    optimizer = kind.make_optimizer(parts, encoder)
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
