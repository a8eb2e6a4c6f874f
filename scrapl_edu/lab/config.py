"""What defines a run: :class:`LabConfig`, :func:`make_config`, and the rows of Tables 1-3.

A run is a preset (:mod:`scrapl_edu.presets`), a loss, SCRAPL's three switches and a seed.
The comparison tables name their rows here (:data:`ROWS`, :data:`ROW_LABELS`) and group them
into tables (:data:`TABLES`): ``losses`` ~ Table 1 / Fig. 1, ``ablation`` ~ Table 2,
``theta_is`` ~ Table 3, ``drums`` ~ Tables 4, 8-9 (with SCRAPL's path distribution as a
switch: :data:`SAMPLING_MODES`).
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import os
import textwrap
from dataclasses import dataclass, field
from typing import Any, get_args

from scrapl_edu.drum_metrics import DrumFeatureConfig
from scrapl_edu.filters import filterbank_params
from scrapl_edu.jtfs_plan import make_plan
from scrapl_edu.lab.data import split_sizes
from scrapl_edu.lab.loss_kinds import LOSSES, LossKind, loss_kind, loss_names_where
from scrapl_edu.losses import PATH_LOSSES, MSSKind
from scrapl_edu.presets import (
    PRESETS,
    Preset,
    UnknownPresetError,
    frontend_spec,
    get_preset,
    shrink,
)
from scrapl_edu.synths import SynthPreset
from scrapl_edu.theta_is import load_probs

__all__ = [
    "LOSSES",
    "LOSS_LABELS",
    "ROWS",
    "ROW_LABELS",
    "SAMPLING_MODES",
    "TABLES",
    "LabConfig",
    "make_config",
    "sampling_overrides",
    "setting",
]

# LOSSES, the losses the lab trains with (Section 4.2), are the names of the loss kinds of
# scrapl_edu.lab.loss_kinds (imported above): a run names its kind, LabConfig.loss_kind is it
#: each loss's menu entry (the dashboard's menu and ``--help`` read it), from its kind
LOSS_LABELS: dict[str, str] = {n: loss_kind(n).menu or loss_kind(n).label for n in LOSSES}

#: named rows of the comparison tables (Tables 1-3): loss + SCRAPL switches
ROWS: dict[str, dict[str, Any]] = {
    "p_loss": {"loss": "p_loss"},
    "mss": {"loss": "mss"},
    "jtfs": {"loss": "jtfs"},
    "scrapl": {"loss": "scrapl", "p_adam": True, "p_saga": True, "theta_is": True},
    "scrapl_sampling_only": {"loss": "scrapl", "p_adam": False, "p_saga": False, "theta_is": False},
    "scrapl_p_adam": {"loss": "scrapl", "p_adam": True, "p_saga": False, "theta_is": False},
    "scrapl_no_theta_is": {"loss": "scrapl", "p_adam": True, "p_saga": True, "theta_is": False},
    "scrapl_adaptive": {
        "loss": "scrapl",
        "p_adam": True,
        "p_saga": True,
        "theta_is": False,
        "adaptive_pi": True,
    },
}
#: display names of the rows
ROW_LABELS: dict[str, str] = {
    "p_loss": "P-loss",
    "mss": "MSS",
    "jtfs": "JTFS",
    "scrapl": "SCRAPL",
    "scrapl_sampling_only": "SCRAPL (sampling only)",
    "scrapl_p_adam": "SCRAPL + P-Adam",
    "scrapl_no_theta_is": "SCRAPL + P-Adam + P-SAGA (uniform)",
    "scrapl_adaptive": "SCRAPL (adaptive π)",
}
#: row sets: ``losses`` ~ Table 1 / Fig. 1, ``ablation`` ~ Table 2, ``theta_is`` ~ Table 3,
#: ``drums`` ~ Tables 4, 8-9: MSS, full JTFS, SCRAPL uniform / theta-IS / adaptive pi
TABLES: dict[str, list[str]] = {
    "losses": ["mss", "jtfs", "scrapl", "p_loss"],
    "ablation": ["scrapl_sampling_only", "scrapl_p_adam", "scrapl_no_theta_is", "scrapl"],
    "theta_is": ["scrapl_no_theta_is", "scrapl"],
    "drums": ["mss", "jtfs", "scrapl_no_theta_is", "scrapl", "scrapl_adaptive"],
}

#: SCRAPL's path distribution: uniform (Prop. 3.1), theta-IS (Eq. 10-12, once before training)
#: or adaptive (pi ~ the per-path gradient norms P-Adam holds, updated during training, with a
#: floor: :mod:`scrapl_edu.adaptive_pi`)
SAMPLING_MODES = ("uniform", "theta_is", "adaptive")


def sampling_overrides(mode: str) -> dict[str, bool]:
    """The :class:`LabConfig` switches of a sampling mode (:data:`SAMPLING_MODES`).

    ``"adaptive"`` starts from the uniform pi (no theta-IS) and adapts it during training.
    """
    if mode not in SAMPLING_MODES:
        raise ValueError(f"sampling must be one of {', '.join(SAMPLING_MODES)}, got {mode!r}")
    return {"theta_is": mode == "theta_is", "adaptive_pi": mode == "adaptive"}


def setting(default: Any, doc: str, **cli: Any) -> Any:
    """A :class:`LabConfig` field with its description, the one place it is written.

    ``doc`` becomes the field's entry in the class docstring's Attributes section and its
    ``--help`` line on the command line (:mod:`scrapl_edu.lab.run_args`); ``cli`` holds
    command-line hints for the flag generator: ``flag`` (its name, when not ``--field-name``),
    ``metavar``, ``choices`` (values argparse itself refuses), ``bare`` (a dict field: a
    token without ``=`` sets this key, as in ``--frontend cqt``) and ``cli_default`` (what
    ``--help`` says a flag left out gives, when not the preset's value).
    """
    meta = {"doc": doc, **cli}
    if isinstance(default, dict):
        return field(default_factory=dict, metadata=meta)
    return field(default=default, metadata=meta)


def _with_field_docs(cls: type) -> type:
    """Append an Attributes section built from the fields' ``doc`` to ``cls.__doc__``.

    So ``help(LabConfig)`` and the API pages list every field, from the same text as
    ``scrapl-edu run --help``: a field is described once, where it is declared.
    """
    lines = ["", "Attributes:"]
    for f in dataclasses.fields(cls):
        lines += textwrap.wrap(
            f"{f.name}: {f.metadata['doc']}",
            width=92,
            initial_indent="    ",
            subsequent_indent="        ",
        )
    cls.__doc__ = inspect.cleandoc(cls.__doc__ or "") + "\n" + "\n".join(lines) + "\n"
    return cls


@_with_field_docs
@dataclass
class LabConfig:
    """Everything that defines one training run (``config.json`` of its folder).

    Build it with :func:`make_config`, which fills the sizes, ``jtfs`` and ``frontend`` from
    the preset (the numeric defaults below are the ``classroom`` preset's). Each field's
    description is written once, in its :func:`setting`; the Attributes section below and
    the command line's ``--help`` are made from it, and the command line has one flag per
    field (:func:`scrapl_edu.lab.run_args.add_run_args`).
    """

    preset: str = setting(
        "classroom",
        "a lab preset (:data:`scrapl_edu.presets.PRESETS`), whose synth, JTFS, front end, "
        f"sizes and options are the run's defaults: {', '.join(PRESETS)}",
        cli_default="classroom",
    )
    loss: str = setting(
        "scrapl",
        "the training loss (Section 4.2): "
        + "; ".join(f"``{k}``, {v}" for k, v in LOSS_LABELS.items()),
    )
    p_adam: bool = setting(
        True, "SCRAPL: P-Adam, Adam's moments kept per path (Eq. 6-8); off: moments shared"
    )
    p_saga: bool = setting(
        True, "SCRAPL: P-SAGA, each step corrected by the paths' stored gradients (Eq. 9)"
    )
    theta_is: bool = setting(
        True,
        "SCRAPL: θ-importance sampling, π measured once before training (Eq. 10-12); off: "
        "uniform paths (Prop. 3.1)",
    )
    seed: int = setting(
        0,
        "seeds the data set, the encoder, the batch order, the synth's random shifts and the "
        "path sampler",
    )
    steps: int = setting(400, "optimizer steps K")
    batch_size: int = setting(8, "examples per step")
    lr: float = setting(1e-3, "learning rate of AdamW / the SCRAPL optimizer (Table 11)")
    betas: tuple[float, float] = setting((0.9, 0.999), "Adam's β1, β2", metavar=("BETA1", "BETA2"))
    eps: float = setting(1e-8, "Adam's ε")
    weight_decay: float = setting(0.01, "AdamW's decoupled weight decay (Table 11)")
    n_examples: int = setting(
        640, "data-set size, divided by ``split`` into train / validation / test"
    )
    split: tuple[float, float, float] = setting(
        (0.6, 0.2, 0.2),
        "fractions of the data set for training, validation and test",
        metavar=("TRAIN", "VAL", "TEST"),
    )
    val_every: int = setting(25, "validation (θ L1 on the validation set) every this many steps")
    mss_kind: str = setting(
        "log_linear",
        f"which MSS loss (:func:`scrapl_edu.losses.mss_loss`): {', '.join(get_args(MSSKind))}",
    )
    loss_scale: float = setting(
        1e8,
        "multiplies the JTFS/SCRAPL loss before backward (the reference's ``grad_mult``): "
        "identity-rho JTFS gradients are ~1e-10, below Adam's eps",
    )
    theta_is_examples: int = setting(2, "θ-IS: training signals N_IS it measures π on")
    theta_is_iters: int = setting(2, "θ-IS: power iterations")
    min_prob_frac: float = setting(
        0.0, "floor of the path distribution: every path has probability >= f / P"
    )
    applied_diag: bool = setting(
        True,
        "SCRAPL: measure the applied step at validations (:mod:`scrapl_edu.lab.applied`: its "
        "variance over the path draw, its cosine with the full-JTFS gradient); it does not "
        "change the training",
    )
    applied_probe: int | None = setting(
        None,
        "examples of the applied-step diagnostic's fixed probe batch (None: ``batch_size``, "
        "so that it measures the estimator the optimizer sees, not a smaller probe)",
    )
    applied_every: int = setting(
        100,
        "the applied-step diagnostic runs at the validations whose step is a multiple of "
        "this (and at the last one); each costs P backward passes of one path",
    )
    rho: str | None = setting(
        None, "the pointwise map of the JTFS coefficients: None (identity) or ``log1p`` (Table 12)"
    )
    adaptive_pi: bool = setting(
        False,
        "SCRAPL: update π every ``adaptive_every`` steps from P-Adam's per-path gradient "
        "norms (:class:`scrapl_edu.adaptive_pi.AdaptivePi`; needs ``p_adam``)",
    )
    adaptive_floor: float | None = setting(
        None, "the least probability of a path under adaptive π, in (0, 1/P] (None: 1 / (2P))"
    )
    adaptive_every: int = setting(
        10, "steps between two updates of the adaptive π (also its warm-up)"
    )
    synth: dict[str, Any] = setting(
        {}, "overrides of the preset's synth configuration (e.g. ``am_hz=(2, 4)``)"
    )
    jtfs: dict[str, Any] = setting(
        {}, "keyword arguments of the JTFS, merged into the preset's (e.g. ``J=10 Q1=4``)"
    )
    frontend: dict[str, Any] = setting(
        {},
        "the encoder's front end, merged into the preset's; ``kind=cqt`` (or just ``cqt``) "
        "starts from the paper's log1p CQT (:func:`scrapl_edu.presets.frontend_spec`)",
        bare="kind",
    )
    channels: tuple[int, ...] = setting((16, 32, 32, 32), "the encoder's conv channels")
    data_seed: int | None = setting(None, "seed of the data set (None: ``seed``)")
    max_wall_s: float | None = setting(
        None, "stop training after this many seconds (None: run all steps)"
    )
    fast: bool = setting(
        False,
        "fast mode: the preset shrunk to seconds of compute (:func:`scrapl_edu.presets.shrink`)",
        cli_default="off, or on where the environment has ``SCRAPL_EDU_FAST=1``",
    )
    path_loss: str = setting(
        "squared",
        "the per-path loss of the JTFS losses: ``squared`` (Eq. 3's P·‖Δ_p‖², the default) or "
        "``norm`` (the authors' code's ‖Δ_p‖₂; :mod:`scrapl_edu.losses`); theta-IS measures "
        "its π on the same path loss",
        choices=PATH_LOSSES,
    )
    jtfs_first_order: bool = setting(
        False,
        "the full JTFS loss also compares the averaged first order S1 (the authors' full-JTFS "
        "baseline; ``loss='jtfs'`` only)",
    )
    pi_file: str | None = setting(
        None,
        "SCRAPL with theta-IS: read π from this file (``.npz`` with a ``probs`` array of "
        "length P, e.g. a run's ``theta_is.npz``) instead of computing it, as the authors "
        "compute π once at seed 0's initialisation and reuse it for every seed",
        flag="--pi",
        metavar="FILE",
    )

    def base_preset(self) -> Preset:
        """The registry preset this run starts from (shrunk when ``fast``)."""
        p = get_preset(self.preset)
        return shrink(p) if self.fast else p

    def synth_config(self) -> SynthPreset:
        """The synth configuration: the preset's, with ``synth`` overrides applied."""
        try:
            return dataclasses.replace(self.base_preset().synth, **self.synth)
        except TypeError as err:
            raise ValueError(f"bad synth override in {self.synth}: {err}") from None

    def jtfs_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :class:`scrapl_edu.jtfs.JTFS` for this run."""
        cfg = self.synth_config()
        return {"shape": cfg.n_samples, "sr": cfg.sr, **self.jtfs}

    @property
    def loss_kind(self) -> LossKind:
        """The :class:`~scrapl_edu.lab.loss_kinds.LossKind` named by ``loss`` (a ValueError
        listing the losses when there is none)."""
        return loss_kind(self.loss)

    def validate(self) -> None:
        """Fail fast with a message in the user's terms (raises ValueError)."""
        if self.preset not in PRESETS:
            raise ValueError(f"unknown preset {self.preset!r}; choose one of {sorted(PRESETS)}")
        kind = self.loss_kind  # an unknown loss is refused here, by name
        self._check_ranges()
        self._check_split()
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be positive, got lr={self.lr}")
        if not (self.loss_scale > 0 and math.isfinite(self.loss_scale)):
            raise ValueError(f"loss_scale must be positive, got {self.loss_scale}")
        if self.mss_kind not in get_args(MSSKind):
            raise ValueError(
                f"unknown mss_kind {self.mss_kind!r}; choose one of {', '.join(get_args(MSSKind))}"
            )
        for name in ("am_hz", "fm_oct_per_s", "pitch_hz"):
            if name in self.synth:
                low, high = self.synth[name]
                if low > high:
                    raise ValueError(
                        f"parameter range {name}=({low}, {high}) is inverted: low must be <= high"
                    )
        synth_cfg = self.synth_config()  # the synth checks its own ranges and lengths
        if self.rho not in (None, "log1p"):
            raise ValueError(f"rho must be None or 'log1p', got rho={self.rho!r}")
        if kind.uses_jtfs:
            self._check_resolvable(synth_cfg)
        if getattr(synth_cfg, "kind", "") == "drums":
            self._check_drum_metrics(synth_cfg)
        self._check_adaptive()
        self._check_paper_switches()
        self._check_sizes(synth_cfg)

    def probe_size(self) -> int:
        """Examples of the applied-step diagnostic's probe: ``applied_probe`` or the batch."""
        return self.batch_size if self.applied_probe is None else self.applied_probe

    def _check_paper_switches(self) -> None:
        """``path_loss``, ``jtfs_first_order`` and ``pi_file`` (the paper-regime switches)."""
        if self.path_loss not in PATH_LOSSES:
            raise ValueError(
                f"path_loss must be one of {', '.join(PATH_LOSSES)} (squared: Eq. 3's P·‖Δ_p‖²; "
                f"norm: the authors' ‖Δ_p‖₂), got path_loss={self.path_loss!r}"
            )
        if self.jtfs_first_order and not self.loss_kind.first_order:
            raise ValueError(
                "jtfs_first_order adds the first-order coefficients to the full JTFS loss; it "
                f"needs {loss_names_where(lambda k: k.first_order)}, got loss={self.loss!r}"
            )
        if self.pi_file is None:
            return
        if not self.loss_kind.theta_is_applies or not self.theta_is:
            raise ValueError(
                "pi_file replaces theta-IS's π: it needs "
                f"{loss_names_where(lambda k: k.theta_is_applies)} with theta-IS on, got "
                f"loss={self.loss!r}, theta_is={self.theta_is}"
            )
        load_probs(self.pi_file, self.n_paths())  # raises a ValueError naming the file

    def _check_ranges(self) -> None:
        """Types and ranges of the scalar settings (a seed, counts, finite rates)."""
        for name in ("seed", "data_seed"):
            value = getattr(self, name)
            if name == "data_seed" and value is None:
                continue
            if not _is_int(value) or not 0 <= value <= MAX_SEED:
                raise ValueError(
                    f"{name} must be an integer in 0 .. 2**63-1 = {MAX_SEED}, got {name}={value!r}"
                )
        for name in (
            "steps",
            "batch_size",
            "n_examples",
            "val_every",
            "theta_is_examples",
            "theta_is_iters",
            "applied_every",
        ):
            value = getattr(self, name)
            if not _is_int(value) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {name}={value!r}")
        probe = self.applied_probe
        if probe is not None and (not _is_int(probe) or probe < 1):
            raise ValueError(
                f"applied_probe must be a positive integer or None (the batch size), got {probe!r}"
            )
        for name, low, low_open in (
            ("lr", 0.0, True),
            ("eps", 0.0, True),
            ("loss_scale", 0.0, True),
            ("weight_decay", 0.0, False),
        ):
            value = getattr(self, name)
            if (
                not _is_real(value)
                or not math.isfinite(value)
                or (value <= low if low_open else value < low)
            ):
                kind = "a finite positive number" if low_open else "a finite number >= 0"
                raise ValueError(f"{name} must be {kind}, got {name}={value!r}")
        betas = self.betas
        if (
            not isinstance(betas, (tuple, list))
            or len(betas) != 2
            or not all(_is_real(b) and 0.0 <= b < 1.0 for b in betas)
        ):
            raise ValueError(f"betas must be two numbers in [0, 1), got betas={betas!r}")
        f = self.min_prob_frac
        if not _is_real(f) or not 0.0 <= f <= 1.0:
            raise ValueError(f"min_prob_frac must be a number in [0, 1], got {f!r}")
        w = self.max_wall_s
        if w is not None and (not _is_real(w) or not math.isfinite(w) or w <= 0):
            raise ValueError(
                f"max_wall_s must be a finite number of seconds > 0, or None (no limit), got "
                f"max_wall_s={w!r}"
            )

    def _check_sizes(self, synth_cfg: Any) -> None:
        """What the training set and memory allow: theta-IS and probe sizes, the data set."""
        n_train = split_sizes(self.n_examples, self.split)[0]
        for name, value in (
            ("theta_is_examples", self.theta_is_examples),
            ("applied_probe", self.probe_size()),
        ):
            if value > n_train:
                raise ValueError(
                    f"{name}={value} is more than the training set's {n_train} signals "
                    f"(n_examples={self.n_examples}, split {self.split}); use at most {n_train}"
                )
        need = dataset_bytes(self.n_examples, synth_cfg.n_samples)
        have = memory_bytes()
        if have is not None and need > have // 2:
            raise ValueError(
                f"n_examples={self.n_examples} needs about {need / 2**30:.3g} GiB for its "
                f"signals alone ({synth_cfg.n_samples} float32 samples each), more than half "
                f"of this machine's {have / 2**30:.3g} GiB of memory; use at most "
                f"{max_examples(synth_cfg.n_samples, have)} examples"
            )

    def n_paths(self) -> int:
        """P of this run's JTFS (the plan alone: no filter is built)."""
        try:
            return make_plan(**self.jtfs_kwargs()).n_paths
        except TypeError as err:
            raise ValueError(f"bad JTFS settings {self.jtfs}: {err}") from None

    def _check_adaptive(self) -> None:
        """Adaptive pi: a SCRAPL run with P-Adam (its norms) and a floor in (0, 1/P]."""
        every = self.adaptive_every
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"adaptive_every must be a positive integer, got {every!r}")
        if not self.adaptive_pi:
            if self.adaptive_floor is not None:
                raise ValueError(
                    f"adaptive_floor={self.adaptive_floor} is set but adaptive_pi is off; "
                    "turn adaptive pi on (sampling='adaptive') or leave the floor unset"
                )
            return
        if not self.loss_kind.adaptive_pi_applies or not self.p_adam:
            raise ValueError(
                f"adaptive_pi needs {loss_names_where(lambda k: k.adaptive_pi_applies)} with "
                "p_adam=True (pi follows P-Adam's per-path gradient norms), got "
                f"loss={self.loss!r}, p_adam={self.p_adam}"
            )
        if self.adaptive_floor is None:
            return
        P = self.n_paths()
        f = self.adaptive_floor
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not (0.0 < f <= 1.0 / P):
            raise ValueError(
                f"adaptive_floor must lie in (0, 1/P] = (0, {1.0 / P:.6g}] for the P={P} paths "
                f"of preset {self.preset!r} (above 1/P the probabilities cannot sum to 1; 0 "
                f"would let a path starve), got adaptive_floor={f!r}"
            )

    def floor(self) -> float:
        """The adaptive pi's floor: ``adaptive_floor``, or 1 / (2P) when unset."""
        return self.adaptive_floor if self.adaptive_floor is not None else 0.5 / self.n_paths()

    def _check_drum_metrics(self, synth_cfg: Any) -> None:
        """The drum metrics frame 0.80 s from the onset (Tables 8-9): it must fit."""
        need = DrumFeatureConfig(sr=float(synth_cfg.sr)).min_samples
        have = synth_cfg.n_samples - 2 * synth_cfg.max_shift
        if need > have:
            raise ValueError(
                f"preset {self.preset!r}: the drum metrics need {need} samples "
                f"({need / synth_cfg.sr:.3g} s) after the latest onset but n_samples="
                f"{synth_cfg.n_samples} with shift_max_s={synth_cfg.shift_max_s} leaves {have}; "
                "use a longer signal or a smaller shift"
            )

    def _check_split(self) -> None:
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

    def _check_resolvable(self, synth_cfg: SynthPreset) -> None:
        """A chirplet preset must have JTFS rates down to its slowest AM (Section 4.3).

        The slowest second-order wavelet must reach the lower end of the AM range (its centre
        minus one bandwidth), and its support 2**J must fit in the signal: otherwise the
        paths that carry theta_AM do not exist and no loss built on them can learn it.
        """
        if getattr(synth_cfg, "kind", "") != "chirplet":
            return
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


#: the largest seed: torch, numpy and Python all take 0 .. 2**63 - 1 (and seed + 4, the
#: probe's seed, stays within torch's 2**64 - 1)
MAX_SEED = 2**63 - 1


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def dataset_bytes(n_examples: int, n_samples: int) -> int:
    """Memory of a data set's signals (float32), the bulk of what a run holds."""
    return int(n_examples) * int(n_samples) * 4


def memory_bytes() -> int | None:
    """This machine's physical memory in bytes (None where it cannot be read)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def max_examples(n_samples: int, memory: int) -> int:
    """The most examples whose signals fit in half of ``memory`` bytes."""
    return max(1, memory // 2 // (4 * int(n_samples)))


def make_config(preset: str = "classroom", *, fast: bool = False, **overrides: Any) -> LabConfig:
    """The :class:`LabConfig` of a preset, with ``overrides`` applied.

    Args:
        preset: a name of :data:`scrapl_edu.presets.PRESETS`.
        fast: start from :func:`scrapl_edu.presets.shrink` of the preset (seconds of
            compute). Entry points pass ``fast=scrapl_edu.config.fast_mode()``.
        overrides: fields of :class:`LabConfig`; ``synth``, ``jtfs`` and ``frontend`` are
            merged into the preset's. A ``frontend`` of another ``kind`` than the preset's
            (e.g. ``frontend={"kind": "cqt"}``, or just ``frontend="cqt"``) starts from the
            registry's entry of that kind (:func:`scrapl_edu.presets.frontend_spec`).
    """
    try:
        p = get_preset(preset)
    except UnknownPresetError as err:
        raise ValueError(str(err)) from None
    if fast:
        p = shrink(p)
    kw: dict[str, Any] = {
        "preset": p.name,
        "synth": {},
        "jtfs": dict(p.jtfs),
        "frontend": dict(p.frontend),
        **dataclasses.asdict(p.train),
        "fast": p.fast,
        **p.options,
    }
    fe = overrides.get("frontend")
    if isinstance(fe, str):
        overrides["frontend"] = fe = {"kind": fe}
    if fe is not None and fe.get("kind", "stft") != kw["frontend"].get("kind", "stft"):
        kw["frontend"] = frontend_spec(p, fe.get("kind", "stft"))
    for key in ("synth", "jtfs", "frontend"):
        if key in overrides:
            kw[key] = {**kw[key], **overrides.pop(key)}
    kw.update(overrides)
    cfg = LabConfig(**kw)
    cfg.betas = tuple(cfg.betas)  # type: ignore[assignment]
    cfg.split = tuple(cfg.split)  # type: ignore[assignment]
    cfg.channels = tuple(cfg.channels)
    return cfg
