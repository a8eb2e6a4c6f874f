"""θ-IS's N_IS and power iterations from a measurement (scrapl_edu.lab.theta_is_quality)."""

from __future__ import annotations

import re

import pytest
import torch

from scrapl_edu.lab import make_config
from scrapl_edu.lab.cli import main
from scrapl_edu.lab.parts import build_parts
from scrapl_edu.lab.theta_is_quality import (
    RHO_MIN,
    TV_MAX,
    choose_setting,
    measure_theta_is_quality,
)
from scrapl_edu.lab.train import run_theta_is


@pytest.fixture(scope="module")
def fast_report():
    torch.set_num_threads(1)
    return measure_theta_is_quality(
        "classroom",
        ref_examples=2,
        ref_iters=3,
        examples=(1, 2),
        iters=(1, 3),
        fast=True,
        progress=False,
    )


def test_preset_setting_is_the_pi_a_lab_run_draws_from(fast_report) -> None:
    report, arrays = fast_report
    cfg = make_config("classroom", fast=True, loss="scrapl", seed=0)
    assert (cfg.theta_is_examples, cfg.theta_is_iters) == (1, 1)
    parts, state = build_parts(cfg)
    run_theta_is(parts, state, progress=False)
    assert report["preset_setting"]["probs"] == state.theta_is_probs
    assert arrays["iterates"].shape == (2, 2, parts.n_paths, 3)


def test_grid_rows_are_distances_to_the_reference(fast_report) -> None:
    report, arrays = fast_report
    rows = {(r["n_examples"], r["n_iter"]): r for r in report["rows"]}
    assert set(rows) == {(1, 1), (1, 3), (2, 1), (2, 3)}
    assert rows[(2, 3)]["rho"] == pytest.approx(1.0) and rows[(2, 3)]["tv"] == 0.0
    assert rows[(1, 1)]["tv"] > 0.0  # a cheaper setting gives another π here
    assert abs(arrays["probs_ref"].sum() - 1.0) < 1e-12
    costs = [rows[k]["cost_s"] for k in ((1, 1), (1, 3), (2, 3))]
    assert costs == sorted(costs) and costs[0] > 0


def test_choice_rule_takes_the_cheapest_good_enough_setting() -> None:
    rows = [
        {"n_examples": 1, "n_iter": 1, "rho": 0.95, "tv": TV_MAX + 0.01, "cost_s": 1.0},
        {"n_examples": 2, "n_iter": 2, "rho": RHO_MIN, "tv": TV_MAX, "cost_s": 4.0},
        {"n_examples": 4, "n_iter": 2, "rho": 0.99, "tv": 0.01, "cost_s": 8.0},
        {"n_examples": 1, "n_iter": 5, "rho": RHO_MIN - 0.01, "tv": 0.0, "cost_s": 2.0},
    ]
    assert choose_setting(rows)["n_examples"] == 2
    assert choose_setting(rows[:1]) is None


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--examples", "1", "40"], r"examples must lie in \[1, 16\]"),
        (["--ref-iters", "1"], "ref_iters must be >= 2"),
        (["--preset", "nope"], "nope"),
    ],
)
def test_bad_arguments_are_refused(tmp_path, capsys, argv, message) -> None:
    with pytest.raises(SystemExit) as err:
        main(["theta-is-quality", "--out", str(tmp_path / "q"), *argv])
    assert err.value.code == 2
    assert re.search(message, capsys.readouterr().err)
