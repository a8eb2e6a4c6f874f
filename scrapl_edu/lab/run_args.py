"""The arguments of one run on the command line, generated from :class:`LabConfig`.

Every field of :class:`LabConfig` is one flag, made here from the field itself: its name
(``batch_size`` -> ``--batch-size``), its type annotation (how the value is parsed), its
description (``setting(..., doc)`` in :mod:`scrapl_edu.lab.config`: the ``--help`` line) and
no default of its own: a flag left out takes the preset's value (:func:`make_config`). So a
new field reaches the command line with no edit here. How each type is spelled:

==========================  ===========================================================
``int``, ``float``, ``str``  ``--steps 40``, ``--lr 1e-4``, ``--mss-kind linear``
``X | None``                 the same, or ``none`` for None (``--rho none``)
``bool``                     ``--theta-is`` / ``--no-theta-is``
``tuple[float, float]``      ``--betas 0.9 0.99`` (``tuple[int, ...]``: one or more)
``dict[str, Any]``           ``--jtfs J=10 Q1=4`` (each value a Python literal, else a
                             string; ``--synth am_hz=2,4``)
==========================  ===========================================================

A few flags are not one field, and are written out by hand below (:func:`_add_shorthands`):
``--sampling`` (``theta_is`` and ``adaptive_pi`` at once), ``--am-hz`` / ``--fm-oct-per-s``
(entries of ``synth``), ``--max-steps`` (a cap on ``steps``), and ``--threads`` /
``--device``, which are not part of the configuration. SCRAPL's switches
(``--no-p-adam``, ``--no-p-saga``, ``--no-theta-is``) are generated, and given their meaning
by :func:`config_from_args`: a loss other than SCRAPL has them off.

:func:`config_to_argv` is the inverse: the flags that make a given configuration, which
:func:`scrapl_edu.lab.comparison.compare` hands to each run it starts.

Shared by the command line (``scrapl-edu run``) and :func:`scrapl_edu.lab.comparison.compare`.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import re
import types
from collections.abc import Callable, Sequence
from typing import Any, Union, get_args, get_origin, get_type_hints

from scrapl_edu.lab.config import SAMPLING_MODES, LabConfig, make_config, sampling_overrides
from scrapl_edu.lab.loss_kinds import LOSS_KINDS

__all__ = [
    "CLI_EXCLUDED",
    "NONE",
    "add_config_args",
    "add_run_args",
    "cap_steps",
    "config_from_args",
    "config_from_argv",
    "config_to_argv",
    "field_flag",
]

#: :class:`LabConfig` fields with no flag, each with the reason (none today: every field
#: has one; ``tests/test_run_args.py`` checks that this list and the fields agree)
CLI_EXCLUDED: dict[str, str] = {}

#: SCRAPL's switches: off for every other loss
SWITCHES = ("p_adam", "p_saga", "theta_is")


class _NoneValue:
    """What ``none`` parses to: None given on the command line (a flag left out is None)."""

    def __repr__(self) -> str:
        return "NONE"


#: the value of ``--rho none``: distinct from None, which means "not given: the preset's"
NONE = _NoneValue()


# ------------------------------------------------------------------------ the generator
def field_flag(f: dataclasses.Field) -> str:
    """The flag of a field: ``--batch-size`` for ``batch_size`` (or its ``flag`` hint)."""
    return f.metadata.get("flag", "--" + f.name.replace("_", "-"))


def _cli_fields() -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(LabConfig) if f.name not in CLI_EXCLUDED]


def _plain(doc: str) -> str:
    """A field's description as ``--help`` prints it: no Sphinx roles or double backquotes."""
    doc = re.sub(r":\w+:`~?([^`]+)`", r"\1", doc).replace("``", "")
    return doc.replace("%", "%%")  # argparse formats help with %


def _split_optional(tp: Any) -> tuple[Any, bool]:
    """``(X, True)`` for ``X | None``, ``(tp, False)`` otherwise."""
    if get_origin(tp) in (Union, types.UnionType) and type(None) in get_args(tp):
        (base,) = [a for a in get_args(tp) if a is not type(None)]
        return base, True
    return tp, False


