"""One object per loss kind: what each loss of the lab builds, how it steps, what it is.

The lab trains its encoder with one of four losses, the methods of the paper's Table 1
(Section 4.2)::

    kind     label    role (Table 1)                               JTFS  paths/step  switches
    p_loss   P-loss   supervised L1 on θ: the upper bound          no    -           -
    mss      MSS      multi-scale spectral loss: the baseline      no    -           -
    jtfs     JTFS     full JTFS loss, all P paths (Eq. 3 summed)   yes   P           -
    scrapl   SCRAPL   one random path per step (Algorithm 1)       yes   1           P-Adam,
                                                                                     P-SAGA, θ-IS

Each kind is a :class:`LossKind`. It builds its parts (:meth:`LossKind.make_loss`,
:meth:`LossKind.make_optimizer`; :func:`scrapl_edu.lab.parts.build_parts` calls them), takes its
side of a training step (:meth:`LossKind.step_loss`, :meth:`LossKind.optimizer_step`;
:func:`scrapl_edu.lab.train.train_step` calls them), says what its validation records
(:meth:`LossKind.path_counts`, :meth:`LossKind.final_probs`) and describes itself
(:attr:`LossKind.label`, :attr:`LossKind.uses_jtfs`, :attr:`LossKind.switches_apply`, ...).

A run's configuration keeps the kind's *name* (``LabConfig.loss``: a string in
``results.json``, ``config.json`` and on the command line); ``LabConfig.loss_kind`` looks the
object up here (:func:`loss_kind`). Adding a loss is one new subclass and its entry in
:data:`LOSS_KINDS`; :data:`LOSSES` (the names) follows.

The *rows* of the comparison tables (``scrapl_edu.lab.config.ROWS``: ``"scrapl"``,
``"scrapl_no_theta_is"``, ...) are a kind plus SCRAPL's switches; the summaries, the evidence
and the drum report look rows up by those names, which stay strings: they name a table's
row, not a kind's behaviour.

The drum presets (Section 4.4) train with the same kinds: a drum run is a preset of another
synth, not another loss. Where a kind differs on drums it reads ``parts.drums`` (a property of
the synth) itself: MSS's FFT sizes are meant at 44.1 kHz there (:func:`mss_kwargs`).

``scrapl_edu.lab.config`` imports this module, so the kinds read a run through the protocols
:class:`KindConfig`, :class:`KindParts` and :class:`KindState` (what they read of a
:class:`~scrapl_edu.lab.config.LabConfig`, :class:`~scrapl_edu.lab.parts.RunParts` and
:class:`~scrapl_edu.lab.parts.TrainState`) instead of importing those: no import circle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple, Protocol

import torch
from torch import Tensor, nn

from scrapl_edu.adaptive_pi import AdaptivePi
from scrapl_edu.jtfs import JTFS
from scrapl_edu.losses import JTFSLoss, SCRAPLLoss, mss_loss
from scrapl_edu.optim import SCRAPLOptimizer
from scrapl_edu.sampling import PathSampler

__all__ = [
    "JTFS_LOSSES",
    "LOSSES",
    "LOSS_KINDS",
    "JTFSKind",
    "KindConfig",
    "KindParts",
    "KindState",
    "LossKind",
    "MSSKind",
    "PLossKind",
    "SCRAPLKind",
    "StepLoss",
    "loss_kind",
    "loss_names_where",
    "mss_kwargs",
    "mss_sizes",
]


# ------------------------------------------------------------ what a kind reads of a run
class KindConfig(Protocol):
    """What the kinds read of a run's configuration (a :class:`~scrapl_edu.lab.LabConfig`)."""

    seed: int
    lr: float
    betas: tuple[float, float]
    eps: float
    weight_decay: float
    mss_kind: str
    loss_scale: float
    rho: str | None
    path_loss: str
    jtfs_first_order: bool
    min_prob_frac: float
    p_adam: bool
    p_saga: bool
    theta_is: bool


class KindParts(Protocol):
    """What the kinds read of a run's parts (a :class:`~scrapl_edu.lab.parts.RunParts`)."""

    @property
    def config(self) -> KindConfig: ...

    @property
    def jtfs(self) -> JTFS | None: ...

    @property
    def synth(self) -> nn.Module: ...

    @property
    def synth_config(self) -> Any: ...

    @property
    def n_paths(self) -> int: ...

    @property
    def drums(self) -> bool: ...


