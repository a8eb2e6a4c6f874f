"""The one preset registry: synth, JTFS, encoder front end and training sizes together.

A :class:`Preset` is everything a named experiment needs before a seed is chosen: the synth
configuration (:mod:`scrapl_edu.synths`), the keyword arguments of the JTFS
(:class:`scrapl_edu.jtfs.JTFS`), the encoder's front end (:class:`scrapl_edu.models.LogSpectrogram`)
and the training sizes (Appendix E, Tables 10-11). Every user of a preset reads it from here:
the lab (:func:`scrapl_edu.lab.make_config`), the demo, the benchmarks and the notebooks.

Presets (:data:`PRESETS`):

* ``chirplet_<tag>`` and ``granular``: the paper's full-scale set-ups (8192 Hz, 32768 samples,
  the JTFS of :data:`PAPER_JTFS`; Tables 10-11), ``<tag>`` one of :func:`chirplet_tags`, the
  four chirplet configurations of Section 4.3 / Table 3.
* ``classroom_<tag>``: the same chirplets at classroom scale: 4 s at 1024 Hz (4096 samples,
  carrier 128 Hz), the paper's AM rates in Hz, FM rates in oct/s and +-0.25 s random shifts, so
  the informative JTFS paths (rates in Hz, scales in cycles/octave) are the paper's. The JTFS
  (J=9, Q1=8, Q2=1, J_fr=3, Q_fr=1, T=512, F=8: P=63 paths) covers 0.7-45 Hz.
* ``classroom`` = ``classroom_am2.8-8.4_fm2-4``: the configuration where uniform path sampling
  never converged on theta_FM and theta-IS did (Table 7); ``classroom_aligned``: the same
  without shifts (the control in which MSS works).
* ``classroom_granular``: the granular texture at the classroom scale (0.5 s grains, pitches
  32-256 Hz, the same fractions of the sample rate as Table 10's).
* ``classroom_paper``, ``classroom_am1-2_fm0.5-1_paper``, ``classroom_granular_paper``: the
  classroom tasks (the same synths, JTFS and data, P = 63) trained in the paper's regime where
  it decides the question: lr 1e-4 and 4800 steps (Table 11; 76 visits per path at P = 63, the
  paper has 15), weight decay 0.01, theta-IS on 32 signals x 20 power iterations, at the
  classroom's batch of 8. The granular synth's own regime (lr 1e-5 x 19200 steps, Table 10)
  is out of a CPU's reach: its preset uses the chirplet's.
* ``drums_micro`` / ``drums_meso``: the drum kit of Section 4.4 at classroom scale (8192 Hz,
  1 s; aligned, or shifted by up to +-46 ms), the JTFS of :data:`DRUMS_JTFS` (P = 72) with
  Table 12's ``rho = log1p``; ``drums_paper_micro`` / ``drums_paper_meso``: Table 12 (44.1 kHz,
  :data:`PAPER_DRUMS_JTFS`, P = 483), for a GPU.

Fast mode (CI, notebooks' smoke runs) is :func:`shrink`, a pure function applied by entry
points (the command line, the demo, the notebooks, the dashboard), which read the
``SCRAPL_EDU_FAST`` variable through :func:`scrapl_edu.config.fast_mode`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from torch import Tensor, nn

from scrapl_edu.jtfs_plan import JTFSConfig
from scrapl_edu.models import AMResolution, am_resolution, build_frontend
from scrapl_edu.synths import DRUM_PRESETS, ChirpletConfig, DrumConfig, GranularConfig, SynthPreset

__all__ = [
    "FRONTEND_KINDS",
    "CLASSROOM_JTFS",
    "am_resolution_of",
    "chirplet_band_hz",
    "frontend_spec",
    "paper_cqt_frontend",
    "DRUMS_JTFS",
    "FAST",
    "PAPER_DRUMS_JTFS",
    "PAPER_JTFS",
    "PRESETS",
    "SYNTH_PRESETS",
    "Preset",
    "TrainSizes",
    "UnknownPresetError",
    "chirplet_tags",
    "get_preset",
    "make_synth",
    "paper_jtfs_kwargs",
    "params_to_theta",
    "preset_names",
    "shrink",
    "synth_config",
    "theta_to_params",
]

#: the paper's JTFS (Tables 10-11): with 32768 samples at 8192 Hz
PAPER_JTFS: dict[str, int] = {"J": 12, "Q1": 8, "Q2": 2, "J_fr": 3, "Q_fr": 2, "T": 4096, "F": 8}
#: the classroom JTFS: the paper's rates in Hz and scales in cycles/octave at 1024 Hz, P = 63
CLASSROOM_JTFS: dict[str, int] = {"J": 9, "Q1": 8, "Q2": 1, "J_fr": 3, "Q_fr": 1, "T": 512, "F": 8}
#: the paper's drum JTFS (Table 12), with 44100 samples at 44.1 kHz: P = 483 paths
PAPER_DRUMS_JTFS: dict[str, int] = {
    "J": 12,
    "Q1": 8,
    "Q2": 2,
    "J_fr": 5,
    "Q_fr": 2,
    "T": 2048,
    "F": 1,
}
#: the classroom drum JTFS (8192 Hz, 1 s): P = 72 paths at rates 2.8-358 Hz. Kept from Table 12:
#: the slowest rate (2^J = 125 ms here, 93 ms there: 2.8 vs 2.7 Hz, where the decays of
#: 0.3-0.85 s live), T ~ 50 ms (62.5 vs 46 ms; it also spans the +-46 ms meso shift) and F = 1
#: (no frequential averaging). Shrunk for cost, a step computing one path: Q2 = 1 (one rate
#: per octave, 8 rates), J_fr = 3 and Q_fr = 1 (9 scales and spins instead of 21) and Q1 = 4
#: (the first-order filters J Q1 set the scalogram's height and the frequential length: Q1 = 4
#: halves a path's cost against Q1 = 8). P = 8 x 9 = 72, about the classroom chirplet's 63,
#: so a 200-step run visits every path about three times, and theta-IS (one curvature
#: estimate per path and parameter: P x 14 Hessian-vector products an example) stays a
#: fraction of a run.
DRUMS_JTFS: dict[str, int] = {"J": 10, "Q1": 4, "Q2": 1, "J_fr": 3, "Q_fr": 1, "T": 512, "F": 1}

#: the four chirplet configurations of Section 4.3 / Table 3: tag -> (AM Hz, FM oct/s)
_CHIRPLET_RANGES: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "am1-2_fm0.5-1": ((1.0, 2.0), (0.5, 1.0)),
    "am1-2_fm2-4": ((1.0, 2.0), (2.0, 4.0)),
    "am2.8-8.4_fm2-4": ((2.8, 8.4), (2.0, 4.0)),
    "am2.8-8.4_fm4-12": ((2.8, 8.4), (4.0, 12.0)),
}


class UnknownPresetError(ValueError, KeyError):
    """An unknown preset name (a ValueError; also a KeyError, as a dictionary lookup is)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class TrainSizes:
    """Training sizes of a preset (Appendix E; Tables 10-11 at full scale).

    Attributes:
        steps: optimizer steps K.
        batch_size: examples per step.
        lr: learning rate.
        n_examples: data-set size (split 60/20/20).
        val_every: validation every this many steps.
        theta_is_examples, theta_is_iters: theta-IS batch size N_IS and power iterations.
        channels: the encoder's conv channels.
    """

    steps: int
    batch_size: int
    lr: float
    n_examples: int
    val_every: int
    theta_is_examples: int
    theta_is_iters: int
    channels: tuple[int, ...] = (16, 32, 32, 32)


