"""The run's command line is generated from :class:`LabConfig` (issue 17 item 3).

Every field has a flag (or is in :data:`CLI_EXCLUDED`, with its reason), its ``--help`` line
and docstring entry come from the field's one description, and a configuration written as
flags (:func:`config_to_argv`) parses back to itself. No training here: parsing only.
"""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from scrapl_edu.lab.comparison import RESERVED_RUN_OPTIONS, check_run_argv, run_args
from scrapl_edu.lab.config import LOSS_LABELS, LOSSES, ROWS, LabConfig, make_config
from scrapl_edu.lab.run_args import (
    CLI_EXCLUDED,
    add_run_args,
    config_from_argv,
    config_to_argv,
    field_flag,
)
from scrapl_edu.presets import PRESETS

FIELDS = [f.name for f in dataclasses.fields(LabConfig)]
OFF = {"p_adam": False, "p_saga": False, "theta_is": False}


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="run", add_help=False)
    add_run_args(ap)
    return ap


def _row_config(preset: str, row: str, fast: bool, **kw) -> LabConfig:
    """A row's configuration as the command line makes it (other losses: switches off)."""
    spec = ROWS[row]
    return make_config(preset, fast=fast, **(OFF if spec["loss"] != "scrapl" else {}), **spec, **kw)


def test_every_field_has_a_flag_or_a_documented_exclusion():
    """A new field reaches the command line with no edit: the generator reads the class."""
    dests = {a.dest for a in _parser()._actions}
    missing = [n for n in FIELDS if n not in dests and n not in CLI_EXCLUDED]
    assert not missing, f"LabConfig fields with no flag and no CLI_EXCLUDED reason: {missing}"
    assert set(CLI_EXCLUDED) <= set(FIELDS), "CLI_EXCLUDED names a field that does not exist"
    assert all(reason.strip() for reason in CLI_EXCLUDED.values())


def test_each_field_is_described_once_for_help_and_docstring():
    help_text = " ".join(_parser().format_help().split())
    for f in dataclasses.fields(LabConfig):
        doc = f.metadata.get("doc")
        assert doc, f"{f.name} has no description (use setting(default, doc))"
        assert f"    {f.name}: " in LabConfig.__doc__, f.name
        assert field_flag(f) in help_text, f.name
    # the help line is the description (roles and backquotes dropped)
    assert "optimizer steps K; default: the preset's (classroom: 400)" in help_text
    assert "linear, log_linear, revisited, random" in help_text


def test_the_defaults_help_quotes_are_the_classroom_presets():
    """``--help`` says "classroom: <LabConfig's default>": true for every field it quotes."""
    classroom, defaults = make_config("classroom"), LabConfig()
    for f in dataclasses.fields(LabConfig):
        if f.default is not dataclasses.MISSING and "cli_default" not in f.metadata:
            assert getattr(classroom, f.name) == getattr(defaults, f.name), f.name


@pytest.mark.parametrize("fast", [False, True], ids=["classroom", "fast"])
@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_config_to_argv_round_trips_every_preset_and_row(preset, fast):
    for row in ROWS:
        config = _row_config(preset, row, fast)
        assert config_from_argv(config_to_argv(config), fast=not fast) == config, row


@pytest.mark.parametrize(
    "kw",
    [
        {"rho": None, "loss_scale": 3.0},  # a drum preset's rho switched off: --rho none
        {"applied_probe": 2, "adaptive_pi": True, "theta_is": False, "adaptive_floor": 0.001},
        {"data_seed": 7, "max_wall_s": 12.5, "seed": 3, "min_prob_frac": 0.25},
        {"betas": (0.5, 0.75), "split": (0.5, 0.25, 0.25), "channels": (4, 4, 8)},
        {"synth": {"pitch_hz": (40.0, 80.0)}, "jtfs": {"T": 64}, "frontend": "cqt"},
        {"applied_diag": False, "path_loss": "norm", "mss_kind": "linear", "eps": 1e-6},
    ],
)
def test_config_to_argv_round_trips_values_of_every_type(kw):
    config = make_config("drums_micro", fast=True, **kw)
    argv = config_to_argv(config)
    assert config_from_argv(argv, fast=False) == config
    if "rho" in kw:
        assert argv[argv.index("--rho") + 1] == "none"


