"""The sound-matching lab: train an encoder through a synth with P-loss, MSS, JTFS or SCRAPL.

This is the experiment of Sections 4.2-4.3 of the paper (unsupervised DDSP sound matching,
Tables 1-3, Appendix E) made small enough to run on a laptop::

    x (B,1,N) --encoder--> theta_hat --synth (random shift)--> x_hat --loss(x_hat, x)--> step

* ``p_loss``: supervised L1 on theta (the paper's upper bound, Section 3.4 "P-loss");
* ``mss``: a multi-scale spectral loss (auraloss; Section 4.2 baselines);
* ``jtfs``: the full joint time-frequency scattering loss, all P paths every step (Eq. 3);
* ``scrapl``: one random path per step (Algorithm 1) with the P-Adam (Eq. 6-8), P-SAGA
  (Eq. 9) and theta-importance-sampling (Eq. 10-12) switches.

``run(LabConfig(...))`` returns :class:`Results` (per-step history, validation curve, test
theta L1 per parameter in per mille of its range, steps to convergence, total variation of the
validation curve, ms per step, peak memory) and, given an ``out`` folder, writes
``results.json`` + CSV files and keeps a checkpoint so that an interrupted run resumes.

Command line (also the ``scrapl-edu`` console script)::

    python -m scrapl_edu.lab run --preset classroom --loss scrapl --seed 0 --out out/run
    python -m scrapl_edu.lab compare --table losses --seeds 0 1 2 --out out/losses --jobs 2

Lab presets (:data:`LAB_PRESETS`): ``classroom`` (the default) and ``classroom_am*`` are the
paper's four chirplet configurations (Section 4.3) at classroom scale: the synths module's
classroom presets (4 s, the paper's AM rates in Hz, FM rates in oct/s and +-0.25 s random
shifts) rendered at 1024 Hz instead of 2048 Hz (carrier 128 Hz, 4096 samples) so that one
SCRAPL step (batch 8) costs about 75 ms on one CPU core and a full-JTFS step about 1.2 s; a
whole classroom SCRAPL run (theta-IS, 400 steps, evaluation) takes about 45 s. The JTFS (J=9, Q1=8, Q2=1, J_fr=3, Q_fr=1,
T=512, F=8: P=63 paths) has the same rates in Hz (0.7-45 Hz) and scales in cycles/octave as
the paper's. ``chirplet_*`` and ``granular`` are the paper's full-scale set-ups (Tables 10-11).
``SCRAPL_EDU_FAST=1`` shrinks every preset to a few seconds of compute (CI, notebooks).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import math
import os
import random
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, get_args

import numpy as np
import torch
from torch import Tensor, nn

from scrapl_edu.config import fast_mode

__all__ = [
    "LAB_PRESETS",
    "LOSSES",
    "ROWS",
    "TABLES",
    "LabConfig",
    "Results",
    "build_jtfs",
    "compare",
    "main",
    "make_config",
    "make_dataset",
    "paths_in_theta_box",
    "run",
    "theta_box_share",
]

#: the losses the lab trains with (Section 4.2)
LOSSES = ("p_loss", "mss", "jtfs", "scrapl")
#: convergence threshold on the validation theta L1 (Table 2 caption: "< 100 per mille")
CONVERGENCE_PERMILLE = 100.0
#: file names inside a run folder
RESULTS_JSON = "results.json"
CHECKPOINT = "checkpoint.pt"


# ----------------------------------------------------------------------------- presets
def _classroom_chirplet(tag: str) -> dict[str, Any]:
    return {
        "synth_preset": f"classroom_{tag}" if tag else "classroom",
        "synth": {"sr": 1024.0, "n_samples": 4096, "carrier_hz": 128.0, "max_shift": 256},
        "jtfs": {"J": 9, "Q1": 8, "Q2": 1, "J_fr": 3, "Q_fr": 1, "T": 512, "F": 8},
        "frontend": {"n_fft": 128, "hop_length": 64},
        "train": {
            "steps": 400,
            "batch_size": 8,
            "lr": 1e-3,
            "n_examples": 640,
            "val_every": 25,
            "theta_is_examples": 2,
            "theta_is_iters": 2,
        },
    }


def _paper(synth_preset: str, n_is: int, lr: float, steps: int) -> dict[str, Any]:
    return {
        "synth_preset": synth_preset,
        "synth": {},
        "jtfs": {"J": 12, "Q1": 8, "Q2": 2, "J_fr": 3, "Q_fr": 2, "T": 4096, "F": 8},
        "frontend": {"n_fft": 512, "hop_length": 128},
        "train": {
            "steps": steps,
            "batch_size": 32,
            "lr": lr,
            "n_examples": 5120,
            "val_every": 96,
            "theta_is_examples": n_is,
            "theta_is_iters": 20,
        },
    }


#: classroom_granular rendered at 1024 Hz: 0.5 s grains, pitches 32-256 Hz (Table 10 / 8)
_GRANULAR_1024 = {
    "sr": 1024.0,
    "n_samples": 4096,
    "grain_n_samples": 512,
    "pitch_hz": (32.0, 256.0),
}
_GRANULAR_FAST = {"sr": 256.0, "n_samples": 1024, "grain_n_samples": 128, "pitch_hz": (8.0, 64.0)}

#: the paper's four chirplet configurations (Section 4.3, Table 3)
_TAGS = ["am1-2_fm0.5-1", "am1-2_fm2-4", "am2.8-8.4_fm2-4", "am2.8-8.4_fm4-12"]


def _build_lab_presets() -> dict[str, dict[str, Any]]:
    tags = _TAGS
    out: dict[str, dict[str, Any]] = {"classroom": _classroom_chirplet("")}
    aligned = _classroom_chirplet("")
    aligned["synth"] = {**aligned["synth"], "max_shift": 0}
    out["classroom_aligned"] = aligned
    for tag in tags:
        out[f"classroom_{tag}"] = _classroom_chirplet(tag)
        # Table 11: 50 epochs of 3072 / 32 = 96 steps, lr 1e-4, theta-IS on 32 examples
        out[f"chirplet_{tag}"] = _paper(f"chirplet_{tag}", 32, 1e-4, 4800)
    # Table 10: 200 epochs, lr 1e-5, theta-IS on 320 examples
    out["granular"] = _paper("granular", 320, 1e-5, 19200)
    # the granular texture at the classroom scale of the chirplets (0.5 s grains, 4 s)
    gran = _classroom_chirplet("")
    gran["synth_preset"] = "classroom_granular"
    gran["synth"] = dict(_GRANULAR_1024)
    out["classroom_granular"] = gran
    return out


#: lab presets: synth preset + synth overrides + JTFS + encoder front end + training sizes
LAB_PRESETS: dict[str, dict[str, Any]] = _build_lab_presets()

#: what SCRAPL_EDU_FAST=1 changes: seconds per run (tiny signal, few steps)
_FAST = {
    "synth": {"sr": 256.0, "n_samples": 1024, "carrier_hz": 32.0, "max_shift": 64},
    "jtfs": {"J": 7, "Q1": 4, "Q2": 1, "J_fr": 2, "Q_fr": 1, "T": 128, "F": 4},
    "frontend": {"n_fft": 32, "hop_length": 16},
    "train": {
        "steps": 6,
        "batch_size": 4,
        "n_examples": 40,
        "val_every": 3,
        "theta_is_examples": 1,
        "theta_is_iters": 1,
    },
}

#: named rows of the comparison tables (Tables 1-3): loss + SCRAPL switches
ROWS: dict[str, dict[str, Any]] = {
    "p_loss": {"loss": "p_loss"},
    "mss": {"loss": "mss"},
    "jtfs": {"loss": "jtfs"},
    "scrapl": {"loss": "scrapl", "p_adam": True, "p_saga": True, "theta_is": True},
    "scrapl_sampling_only": {"loss": "scrapl", "p_adam": False, "p_saga": False, "theta_is": False},
    "scrapl_p_adam": {"loss": "scrapl", "p_adam": True, "p_saga": False, "theta_is": False},
    "scrapl_no_theta_is": {"loss": "scrapl", "p_adam": True, "p_saga": True, "theta_is": False},
}
#: display names of the rows
ROW_LABELS = {
    "p_loss": "P-loss",
    "mss": "MSS",
    "jtfs": "JTFS",
    "scrapl": "SCRAPL",
    "scrapl_sampling_only": "SCRAPL (sampling only)",
    "scrapl_p_adam": "SCRAPL + P-Adam",
    "scrapl_no_theta_is": "SCRAPL + P-Adam + P-SAGA (uniform)",
}
#: row sets: ``losses`` ~ Table 1 / Fig. 1, ``ablation`` ~ Table 2, ``theta_is`` ~ Table 3
TABLES: dict[str, list[str]] = {
    "losses": ["mss", "jtfs", "scrapl", "p_loss"],
    "ablation": ["scrapl_sampling_only", "scrapl_p_adam", "scrapl_no_theta_is", "scrapl"],
    "theta_is": ["scrapl_no_theta_is", "scrapl"],
}


def split_sizes(n_examples: int, split: Sequence[float]) -> tuple[int, int, int]:
    """Train / validation / test sizes: rounded shares, the test set takes the rest."""
    n_train = int(round(n_examples * split[0]))
    n_val = int(round(n_examples * split[1]))
    return n_train, n_val, n_examples - n_train - n_val


# ------------------------------------------------------------------------------ config
@dataclass
class LabConfig:
    """Everything that defines one training run (saved in ``results.json["config"]``).

    Build it with :func:`make_config`, which fills ``synth``, ``jtfs`` and ``frontend`` from
    the preset (the numeric defaults below are the ``classroom`` preset's).

    Attributes:
        preset: a key of :data:`LAB_PRESETS`.
        loss: ``p_loss``, ``mss``, ``jtfs`` or ``scrapl``.
        p_adam, p_saga, theta_is: SCRAPL's switches (Algorithm 1; Eq. 6-8, 9, 10-12).
        seed: seeds the data set, the encoder, the batch order, the synth's random shifts
            and the path sampler.
        steps: optimizer steps K.
        batch_size: examples per step.
        lr, betas, eps, weight_decay: AdamW / SCRAPL optimizer settings (Table 11).
        n_examples: data-set size, split ``split`` into train / validation / test (60/20/20).
        val_every: validation (theta L1 on the validation set) every this many steps.
        mss_kind: which MSS loss (:func:`scrapl_edu.losses.mss_loss`).
        loss_scale: multiplies the JTFS/SCRAPL loss before backward (the reference's
            ``grad_mult``): identity-rho JTFS gradients are ~1e-10, below Adam's eps.
        theta_is_examples, theta_is_iters: theta-IS batch size N_IS and power iterations.
        min_prob_frac: floor of the path distribution (every path >= f / P).
        synth, jtfs, frontend: overrides of the synth config, JTFS and encoder front end.
        channels: encoder conv channels.
        data_seed: seed of the data set (None: ``seed``).
        max_wall_s: stop training after this many seconds (None: run all steps).
        fast: the config was shrunk by SCRAPL_EDU_FAST (informational).
    """

    preset: str = "classroom"
    loss: str = "scrapl"
    p_adam: bool = True
    p_saga: bool = True
    theta_is: bool = True
    seed: int = 0
    steps: int = 400
    batch_size: int = 8
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.01
    n_examples: int = 640
    split: tuple[float, float, float] = (0.6, 0.2, 0.2)
    val_every: int = 25
    mss_kind: str = "log_linear"
    loss_scale: float = 1e8
    theta_is_examples: int = 2
    theta_is_iters: int = 2
    min_prob_frac: float = 0.0
    synth: dict[str, Any] = field(default_factory=dict)
    jtfs: dict[str, Any] = field(default_factory=dict)
    frontend: dict[str, Any] = field(default_factory=dict)
    channels: tuple[int, ...] = (16, 32, 32, 32)
    data_seed: int | None = None
    max_wall_s: float | None = None
    fast: bool = False

    def validate(self) -> None:
        """Fail fast with a message in the user's terms (raises ValueError)."""
        if self.preset not in LAB_PRESETS:
            raise ValueError(f"unknown preset {self.preset!r}; choose one of {sorted(LAB_PRESETS)}")
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; choose one of {', '.join(LOSSES)}")
        for name in ("steps", "batch_size", "n_examples", "val_every", "theta_is_examples"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {name}={value!r}")
        if not isinstance(self.theta_is_iters, int) or self.theta_is_iters < 1:
            raise ValueError(
                f"theta_is_iters must be a positive integer, got {self.theta_is_iters}"
            )
        if (
            len(self.split) != 3
            or any(s <= 0 for s in self.split)
            or abs(sum(self.split) - 1) > 1e-6
        ):
            raise ValueError(f"split must be 3 positive fractions summing to 1, got {self.split}")
        n_train, n_val, n_test = split_sizes(self.n_examples, self.split)
        if n_train < self.batch_size:
            raise ValueError(
                f"the training set ({n_train} of n_examples={self.n_examples}) is smaller than "
                f"batch_size={self.batch_size}; use more examples or a smaller batch"
            )
        if min(n_val, n_test) < 1:
            raise ValueError(
                f"n_examples={self.n_examples} split {self.split} leaves an empty validation or "
                f"test set ({n_val} / {n_test}); use more examples"
            )
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be positive, got lr={self.lr}")
        if not (self.loss_scale > 0 and math.isfinite(self.loss_scale)):
            raise ValueError(f"loss_scale must be positive, got {self.loss_scale}")
        from scrapl_edu.losses import MSSKind

        if self.mss_kind not in get_args(MSSKind):
            raise ValueError(
                f"unknown mss_kind {self.mss_kind!r}; choose one of {', '.join(get_args(MSSKind))}"
            )
        if self.max_wall_s is not None and self.max_wall_s <= 0:
            raise ValueError(f"max_wall_s must be positive or None, got {self.max_wall_s}")
        for name in ("am_hz", "fm_oct_per_s", "pitch_hz"):
            if name in self.synth:
                low, high = self.synth[name]
                if low > high:
                    raise ValueError(
                        f"parameter range {name}=({low}, {high}) is inverted: low must be <= high"
                    )
        synth_cfg = self.synth_config()  # the synth checks its own ranges and lengths
        if self.loss in ("jtfs", "scrapl"):
            self._check_resolvable(synth_cfg)

    def synth_config(self):
        """The synth configuration: the preset's, with ``synth`` overrides applied."""
        from scrapl_edu.synths import get_preset

        base = get_preset(LAB_PRESETS[self.preset]["synth_preset"])
        try:
            return dataclasses.replace(base, **self.synth)
        except TypeError as err:
            raise ValueError(f"bad synth override in {self.synth}: {err}") from None

    def jtfs_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :class:`scrapl_edu.jtfs.JTFS` for this run."""
        cfg = self.synth_config()
        return {"shape": cfg.n_samples, "sr": cfg.sr, **self.jtfs}

    def _check_resolvable(self, synth_cfg) -> None:
        """A chirplet preset must have JTFS rates down to its slowest AM (Section 4.3).

        The slowest second-order wavelet must reach the lower end of the AM range (its centre
        minus one bandwidth), and its support 2**J must fit in the signal: otherwise the
        paths that carry theta_AM do not exist and no loss built on them can learn it.
        """
        if getattr(synth_cfg, "kind", "") != "chirplet":
            return
        from scrapl_edu.filters import filterbank_params

        J = int(self.jtfs.get("J", 1))
        n = synth_cfg.n_samples
        if 2**J > n:
            raise ValueError(
                f"preset {self.preset!r}: J={J} needs 2**J={2**J} samples but the signal has "
                f"{n}; use a smaller J or a longer signal"
            )
        specs = filterbank_params(J, int(self.jtfs.get("Q2", 1)))
        slowest = min((f.xi - f.sigma) * synth_cfg.sr for f in specs if f.xi > 0)
        am_low = synth_cfg.am_hz[0]
        if am_low < slowest:
            longest = 2**J / synth_cfg.sr
            raise ValueError(
                f"preset {self.preset!r} cannot resolve its AM range at this length: theta_AM "
                f"goes down to {am_low} Hz but the slowest second-order wavelet (J={J}, "
                f"{longest:.3g} s at {synth_cfg.sr:g} Hz) only reaches {slowest:.3g} Hz; "
                f"raise J (needs a signal of >= 2**J samples) or the lower end of am_hz"
            )


def make_config(preset: str = "classroom", **overrides: Any) -> LabConfig:
    """The :class:`LabConfig` of a lab preset, with ``overrides`` (and fast mode) applied.

    ``SCRAPL_EDU_FAST=1`` replaces sizes by tiny ones (:data:`_FAST`) before ``overrides``.
    """
    if preset not in LAB_PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(LAB_PRESETS)}")
    p = LAB_PRESETS[preset]
    kw: dict[str, Any] = {
        "preset": preset,
        "synth": dict(p["synth"]),
        "jtfs": dict(p["jtfs"]),
        "frontend": dict(p["frontend"]),
        **p["train"],
    }
    if fast_mode():
        from scrapl_edu.synths import get_preset

        if get_preset(p["synth_preset"]).kind == "granular":
            kw["synth"] = dict(_GRANULAR_FAST)
        else:
            kw["synth"].update(_FAST["synth"])
            if p["synth"].get("max_shift", None) == 0:
                kw["synth"]["max_shift"] = 0
        kw["jtfs"] = dict(_FAST["jtfs"])
        kw["frontend"] = dict(_FAST["frontend"])
        kw.update(_FAST["train"])
        kw["channels"] = (8, 8)
        kw["fast"] = True
    for key in ("synth", "jtfs", "frontend"):
        if key in overrides:
            kw[key] = {**kw[key], **overrides.pop(key)}
    kw.update(overrides)
    cfg = LabConfig(**kw)
    cfg.betas = tuple(cfg.betas)  # type: ignore[assignment]
    cfg.split = tuple(cfg.split)  # type: ignore[assignment]
    cfg.channels = tuple(cfg.channels)
    return cfg


# ------------------------------------------------------------------------------- parts
def build_jtfs(config: LabConfig):
    """The JTFS of a run (Section 4.1; Table 11 at full scale)."""
    from scrapl_edu.jtfs import JTFS

    return JTFS(**config.jtfs_kwargs())


def make_dataset(config: LabConfig) -> dict[str, Tensor]:
    """theta ~ U[0,1]^U (log-uniform physical values) and the audio, split 60/20/20.

    Every example has its own seeded random shift / grain draw, so the data set is fixed by
    ``data_seed`` (Appendix E, "N (# of examples)", "train / val / test split").
    """
    from scrapl_edu.synths import sample_theta

    seed = config.seed if config.data_seed is None else config.data_seed
    synth = config.synth_config().build()
    gen = torch.Generator().manual_seed(10_000 + int(seed))
    theta = sample_theta(config.n_examples, generator=gen, n_params=synth.n_params)
    seeds = [int(s) for s in torch.randint(0, 2**31 - 1, (config.n_examples,), generator=gen)]
    with torch.no_grad():
        chunks = [
            synth(theta[i : i + 256], seed=seeds[i : i + 256])
            for i in range(0, config.n_examples, 256)
        ]
    audio = torch.cat(chunks)
    n_train, n_val, _ = split_sizes(config.n_examples, config.split)
    sl = {"train": slice(0, n_train), "val": slice(n_train, n_train + n_val)}
    sl["test"] = slice(n_train + n_val, config.n_examples)
    out = {}
    for name, s in sl.items():
        out[f"x_{name}"] = audio[s]
        out[f"theta_{name}"] = theta[s]
    return out


class LogSpectrogram(nn.Module):
    """Standardised ``log1p |STFT|``: the encoder's input features (Tables 10-11 "log1p").

    The paper feeds a log1p-compressed CQT to the CNN. At the synths' RMS of 0.05 these
    features are tiny (mean ~0.01, std ~0.1) and the small encoder sits on a plateau for
    hundreds of steps, so they are standardised with a mean and standard deviation measured
    once on training signals (:meth:`fit`); both are buffers, saved with the encoder.
    """

    def __init__(self, n_fft: int = 128, hop_length: int = 64) -> None:
        super().__init__()
        from scrapl_edu.models import Spectrogram

        self.spec = Spectrogram(n_fft=n_fft, hop_length=hop_length)
        self.register_buffer("mean", torch.zeros(()))
        self.register_buffer("std", torch.ones(()))

    @torch.no_grad()
    def fit(self, x: Tensor) -> LogSpectrogram:
        f = torch.log1p(self.spec(x))
        self.mean.fill_(f.mean())
        self.std.fill_(f.std().clamp_min(1e-8))
        return self

    def forward(self, x: Tensor) -> Tensor:
        return (torch.log1p(self.spec(x)) - self.mean) / self.std


def _build_encoder(config: LabConfig, n_params: int, x_fit: Tensor) -> nn.Module:
    """The CNN encoder (:class:`scrapl_edu.models.Encoder`) on :class:`LogSpectrogram`."""
    from scrapl_edu.models import Encoder

    frontend = LogSpectrogram(**config.frontend).fit(x_fit)
    return Encoder(n_params, frontend=frontend, channels=config.channels, log1p=False)


def _l1_permille(theta_hat: Tensor, theta: Tensor) -> np.ndarray:
    """Per-parameter mean |theta_hat - theta| in per mille of the [0, 1] range (Tables 1-3)."""
    return (theta_hat - theta).abs().mean(dim=0).double().numpy() * 1000.0


def _predict(encoder: nn.Module, x: Tensor, batch: int = 64) -> Tensor:
    was = encoder.training
    encoder.eval()
    with torch.no_grad():
        out = torch.cat([encoder(x[i : i + batch]) for i in range(0, len(x), batch)])
    encoder.train(was)
    return out


# ----------------------------------------------------------------------------- results
@dataclass
class Results:
    """What one run produced (the JSON of ``results.json`` is :meth:`to_dict`).

    Attributes:
        config: the full :class:`LabConfig` as a dict.
        param_names: names of the synth parameters.
        test_theta_l1_permille: test theta L1, mean over parameters, per mille of the range.
        test_theta_l1_permille_per_param: the same per parameter (name -> value).
        val_steps, val_theta_l1_permille, val_theta_l1_permille_per_param: validation curve.
        steps_to_convergence: first validation step with theta L1 < 100 per mille (None: never).
        val_total_variation: sum |v_k+1 - v_k| of the validation curve, theta L1 as a
            fraction of the range (Table 2, "Total Var.").
        steps: optimizer steps done; ms_per_step: mean training step time; wall_s: the whole
            run (data, theta-IS, training, evaluation); theta_is_s: theta-IS time.
        peak_rss_mb: peak resident memory of the process (``resource.getrusage``).
        history: per step ``loss``, ``path`` (-1 if none), ``step_s`` and ``grad_var`` (the
            running variance of the gradient the optimizer receives, see
            :func:`_update_grad_variance`).
        theta_is_probs: the path distribution pi (None unless theta-IS ran).
        path_counts: visits per path (SCRAPL) or None.
        n_paths: P of the run's JTFS (0 for p_loss / mss).
        stopped_early: training stopped by ``max_wall_s``.
    """

    config: dict[str, Any]
    param_names: list[str]
    test_theta_l1_permille: float
    test_theta_l1_permille_per_param: dict[str, float]
    val_steps: list[int]
    val_theta_l1_permille: list[float]
    val_theta_l1_permille_per_param: list[list[float]]
    steps_to_convergence: int | None
    val_total_variation: float
    steps: int
    ms_per_step: float
    wall_s: float
    theta_is_s: float
    peak_rss_mb: float
    history: dict[str, list]
    theta_is_probs: list[float] | None
    path_counts: list[int] | None
    n_paths: int
    stopped_early: bool

    def to_dict(self, with_history: bool = False) -> dict[str, Any]:
        d = asdict(self)
        if not with_history:
            d.pop("history")
        return d

    def save(self, out: str | Path) -> None:
        """Write ``results.json``, ``history.csv`` and ``validation.csv`` into ``out``."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        with open(out / "history.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["step", "loss", "path", "step_s", "grad_var"])
            h = self.history
            gv = h.get("grad_var") or [float("nan")] * len(h["loss"])
            for k in range(len(h["loss"])):
                w.writerow(
                    [
                        k + 1,
                        f"{h['loss'][k]:.6g}",
                        h["path"][k],
                        f"{h['step_s'][k]:.5f}",
                        f"{gv[k]:.6g}",
                    ]
                )
        with open(out / "validation.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(
                ["step", "theta_l1_permille", *[f"{n}_l1_permille" for n in self.param_names]]
            )
            for s, v, pp in zip(
                self.val_steps, self.val_theta_l1_permille, self.val_theta_l1_permille_per_param
            ):
                w.writerow([s, f"{v:.4f}", *[f"{x:.4f}" for x in pp]])
        tmp = out / (RESULTS_JSON + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1))
        tmp.replace(out / RESULTS_JSON)