@dataclass(frozen=True)
class Preset:
    """A named experiment set-up: synth + JTFS + encoder front end + training sizes.

    Attributes:
        name: the registry key.
        synth: the synth configuration (:class:`~scrapl_edu.synths.ChirpletConfig` or
            :class:`~scrapl_edu.synths.GranularConfig`).
        jtfs: keyword arguments of :class:`scrapl_edu.jtfs.JTFS` other than ``shape``/``sr``.
        frontend: keyword arguments of the encoder's :class:`~scrapl_edu.models.LogSpectrogram`.
        train: the training sizes.
        fast: made by :func:`shrink`.
        options: other :class:`~scrapl_edu.lab.LabConfig` defaults of this preset (the drum
            presets: Table 12's ``rho="log1p"`` and ``loss_scale``).
    """

    name: str
    synth: SynthPreset | DrumConfig
    jtfs: dict[str, Any] = field(hash=False)
    frontend: dict[str, int] = field(hash=False)
    train: TrainSizes
    fast: bool = False
    options: dict[str, Any] = field(default_factory=dict, hash=False)

    def jtfs_kwargs(self) -> dict[str, Any]:
        """All keyword arguments of :class:`scrapl_edu.jtfs.JTFS` (signal length and rate too)."""
        return {"shape": self.synth.n_samples, "sr": self.synth.sr, **self.jtfs}

    def jtfs_config(self) -> JTFSConfig:
        """The JTFS of this preset as a checked :class:`~scrapl_edu.jtfs_plan.JTFSConfig`."""
        return JTFSConfig.of(**self.jtfs_kwargs())

    def __post_init__(self) -> None:
        self.jtfs_config()  # a preset's JTFS settings are JTFSConfig's: checked when made


