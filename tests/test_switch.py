"""The dashboard's compare (issue 10 item 5): one switch flipped on paired seeds, in run
processes polled from the caller's thread, with a time limit; and the dashboard around it
(progress, each seed's pair, the paired difference, the target and its reconstruction as
sound)."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest

from scrapl_edu.lab import Results
from scrapl_edu.lab.paired import paired_difference
from scrapl_edu.lab.switch import RunStatus, SwitchComparison, compare_switch, run_arguments
from scrapl_edu.sound import players
from scrapl_edu.widgets import LabDashboard

CFG = {"preset": "classroom", "loss": "scrapl", "steps": 6, "p_adam": True, "p_saga": True}


def test_run_arguments_follow_the_switches():
    args = run_arguments({**CFG, "theta_is": False})
    assert args == ["--preset", "classroom", "--loss", "scrapl", "--no-theta-is", "--steps", "6"]
    assert "--no-p-adam" in run_arguments({**CFG, "p_adam": False})
    assert run_arguments({"preset": "classroom", "loss": "mss", "steps": 3})[-2:] == [
        "--steps",
        "3",
    ]


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"switch": "dropout"}, "switch must be one of"),
        ({"config": {**CFG, "loss": "mss"}}, "loss='scrapl'"),
        ({"seeds": [0]}, "at least 2 distinct"),
        ({"seeds": [1, 1]}, "at least 2 distinct"),
        ({"jobs": 0}, "jobs must be"),
    ],
)
def test_bad_requests_are_refused_before_any_run(kw, match):
    args = {"config": CFG, "switch": "p_saga", "seeds": [0, 1], **kw}
    with pytest.raises(ValueError, match=match):
        compare_switch(args.pop("config"), args.pop("switch"), args.pop("seeds"), **args)


def test_compare_switch_runs_paired_processes_and_reports_progress(tmp_path):
    seen: list[list[tuple]] = []
    threads = []

    def on_progress(runs: list[RunStatus]) -> None:
        threads.append(threading.current_thread())
        seen.append([(r.arm, r.seed, r.state, r.step) for r in runs])

    cmp = compare_switch(
        {**CFG, "theta_is": True},
        "p_saga",
        [0, 1],
        fast=True,
        out=tmp_path,
        on_progress=on_progress,
    )
    # the arms differ by the switch only, on the same seeds
    for arm, want in (("off", False), ("on", True)):
        for seed, res in zip([0, 1], cmp.results[arm], strict=True):
            saved = json.loads((tmp_path / arm / f"seed{seed}" / "results.json").read_text())
            assert saved["config"]["p_saga"] is want and saved["config"]["seed"] == seed
            assert saved["config"]["p_adam"] and saved["config"]["theta_is"]
            assert res.test_theta_l1_permille == saved["test_theta_l1_permille"]
    item = cmp.paired()
    want = paired_difference(
        [r.test_theta_l1_permille for r in cmp.results["off"]],
        [r.test_theta_l1_permille for r in cmp.results["on"]],
    )
    assert item.theta_l1.to_dict() == want and item.label == "+ P-SAGA"
    assert (item.a, item.b, item.seeds) == ("p_saga off", "p_saga on", [0, 1])
    assert set(item.metrics) == {"theta_l1", "am_hz_l1", "fm_oct_per_s_l1"}
    am = [r.test_theta_l1_permille_per_param["am_hz"] for r in cmp.results["off"]]
    am_on = [r.test_theta_l1_permille_per_param["am_hz"] for r in cmp.results["on"]]
    assert item.metrics["am_hz_l1"].to_dict() == paired_difference(am, am_on)
    # progress: from the caller's thread only, never more than two runs at a time, all done
    assert set(threads) == {threading.main_thread()}
    assert max(sum(s == "running" for _, _, s, _ in snap) for snap in seen) <= 2
    assert all(s == "done" and step == 6 for _, _, s, step in seen[-1])


def test_a_run_past_its_time_limit_is_killed_and_reported(tmp_path):
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match="timeout after 1 s"):
        compare_switch(CFG, "p_adam", [0, 1], fast=True, out=tmp_path, timeout_s=1.0, jobs=1)
    assert time.monotonic() - t0 < 30  # killed, not waited for
    assert (tmp_path / "off" / "seed0" / "log.txt").exists()
    assert not (tmp_path / "on" / "seed1").exists()  # nothing else was started


def test_a_failing_run_names_its_log(tmp_path):
    with pytest.raises(RuntimeError, match=r"failed \(log: .*log.txt\)"):
        compare_switch({**CFG, "preset": "no_such_preset"}, "p_saga", [0, 1], out=tmp_path)


def _fake_results(theta: float, am: float) -> Results:
    return Results(
        config={},
        param_names=["am_hz", "fm_oct_per_s"],
        test_theta_l1_permille=theta,
        test_theta_l1_permille_per_param={"am_hz": am, "fm_oct_per_s": 2 * theta - am},
        val_steps=[0],
        val_theta_l1_permille=[theta],
        val_theta_l1_permille_per_param=[[am, 2 * theta - am]],
        steps_to_convergence=None,
        val_total_variation=0.0,
        steps=2,
        ms_per_step=1.0,
        wall_s=1.0,
        theta_is_s=0.0,
        peak_rss_mb=1.0,
    )


class FakeComparer:
    def __init__(self) -> None:
        self.calls = []

    def __call__(self, config, switch, seeds, on_progress):
        self.calls.append((dict(config), switch, list(seeds)))
        runs = [RunStatus(a, s, None, "running", 1, 2) for s in seeds for a in ("off", "on")]
        on_progress(runs)
        off = [_fake_results(200.0 + 10 * s, 240.0) for s in seeds]
        on = [_fake_results(180.0 + 10 * s + s % 2, 230.0) for s in seeds]
        return SwitchComparison(switch, config, list(seeds), {"off": off, "on": on}, wall_s=3.0)


def _fake_runner(config, progress):
    return _fake_results(250.0, 250.0)


def test_dashboard_compare_shows_pairs_and_the_paired_difference(tmp_path):
    fake = FakeComparer()
    d = LabDashboard(
        runner=_fake_runner,
        comparer=fake,
        results_dir=tmp_path,
        presets=["classroom"],
        steps=4,
        seed=5,
        run_default=False,
    )
    d.loss.value = "mss"  # compare is a SCRAPL action: it runs SCRAPL whatever the loss box
    cmp = d.compare(switch="theta_is", n_seeds=4)
    config, switch, seeds = fake.calls[0]
    assert switch == "theta_is" and seeds == [5, 6, 7, 8] and config["loss"] == "scrapl"
    assert config["steps"] == 4 and config["preset"] == "classroom"
    assert d.comparisons == [cmp] and d.compare_bar.value == d.compare_bar.max == 8
    st = cmp.paired().theta_l1
    assert st.mean == pytest.approx(np.mean([-20 + s % 2 for s in seeds]))
    assert "+ θ-IS" in d.compare_status.value and "4/4 seeds improved" in d.compare_status.value
    html = d._compare_html(cmp)
    assert html.count("<tr>") == 5 and "θ-IS on" in html
    assert "scrapl-compare-button" in d.compare_button._dom_classes
    assert "scrapl-compare-status" in d.compare_status._dom_classes


def test_dashboard_run_plays_the_target_and_its_reconstruction():
    d = LabDashboard(presets=["classroom"], fast=True, steps=2, run_default=True)
    rec = d.last_audio
    assert rec["targets"].shape == rec["reconstructions"].shape == (1, 1024)
    assert rec["sr"] == 256.0 and np.all(np.isfinite(rec["reconstructions"]))
    assert rec["theta_hat"].shape == (1, 2) and 0 < rec["theta_hat"].min() < 1
    shown = players({"target": rec["targets"][0], "x": rec["reconstructions"][0]}, 256)
    assert shown._repr_html_().count("<audio") == 2  # what the dashboard displays