class KindState(Protocol):
    """What the kinds read of a run's state (a :class:`~scrapl_edu.lab.parts.TrainState`)."""

    @property
    def optimizer(self) -> torch.optim.Optimizer: ...

    @property
    def loss_fn(self) -> nn.Module | None: ...

    @property
    def shift_gen(self) -> torch.Generator: ...

    @property
    def adaptive(self) -> AdaptivePi | None: ...


class StepLoss(NamedTuple):
    """The loss side of one training step.

    ``loss`` is what the history records, ``scaled`` what is differentiated (``loss`` times
    ``loss_scale`` for the JTFS losses), ``path`` the path the gradient came from (-1: all
    paths, or none).
    """

    loss: Tensor
    scaled: Tensor
    path: int


# ------------------------------------------------------------------------- MSS sizes
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


def mss_kwargs(parts: KindParts, kind: str | None = None) -> dict[str, Any]:
    """:func:`mss_sizes` of a run's synth (the drums' sizes are meant at 44.1 kHz)."""
    synth_cfg = parts.synth_config
    ref_sr = 44100.0 if parts.drums else 8192.0
    return mss_sizes(kind or parts.config.mss_kind, synth_cfg.n_samples, synth_cfg.sr, ref_sr)


# ----------------------------------------------------------------------------- the kinds
@dataclass(frozen=True)
class LossKind:
    """A loss of the lab: what it builds, how it steps, and how it describes itself.

    The base class is an unsupervised audio loss trained with AdamW: the synth renders θ̂,
    the loss module compares the rendering with the target. Subclasses change what differs.

    Attributes:
        name: the loss's name in a configuration (``LabConfig.loss``, ``--loss``).
        label: its row name in the paper's tables (Table 1).
        role: what it is in the comparison of Table 1, in a line.
        menu: its entry in a menu (the dashboard's, ``--help``'s): the label and a hint
            (empty: the label).
        supervised: it is trained on θ itself (no synth in the loss), not on the audio.
        uses_jtfs: it is built on the JTFS (the run builds one; ``loss_scale`` applies).
        samples_paths: it draws one JTFS path per step from a distribution π (Algorithm 1).
        first_order: ``jtfs_first_order`` applies (the full JTFS loss's S1 term).
    """

    name: str
    label: str
    role: str
    menu: str = ""

    supervised: ClassVar[bool] = False
    uses_jtfs: ClassVar[bool] = False
    samples_paths: ClassVar[bool] = False
    first_order: ClassVar[bool] = False

    # -------------------------------------------------------------------- description
    @property
    def switches_apply(self) -> bool:
        """SCRAPL's switches apply (P-Adam Eq. 6-8, P-SAGA Eq. 9, θ-IS Eq. 10-12, adaptive π):
        they keep per-path state or set π, so they need a kind that samples paths."""
        return self.samples_paths

    @property
    def theta_is_applies(self) -> bool:
        """θ-importance sampling (Eq. 10-12) applies: it sets the π the kind draws paths from."""
        return self.samples_paths

    @property
    def adaptive_pi_applies(self) -> bool:
        """Adaptive π applies (it sets π from P-Adam's per-path moments)."""
        return self.samples_paths

    @property
    def applied_diag_applies(self) -> bool:
        """The applied-step diagnostic (:mod:`scrapl_edu.lab.applied`) applies: it measures the
        step's variance over the path draw, which only a kind that samples paths has."""
        return self.samples_paths

    @property
    def validation_needs(self) -> tuple[str, ...]:
        """What a validation of this kind reads: θ L1 on the validation set for every kind;
        the sampler's path counts and the applied-step diagnostic (a JTFS probe batch and π)
        where paths are sampled."""
        base = ("theta L1 on the validation set",)
        if not self.samples_paths:
            return base
        return (*base, "path counts of the sampler", "applied-step diagnostic (JTFS probe, π)")

    # ------------------------------------------------------------------------- parts
    def make_loss(self, parts: KindParts) -> nn.Module | None:
        """The loss module of a run (None: the kind needs none)."""
        return None

    def make_optimizer(self, parts: KindParts, encoder: nn.Module) -> torch.optim.Optimizer:
        """AdamW with the run's settings (Table 11)."""
        return torch.optim.AdamW(encoder.parameters(), **_adam_kwargs(parts.config))

    # -------------------------------------------------------------------------- step
    def step_loss(
        self, parts: KindParts, state: KindState, x: Tensor, theta: Tensor, theta_hat: Tensor
    ) -> StepLoss:
        """The loss of one step: the synth renders θ̂ (at a random shift), the loss module
        compares the rendering with the target ``x``."""
        x_hat = parts.synth(theta_hat, generator=state.shift_gen)
        loss = state.loss_fn(x_hat, x)
        return StepLoss(loss, loss, -1)

    def optimizer_step(self, state: KindState, path: int) -> None:
        """The optimizer's step once the gradient is in ``.grad``."""
        state.optimizer.step()

    # ---------------------------------------------------------------- what it records
    def path_counts(self, state: KindState) -> list[int] | None:
        """How often each path was drawn (None: the kind draws none)."""
        return None

    def final_probs(self, state: KindState) -> list[float] | None:
        """The path distribution π at the end (None: the kind has none)."""
        return None

    def run_tag(self, config: KindConfig) -> str:
        """What the progress bar adds to the loss's name (SCRAPL: its switches)."""
        return ""