def chirplet_tags() -> list[str]:
    """The four chirplet configurations of Section 4.3 / Table 3, e.g. ``"am1-2_fm0.5-1"``."""
    return list(_CHIRPLET_RANGES)


def _classroom_train() -> TrainSizes:
    return TrainSizes(
        steps=400,
        batch_size=8,
        lr=1e-3,
        n_examples=640,
        val_every=25,
        theta_is_examples=2,
        theta_is_iters=2,
    )


def _paper_train(n_is: int, lr: float, steps: int) -> TrainSizes:
    return TrainSizes(
        steps=steps,
        batch_size=32,
        lr=lr,
        n_examples=5120,
        val_every=96,
        theta_is_examples=n_is,
        theta_is_iters=20,
    )


def _classroom(name: str, synth: SynthPreset) -> Preset:
    return Preset(
        name=name,
        synth=synth,
        jtfs=dict(CLASSROOM_JTFS),
        # 62.5 ms windows every 15.6 ms at 1024 Hz: 64 frames/s and a window that passes the
        # top AM rate (8.4 Hz) at the chirplet's lowest frequency (am_resolution_of: transfer
        # 0.84); the paper's 12-bin CQT does not at this carrier (0.13), 128 / 64 samples the
        # envelope too slowly (16 frames/s). Chosen by that test and a supervised P-loss check
        # (README, "The encoder's front end"; data/results/lab/v2/frontend_probe)
        frontend={"n_fft": 64, "hop_length": 16},
        train=_classroom_train(),
    )


def _paper_regime(classroom: Preset) -> Preset:
    """A classroom preset trained in the paper's regime (Table 11's lr, steps and theta-IS size).

    Everything that sets the task is the classroom's (synth, JTFS, front end, data set and
    its size, so seed 0's untrained encoder is the classroom's and a π measured there
    applies); the optimisation is the paper's: lr 1e-4, 4800 steps, weight decay 0.01 (the
    lab's default), theta-IS 32 x 20, at the classroom's batch of 8. The applied-step
    diagnostic (P one-path backward passes on a batch-sized probe) runs every 960 steps (ten
    validations), so it costs about a tenth of the run.
    """
    train = dataclasses.replace(
        classroom.train,
        steps=4800,
        lr=1e-4,
        val_every=96,
        theta_is_examples=32,
        theta_is_iters=20,
    )
    name = f"{classroom.name}_paper"
    return dataclasses.replace(
        classroom,
        name=name,
        synth=dataclasses.replace(classroom.synth, name=name),  # one name, one meaning
        train=train,
        options={**classroom.options, "applied_every": 960},
    )


def _paper(name: str, synth: SynthPreset, n_is: int, lr: float, steps: int) -> Preset:
    return Preset(
        name=name,
        synth=synth,
        jtfs=dict(PAPER_JTFS),
        frontend={"n_fft": 512, "hop_length": 128},
        train=_paper_train(n_is, lr, steps),
    )


