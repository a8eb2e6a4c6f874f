"""Tests of the sound-matching lab (Sections 4.2-4.3; Tables 1-3): engine, CLI, results.

Everything runs in fast mode (``make_config(..., fast=True)``; ``SCRAPL_EDU_FAST=1`` for the
command line: 1024-sample signals, a few steps), so the whole file takes about a minute on
two cores.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from scrapl_edu import lab, viz
from scrapl_edu.lab.cli import main
from scrapl_edu.lab.comparison import validation_curves
from scrapl_edu.lab.results import Snapshot, StepProgress
from scrapl_edu.lab.train import GradEMA
from scrapl_edu.presets import preset_names

ROOT = Path(__file__).resolve().parents[1]


#: the numbers of results.json that are timings (they differ between identical runs)
TIMINGS = ("wall_s", "ms_per_step", "peak_rss_mb", "theta_is_s", "applied_s")


@pytest.fixture(autouse=True)
def _fast(monkeypatch):
    monkeypatch.setenv("SCRAPL_EDU_FAST", "1")  # what the command line reads
    torch.set_num_threads(1)


def _cfg(**kw) -> lab.LabConfig:
    return lab.make_config("classroom", fast=True, **kw)


def test_cli_run_contract(tmp_path):
    """The externally checked contract: ``run ... --out DIR`` writes DIR/results.json."""
    out = tmp_path / "run"
    env = {**os.environ, "SCRAPL_EDU_FAST": "1", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "scrapl_edu.lab", "run", "--preset", "classroom"]
    cmd += ["--loss", "scrapl", "--no-p-saga", "--no-theta-is", "--seed", "3", "--out", str(out)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads((out / "results.json").read_text())
    for key in ("test_theta_l1_permille", "test_theta_l1_permille_per_param", "ms_per_step"):
        assert key in res
    assert res["steps"] == res["config"]["steps"] > 0
    assert res["wall_s"] > 0 and res["ms_per_step"] > 0
    assert set(res["test_theta_l1_permille_per_param"]) == {"am_hz", "fm_oct_per_s"}
    per = list(res["test_theta_l1_permille_per_param"].values())
    assert res["test_theta_l1_permille"] == pytest.approx(np.mean(per))
    cfg = res["config"]
    assert cfg["preset"] == "classroom" and cfg["loss"] == "scrapl" and cfg["seed"] == 3
    assert cfg["p_adam"] is True and cfg["p_saga"] is False and cfg["theta_is"] is False
    assert (out / "history.csv").exists() and (out / "validation.csv").exists()
    assert not (out / "checkpoint.pt").exists()  # removed once the run is complete
    # a second run into the same folder is refused without --overwrite
    again = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 2 and "--overwrite" in again.stderr


def test_results_schema_and_theta_is(tmp_path):
    res = lab.run(_cfg(loss="scrapl"), tmp_path / "r", progress=False)
    d = json.loads((tmp_path / "r" / "results.json").read_text())
    assert d["n_paths"] == res.n_paths > 0
    probs = np.asarray(d["theta_is_probs"])
    assert probs.shape == (d["n_paths"],) and probs.sum() == pytest.approx(1.0)
    assert np.isfinite(probs).all() and (probs >= 0).all()
    assert sum(d["path_counts"]) == d["steps"]
    assert len(res.history["loss"]) == len(res.history["path"]) == res.steps
    assert all(0 <= p < res.n_paths for p in res.history["path"])
    assert d["val_steps"][0] == 0 and d["val_steps"][-1] == d["steps"]
    assert len(d["val_theta_l1_permille"]) == len(d["val_steps"])
    assert d["val_total_variation"] >= 0 and d["peak_rss_mb"] > 0
    assert d["theta_is_s"] > 0
    assert np.load(tmp_path / "r" / "theta_is.npz")["probs"].shape == probs.shape


@pytest.mark.parametrize("loss", ["p_loss", "mss", "jtfs"])
def test_other_losses_run(loss):
    res = lab.run(_cfg(loss=loss, steps=2), progress=False)
    assert res.steps == 2 and np.isfinite(res.test_theta_l1_permille)
    assert res.theta_is_probs is None and res.path_counts is None
    assert all(p == -1 for p in res.history["path"])


def test_same_seed_reproduces_other_seed_differs():
    a = lab.run(_cfg(loss="scrapl", theta_is=False), progress=False)
    b = lab.run(_cfg(loss="scrapl", theta_is=False), progress=False)
    c = lab.run(_cfg(loss="scrapl", theta_is=False, seed=1), progress=False)
    assert a.history["loss"] == b.history["loss"] and a.history["path"] == b.history["path"]
    assert a.test_theta_l1_permille == b.test_theta_l1_permille
    assert a.history["loss"] != c.history["loss"]


def test_resume_equals_uninterrupted(tmp_path):
    cfg = _cfg(loss="scrapl", theta_is=False, steps=8)
    full = lab.run(cfg, tmp_path / "full", progress=False)
    part = tmp_path / "part"
    assert lab.run(cfg, part, progress=False, stop_after=5) is None
    assert (part / "checkpoint.pt").exists() and not (part / "results.json").exists()
    with pytest.raises(FileExistsError, match="--resume"):
        lab.run(cfg, part, progress=False)
    resumed = lab.run(cfg, part, resume=True, progress=False)
    assert resumed.history["loss"] == full.history["loss"]
    assert resumed.history["path"] == full.history["path"]
    assert resumed.val_theta_l1_permille == full.val_theta_l1_permille
    assert resumed.test_theta_l1_permille == full.test_theta_l1_permille
    # a resume with another configuration is refused
    lab.run(cfg, tmp_path / "p2", progress=False, stop_after=3)
    with pytest.raises(ValueError, match="different configuration"):
        lab.run(_cfg(loss="scrapl", theta_is=False, steps=8, lr=0.1), tmp_path / "p2", resume=True)


def test_resume_keeps_theta_is_distribution(tmp_path):
    cfg = _cfg(loss="scrapl", steps=6)
    full = lab.run(cfg, tmp_path / "a", progress=False)
    lab.run(cfg, tmp_path / "b", progress=False, stop_after=2)
    resumed = lab.run(cfg, tmp_path / "b", resume=True, progress=False)
    assert resumed.theta_is_probs == full.theta_is_probs
    assert resumed.history["path"] == full.history["path"]


def test_never_overwrites_without_flag(tmp_path):
    out = tmp_path / "r"
    lab.run(_cfg(loss="p_loss", steps=2), out, progress=False)
    before = (out / "results.json").read_text()
    with pytest.raises(FileExistsError, match="--overwrite"):
        lab.run(_cfg(loss="p_loss", steps=3), out, progress=False)
    with pytest.raises(FileExistsError):
        lab.run(_cfg(loss="p_loss", steps=3), out, progress=False, resume=True)
    assert (out / "results.json").read_text() == before
    lab.run(_cfg(loss="p_loss", steps=3), out, progress=False, overwrite=True)
    assert json.loads((out / "results.json").read_text())["steps"] == 3
    other = tmp_path / "notes"
    other.mkdir()
    (other / "mine.txt").write_text("keep")
    with pytest.raises(FileExistsError, match="not empty"):
        lab.run(_cfg(loss="p_loss", steps=2), other, progress=False)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"loss": "l2"}, "unknown loss 'l2'"),
        ({"synth": {"am_hz": (8.4, 2.8)}}, "inverted"),
        ({"synth": {"fm_oct_per_s": (4.0, 2.0)}}, "inverted"),
        ({"jtfs": {"J": 4, "T": 16}}, "cannot resolve its AM range"),
        ({"synth": {"n_samples": 160, "max_shift": 0}}, "AM rate"),
        ({"steps": 0}, "steps must be a positive integer"),
        ({"batch_size": 1000}, "smaller than batch_size"),
    ],
)
def test_bad_configs_fail_fast(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lab.run(_cfg(**kwargs), progress=False)


def test_bad_configs_on_the_command_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["run", "--loss", "l2", "--out", str(tmp_path / "x")])
    assert e.value.code == 2 and "unknown loss" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["run", "--am-hz", "8", "2", "--out", str(tmp_path / "y")])
    assert "inverted" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
    with pytest.raises(ValueError, match="unknown preset"):
        lab.make_config("nope")


def test_aggregate_table_and_figure(tmp_path):
    for row in ("p_loss", "scrapl_sampling_only"):
        spec = dict(lab.ROWS[row])
        for seed in (0, 1):
            cfg = _cfg(seed=seed, steps=2, **spec)
            lab.run(cfg, lab.run_dir(tmp_path, "classroom", row, seed), progress=False)
    summary = lab.aggregate(tmp_path, ["classroom"], ["p_loss", "scrapl_sampling_only"], [0, 1])
    table = (tmp_path / "table.md").read_text()
    assert "P-loss" in table and "SCRAPL" in table and "±" in table
    assert len(summary.entries) == 2 and summary.entries[0].n_seeds == 2
    assert not (tmp_path / "figure.png").exists()  # figures are the command line's (viz)
    curves = validation_curves(tmp_path, ["classroom"], ["p_loss", "scrapl_sampling_only"], [0, 1])
    assert set(curves) == {"P-loss", "SCRAPL (sampling only)"}
    steps, vals = curves["P-loss"]
    assert vals.shape == (2, len(steps))
    viz.save_lab_comparison(tmp_path / "figure.png", curves, summary)
    assert (tmp_path / "figure.png").stat().st_size > 1000
    assert (tmp_path / "summary.csv").read_text().count("\n") == 3
    with pytest.raises(FileExistsError):
        lab.compare(["classroom"], ["p_loss"], [0, 1], tmp_path)


def test_ci95_matches_student_t():
    mean, half = lab.ci95([1.0, 2.0, 3.0])
    assert mean == 2.0 and half == pytest.approx(4.302653 * 1.0 / np.sqrt(3), rel=1e-5)
    assert np.isnan(lab.ci95([5.0])[1])


def test_convergence_and_total_variation():
    assert lab.convergence_step([0, 10, 20], [300.0, 99.0, 50.0]) == 10
    assert lab.convergence_step([0, 10], [300.0, 120.0]) is None
    assert lab.total_variation([0.3, 0.1, 0.2]) == pytest.approx(0.3)


def test_theta_box_selects_the_presets_paths():
    jtfs = lab.build_jtfs(lab.make_config("classroom"))
    fast_am = lab.paths_in_theta_box(jtfs, (2.8, 8.4), (2.0, 4.0))
    slow_am = lab.paths_in_theta_box(jtfs, (1.0, 2.0), (0.5, 1.0))
    assert 0 < fast_am.sum() < jtfs.n_paths and 0 < slow_am.sum() < jtfs.n_paths
    assert (fast_am != slow_am).any()
    for i in np.flatnonzero(fast_am):
        assert 1.0 < jtfs.paths[i].rate_hz < 17.0
    uniform = np.full(jtfs.n_paths, 1.0 / jtfs.n_paths)
    assert lab.theta_box_share(uniform, fast_am)["ratio"] == pytest.approx(1.0)


def test_compare_end_to_end_and_reuse(tmp_path, capsys):
    """``compare`` runs rows x seeds in subprocesses; ``--reuse`` copies identical runs."""
    first = tmp_path / "first"
    code = main(
        ["compare", "--rows", "p_loss", "--seeds", "0", "1", "--jobs", "2", "--out", str(first)]
    )
    assert code == 0 and "P-loss" in capsys.readouterr().out
    assert (first / "runs" / "classroom" / "p_loss" / "seed1" / "results.json").exists()
    second = tmp_path / "second"
    lab.compare(["classroom"], ["p_loss"], [0, 1], second, reuse=[first], fast=True)
    for seed in ("seed0", "seed1"):  # copied, not rerun: a rerun would record its own wall_s
        run_a = first / "runs" / "classroom" / "p_loss" / seed / "results.json"
        run_b = second / "runs" / "classroom" / "p_loss" / seed / "results.json"
        assert run_a.read_bytes() == run_b.read_bytes()
    a = lab.Summary.load(first).entries[0].theta_l1
    b = lab.Summary.load(second).entries[0].theta_l1
    assert a == b
    with pytest.raises(SystemExit):
        main(["compare", "--rows", "nope", "--out", str(tmp_path / "x")])


@pytest.mark.parametrize("preset", ["classroom_granular", "granular", "classroom_aligned"])
def test_other_presets_smoke(preset):
    cfg = lab.make_config(preset, fast=True, loss="scrapl", theta_is=False, steps=2)
    res = lab.run(cfg, progress=False)
    assert res.steps == 2 and np.isfinite(res.test_theta_l1_permille)
    if preset == "classroom_aligned":
        assert cfg.synth_config().max_shift == 0


def test_grad_variance_matches_independent_ema():
    """history["grad_var"] = EMA(‖g‖²) − ‖EMA(g)‖², checked against plain numpy."""
    from scrapl_edu.lab import GRAD_EMA

    model = torch.nn.Linear(3, 2)
    rng = np.random.default_rng(0)
    ema = GradEMA()
    mean, sq = None, None
    for _ in range(6):
        gs = [rng.normal(size=tuple(p.shape)) for p in model.parameters()]
        for p, g in zip(model.parameters(), gs):
            p.grad = torch.tensor(g, dtype=torch.float32)
        flat = np.concatenate([g.astype(np.float32).ravel() for g in gs]).astype(float)
        if mean is None:
            mean, sq = flat.copy(), float(flat @ flat)
        else:
            mean = (1 - GRAD_EMA) * mean + GRAD_EMA * flat
            sq = (1 - GRAD_EMA) * sq + GRAD_EMA * float(flat @ flat)
        got = ema.update(model)
        assert got == pytest.approx(max(sq - float(mean @ mean), 0.0), rel=1e-9, abs=1e-12)
    assert got > 0


def test_callback_reports_each_validation_consistent_with_results():
    """The live snapshot at each validation agrees with what the run finally returns."""
    snaps: list[Snapshot] = []
    res = lab.run(_cfg(loss="scrapl", steps=7), progress=False, callback=snaps.append)
    assert all(isinstance(s, Snapshot) for s in snaps)
    # step 0, every val_every (= 3 in fast mode) and the last step
    assert [s.step for s in snaps] == [0, 3, 6, 7]
    last = snaps[-1]
    assert last.steps == 7 and last.val_steps == res.val_steps
    assert last.val_theta_l1 == res.val_theta_l1_permille
    assert last.losses == res.history["loss"] and last.grad_var == res.history["grad_var"]
    assert last.path_counts == res.path_counts and sum(last.path_counts) == 7
    assert last.probs == res.theta_is_probs and last.probs is not None
    for s in snaps:  # each a copy, as it was then
        assert len(s.losses) == s.step == sum(s.path_counts)
        assert len(s.val_steps) == len(s.val_theta_l1)
    mss: list[Snapshot] = []
    lab.run(_cfg(loss="mss", steps=3), progress=False, callback=mss.append)
    assert [s.step for s in mss] == [0, 3] and mss[-1].path_counts is None
    with pytest.raises(TypeError, match="callback must be a function"):
        lab.run(_cfg(loss="mss", steps=3), progress=False, callback="print")
    steps: list[tuple[int, int]] = []
    lab.run(_cfg(loss="p_loss", steps=4), progress=False, on_step=lambda *a: steps.append(a))
    assert steps == [(1, 4), (2, 4), (3, 4), (4, 4)]
    with pytest.raises(TypeError, match="on_step must be a function"):
        lab.run(_cfg(loss="mss", steps=3), progress=False, on_step=1)


def test_dashboard_runner_reports_live_and_writes_nothing(tmp_path, monkeypatch):
    from scrapl_edu.widgets import lab_runner

    monkeypatch.chdir(tmp_path)
    seen: list[Snapshot | StepProgress] = []
    config = {"preset": "classroom", "loss": "scrapl", "p_adam": True, "p_saga": False}
    res = lab_runner({**config, "theta_is": False, "steps": 5, "seed": 0}, seen.append, fast=True)
    snaps = [s for s in seen if isinstance(s, Snapshot)]
    assert [s.step for s in snaps] == [0, 3, 5]
    assert [s for s in seen if not isinstance(s, Snapshot)] == [
        StepProgress(k, 5) for k in range(1, 6)
    ]
    assert res.steps == 5 and snaps[-1].val_theta_l1 == res.val_theta_l1_permille
    assert len(snaps[-1].grad_var) == 5 and snaps[-1].grad_var == res.history["grad_var"]
    assert res.config["p_saga"] is False and res.config["theta_is"] is False
    assert res.config["fast"] is True
    assert not any(tmp_path.iterdir())


def test_ctrl_c_mid_step_saves_at_the_step_boundary_and_resumes_identically(tmp_path, monkeypatch):
    """The first SIGINT is deferred to the end of the step, so the checkpoint is whole."""
    import signal

    cfg = _cfg(loss="scrapl", theta_is=False, steps=8)
    full = lab.run(cfg, progress=False)
    real = GradEMA.update

    def interrupt_in_step(times):
        calls = []

        def update(self, model):  # runs after backward, before the step is counted
            calls.append(1)
            if len(calls) == 5:  # step 5: its batch, shift and path are already drawn
                for _ in range(times):
                    os.kill(os.getpid(), signal.SIGINT)
            return real(self, model)

        return update

    out = tmp_path / "r"
    # the handler the run must put back (Python's default, or SIG_IGN when the test process
    # was started in the background with SIGINT ignored)
    before = signal.getsignal(signal.SIGINT)
    monkeypatch.setattr(GradEMA, "update", interrupt_in_step(1))
    with pytest.raises(KeyboardInterrupt):
        lab.run(cfg, out, progress=False)
    assert torch.load(out / lab.CHECKPOINT, weights_only=False)["state"]["step"] == 5
    assert signal.getsignal(signal.SIGINT) is before  # restored
    monkeypatch.setattr(GradEMA, "update", real)
    resumed = lab.run(cfg, out, resume=True, progress=False)
    assert resumed.history["path"] == full.history["path"]
    assert resumed.history["loss"] == full.history["loss"]
    assert resumed.test_theta_l1_permille == full.test_theta_l1_permille

    # a second Ctrl-C stops at once and keeps the last whole checkpoint (step 3)
    out2 = tmp_path / "r2"
    monkeypatch.setattr(GradEMA, "update", interrupt_in_step(2))
    with pytest.raises(KeyboardInterrupt):
        lab.run(cfg, out2, progress=False, ckpt_every=3)
    assert torch.load(out2 / lab.CHECKPOINT, weights_only=False)["state"]["step"] == 3
    monkeypatch.setattr(GradEMA, "update", real)
    assert lab.run(cfg, out2, resume=True, progress=False).history["path"] == full.history["path"]


def test_config_refuses_an_empty_test_set_and_checks_jtfs_only_for_jtfs_losses():
    assert lab.split_sizes(3, (0.6, 0.2, 0.2)) == (2, 1, 0)
    with pytest.raises(ValueError, match="empty validation or test set"):
        _cfg(loss="p_loss", n_examples=3, batch_size=1).validate()
    # a JTFS too small for the AM range only matters to the losses that use it
    _cfg(loss="mss", jtfs={"J": 4}).validate()
    with pytest.raises(ValueError, match="AM"):
        _cfg(loss="scrapl", jtfs={"J": 4}).validate()


def _numbers(out: Path) -> dict:
    """results.json without its timings, and the loss / path / grad_var columns of history.csv."""
    d = json.loads((out / "results.json").read_text())
    for key in TIMINGS:
        d.pop(key)
    for a in d.get("applied_diag") or []:  # the applied-step diagnostic's own timing
        a.pop("seconds")
    rows = (out / "history.csv").read_text().splitlines()[1:]
    d["history"] = [r.split(",")[1:3] + r.split(",")[4:] for r in rows]
    return d


@pytest.mark.parametrize("loss", ["scrapl", "mss"])
def test_same_seed_gives_the_same_results_json_numbers(tmp_path, loss):
    """Two runs of one seed write the same numbers (θ-IS, sampler, shifts, data all seeded);
    another seed does not. What made the before/after comparison of the lab's redesign exact."""
    runs = {}
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        lab.run(_cfg(loss=loss, seed=seed), tmp_path / name, progress=False)
        runs[name] = _numbers(tmp_path / name)
    assert runs["a"] == runs["b"]
    assert runs["a"]["test_theta_l1_permille"] != runs["c"]["test_theta_l1_permille"]
    assert runs["a"]["history"] != runs["c"]["history"]
    if loss == "scrapl":
        assert runs["a"]["theta_is_probs"] == runs["b"]["theta_is_probs"] is not None


