"""``config.json`` in every run folder (issue 17 item 4): written before the first step, the
record that ``--resume``, ``compare`` and ``--reuse`` compare against; folders older than it
(results.json only, the committed runs) stay reusable; fast mode crosses to a run's process
on its command line, not through the environment.

Fast mode throughout (seconds): runs of 2-6 steps.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import asdict
from pathlib import Path

import pytest
import torch

from scrapl_edu import lab
from scrapl_edu.lab import switch
from scrapl_edu.lab.comparison import _copy_reusable, _run_cmd, run_args, run_state
from scrapl_edu.lab.run_args import config_from_argv
from scrapl_edu.lab.run_config import CONFIG_JSON, read_config

ROOT = Path(__file__).resolve().parents[1]
#: committed runs written before config.json existed (read here, never written)
COMMITTED = ROOT / "data" / "results" / "lab" / "paper_regime"
LEGACY = [
    ("classroom_psaga_probe8", "classroom", "scrapl_p_adam", 0),
    ("chirplet", "classroom_paper", "mss", 0),
]


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def _cfg(**kw) -> lab.LabConfig:
    return lab.make_config("classroom", fast=True, loss="p_loss", **kw)


def _edit(path: Path, **changes) -> None:
    d = json.loads(path.read_text())
    (d["config"] if path.name == "results.json" else d).update(changes)
    path.write_text(json.dumps(d))


def test_config_json_is_written_before_the_first_step(tmp_path):
    cfg = _cfg(steps=3)
    seen = []
    lab.run(
        cfg,
        tmp_path / "r",
        progress=False,
        on_step=lambda k, n: seen.append(read_config(tmp_path / "r")),
    )
    assert seen[0] == json.loads(json.dumps(asdict(cfg)))  # already there at step 1
    assert seen[0]["fast"] is True, "fast mode is a field of the record"
    assert (
        read_config(tmp_path / "r")
        == json.loads((tmp_path / "r" / "results.json").read_text())["config"]
    )
    assert lab.run(cfg, progress=False).steps == 3  # no folder, no config.json anywhere


def test_resume_reads_config_json_and_old_checkpoints_still_resume(tmp_path):
    cfg = _cfg(steps=6)
    full = lab.run(cfg, progress=False)
    out = tmp_path / "r"
    lab.run(cfg, out, progress=False, stop_after=2)
    _edit(out / CONFIG_JSON, lr=0.5)  # config.json and the checkpoint now disagree
    with pytest.raises(ValueError, match=r"config\.json and checkpoint\.pt disagree on lr"):
        lab.run(cfg, out, resume=True, progress=False)
    (out / CONFIG_JSON).unlink()  # a checkpoint written before config.json existed
    resumed = lab.run(cfg, out, resume=True, progress=False)
    assert resumed.history["loss"] == full.history["loss"]
    assert read_config(out) == json.loads(json.dumps(asdict(cfg)))  # and now it has one


def test_run_state_prefers_config_json_and_falls_back_to_results_json(tmp_path):
    cfg = _cfg(steps=2)
    want = asdict(cfg)
    out = tmp_path / "r"
    lab.run(cfg, out, progress=False)
    assert run_state(out, want) is None
    _edit(out / "results.json", lr=0.05)
    assert "config.json and results.json disagree on lr" in run_state(out, want)
    _edit(out / CONFIG_JSON, lr=0.05)
    assert "another configuration (lr: 0.05 recorded, 0.001 wanted)" in run_state(out, want)
    (out / CONFIG_JSON).unlink()  # an old folder: results.json["config"] is the record
    assert "another configuration (lr: 0.05 recorded" in run_state(out, want)
    _edit(out / "results.json", lr=0.001)
    assert run_state(out, want) is None
    (out / CONFIG_JSON).write_text("{")
    assert "config.json is not valid JSON" in run_state(out, want)


@pytest.mark.parametrize("folder, preset, row, seed", LEGACY)
def test_committed_runs_without_config_json_are_still_reusable(tmp_path, folder, preset, row, seed):
    """A committed run (results.json only) is the run compare would want, and --reuse copies
    it, giving the copy the config.json it was found equal to."""
    src_root = COMMITTED / folder
    src = lab.run_dir(src_root, preset, row, seed)
    assert (src / "results.json").exists() and not (src / CONFIG_JSON).exists()
    want = asdict(config_from_argv(run_args(preset, row, seed), fast=False))
    assert run_state(src, want) is None
    dst = lab.run_dir(tmp_path, preset, row, seed)
    assert _copy_reusable([src_root], preset, row, seed, dst, want)
    assert (dst / "results.json").read_bytes() == (src / "results.json").read_bytes()
    assert read_config(dst) == json.loads(json.dumps(want))
    assert run_state(dst, want) is None
    assert not (src / CONFIG_JSON).exists(), "the source is only read"


def test_compare_passes_fast_mode_on_the_command_line_not_in_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SCRAPL_EDU_FAST", "0")  # the children must not read this
    config = config_from_argv(run_args("classroom", "p_loss", 0) + ["--steps", "2"], fast=True)
    cmd = _run_cmd(config, tmp_path / "r", "cpu")
    assert "--fast" in cmd and "--no-fast" not in cmd
    lab.compare(
        ["classroom"], ["p_loss"], [0], tmp_path / "c", fast=True, extra_args=["--steps", "2"]
    )
    folder = lab.run_dir(tmp_path / "c", "classroom", "p_loss", 0)
    assert read_config(folder)["fast"] is True and read_config(folder)["steps"] == 2
    # a second compare finds the run by its config.json: nothing reruns
    before = (folder / "results.json").read_bytes()
    lab.compare(
        ["classroom"],
        ["p_loss"],
        [0],
        tmp_path / "c",
        fast=True,
        extra_args=["--steps", "2"],
        overwrite=True,
    )
    assert (folder / "results.json").read_bytes() == before


def test_compare_switch_passes_fast_mode_on_the_command_line(tmp_path, monkeypatch):
    monkeypatch.setenv("SCRAPL_EDU_FAST", "1")
    seen = []

    class Done:
        def __init__(self, cmd, stdout, stderr, env):
            seen.append((cmd, env))
            out = Path(cmd[cmd.index("--out") + 1])
            shutil.copytree(finished, out, dirs_exist_ok=True)

        def poll(self):
            return 0

    finished = tmp_path / "finished"
    lab.run(lab.make_config("classroom", fast=True, steps=2), finished, progress=False)
    monkeypatch.setattr(subprocess, "Popen", Done)
    config = {"preset": "classroom", "loss": "scrapl", "steps": 2}
    switch.compare_switch(config, "p_saga", [0, 1], fast=False, out=tmp_path / "s", poll_s=0)
    assert len(seen) == 4
    for cmd, env in seen:
        assert "--no-fast" in cmd, cmd
        assert env.get("SCRAPL_EDU_FAST") == "1", "inherited, and overridden by --no-fast"


def test_a_run_that_failed_before_saving_leaves_a_folder_that_trains_again(tmp_path, monkeypatch):
    """config.json alone is no saved state: the same command runs again, no flag needed."""
    import scrapl_edu.lab.train as train

    cfg, out = _cfg(steps=2), tmp_path / "r"
    real = train.build_parts

    def boom(*a, **k):
        raise MemoryError("out of memory (simulated)")

    monkeypatch.setattr(train, "build_parts", boom)
    with pytest.raises(MemoryError):
        lab.run(cfg, out, progress=False)
    assert sorted(p.name for p in out.iterdir()) == [CONFIG_JSON]
    monkeypatch.setattr(train, "build_parts", real)
    assert lab.run(cfg, out, progress=False).steps == 2