@dataclass(frozen=True)
class PLossKind(LossKind):
    """The P-loss: supervised L1 between θ̂ and θ (Section 3.4), the paper's upper bound."""

    supervised: ClassVar[bool] = True

    def step_loss(
        self, parts: KindParts, state: KindState, x: Tensor, theta: Tensor, theta_hat: Tensor
    ) -> StepLoss:
        """mean |θ̂ − θ| over the batch and the parameters (no synth, no shift drawn)."""
        loss = (theta_hat - theta).abs().mean()
        return StepLoss(loss, loss, -1)


@dataclass(frozen=True)
class MSSKind(LossKind):
    """A multi-scale spectral loss (auraloss; Section 4.2's baselines)."""

    def make_loss(self, parts: KindParts) -> nn.Module:
        """:func:`scrapl_edu.losses.mss_loss` of ``mss_kind``, sized by :func:`mss_kwargs`."""
        return mss_loss(parts.config.mss_kind, **mss_kwargs(parts))


@dataclass(frozen=True)
class JTFSKind(LossKind):
    """The full JTFS loss: every path every step, Σ_p L_p (Eq. 3 summed over the P paths)."""

    uses_jtfs: ClassVar[bool] = True
    first_order: ClassVar[bool] = True

    def make_loss(self, parts: KindParts) -> nn.Module:
        """:class:`scrapl_edu.losses.JTFSLoss` on the run's JTFS."""
        cfg = parts.config
        return JTFSLoss(
            parts.jtfs, rho=cfg.rho, path_loss=cfg.path_loss, first_order=cfg.jtfs_first_order
        )

    def step_loss(
        self, parts: KindParts, state: KindState, x: Tensor, theta: Tensor, theta_hat: Tensor
    ) -> StepLoss:
        """The audio loss, differentiated times ``loss_scale`` (identity-ρ JTFS gradients are
        ~1e-10, below Adam's eps; the authors' ``grad_mult``)."""
        step = super().step_loss(parts, state, x, theta, theta_hat)
        return step._replace(scaled=step.loss * parts.config.loss_scale)