def convergence_step(steps: Sequence[int], curve: Sequence[float]) -> int | None:
    """First step whose validation theta L1 is below 100 per mille (Table 2), else None."""
    for s, v in zip(steps, curve):
        if v < CONVERGENCE_PERMILLE:
            return int(s)
    return None


def total_variation(curve: Sequence[float]) -> float:
    """Sum of |v_{k+1} - v_k| (Table 2 "Total Var."), in the curve's units."""
    c = np.asarray(curve, dtype=float)
    return float(np.abs(np.diff(c)).sum()) if c.size > 1 else 0.0


# --------------------------------------------------------------------------------- run
def _prepare_out(out: Path | None, overwrite: bool, resume: bool) -> None:
    if out is None:
        return
    if out.exists() and any(out.iterdir()):
        done = (out / RESULTS_JSON).exists()
        if overwrite:
            for name in (RESULTS_JSON, CHECKPOINT, "history.csv", "validation.csv", "theta_is.npz"):
                (out / name).unlink(missing_ok=True)
            return
        if resume and (out / CHECKPOINT).exists() and not done:
            return
        if resume and not done:
            return  # nothing to resume yet: start from scratch in this folder
        why = "holds a finished run" if done else "is not empty"
        raise FileExistsError(
            f"results folder {out} {why}; pass --overwrite to replace it"
            + ("" if done else " or --resume to continue from its checkpoint")
        )
    out.mkdir(parents=True, exist_ok=True)