#: LabConfig defaults of the drum presets: Table 12's rho = log1p(phi / 1e-3); its gradients
#: are of order one, so no loss scale is needed (identity-rho chirplets need 1e8)
_DRUM_OPTIONS: dict[str, Any] = {"rho": "log1p", "loss_scale": 1.0}


def _drums(name: str) -> Preset:
    """A classroom drum preset (8192 Hz, 1 s; :data:`DRUMS_JTFS`)."""
    return Preset(
        name=name,
        synth=DRUM_PRESETS[name],
        jtfs=dict(DRUMS_JTFS),
        # 31 ms windows, 15.6 ms hop: 128 bins x 65 frames, the transient within two frames
        frontend={"n_fft": 256, "hop_length": 128},
        # 200 steps of 8: a run in minutes on one loaded core (every row the same budget)
        train=TrainSizes(
            steps=200,
            batch_size=8,
            lr=1e-3,
            n_examples=320,
            val_every=25,
            theta_is_examples=2,
            theta_is_iters=1,
        ),
        options=dict(_DRUM_OPTIONS),
    )


def _paper_drums(name: str) -> Preset:
    """Table 12 (a GPU's work): 44.1 kHz, 1 s, P = 483; 50 epochs of 425 / 8 steps."""
    return Preset(
        name=name,
        synth=DRUM_PRESETS[name],
        jtfs=dict(PAPER_DRUMS_JTFS),
        frontend={"n_fft": 2048, "hop_length": 256},
        train=TrainSizes(
            steps=2650,
            batch_size=8,
            lr=1e-4,
            n_examples=681,
            val_every=53,
            theta_is_examples=16,
            theta_is_iters=20,
            channels=(128,) * 5,
        ),
        options=dict(_DRUM_OPTIONS),
    )


def _build() -> dict[str, Preset]:
    out: dict[str, Preset] = {}

    def chirp_1024(name: str, am, fm, max_shift: int = 256) -> ChirpletConfig:
        # sr / 8 and carrier / 4 of the paper's (its two-octave sweep stays below Nyquist),
        # every duration in seconds kept (4 s signal, +-0.25 s shifts): the AM (Hz) and FM
        # (oct/s) ranges, hence the informative JTFS paths, are the paper's
        return ChirpletConfig(
            name=name,
            sr=1024.0,
            n_samples=4096,
            carrier_hz=128.0,
            am_hz=am,
            fm_oct_per_s=fm,
            max_shift=max_shift,
        )

    am, fm = _CHIRPLET_RANGES["am2.8-8.4_fm2-4"]
    out["classroom"] = _classroom("classroom", chirp_1024("classroom", am, fm))
    out["classroom_aligned"] = _classroom(
        "classroom_aligned", chirp_1024("classroom_aligned", am, fm, max_shift=0)
    )
    for tag, (am, fm) in _CHIRPLET_RANGES.items():
        name = f"classroom_{tag}"
        out[name] = _classroom(name, chirp_1024(name, am, fm))
        # Table 11: 50 epochs of 3072 / 32 = 96 steps, lr 1e-4, theta-IS on 32 examples
        name = f"chirplet_{tag}"
        out[name] = _paper(
            name, ChirpletConfig(name=name, am_hz=am, fm_oct_per_s=fm), 32, 1e-4, 4800
        )
    # Table 10: 200 epochs, lr 1e-5, theta-IS on 320 examples
    out["granular"] = _paper("granular", GranularConfig(), 320, 1e-5, 19200)
    granular_1024 = GranularConfig(
        name="classroom_granular",
        sr=1024.0,
        n_samples=4096,
        grain_n_samples=512,  # 0.5 s, as in Table 10
        pitch_hz=(32.0, 256.0),  # 256-2048 Hz / 8: the same fractions of sr
    )
    out["classroom_granular"] = _classroom("classroom_granular", granular_1024)
    for name in ("classroom", "classroom_am1-2_fm0.5-1", "classroom_granular"):
        out[f"{name}_paper"] = _paper_regime(out[name])
    # Section 4.4: drums aligned (micro) and shifted by up to +-46 ms (meso)
    for name in ("drums_micro", "drums_meso"):
        out[name] = _drums(name)
    for name in ("drums_paper_micro", "drums_paper_meso"):
        out[name] = _paper_drums(name)
    return out


