"""The arguments of one run on the command line, and the :class:`LabConfig` they make.

Shared by the command line (``scrapl-edu run``) and :func:`scrapl_edu.lab.comparison.compare`,
which launches runs with these arguments and checks reusable runs against their config.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from typing import Any

from scrapl_edu.lab.config import LOSSES, SAMPLING_MODES, LabConfig, make_config, sampling_overrides
from scrapl_edu.lab.loss_kinds import LOSS_KINDS
from scrapl_edu.losses import PATH_LOSSES
from scrapl_edu.presets import PRESETS

__all__ = ["add_run_args", "cap_steps", "config_from_args", "config_from_argv"]


def add_run_args(ap: argparse.ArgumentParser) -> None:
    """The options that define a run (``--preset``, ``--loss``, switches, sizes)."""
    ap.add_argument(
        "--preset",
        default="classroom",
        help=f"lab preset (default classroom): {', '.join(PRESETS)}",
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
        "--sampling",
        choices=SAMPLING_MODES,
        help="SCRAPL's path distribution: uniform, theta_is (Eq. 10-12, the default) or adaptive "
        "(pi ~ P-Adam's per-path gradient norms, updated during training, with a floor)",
    )
    ap.add_argument(
        "--adaptive-floor",
        type=float,
        help="adaptive pi: least probability of a path, in (0, 1/P] (default 1/(2P))",
    )
    ap.add_argument(
        "--adaptive-every", type=int, help="adaptive pi: steps between updates (default 10)"
    )
    ap.add_argument(
        "--seed", type=int, default=0, help="seed of data, init, batches, shifts, paths (default 0)"
    )
    ap.add_argument("--steps", type=int, help="optimizer steps (preset default)")
    ap.add_argument(
        "--max-steps",
        type=int,
        metavar="N",
        help="a shortened run: at most N steps (steps = min(N, the preset's or --steps)); "
        "results.json then says steps=N, so it is never taken for the full run",
    )
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
        "--frontend",
        choices=["stft", "cqt"],
        help="encoder front end: the preset's STFT or the paper's log1p CQT (preset default)",
    )
    ap.add_argument(
        "--applied-every",
        type=int,
        help="SCRAPL: measure the applied step every N steps (at validations; default 100)",
    )
    ap.add_argument(
        "--no-applied-diag",
        action="store_true",
        help="SCRAPL: no applied-step diagnostic (lab.applied; it does not change training)",
    )
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
    ap.add_argument(
        "--path-loss",
        choices=PATH_LOSSES,
        help="per-path loss of the JTFS losses: squared (Eq. 3's P·‖Δ_p‖², the default) or "
        "norm (the authors' code's ‖Δ_p‖₂, unsquared, no factor P)",
    )
    ap.add_argument(
        "--jtfs-first-order",
        action="store_true",
        help="full JTFS loss: also compare the first-order coefficients (the authors' baseline)",
    )
    ap.add_argument(
        "--pi",
        metavar="FILE",
        help="SCRAPL with theta-IS: read π from FILE (.npz with 'probs' of length P, e.g. a "
        "run's theta_is.npz) instead of computing it",
    )
    ap.add_argument(
        "--applied-probe",
        type=int,
        help="SCRAPL: examples of the applied-step diagnostic's probe (default: the batch size)",
    )
    ap.add_argument("--threads", type=int, help="torch threads (compare uses 1 per run)")
    ap.add_argument(
        "--device",
        default="cpu",
        help="where to compute: cpu (default), cuda, cuda:N, or auto (CUDA when present); "
        "not part of the configuration (results.json['device'] records it)",
    )


def config_from_args(args: argparse.Namespace, fast: bool) -> LabConfig:
    """The :class:`LabConfig` of parsed run arguments (``fast``: the shrunk preset)."""
    over: dict[str, Any] = {"loss": args.loss, "seed": args.seed}
    kind = LOSS_KINDS.get(args.loss)  # an unknown loss: refused by LabConfig.validate, by name
    switches = kind is not None and kind.switches_apply
    if switches:
        over.update(
            p_adam=not args.no_p_adam, p_saga=not args.no_p_saga, theta_is=not args.no_theta_is
        )
        if args.sampling is not None:
            if args.no_theta_is:
                raise ValueError("give --sampling or --no-theta-is, not both")
            over.update(sampling_overrides(args.sampling))
    elif args.sampling is not None:
        raise ValueError(f"--sampling is a SCRAPL setting; --loss {args.loss} samples no path")
    if not switches:
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
        "applied_every",
        "applied_probe",
        "adaptive_floor",
        "adaptive_every",
        "path_loss",
    ):
        v = getattr(args, name)
        if v is not None:
            over[name] = v
    if args.no_applied_diag:
        over["applied_diag"] = False
    if args.jtfs_first_order:
        over["jtfs_first_order"] = True
    if args.pi is not None:
        over["pi_file"] = args.pi
    if args.frontend:
        over["frontend"] = {"kind": args.frontend}
    synth = {}
    if args.am_hz:
        synth["am_hz"] = tuple(args.am_hz)
    if args.fm_oct_per_s:
        synth["fm_oct_per_s"] = tuple(args.fm_oct_per_s)
    if synth:
        over["synth"] = synth
    config = make_config(args.preset, fast=fast, **over)
    max_steps = getattr(args, "max_steps", None)
    return config if max_steps is None else cap_steps(config, max_steps)


def cap_steps(config: LabConfig, max_steps: int) -> LabConfig:
    """``--max-steps``: the same run shortened to at most ``max_steps`` optimizer steps.

    The cap is part of the configuration's identity (it sets ``steps``): a shortened run
    changes what is trained and evaluated, so its ``results.json`` must never be mistaken for,
    or reused as, the full run's. To split one long run into slices instead (a job's time
    limit), use ``--stop-after N`` and ``--resume``, which keep the configuration.
    """
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
        raise ValueError(f"--max-steps must be a positive integer, got {max_steps!r}")
    if max_steps < config.steps:
        config = dataclasses.replace(config, steps=max_steps)
    return config


def config_from_argv(argv: Sequence[str], fast: bool) -> LabConfig:
    """The :class:`LabConfig` of a list of run arguments, e.g. ``["--loss", "mss"]``."""
    ap = argparse.ArgumentParser()
    add_run_args(ap)
    return config_from_args(ap.parse_args(list(argv)), fast)