def _rng_state() -> dict[str, Any]:
    return {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])


#: weight of the newest gradient in the running gradient-variance estimate (~10 steps)
GRAD_EMA = 0.1


def _update_grad_variance(state: dict[str, Any], model: torch.nn.Module) -> float:
    """Running variance of the stochastic gradient, E‖g − E g‖², over ~10 steps.

    Exponential moving averages of g and of ‖g‖² (weight :data:`GRAD_EMA`); the
    variance is their difference, recorded per step as ``history["grad_var"]``. ``g`` is
    the gradient the optimizer receives (the one-path gradient for SCRAPL, scaled by
    ``loss_scale`` for the JTFS losses, so compare it within a loss): θ-IS changes it
    through the paths it draws, while P-Adam and P-SAGA act inside the step on what is
    done with it (notebooks 5 and 6 measure those).
    """
    grads = [p.grad.reshape(-1) for p in model.parameters() if p.grad is not None]
    if not grads:
        return float("nan")
    g = torch.cat(grads).detach().double()
    ema = state.get("grad_ema")
    if ema is None:
        ema = {"mean": g.clone(), "sq": float(g.square().sum())}
    else:
        ema["mean"].mul_(1 - GRAD_EMA).add_(g, alpha=GRAD_EMA)
        ema["sq"] = (1 - GRAD_EMA) * ema["sq"] + GRAD_EMA * float(g.square().sum())
    state["grad_ema"] = ema
    return max(ema["sq"] - float(ema["mean"].square().sum()), 0.0)