#: every named preset (see the module docstring)
PRESETS: dict[str, Preset] = _build()


def preset_names() -> list[str]:
    """The names of :data:`PRESETS`, in registry order."""
    return list(PRESETS)


def get_preset(name: str | Preset) -> Preset:
    """The :class:`Preset` called ``name`` (a Preset passes through).

    Raises:
        UnknownPresetError: (a ValueError and a KeyError) naming the valid presets.
    """
    if isinstance(name, Preset):
        return name
    try:
        return PRESETS[name]
    except (KeyError, TypeError):
        raise UnknownPresetError(
            f"unknown preset {name!r}; choose one of {sorted(PRESETS)}"
        ) from None


def paper_jtfs_kwargs() -> dict[str, Any]:
    """The paper's JTFS (:data:`PAPER_JTFS`) on its signals: 32768 samples at 8192 Hz."""
    return get_preset("granular").jtfs_kwargs()


#: the synth configuration of every preset (a read-only view of :data:`PRESETS`)
SYNTH_PRESETS: Mapping[str, SynthPreset] = MappingProxyType(
    {n: p.synth for n, p in PRESETS.items()}
)


def synth_config(name: str | SynthPreset) -> SynthPreset:
    """The synth configuration of preset ``name`` (a synth configuration passes through)."""
    if isinstance(name, ChirpletConfig | GranularConfig | DrumConfig):
        return name
    return get_preset(name).synth


def make_synth(preset: str | SynthPreset = "classroom", **overrides: Any) -> nn.Module:
    """Build the synth of a preset, e.g. ``make_synth("classroom", max_shift=0)``.

    ``overrides`` replace fields of the configuration (``dataclasses.replace``).
    """
    config = synth_config(preset)
    if overrides:
        config = dataclasses.replace(config, **overrides)
    return config.build()


def theta_to_params(theta01: Tensor, preset: str | SynthPreset = "classroom") -> tuple[Tensor, ...]:
    """Normalised ``(B, U)`` theta -> physical parameters of ``preset``, one ``(B,)`` tensor each.

    Chirplet: ``(am_hz, fm_oct_per_s)``, log-uniform; granular: ``(density, slope_oct_per_s)``;
    drums: a dict ``{name: (B,)}`` of the 14 parameters (:data:`scrapl_edu.synths.DRUM_PARAM_NAMES`).
    """
    return synth_config(preset).theta_to_params(theta01)


def params_to_theta(*params: Tensor, preset: str | SynthPreset = "classroom") -> Tensor:
    """Inverse of :func:`theta_to_params`: physical parameters -> ``(B, U)`` theta in [0, 1]."""
    return synth_config(preset).params_to_theta(*params)


#: what fast mode changes: seconds per run (tiny signal, few steps)
FAST: dict[str, Any] = {
    "chirplet": {"sr": 256.0, "n_samples": 1024, "carrier_hz": 32.0, "max_shift": 64},
    "granular": {"sr": 256.0, "n_samples": 1024, "grain_n_samples": 128, "pitch_hz": (8.0, 64.0)},
    # 1 s at 4096 Hz: the metrics' decay window (0.80 s) and the meso shift (in seconds) fit
    "drums": {"sr": 4096.0, "n_samples": 4096},
    "jtfs": {"J": 7, "Q1": 4, "Q2": 1, "J_fr": 2, "Q_fr": 1, "T": 128, "F": 4},
    "frontend": {"n_fft": 32, "hop_length": 16},
    "train": {
        "steps": 6,
        "batch_size": 4,
        "n_examples": 40,
        "val_every": 3,
        "theta_is_examples": 1,
        "theta_is_iters": 1,
        "channels": (8, 8),
    },
}


#: the encoder front ends (a preset's ``frontend["kind"]``; absent means ``"stft"``)
FRONTEND_KINDS = ("stft", "cqt")