def test_results_load_round_trip(tmp_path):
    res = lab.run(_cfg(loss="scrapl", theta_is=False, steps=4), tmp_path / "r", progress=False)
    back = lab.Results.load(tmp_path / "r")
    assert back.to_dict() == json.loads(json.dumps(res.to_dict()))
    assert back.history["path"] == res.history["path"]
    np.testing.assert_allclose(back.history["loss"], res.history["loss"], rtol=1e-5)
    with pytest.raises(ValueError, match="unknown keys"):
        lab.Results.from_dict({**res.to_dict(), "colour": "red"})


COMMITTED = ROOT / "data" / "results" / "lab"


def test_committed_results_still_load_and_aggregate(tmp_path):
    """The committed runs load as Results and aggregate; the committed tables load."""
    timing = sorted(COMMITTED.glob("timing/*/results.json"))
    assert timing, "data/results/lab/timing holds the committed single runs"
    for f in timing:
        res = lab.Results.load(f.parent)
        assert res.param_names == ["am_hz", "fm_oct_per_s"] and res.steps > 0
        row = res.config["loss"]
        folder = lab.run_dir(tmp_path, res.config["preset"], row, res.config["seed"])
        folder.mkdir(parents=True)
        (folder / "results.json").write_bytes(f.read_bytes())
        summary = lab.aggregate(tmp_path, [res.config["preset"]], [row], [res.config["seed"]])
        (entry,) = summary.entries
        assert entry.theta_l1.mean == res.test_theta_l1_permille
        assert entry.steps.mean == res.steps
    for name in ("losses", "ablation", "theta_is"):
        summary = lab.load_summary(COMMITTED / name)
        assert summary.entries and all(e.row in lab.ROWS for e in summary.entries)
        assert set(summary.rows) <= set(lab.ROWS)
        assert set(summary.presets) <= set(preset_names())  # the names still resolve


def test_compare_reports_failed_runs_with_their_log(tmp_path):
    """A run that exits non-zero is reported with its exit code and log; a bad value for
    every run is refused once, before any run starts."""
    from scrapl_edu.lab.files import RunLock

    with pytest.raises(ValueError, match="steps must be a positive integer"):
        lab.compare(
            ["classroom"], ["p_loss"], [0], tmp_path, extra_args=["--steps", "0"], fast=True
        )
    folder = lab.run_dir(tmp_path, "classroom", "p_loss", 0)
    assert not folder.exists()
    with RunLock(folder):  # another writer holds the run's folder: the run refuses by name
        with pytest.raises(RuntimeError, match=r"some runs failed:[\s\S]*seed0 \(exit 2; see"):
            lab.compare(["classroom"], ["p_loss"], [0], tmp_path, fast=True)
    log = (folder / "log.txt").read_text()
    assert f"{folder} is in use by another run (pid {os.getpid()}" in log