def _or_none(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """``parse``, with ``none`` read as :data:`NONE` (argparse names it as ``parse``)."""

    def parse_or_none(text: str) -> Any:
        return NONE if text.strip().lower() == "none" else parse(text)

    parse_or_none.__name__ = parse.__name__  # "invalid float value: 'abc'"
    return parse_or_none


def _key_value(bare: str | None) -> Callable[[str], tuple[str, Any]]:
    """Parse ``KEY=VALUE`` (the value a Python literal, else a string); ``bare``: a token
    without ``=`` sets that key (``--frontend cqt``)."""

    def key_value(text: str) -> tuple[str, Any]:
        key, sep, value = text.partition("=")
        if not sep:
            if bare is None:
                raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
            key, value = bare, text
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return key.strip(), value
        return key.strip(), tuple(parsed) if isinstance(parsed, list) else parsed

    return key_value


def _help(f: dataclasses.Field, optional: bool) -> str:
    """The ``--help`` line of a field: its description, and what leaving it out gives."""
    text = _plain(f.metadata["doc"]) + ("; 'none' for None" if optional else "")
    if "cli_default" in f.metadata:
        return f"{text}; default: {_plain(f.metadata['cli_default'])}"
    if isinstance(f.default, bool):
        return f"{text}; default: the preset's (classroom: {'on' if f.default else 'off'})"
    if f.default is dataclasses.MISSING:  # a dictionary: merged into the preset's
        return f"{text}; default: the preset's"
    return f"{text}; default: the preset's (classroom: {' '.join(_tokens(f.default))})"


def _argument(f: dataclasses.Field, tp: Any) -> dict[str, Any]:
    """The ``add_argument`` keywords of one field, from its type and its hints."""
    base, optional = _split_optional(tp)
    kw: dict[str, Any] = {"dest": f.name, "default": None, "help": _help(f, optional)}
    if base is bool:
        kw["action"] = argparse.BooleanOptionalAction
    elif get_origin(base) is tuple:
        items = get_args(base)
        kw["type"], kw["nargs"] = items[0], "+" if items[-1] is Ellipsis else len(items)
    elif get_origin(base) is dict:
        kw["type"], kw["nargs"], kw["action"] = _key_value(f.metadata.get("bare")), "+", "extend"
        kw["metavar"] = "KEY=VALUE"
    else:
        kw["type"] = _or_none(base) if optional else base
    for hint in ("metavar", "choices"):
        if hint in f.metadata:
            kw[hint] = f.metadata[hint]
    return kw


def add_config_args(ap: argparse.ArgumentParser) -> None:
    """One flag per :class:`LabConfig` field (except :data:`CLI_EXCLUDED`), none given = None."""
    hints = get_type_hints(LabConfig)
    for f in _cli_fields():
        ap.add_argument(field_flag(f), **_argument(f, hints[f.name]))


def _given(args: argparse.Namespace) -> dict[str, Any]:
    """The fields whose flags were given, as values of :class:`LabConfig` (``none`` -> None)."""
    hints = get_type_hints(LabConfig)
    out: dict[str, Any] = {}
    for f in _cli_fields():
        value = getattr(args, f.name, None)
        if value is None:
            continue
        if get_origin(hints[f.name]) is dict:
            value = dict(value)
        elif isinstance(value, list):
            value = tuple(value)
        out[f.name] = None if value is NONE else value
    return out


def _tokens(value: Any) -> list[str]:
    """How one value is written on the command line (:func:`config_to_argv`)."""
    if value is None:
        return ["none"]
    if isinstance(value, (tuple, list)):
        return [str(v) for v in value]
    if isinstance(value, dict):
        return [f"{k}={v!r}" for k, v in value.items()]
    return [str(value)]


def config_to_argv(config: LabConfig) -> list[str]:
    """The ``scrapl-edu run`` flags that make ``config``: every field, written out.

    :func:`config_from_argv` of them gives ``config`` back (for a configuration made by
    :func:`make_config`, whose dictionaries hold the preset's entries), fast mode included
    (``--fast`` / ``--no-fast``): what :func:`scrapl_edu.lab.comparison.compare` starts each
    run with, so that the run it starts is the configuration it compared.
    """
    argv: list[str] = []
    for f in _cli_fields():
        value, flag = getattr(config, f.name), field_flag(f)
        if isinstance(value, bool):
            argv.append(flag if value else "--no-" + flag[2:])
        elif not (isinstance(value, dict) and not value):  # an empty dict: nothing to merge
            argv += [flag, *_tokens(value)]
    return argv


# ------------------------------------------------------------------ the run's flags
def _add_shorthands(ap: argparse.ArgumentParser) -> None:
    """The flags that are not one field each (see the module's docstring)."""
    ap.add_argument(
        "--sampling",
        choices=SAMPLING_MODES,
        help="SCRAPL's path distribution: uniform, theta_is (Eq. 10-12, the default) or adaptive "
        "(pi ~ P-Adam's per-path gradient norms, updated during training, with a floor); "
        "sets --theta-is and --adaptive-pi",
    )
    for flag, what in (("--am-hz", "AM range (Hz)"), ("--fm-oct-per-s", "FM range (oct/s)")):
        ap.add_argument(
            flag,
            type=float,
            nargs=2,
            metavar=("LOW", "HIGH"),
            help=f"override the chirplet {what}: --synth {flag[2:].replace('-', '_')}=LOW,HIGH",
        )
    ap.add_argument(
        "--max-steps",
        type=int,
        metavar="N",
        help="a shortened run: at most N steps (steps = min(N, the preset's or --steps)); "
        "results.json then says steps=N, so it is never taken for the full run",
    )
    ap.add_argument("--threads", type=int, help="torch threads (compare uses 1 per run)")
    ap.add_argument(
        "--device",
        default="cpu",
        help="where to compute: cpu (default), cuda, cuda:N, or auto (CUDA when present); "
        "not part of the configuration (results.json['device'] records it)",
    )


def add_run_args(ap: argparse.ArgumentParser) -> None:
    """The options that define a run: one per :class:`LabConfig` field, and the shorthands."""
    add_config_args(ap)
    _add_shorthands(ap)


def _apply_sampling(args: argparse.Namespace, over: dict[str, Any]) -> None:
    """``--sampling`` and SCRAPL's switches: only SCRAPL samples paths; other losses have
    every switch off."""
    loss = over.get("loss", LabConfig.loss)
    kind = LOSS_KINDS.get(loss)  # an unknown loss: refused by LabConfig.validate, by name
    switches = kind is not None and kind.switches_apply
    sampling = getattr(args, "sampling", None)
    if sampling is not None:
        if not switches:
            raise ValueError(f"--sampling is a SCRAPL setting; --loss {loss} samples no path")
        if "theta_is" in over or "adaptive_pi" in over:
            raise ValueError(
                "give --sampling or --no-theta-is (--theta-is, --adaptive-pi), not both"
            )
        over.update(sampling_overrides(sampling))
    if switches:
        return
    for name in SWITCHES:
        if over.get(name) is True:
            flag = "--" + name.replace("_", "-")
            raise ValueError(f"{flag} is a SCRAPL switch; --loss {loss} has none")
    over.update(dict.fromkeys(SWITCHES, False))


def config_from_args(args: argparse.Namespace, fast: bool) -> LabConfig:
    """The :class:`LabConfig` of parsed run arguments.

    ``fast``: the shrunk preset when ``--fast`` / ``--no-fast`` was not given (the command
    line passes :func:`scrapl_edu.config.fast_mode`, the ``SCRAPL_EDU_FAST`` variable).
    """
    over = _given(args)
    preset = over.pop("preset", LabConfig.preset)
    fast = over.pop("fast", fast)
    _apply_sampling(args, over)
    synth = dict(over.get("synth", {}))
    for name in ("am_hz", "fm_oct_per_s"):
        if getattr(args, name, None):
            synth[name] = tuple(getattr(args, name))
    if synth:
        over["synth"] = synth
    config = make_config(preset, fast=fast, **over)
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