def paper_cqt_frontend(sr: float, n_octaves: int = 5) -> dict[str, Any]:
    """The paper's encoder input at sample rate ``sr`` (Tables 10-12): a log1p CQT.

    12 bins per octave, ``n_octaves`` octaves (5 for the textures, 9 for the drums), and the
    hop of 256 samples at 8192 Hz kept in seconds (31.25 ms: 32 samples at 1024 Hz), built
    as :class:`scrapl_edu.models.LogCQT`.
    """
    return {
        "kind": "cqt",
        "n_octaves": int(n_octaves),
        "bins_per_octave": 12,
        "hop_length": max(1, round(256 * sr / 8192.0)),
    }


def frontend_spec(preset: str | Preset, kind: str) -> dict[str, Any]:
    """The ``frontend`` entry of ``preset`` for front end ``kind`` (one of :data:`FRONTEND_KINDS`).

    The preset's own entry when it is of that kind; ``"cqt"`` otherwise gives
    :func:`paper_cqt_frontend` at the preset's sample rate. Used by
    :func:`scrapl_edu.lab.make_config` (``frontend={"kind": "cqt"}`` or ``--frontend cqt``).
    """
    p = get_preset(preset)
    if kind not in FRONTEND_KINDS:
        raise ValueError(f"unknown front end kind {kind!r}; choose one of {FRONTEND_KINDS}")
    if p.frontend.get("kind", "stft") == kind:
        return dict(p.frontend)
    if kind == "cqt":
        octaves = 9 if getattr(p.synth, "kind", "") == "drums" else 5
        return paper_cqt_frontend(p.synth.sr, octaves)
    raise ValueError(
        f"preset {p.name!r} has a {p.frontend.get('kind')} front end and no STFT of its own; "
        "give its n_fft and hop_length"
    )


def chirplet_band_hz(synth: ChirpletConfig) -> tuple[float, float]:
    """The frequencies a chirplet sweeps while its window is above half its peak (Hz).

    The instantaneous frequency is ``f_c 2**(γ t)`` under a Gaussian window of
    ``σ = σ0 B / γ`` seconds (:mod:`scrapl_edu.synths`), above half its peak for
    ``|t| <= sqrt(2 ln 2) σ``: ``f_c 2**(± sqrt(2 ln 2) σ0 B)`` whatever the FM rate γ.
    """
    half = (2.0 * math.log(2.0)) ** 0.5 * synth.sigma0 * synth.bandwidth_oct
    return synth.carrier_hz * 2.0**-half, synth.carrier_hz * 2.0**half


def am_resolution_of(preset: str | Preset, kind: str | None = None) -> AMResolution | None:
    """Whether the front end of ``preset`` (or its ``kind`` one) resolves its top AM rate.

    :func:`scrapl_edu.models.am_resolution` at the preset's top AM rate and the lowest
    frequency of :func:`chirplet_band_hz`; None for a synth without AM (granular, drums).
    """
    p = get_preset(preset)
    if not isinstance(p.synth, ChirpletConfig):
        return None
    spec = p.frontend if kind is None else frontend_spec(p, kind)
    fe = build_frontend(spec, p.synth.sr)
    return am_resolution(fe, p.synth.sr, p.synth.am_hz[1], chirplet_band_hz(p.synth)[0])


def shrink(preset: str | Preset) -> Preset:
    """The fast-mode version of a preset: seconds of compute (CI, smoke runs of notebooks).

    A pure function: 256 Hz, 1024-sample signals (drums: 1 s at 4096 Hz; an aligned preset
    stays aligned), a 7-octave JTFS, 6 steps of batch 4 on 40 examples, a two-block encoder; the learning
    rate and the synth's parameter ranges are the preset's. Shrinking twice is shrinking once.
    """
    p = get_preset(preset)
    if p.fast:
        return p
    kind = getattr(p.synth, "kind", "chirplet")
    synth_over = dict(FAST[kind])
    if kind == "chirplet" and p.synth.max_shift == 0:
        synth_over["max_shift"] = 0
    return dataclasses.replace(
        p,
        synth=dataclasses.replace(p.synth, **synth_over),
        jtfs=dict(FAST["jtfs"]),
        frontend=(
            dict(FAST["frontend"])
            if p.frontend.get("kind", "stft") == "stft"
            else {**p.frontend, "hop_length": max(1, round(256 * FAST[kind]["sr"] / 8192.0))}
        ),
        train=dataclasses.replace(p.train, **FAST["train"]),
        fast=True,
    )