def _peak_rss_mb() -> float:
    """Peak resident memory of this process in MiB (``ru_maxrss``: KiB on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024.0**2 if sys.platform == "darwin" else 1024.0)


@contextmanager
def _deferred_interrupt() -> Iterator[threading.Event]:
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


def run(
    config: LabConfig,
    out: str | Path | None = None,
    *,
    overwrite: bool = False,
    resume: bool = False,
    progress: bool = True,
    stop_after: int | None = None,
    ckpt_every: int | None = None,
    callback: Callable[[dict[str, Any]], None] | None = None,
    on_step: Callable[[int, int], None] | None = None,
) -> Results | None:
    """Train and evaluate one configuration (Sections 4.2-4.3; Algorithm 1 for ``scrapl``).

    Args:
        config: the run (see :func:`make_config`); validated first.
        out: results folder (None: nothing written, no checkpoint).
        overwrite: replace a finished or non-empty ``out``.
        resume: continue from ``out/checkpoint.pt`` if present.
        progress: tqdm progress bar.
        stop_after: simulate an interruption: checkpoint after this many steps and return
            None (used by the tests).
        ckpt_every: checkpoint every this many steps (default: ``val_every``).
        callback: called after every validation (step 0, every ``val_every`` steps and the
            last step) with a snapshot of the run so far: ``step``, ``steps``,
            ``val_steps``, ``val_theta_l1`` (‰), ``path_counts`` (SCRAPL's draws per path,
            else None), ``probs`` (θ-IS's π, or None), ``losses`` and ``grad_var`` (per
            step). The lists are copies. Live figures (the dashboard) draw from it.
        on_step: called after every training step with ``(step, steps)``: a cheap hook
            for progress bars (the dashboard's).

    Returns:
        :class:`Results` (also saved to ``out``), or None if stopped by ``stop_after``.
    """
    from tqdm.auto import tqdm

    from scrapl_edu.losses import JTFSLoss, SCRAPLLoss, mss_loss
    from scrapl_edu.optim import SCRAPLOptimizer
    from scrapl_edu.sampling import PathSampler, theta_importance_sampling

    config.validate()
    if callback is not None and not callable(callback):
        raise TypeError(
            f"callback must be a function of one dict, or None; got {type(callback).__name__}"
        )
    if on_step is not None and not callable(on_step):
        raise TypeError(
            f"on_step must be a function of (step, steps), or None; got {type(on_step).__name__}"
        )
    out_path = None if out is None else Path(out)
    _prepare_out(out_path, overwrite, resume)
    ckpt_every = ckpt_every or config.val_every
    t_start = time.perf_counter()

    torch.manual_seed(config.seed)
    np.random.seed(config.seed % 2**32)
    random.seed(config.seed)
    data = make_dataset(config)
    synth_cfg = config.synth_config()
    synth = synth_cfg.build()
    param_names = list(synth_cfg.param_names)
    encoder = _build_encoder(config, synth.n_params, data["x_train"][:128])
    encoder.train()

    # --- loss and optimizer ---
    jtfs = None
    loss_fn: nn.Module | None = None
    n_paths = 0
    if config.loss in ("jtfs", "scrapl"):
        jtfs = build_jtfs(config)
        n_paths = jtfs.n_paths
    if config.loss == "mss":
        loss_fn = mss_loss(
            config.mss_kind, **_mss_sizes(config.mss_kind, synth_cfg.n_samples, synth_cfg.sr)
        )
    elif config.loss == "jtfs":
        loss_fn = JTFSLoss(jtfs)
    elif config.loss == "scrapl":
        loss_fn = SCRAPLLoss(
            jtfs, PathSampler(n_paths, seed=config.seed + 3, min_prob_frac=config.min_prob_frac)
        )
    scrapl = config.loss == "scrapl"
    if scrapl:
        optimizer: torch.optim.Optimizer = SCRAPLOptimizer(
            encoder.parameters(),
            n_paths=n_paths,
            lr=config.lr,
            betas=config.betas,
            eps=config.eps,
            weight_decay=config.weight_decay,
            p_adam=config.p_adam,
            p_saga=config.p_saga,
        )
    else:
        optimizer = torch.optim.AdamW(
            encoder.parameters(),
            lr=config.lr,
            betas=config.betas,
            eps=config.eps,
            weight_decay=config.weight_decay,
        )
    batch_gen = torch.Generator().manual_seed(config.seed + 1)
    shift_gen = torch.Generator().manual_seed(config.seed + 2)

    state: dict[str, Any] = {
        "step": 0,
        "history": {"loss": [], "path": [], "step_s": [], "grad_var": []},
        "grad_ema": None,
        "val_steps": [],
        "val": [],
        "val_pp": [],
        "theta_is_probs": None,
        "theta_is_s": 0.0,
        "elapsed_before": 0.0,
        "perm": None,
        "perm_pos": 0,
    }
    ckpt_file = None if out_path is None else out_path / CHECKPOINT
    resumed = False
    if resume and ckpt_file is not None and ckpt_file.exists():
        ck = torch.load(ckpt_file, weights_only=False)
        if ck["config"] != asdict(config):
            raise ValueError(
                f"checkpoint {ckpt_file} was written by a different configuration; "
                "resume with the same arguments or pass --overwrite"
            )
        encoder.load_state_dict(ck["encoder"])
        optimizer.load_state_dict(ck["optimizer"])
        if loss_fn is not None and ck["loss"] is not None:
            loss_fn.load_state_dict(ck["loss"])
        batch_gen.set_state(ck["batch_gen"])
        shift_gen.set_state(ck["shift_gen"])
        _set_rng_state(ck["rng"])
        state = ck["state"]
        resumed = True

    # --- theta-importance sampling, once before training (Section 3.4, Eq. 10-12) ---
    if scrapl and config.theta_is and not resumed:
        t0 = time.perf_counter()
        encoder.eval()
        x_is = data["x_train"][: config.theta_is_examples]
        res = theta_importance_sampling(
            encoder,
            synth,
            loss_fn,
            x_is,
            n_iter=config.theta_is_iters,
            synth_seed=config.seed,
            power_seed=config.seed,
            progress=progress,
        )
        encoder.train()
        loss_fn.sampler.set_probs(res.probs)
        state["theta_is_probs"] = [float(p) for p in res.probs]
        state["theta_is_s"] = time.perf_counter() - t0
        if out_path is not None:
            np.savez(out_path / "theta_is.npz", probs=res.probs.numpy(), C=res.C.numpy())

    x_train, th_train = data["x_train"], data["theta_train"]
    n_train = len(x_train)

    def next_batch() -> Tensor:
        if state["perm"] is None or state["perm_pos"] + config.batch_size > n_train:
            state["perm"] = torch.randperm(n_train, generator=batch_gen)
            state["perm_pos"] = 0
        idx = state["perm"][state["perm_pos"] : state["perm_pos"] + config.batch_size]
        state["perm_pos"] += config.batch_size
        return idx

    def validate() -> None:
        pp = _l1_permille(_predict(encoder, data["x_val"]), data["theta_val"])
        state["val_steps"].append(state["step"])
        state["val"].append(float(pp.mean()))
        state["val_pp"].append([float(v) for v in pp])
        if callback is not None:
            h, probs = state["history"], state["theta_is_probs"]
            callback(
                {
                    "step": state["step"],
                    "steps": config.steps,
                    "val_steps": list(state["val_steps"]),
                    "val_theta_l1": list(state["val"]),
                    "path_counts": [int(c) for c in loss_fn.sampler.counts] if scrapl else None,
                    "probs": None if probs is None else list(probs),
                    "losses": list(h["loss"]),
                    "grad_var": list(h["grad_var"]),
                }
            )

    def save_checkpoint() -> None:
        if ckpt_file is None:
            return
        ck = {
            "config": asdict(config),
            "encoder": encoder.state_dict(),
            "optimizer": optimizer.state_dict(),
            "loss": None if loss_fn is None else loss_fn.state_dict(),
            "batch_gen": batch_gen.get_state(),
            "shift_gen": shift_gen.get_state(),
            "rng": _rng_state(),
            "state": {
                **state,
                "elapsed_before": state["elapsed_before"] + time.perf_counter() - t_start,
            },
        }
        tmp = ckpt_file.with_suffix(".tmp")
        torch.save(ck, tmp)
        tmp.replace(ckpt_file)

    if not state["val_steps"]:
        validate()  # the curve starts at step 0
    bar = tqdm(
        total=config.steps,
        initial=state["step"],
        desc=f"{config.loss}{'' if not scrapl else _switch_tag(config)}",
        disable=not progress,
    )
    stopped_early = False
    in_step = False  # True while a step has advanced its generators but not finished
    with _deferred_interrupt() as interrupt:
        try:
            while state["step"] < config.steps:
                if config.max_wall_s is not None:
                    spent = state["elapsed_before"] + time.perf_counter() - t_start
                    if spent > config.max_wall_s:
                        stopped_early = True
                        break
                t0 = time.perf_counter()
                in_step = True
                idx = next_batch()
                x, theta = x_train[idx], th_train[idx]
                theta_hat = encoder(x)
                path = -1
                if config.loss == "p_loss":
                    loss = (theta_hat - theta).abs().mean()
                    scaled = loss
                else:
                    x_hat = synth(theta_hat, generator=shift_gen)
                    loss = loss_fn(x_hat, x)
                    scaled = loss * config.loss_scale if config.loss in ("jtfs", "scrapl") else loss
                    if scrapl:
                        path = int(loss_fn.last_path)
                optimizer.zero_grad(set_to_none=True)
                scaled.backward()
                grad_var = _update_grad_variance(state, encoder)
                if scrapl:
                    optimizer.step(path=path)
                else:
                    optimizer.step()
                state["step"] += 1
                h = state["history"]
                h["loss"].append(float(loss.detach()))
                h["path"].append(path)
                h["step_s"].append(time.perf_counter() - t0)
                h.setdefault("grad_var", []).append(grad_var)
                bar.update(1)
                if on_step is not None:
                    on_step(state["step"], config.steps)
                if state["step"] % config.val_every == 0 or state["step"] == config.steps:
                    validate()
                    bar.set_postfix(val_l1=f"{state['val'][-1]:.0f}‰")
                if state["step"] % ckpt_every == 0 and state["step"] < config.steps:
                    save_checkpoint()
                if (
                    stop_after is not None
                    and state["step"] >= stop_after
                    and state["step"] < config.steps
                ):
                    save_checkpoint()
                    bar.close()
                    return None
                in_step = False
                if interrupt.is_set():  # Ctrl-C during the step: save now, at its boundary
                    save_checkpoint()
                    bar.close()
                    raise KeyboardInterrupt
        except KeyboardInterrupt:
            if in_step:  # a second Ctrl-C mid-step: the last periodic checkpoint stays valid
                bar.close()
                raise
            if not interrupt.is_set():
                save_checkpoint()
            bar.close()
            raise
    bar.close()
    if state["val_steps"][-1] != state["step"]:
        validate()

    test_pp = _l1_permille(_predict(encoder, data["x_test"]), data["theta_test"])
    step_s = np.asarray(state["history"]["step_s"], dtype=float)
    # the first steps warm up caches (FFT plans, filter windows): leave them out of ms/step
    warm = step_s[min(2, max(0, len(step_s) - 1)) :]
    counts = None
    if scrapl:
        counts = [int(c) for c in loss_fn.sampler.counts]
    results = Results(
        config=asdict(config),
        param_names=param_names,
        test_theta_l1_permille=float(test_pp.mean()),
        test_theta_l1_permille_per_param={n: float(v) for n, v in zip(param_names, test_pp)},
        val_steps=list(state["val_steps"]),
        val_theta_l1_permille=list(state["val"]),
        val_theta_l1_permille_per_param=list(state["val_pp"]),
        steps_to_convergence=convergence_step(state["val_steps"], state["val"]),
        val_total_variation=total_variation(np.asarray(state["val"]) / 1000.0),
        steps=int(state["step"]),
        ms_per_step=float(warm.mean() * 1000.0) if warm.size else float("nan"),
        wall_s=float(state["elapsed_before"] + time.perf_counter() - t_start),
        theta_is_s=float(state["theta_is_s"]),
        peak_rss_mb=_peak_rss_mb(),
        history=state["history"],
        theta_is_probs=state["theta_is_probs"],
        path_counts=counts,
        n_paths=n_paths,
        stopped_early=stopped_early,
    )
    if out_path is not None:
        results.save(out_path)
        if ckpt_file is not None:
            ckpt_file.unlink(missing_ok=True)
    return results


def _mss_sizes(kind: str, n_samples: int, sr: float) -> dict[str, Any]:
    """MSS FFT sizes of the paper's 8192 Hz set-up, kept in seconds at the lab's ``sr``.

    The classroom presets keep every duration in seconds (4 s signals, +-0.25 s shifts), so
    the MSS windows must be too: at 8192 Hz the largest window (2048 samples) lasts 0.25 s,
    no longer than the random shift. Left in samples at 1024 Hz it would last 2 s, span the
    whole chirplet wherever it is, and make MSS shift invariant: a different experiment.
    Sizes are also capped at half the signal (auraloss pads by n_fft / 2).
    """
    scale = sr / 8192.0
    top = n_samples // 2

    def fit(n: int) -> int:
        return max(16, min(top, int(round(n * scale))))

    if kind == "random":
        return {"max_fft_size": fit(2048), "min_fft_size": fit(64)}
    base = [512, 1024, 2048] if kind == "revisited" else [2048, 1024, 512, 256, 128, 64]
    sizes = sorted({fit(n) for n in base}, reverse=True)
    return {"fft_sizes": sizes, "hop_sizes": [max(1, n // 4) for n in sizes], "win_lengths": sizes}


def _switch_tag(config: LabConfig) -> str:
    on = [
        n
        for n, v in (
            ("P-Adam", config.p_adam),
            ("P-SAGA", config.p_saga),
            ("θ-IS", config.theta_is),
        )
        if v
    ]
    return "[" + "+".join(on) + "]" if on else "[sampling]"


# ------------------------------------------------------------------- theta-IS vs box
def _path_intervals(jtfs, path) -> tuple[tuple[float, float], tuple[float, float]]:
    """AM-rate (Hz) and |FM velocity| (oct/s) intervals of a path: centre +- one bandwidth.

    Rate: ``(xi2 -+ sigma2) * sr``. Scale: ``(|xi_fr| -+ sigma_fr) * Q1`` cycles/octave
    (the low-pass spin-0 path has scale ``[0, sigma_fr Q1]``). Velocity = rate / scale, so
    its interval is ``[rate_lo / scale_hi, rate_hi / scale_lo]`` (inf when scale_lo <= 0).
    """
    sr = jtfs.sr or 1.0
    r_lo, r_hi = (path.xi2 - path.sigma2) * sr, (path.xi2 + path.sigma2) * sr
    c = abs(path.xi_fr) * jtfs.Q1
    bw = path.sigma_fr * jtfs.Q1
    s_lo, s_hi = (max(0.0, c - bw), c + bw) if path.spin != 0 else (0.0, bw)
    v_lo = r_lo / s_hi
    v_hi = r_hi / s_lo if s_lo > 0 else math.inf
    return (r_lo, r_hi), (v_lo, v_hi)


def paths_in_theta_box(
    jtfs, am_hz: tuple[float, float], fm_oct_per_s: tuple[float, float]
) -> np.ndarray:
    """Boolean mask of the paths whose AM rate and FM velocity fall in a preset's theta box.

    A path is in when its rate interval overlaps ``am_hz`` and its velocity interval
    (rate / scale, either spin) overlaps ``fm_oct_per_s``, each interval being the path's
    centre +- one filter bandwidth (sigma) (Appendix C, Figure 6: the dashed rectangles).
    """
    mask = np.zeros(jtfs.n_paths, dtype=bool)
    for i, p in enumerate(jtfs.paths):
        (r_lo, r_hi), (v_lo, v_hi) = _path_intervals(jtfs, p)
        in_rate = r_lo <= am_hz[1] and r_hi >= am_hz[0]
        in_vel = v_lo <= fm_oct_per_s[1] and v_hi >= fm_oct_per_s[0]
        mask[i] = in_rate and in_vel
    return mask


def theta_box_share(probs: Sequence[float], mask: np.ndarray) -> dict[str, float]:
    """Total theta-IS probability of the in-box paths vs their uniform share (ratio >= 1.5?)."""
    probs = np.asarray(probs, dtype=float)
    n_in = int(mask.sum())
    uniform = n_in / probs.size
    got = float(probs[mask].sum())
    return {
        "n_paths": int(probs.size),
        "n_in_box": n_in,
        "prob_in_box": got,
        "uniform_share": uniform,
        "ratio": got / uniform if uniform > 0 else float("nan"),
    }


def theta_is_presets(
    presets: Sequence[str],
    out: str | Path,
    *,
    seed: int = 0,
    n_examples: int | None = None,
    n_iter: int | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """theta-IS path probabilities of several chirplet presets (Appendix C, Figure 6).

    For each preset: the untrained encoder of ``seed``, ``n_examples`` training signals and
    ``n_iter`` power iterations (preset defaults) give pi (Eq. 10-12); the share of pi on
    the paths inside the preset's theta box (:func:`paths_in_theta_box`) is compared with
    their uniform share. Writes ``theta_is_probs.npz`` (``<preset>/probs``, ``/C``,
    ``/in_box``, path ``rate_hz`` / ``scale_cpo``), ``theta_is_box.json``,
    ``theta_is_box.md``, ``theta_is_grid.png`` (rate x scale grid) and
    ``theta_is_box.png`` (rate x velocity with the theta boxes).
    """
    from scrapl_edu.losses import SCRAPLLoss
    from scrapl_edu.sampling import theta_importance_sampling

    out = Path(out)
    if (out / "theta_is_box.json").exists() and not overwrite:
        raise FileExistsError(f"{out / 'theta_is_box.json'} exists; pass --overwrite to replace it")
    out.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    report: dict[str, Any] = {"seed": seed, "presets": {}}
    jtfs_by = {}
    for preset in presets:
        cfg = make_config(preset, loss="scrapl", seed=seed)
        if n_examples is not None:
            cfg.theta_is_examples = n_examples
        if n_iter is not None:
            cfg.theta_is_iters = n_iter
        cfg.validate()
        synth_cfg = cfg.synth_config()
        if synth_cfg.kind != "chirplet":
            raise ValueError(f"theta-IS box analysis needs a chirplet preset, got {preset!r}")
        t0 = time.perf_counter()
        torch.manual_seed(cfg.seed)
        data = make_dataset(cfg)
        encoder = _build_encoder(cfg, synth_cfg.n_params, data["x_train"][:128]).eval()
        jtfs = build_jtfs(cfg)
        res = theta_importance_sampling(
            encoder,
            synth_cfg.build(),
            SCRAPLLoss(jtfs),
            data["x_train"][: cfg.theta_is_examples],
            n_iter=cfg.theta_is_iters,
            synth_seed=cfg.seed,
            power_seed=cfg.seed,
            progress=progress,
        )
        mask = paths_in_theta_box(jtfs, synth_cfg.am_hz, synth_cfg.fm_oct_per_s)
        share = theta_box_share(res.probs.numpy(), mask)
        share.update(
            am_hz=list(synth_cfg.am_hz),
            fm_oct_per_s=list(synth_cfg.fm_oct_per_s),
            n_examples=cfg.theta_is_examples,
            n_iter=cfg.theta_is_iters,
            seconds=time.perf_counter() - t0,
        )
        report["presets"][preset] = share
        arrays[f"{preset}/probs"] = res.probs.numpy()
        arrays[f"{preset}/C"] = res.C.numpy()
        arrays[f"{preset}/in_box"] = mask
        arrays[f"{preset}/rate_hz"] = np.array([p.rate_hz for p in jtfs.paths])
        arrays[f"{preset}/scale_cpo"] = np.array([p.scale_cpo for p in jtfs.paths])
        jtfs_by[preset] = jtfs
    np.savez(out / "theta_is_probs.npz", **arrays)
    (out / "theta_is_box.json").write_text(json.dumps(report, indent=1))
    lines = [
        "| Preset | θ_AM (Hz) | θ_FM (oct/s) | paths in box | uniform share | θ-IS share | ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for preset, r in report["presets"].items():
        lines.append(
            f"| {preset} | {r['am_hz'][0]:g}–{r['am_hz'][1]:g} | "
            f"{r['fm_oct_per_s'][0]:g}–{r['fm_oct_per_s'][1]:g} | {r['n_in_box']} / {r['n_paths']} | "
            f"{r['uniform_share']:.3f} | {r['prob_in_box']:.3f} | {r['ratio']:.2f}× |"
        )
    (out / "theta_is_box.md").write_text("\n".join(lines) + "\n")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from scrapl_edu.viz import plot_path_grid, plot_theta_is_box

        n = len(presets)
        for kind in ("grid", "box"):
            fig, axes = plt.subplots(1, n, figsize=(5.2 * n, 4.4), squeeze=False)
            for ax, preset in zip(axes[0], presets):
                jt, probs = jtfs_by[preset], arrays[f"{preset}/probs"]
                r = report["presets"][preset]
                title = f"{preset}\nin-box share {r['ratio']:.2f}× uniform"
                if kind == "grid":
                    plot_path_grid(jt, probs * probs.size, ax=ax, title=title, label="P · π_p")
                else:
                    plot_theta_is_box(
                        jt,
                        probs,
                        tuple(r["am_hz"]),
                        tuple(r["fm_oct_per_s"]),
                        ax=ax,
                        title=title,
                        in_box=arrays[f"{preset}/in_box"],
                    )
            fig.tight_layout()
            fig.savefig(out / f"theta_is_{kind}.png", dpi=90)
            plt.close(fig)
    except Exception as err:  # the numbers matter more than the figure
        print(f"warning: figure not written: {err}", file=sys.stderr)
    return report


# ---------------------------------------------------------------------------- compare
def _ci95(values: Sequence[float]) -> tuple[float, float]:
    """Mean and half-width of the 95% confidence interval (Student t), as in Tables 1-3."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    if v.size == 0:
        return float("nan"), float("nan")
    if v.size == 1:
        return float(v[0]), float("nan")
    from scipy.stats import t

    half = float(t.ppf(0.975, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return float(v.mean()), half


def _fmt(mean: float, half: float, digits: int = 3) -> str:
    if not np.isfinite(mean):
        return "n/a"

    def sig(x: float) -> str:
        return f"{x:.{digits}g}" if abs(x) < 10**digits else f"{x:.0f}"

    return sig(mean) if not np.isfinite(half) else f"{sig(mean)} ± {sig(half)}"


def _run_dir(out: Path, preset: str, row: str, seed: int) -> Path:
    return out / "runs" / preset / row / f"seed{seed}"


def _run_cmd(preset: str, row: str, seed: int, folder: Path, extra: Sequence[str]) -> list[str]:
    spec = ROWS[row]
    cmd = [
        sys.executable,
        "-m",
        "scrapl_edu.lab",
        "run",
        "--preset",
        preset,
        "--loss",
        spec["loss"],
    ]
    if spec["loss"] == "scrapl":
        if not spec["p_adam"]:
            cmd.append("--no-p-adam")
        if not spec["p_saga"]:
            cmd.append("--no-p-saga")
        if not spec["theta_is"]:
            cmd.append("--no-theta-is")
    cmd += [
        "--seed",
        str(seed),
        "--out",
        str(folder),
        "--threads",
        "1",
        "--resume",
        "--no-progress",
    ]
    return cmd + list(extra)


def compare(
    presets: Sequence[str],
    rows: Sequence[str],
    seeds: Sequence[int],
    out: str | Path,
    *,
    jobs: int = 1,
    overwrite: bool = False,
    extra_args: Sequence[str] = (),
    row_args: dict[str, Sequence[str]] | None = None,
    title: str = "",
    reuse: Sequence[str | Path] = (),
) -> dict[str, Any]:
    """Run every (preset, row, seed) and aggregate mean +- 95% CI like Tables 1-3.

    Each run goes to ``out/runs/<preset>/<row>/seed<N>/``; finished runs are reused and
    interrupted ones resumed, so ``compare`` can be re-launched after an interruption.
    Writes ``out/table.md``, ``out/summary.csv``, ``out/summary.json`` and
    ``out/figure.png``; these aggregate files are only replaced with ``overwrite``.
    ``row_args`` adds per-row command-line arguments (e.g. ``{"jtfs": ["--steps", "40"]}``).
    ``reuse`` lists other compare folders whose finished runs of the same (preset, row,
    seed) are copied instead of recomputed, when their configuration is the one this
    compare would run (runs are deterministic given their configuration, timings aside).
    """
    out = Path(out)
    for r in rows:
        if r not in ROWS:
            raise ValueError(f"unknown row {r!r}; choose from {', '.join(ROWS)}")
    for p in presets:
        if p not in LAB_PRESETS:
            raise ValueError(f"unknown preset {p!r}; choose one of {sorted(LAB_PRESETS)}")
    if (out / "table.md").exists() and not overwrite:
        raise FileExistsError(f"{out / 'table.md'} exists; pass --overwrite to rebuild the table")
    out.mkdir(parents=True, exist_ok=True)
    row_args = row_args or {}
    todo = []
    for preset in presets:
        for row in rows:
            for seed in seeds:
                folder = _run_dir(out, preset, row, seed)
                extra = list(extra_args) + list(row_args.get(row, ()))
                if not (folder / RESULTS_JSON).exists():
                    _copy_reusable(reuse, preset, row, seed, folder, extra)
                if not (folder / RESULTS_JSON).exists():
                    todo.append((_run_cmd(preset, row, seed, folder, extra), folder))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    running: list[tuple[subprocess.Popen, Path, float]] = []
    failures = []
    from tqdm.auto import tqdm

    bar = tqdm(total=len(todo), desc="compare runs")
    while todo or running:
        while todo and len(running) < max(1, jobs):
            cmd, folder = todo.pop(0)
            folder.mkdir(parents=True, exist_ok=True)
            log = open(folder / "log.txt", "a")
            running.append(
                (
                    subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env),
                    folder,
                    time.time(),
                )
            )
        time.sleep(0.5)
        for item in list(running):
            proc, folder, _ = item
            if proc.poll() is not None:
                running.remove(item)
                bar.update(1)
                if proc.returncode != 0:
                    failures.append(f"{folder} (exit {proc.returncode}; see {folder / 'log.txt'})")
    bar.close()
    if failures:
        raise RuntimeError("some runs failed:\n  " + "\n  ".join(failures))
    return aggregate(out, presets, rows, seeds, title=title)


def _copy_reusable(
    reuse: Sequence[str | Path], preset: str, row: str, seed: int, folder: Path, extra: list[str]
) -> None:
    """Copy a finished identical run from one of the ``reuse`` compare folders, if any."""
    import shutil

    if not reuse:
        return
    cmd = _run_cmd(preset, row, seed, folder, extra)
    ap = argparse.ArgumentParser()
    _add_run_args(ap)
    ap.add_argument("--out")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--no-progress", action="store_true")
    want = asdict(_config_from_args(ap.parse_args(cmd[cmd.index("run") + 1 :])))
    want = json.loads(json.dumps(want))
    for other in reuse:
        src = _run_dir(Path(other), preset, row, seed)
        f = src / RESULTS_JSON
        if f.exists() and json.loads(f.read_text())["config"] == want:
            folder.mkdir(parents=True, exist_ok=True)
            for item in src.iterdir():
                if item.is_file() and item.name != CHECKPOINT:
                    shutil.copy2(item, folder / item.name)
            (folder / "log.txt").open("a").write(f"copied from {src}\n")
            return


def aggregate(
    out: str | Path,
    presets: Sequence[str],
    rows: Sequence[str],
    seeds: Sequence[int],
    title: str = "",
) -> dict[str, Any]:
    """Read the runs of :func:`compare` and write the table, CSV, JSON and figure."""
    out = Path(out)
    summary: dict[str, Any] = {
        "presets": list(presets),
        "rows": list(rows),
        "seeds": list(seeds),
        "entries": [],
    }
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for preset in presets:
        for row in rows:
            res = []
            for seed in seeds:
                f = _run_dir(out, preset, row, seed) / RESULTS_JSON
                if f.exists():
                    res.append(json.loads(f.read_text()))
            if not res:
                continue
            names = res[0]["param_names"]
            e: dict[str, Any] = {
                "preset": preset,
                "row": row,
                "label": ROW_LABELS[row],
                "n_seeds": len(res),
            }
            e.update(ROWS[row])
            e["theta_l1"] = _ci95([r["test_theta_l1_permille"] for r in res])
            for n in names:
                e[f"{n}_l1"] = _ci95([r["test_theta_l1_permille_per_param"][n] for r in res])
            e["total_var"] = _ci95([r["val_total_variation"] for r in res])
            conv = [r["steps_to_convergence"] for r in res]
            e["conv_rate"] = sum(c is not None for c in conv) / len(conv)
            e["conv_steps"] = _ci95([c for c in conv if c is not None])
            e["ms_per_step"] = _ci95([r["ms_per_step"] for r in res])
            e["wall_s"] = _ci95([r["wall_s"] for r in res])
            e["steps"] = _ci95([r["steps"] for r in res])
            e["param_names"] = names
            e["per_seed_theta_l1"] = [r["test_theta_l1_permille"] for r in res]
            summary["entries"].append(e)
            n_min = min(len(r["val_steps"]) for r in res)
            steps = np.asarray(res[0]["val_steps"][:n_min])
            vals = np.asarray([r["val_theta_l1_permille"][:n_min] for r in res])
            label = ROW_LABELS[row] + (f" [{preset}]" if len(presets) > 1 else "")
            curves[label] = (steps, vals)
    _write_table(out, summary, title)
    with open(out / "summary.csv", "w", newline="") as f:
        w = csv.writer(f)
        cols = [
            "preset",
            "row",
            "n_seeds",
            "theta_l1",
            "theta_l1_ci",
            "p0_l1",
            "p0_l1_ci",
            "p1_l1",
            "p1_l1_ci",
            "total_var",
            "conv_rate",
            "conv_steps",
            "ms_per_step",
            "wall_s",
            "steps",
        ]
        w.writerow(cols)
        for e in summary["entries"]:
            n0, n1 = e["param_names"][:2]
            w.writerow(
                [
                    e["preset"],
                    e["row"],
                    e["n_seeds"],
                    *e["theta_l1"],
                    *e[f"{n0}_l1"],
                    *e[f"{n1}_l1"],
                    e["total_var"][0],
                    e["conv_rate"],
                    e["conv_steps"][0],
                    e["ms_per_step"][0],
                    e["wall_s"][0],
                    e["steps"][0],
                ]
            )
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    try:
        import matplotlib

        matplotlib.use("Agg")
        from scrapl_edu.viz import plot_lab_comparison

        fig = plot_lab_comparison(curves, summary["entries"], title=title)
        fig.savefig(out / "figure.png", dpi=100)
    except Exception as err:  # a figure must never lose the numbers
        print(f"warning: figure not written: {err}", file=sys.stderr)
    return summary


def _write_table(out: Path, summary: dict[str, Any], title: str) -> None:
    entries = summary["entries"]
    if not entries:
        (out / "table.md").write_text("no finished runs\n")
        return
    names = entries[0]["param_names"]
    multi = len(summary["presets"]) > 1
    head = ["Method", "P-Adam", "P-SAGA", "θ-IS"] + (["Preset"] if multi else [])
    head += ["θ L1 ‰ ↓"] + [f"{n} L1 ‰ ↓" for n in names]
    head += ["Val. total var. ↓", "Conv. rate", "Conv. steps ↓", "ms/step ↓", "wall s", "steps"]
    lines = []
    if title:
        lines += [f"### {title}", ""]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for e in entries:
        ck = "✓"
        sw = (
            [ck if e.get(k) else "" for k in ("p_adam", "p_saga", "theta_is")]
            if e["loss"] == "scrapl"
            else ["", "", ""]
        )
        row = [
            ROW_LABELS[e["row"]].split(" +")[0].split(" (")[0]
            if e["loss"] == "scrapl"
            else e["label"],
            *sw,
        ]
        if multi:
            row.append(e["preset"])
        row += [_fmt(*e["theta_l1"])] + [_fmt(*e[f"{n}_l1"]) for n in names]
        row += [
            _fmt(*e["total_var"]),
            f"{100 * e['conv_rate']:.0f}%",
            _fmt(*e["conv_steps"], digits=4),
            _fmt(*e["ms_per_step"]),
            _fmt(*e["wall_s"]),
            f"{e['steps'][0]:.0f}",
        ]
        lines.append("| " + " | ".join(row) + " |")
    n = sorted({e["n_seeds"] for e in entries})
    lines += [
        "",
        f"Mean ± 95% CI (Student t) over {'/'.join(map(str, n))} seeds. θ L1 in ‰ of the "
        "normalised parameter range (test set, final model); convergence = validation θ L1 "
        "< 100 ‰ (Table 2); total variation of the validation θ L1 curve (as a fraction).",
    ]
    (out / "table.md").write_text("\n".join(lines) + "\n")


# -------------------------------------------------------------------------------- CLI
def _add_run_args(ap: argparse.ArgumentParser) -> None:
    ap.add_argument(
        "--preset",
        default="classroom",
        help=f"lab preset (default classroom): {', '.join(LAB_PRESETS)}",
    )
    ap.add_argument(
        "--loss", default="scrapl", help=f"training loss: {', '.join(LOSSES)} (default scrapl)"
    )
    ap.add_argument(
        "--no-p-adam",
        action="store_true",
        help="SCRAPL: shared Adam moments instead of P-Adam (Eq. 6-8)",
    )
    ap.add_argument("--no-p-saga", action="store_true", help="SCRAPL: no P-SAGA correction (Eq. 9)")
    ap.add_argument(
        "--no-theta-is",
        action="store_true",
        help="SCRAPL: uniform path sampling instead of θ-IS (Eq. 10-12)",
    )
    ap.add_argument(
        "--seed", type=int, default=0, help="seed of data, init, batches, shifts, paths (default 0)"
    )
    ap.add_argument("--steps", type=int, help="optimizer steps (preset default)")
    ap.add_argument("--batch-size", type=int, help="batch size (preset default)")
    ap.add_argument("--lr", type=float, help="learning rate (preset default)")
    ap.add_argument("--n-examples", type=int, help="data-set size, split 60/20/20 (preset default)")
    ap.add_argument(
        "--mss-kind", help="MSS variant: linear, log_linear (default), revisited, random"
    )
    ap.add_argument("--theta-is-examples", type=int, help="θ-IS batch size N_IS (preset default)")
    ap.add_argument("--theta-is-iters", type=int, help="θ-IS power iterations (preset default)")
    ap.add_argument("--max-wall-s", type=float, help="stop training after this many seconds")
    ap.add_argument(
        "--am-hz",
        type=float,
        nargs=2,
        metavar=("LOW", "HIGH"),
        help="override the chirplet AM range (Hz)",
    )
    ap.add_argument(
        "--fm-oct-per-s",
        type=float,
        nargs=2,
        metavar=("LOW", "HIGH"),
        help="override the chirplet FM range (oct/s)",
    )
    ap.add_argument("--threads", type=int, help="torch threads (compare uses 1 per run)")


def _config_from_args(args: argparse.Namespace) -> LabConfig:
    over: dict[str, Any] = {"loss": args.loss, "seed": args.seed}
    if args.loss == "scrapl":
        over.update(
            p_adam=not args.no_p_adam, p_saga=not args.no_p_saga, theta_is=not args.no_theta_is
        )
    else:
        over.update(p_adam=False, p_saga=False, theta_is=False)
    for name in (
        "steps",
        "batch_size",
        "lr",
        "n_examples",
        "mss_kind",
        "theta_is_examples",
        "theta_is_iters",
        "max_wall_s",
    ):
        v = getattr(args, name)
        if v is not None:
            over[name] = v
    synth = {}
    if args.am_hz:
        synth["am_hz"] = tuple(args.am_hz)
    if args.fm_oct_per_s:
        synth["fm_oct_per_s"] = tuple(args.fm_oct_per_s)
    if synth:
        over["synth"] = synth
    return make_config(args.preset, **over)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: ``run`` one configuration or ``compare`` rows x seeds."""
    ap = argparse.ArgumentParser(
        prog="scrapl-edu",
        description="SCRAPL sound-matching lab (Sections 4.2-4.3 of the paper). "
        "Set SCRAPL_EDU_FAST=1 for a seconds-long smoke run.",
    )
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="train and evaluate one configuration -> DIR/results.json")
    _add_run_args(r)
    r.add_argument("--out", required=True, help="results folder (refused if it holds results)")
    r.add_argument("--overwrite", action="store_true", help="replace an existing results folder")
    r.add_argument(
        "--resume", action="store_true", help="continue from DIR/checkpoint.pt if present"
    )
    r.add_argument("--no-progress", action="store_true", help="no tqdm bar")
    r.add_argument(
        "--stop-after", type=int, help="checkpoint and stop after N steps (simulated interruption)"
    )
    c = sub.add_parser("compare", help="rows x seeds -> DIR/table.md (mean ± 95%% CI), figure.png")
    c.add_argument("--preset", nargs="+", default=["classroom"], help="one or more lab presets")
    c.add_argument(
        "--table",
        choices=sorted(TABLES),
        help="row set: losses (Table 1), ablation (Table 2), theta_is (Table 3)",
    )
    c.add_argument("--rows", help=f"comma-separated rows (instead of --table): {', '.join(ROWS)}")
    c.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds (default 0 1 2)")
    c.add_argument(
        "--jobs", type=int, default=1, help="runs in parallel, one thread each (default 1)"
    )
    c.add_argument(
        "--out", required=True, help="output folder (runs/ inside; finished runs are reused)"
    )
    c.add_argument(
        "--overwrite", action="store_true", help="rebuild table/figure in an existing folder"
    )
    c.add_argument("--title", default="", help="table title")
    c.add_argument(
        "--row-arg",
        action="append",
        default=[],
        metavar="ROW=ARGS",
        help='extra run arguments for one row, e.g. --row-arg "jtfs=--steps 40"',
    )
    c.add_argument(
        "--run-arg", default="", help='extra arguments for every run, e.g. "--steps 200"'
    )
    c.add_argument(
        "--reuse",
        nargs="*",
        default=[],
        help="other compare folders whose identical finished runs are copied, not rerun",
    )
    t = sub.add_parser("theta-is", help="θ-IS path probabilities of chirplet presets (Fig. 6)")
    t.add_argument(
        "--preset",
        nargs="+",
        default=[f"classroom_{k}" for k in _TAGS],
        help="chirplet lab presets (default: the four classroom ones)",
    )
    t.add_argument("--seed", type=int, default=0, help="encoder/data seed (default 0)")
    t.add_argument("--examples", type=int, help="N_IS training signals (preset default)")
    t.add_argument("--iters", type=int, help="power iterations (preset default)")
    t.add_argument("--threads", type=int, help="torch threads")
    t.add_argument("--out", required=True, help="output folder")
    t.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    args = ap.parse_args(argv)
    if getattr(args, "threads", None):
        torch.set_num_threads(args.threads)

    if args.cmd == "theta-is":
        try:
            theta_is_presets(
                args.preset,
                args.out,
                seed=args.seed,
                n_examples=args.examples,
                n_iter=args.iters,
                overwrite=args.overwrite,
            )
        except (ValueError, FileExistsError) as err:
            ap.exit(2, f"scrapl-edu theta-is: error: {err}\n")
        print((Path(args.out) / "theta_is_box.md").read_text())
        return 0

    if args.cmd == "run":
        try:
            config = _config_from_args(args)
            config.validate()
        except (ValueError, KeyError) as err:
            ap.exit(2, f"scrapl-edu run: error: {err}\n")
        try:
            res = run(
                config,
                args.out,
                overwrite=args.overwrite,
                resume=args.resume,
                progress=not args.no_progress,
                stop_after=args.stop_after,
            )
        except FileExistsError as err:
            ap.exit(2, f"scrapl-edu run: error: {err}\n")
        except KeyboardInterrupt:
            print(
                f"\ninterrupted; resume with the same command plus --resume (out={args.out})",
                file=sys.stderr,
            )
            return 130
        if res is None:
            print(f"stopped after {args.stop_after} steps; checkpoint in {args.out}")
            return 0
        pp = ", ".join(f"{k} {v:.1f}" for k, v in res.test_theta_l1_permille_per_param.items())
        print(
            f"test θ L1 {res.test_theta_l1_permille:.1f} ‰ ({pp}); {res.steps} steps, "
            f"{res.ms_per_step:.1f} ms/step, {res.wall_s:.1f} s -> {Path(args.out) / RESULTS_JSON}"
        )
        return 0

    if args.table and args.rows:
        ap.error("give --table or --rows, not both")
    rows = TABLES[args.table] if args.table else (args.rows or "").split(",")
    rows = [r.strip() for r in rows if r.strip()]
    if not rows:
        ap.error("give --table or --rows")
    row_args: dict[str, list[str]] = {}
    for item in args.row_arg:
        name, _, rest = item.partition("=")
        row_args.setdefault(name.strip(), []).extend(rest.split())
    try:
        compare(
            args.preset,
            rows,
            args.seeds,
            args.out,
            jobs=args.jobs,
            overwrite=args.overwrite,
            extra_args=args.run_arg.split(),
            row_args=row_args,
            title=args.title,
            reuse=args.reuse,
        )
    except (ValueError, FileExistsError, RuntimeError) as err:
        ap.exit(2, f"scrapl-edu compare: error: {err}\n")
    print((Path(args.out) / "table.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