def test_flags_parse_as_before_and_the_new_ones_as_documented():
    c = config_from_argv(["--loss", "mss", "--no-p-adam", "--steps", "5"], fast=True)
    assert (c.loss, c.steps, c.fast) == ("mss", 5, True)
    assert not (c.p_adam or c.p_saga or c.theta_is), "a loss other than SCRAPL: switches off"
    c = config_from_argv(["--no-theta-is", "--no-applied-diag", "--jtfs", "T=64"], fast=True)
    assert c.p_adam and not c.theta_is and not c.applied_diag and c.jtfs["T"] == 64
    c = config_from_argv(["--am-hz", "2", "4", "--frontend", "cqt", "--pi", "x.npz"], fast=True)
    assert c.synth == {"am_hz": (2.0, 4.0)} and c.frontend["kind"] == "cqt"
    assert c.pi_file == "x.npz"
    assert config_from_argv(["--synth", "am_hz=2,4"], fast=True).synth == {"am_hz": (2, 4)}
    assert config_from_argv(["--preset", "drums_micro"], fast=True).rho == "log1p"
    assert config_from_argv(["--preset", "drums_micro", "--rho", "none"], fast=True).rho is None
    assert config_from_argv(["--sampling", "adaptive"], fast=True).adaptive_pi
    assert config_from_argv(["--steps", "30", "--max-steps", "8"], fast=False).steps == 8


def test_fast_mode_is_a_flag_that_overrides_the_default():
    """``--fast`` / ``--no-fast`` decide; without them the caller's default (the env) does."""
    assert config_from_argv([], fast=True).fast
    assert not config_from_argv([], fast=False).fast
    assert config_from_argv(["--fast"], fast=False).fast
    full = config_from_argv(["--no-fast"], fast=True)
    assert not full.fast and full.steps == make_config("classroom").steps


@pytest.mark.parametrize(
    "argv, match",
    [
        (["--sampling", "uniform", "--no-theta-is"], "give --sampling or --no-theta-is"),
        (["--sampling", "adaptive", "--adaptive-pi"], "not both"),
        (["--loss", "mss", "--sampling", "uniform"], "--sampling is a SCRAPL setting"),
        (["--loss", "jtfs", "--p-saga"], "--p-saga is a SCRAPL switch; --loss jtfs has none"),
        (["--frontend", "wavelets"], "unknown front end kind 'wavelets'"),
    ],
)
def test_contradictions_are_refused_by_name(argv, match):
    with pytest.raises(ValueError, match=match):
        config_from_argv(argv, fast=True)


@pytest.mark.parametrize(
    "argv, match",
    [
        (["--lr", "abc"], r"invalid float value: 'abc'"),
        (["--applied-probe", "abc"], r"invalid int value: 'abc'"),
        (["--max-wall-s", "soon"], r"invalid float value: 'soon'"),
        (["--jtfs", "J"], r"expected KEY=VALUE, got 'J'"),
        (["--betas", "0.9"], r"expected 2 arguments"),
    ],
)
def test_malformed_values_are_argparse_errors(argv, match):
    """What ``compare --run-arg`` reports (the command line: one line, exit status 2)."""
    with pytest.raises(ValueError, match=match):
        check_run_argv(argv, "--run-arg")


def test_compare_reserves_what_it_sets_per_run():
    """Every flag a row or compare sets per run is reserved, so an extra cannot change it."""
    flags = {a for a in run_args("classroom", "scrapl_adaptive", 0) if a.startswith("--")}
    for switch in ("p_adam", "p_saga", "theta_is", "adaptive_pi", "fast"):
        flags |= {"--" + switch.replace("_", "-"), "--no-" + switch.replace("_", "-")}
    assert flags <= set(RESERVED_RUN_OPTIONS)
    for flag in flags:
        with pytest.raises(ValueError, match=f"may not set {flag}"):
            check_run_argv([flag], "--run-arg")


def test_the_dashboards_loss_menu_is_the_lab_losses():
    from scrapl_edu.widgets import LOSS_CHOICES

    assert [value for _, value in LOSS_CHOICES] == list(reversed(LOSSES))
    assert dict((v, k) for k, v in LOSS_CHOICES) == LOSS_LABELS