@dataclass(frozen=True)
class SCRAPLKind(JTFSKind):
    """SCRAPL: one path p ~ π per step (Algorithm 1), L_p of Eq. 3, with P-Adam (Eq. 6-8),
    P-SAGA (Eq. 9) and θ-IS (Eq. 10-12) as switches."""

    samples_paths: ClassVar[bool] = True
    first_order: ClassVar[bool] = False

    def make_loss(self, parts: KindParts) -> nn.Module:
        """:class:`scrapl_edu.losses.SCRAPLLoss` with its path sampler (seeded ``seed + 3``;
        uniform π until θ-IS or adaptive π sets it, Prop. 3.1)."""
        cfg = parts.config
        sampler = PathSampler(parts.n_paths, seed=cfg.seed + 3, min_prob_frac=cfg.min_prob_frac)
        return SCRAPLLoss(parts.jtfs, sampler, rho=cfg.rho, path_loss=cfg.path_loss)

    def make_optimizer(self, parts: KindParts, encoder: nn.Module) -> torch.optim.Optimizer:
        """:class:`scrapl_edu.optim.SCRAPLOptimizer`: AdamW's settings with P-Adam and P-SAGA."""
        cfg = parts.config
        return SCRAPLOptimizer(
            encoder.parameters(),
            n_paths=parts.n_paths,
            p_adam=cfg.p_adam,
            p_saga=cfg.p_saga,
            **_adam_kwargs(cfg),
        )

    def step_loss(
        self, parts: KindParts, state: KindState, x: Tensor, theta: Tensor, theta_hat: Tensor
    ) -> StepLoss:
        """L_p of the path p ~ π that the loss drew (Algorithm 1, lines 5-7; Eq. 3)."""
        step = super().step_loss(parts, state, x, theta, theta_hat)
        return step._replace(path=int(state.loss_fn.last_path))

    def optimizer_step(self, state: KindState, path: int) -> None:
        """The step told which path the gradient came from (Algorithm 1, lines 8-10: P-Adam
        Eq. 6-8, P-SAGA Eq. 9); then adaptive π's update, when on."""
        state.optimizer.step(path=path)
        if state.adaptive is not None:
            state.adaptive.update()

    def path_counts(self, state: KindState) -> list[int]:
        """How often the sampler drew each path."""
        return [int(c) for c in state.loss_fn.sampler.counts]

    def final_probs(self, state: KindState) -> list[float]:
        """The sampler's π at the end (θ-IS's, adaptive π's last, or uniform)."""
        return [float(p) for p in state.loss_fn.sampler.probs]

    def run_tag(self, config: KindConfig) -> str:
        """``[P-Adam+P-SAGA+θ-IS]``: the switches that are on (``[sampling]``: none)."""
        switches = (("P-Adam", config.p_adam), ("P-SAGA", config.p_saga), ("θ-IS", config.theta_is))
        on = [n for n, v in switches if v]
        return "[" + "+".join(on) + "]" if on else "[sampling]"


def _adam_kwargs(config: KindConfig) -> dict[str, Any]:
    return {
        "lr": config.lr,
        "betas": config.betas,
        "eps": config.eps,
        "weight_decay": config.weight_decay,
    }


# --------------------------------------------------------------------------- registry
#: the lab's loss kinds by name, in the order of Section 4.2 (and of :data:`LOSSES`)
LOSS_KINDS: dict[str, LossKind] = {
    k.name: k
    for k in (
        PLossKind(
            "p_loss",
            "P-loss",
            "supervised L1 on θ: the upper bound (Section 3.4)",
            "P-loss (supervised)",
        ),
        MSSKind(
            "mss",
            "MSS",
            "multi-scale spectral loss: the baseline (Section 4.2)",
            "MSS (multi-scale spectral)",
        ),
        JTFSKind(
            "jtfs",
            "JTFS",
            "full JTFS loss: all P paths every step (Eq. 3)",
            "full JTFS (all paths)",
        ),
        SCRAPLKind(
            "scrapl",
            "SCRAPL",
            "one random JTFS path per step (Algorithm 1)",
            "SCRAPL (one path per step)",
        ),
    )
}
#: the losses the lab trains with (Section 4.2): the names of :data:`LOSS_KINDS`
LOSSES: tuple[str, ...] = tuple(LOSS_KINDS)
#: the losses built on the JTFS
JTFS_LOSSES: tuple[str, ...] = tuple(n for n, k in LOSS_KINDS.items() if k.uses_jtfs)


def loss_kind(name: str) -> LossKind:
    """The :class:`LossKind` named ``name``.

    Raises:
        ValueError: ``name`` is no loss of :data:`LOSS_KINDS`; the message lists them.
    """
    if isinstance(name, str) and name in LOSS_KINDS:
        return LOSS_KINDS[name]
    raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}")


def loss_names_where(test: Callable[[LossKind], bool]) -> str:
    """The kinds that pass ``test``, as a message names them: ``loss='scrapl'`` (``or`` ...)."""
    return " or ".join(f"loss={n!r}" for n, k in LOSS_KINDS.items() if test(k))
