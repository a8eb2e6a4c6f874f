"""``compare`` on a Dask cluster (``--scheduler``): same results as the local pool, a run that
dies mid-way resumes from its checkpoint, bad addresses and failures are clear, and no
finished run is lost or overwritten.

A ``LocalCluster`` of two worker processes with one thread each stands in for a cluster;
every run is a fast-mode lab run (``SCRAPL_EDU_FAST=1``).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest
from dask.distributed import LocalCluster

from scrapl_edu import lab
from scrapl_edu.lab.cli import main
from scrapl_edu.lab.cluster import (
    RunKilledError,
    SchedulerError,
    check_scheduler_address,
    crash_hook,
    run_on_dask,
    run_task,
)

#: the numbers of results.json that are timings or places (they differ between runs)
UNSTABLE = ("wall_s", "ms_per_step", "peak_rss_mb", "theta_is_s")

pytestmark = pytest.mark.xdist_group("dask")  # one cluster at a time on a small machine


def _numbers(folder: Path) -> dict:
    d = json.loads((folder / "results.json").read_text())
    return {k: v for k, v in d.items() if k not in UNSTABLE}


def _cluster(processes: bool = True) -> LocalCluster:
    return LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=processes,
        dashboard_address=None,
        silence_logs=50,
    )


@pytest.fixture(scope="module")
def in_process():
    """Workers in this process: quick to start, for what does not kill a worker."""
    with _cluster(processes=False) as cluster:
        yield cluster.scheduler_address


#: a run command whose process the out-of-memory killer would have killed
SUICIDE = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"]


def test_dask_equals_local_pool_and_a_killed_worker_resumes(tmp_path, monkeypatch):
    """Two workers, the rows and seeds of the local pool: equal results.json numbers, though
    one run's worker is killed after step 5 (its last checkpoint: step 3, fast mode validates
    and checkpoints every 3 steps). The scheduler gives the task to a worker again, the run
    resumes from its checkpoint, and nothing of the other run is lost."""
    monkeypatch.setenv("SCRAPL_EDU_FAST", "1")
    rows, seeds = ["p_loss"], [0, 1]
    local = tmp_path / "local"
    lab.compare(["classroom"], rows, seeds, local, jobs=2, fast=True)
    marker = tmp_path / "crashed"
    monkeypatch.setenv("SCRAPL_EDU_TEST_CRASH", f"5:worker:{marker}")  # workers inherit it
    remote = tmp_path / "dask"
    t0 = time.perf_counter()
    with _cluster() as cluster:
        lab.compare(
            ["classroom"], rows, seeds, remote, fast=True, scheduler=cluster.scheduler_address
        )
    print(f"dask compare with a killed worker: {time.perf_counter() - t0:.1f} s")
    assert marker.exists(), "the test crash did not happen"
    folders = [lab.run_dir(remote, "classroom", "p_loss", s) for s in seeds]
    logs = {f: (f / "log.txt").read_text() for f in folders}
    victim = [f for f, text in logs.items() if "test crash at step 5 (worker)" in text]
    assert len(victim) == 1, logs
    assert "resuming from" in logs[victim[0]]  # the retry continued from the checkpoint
    for seed in seeds:
        a = _numbers(lab.run_dir(local, "classroom", "p_loss", seed))
        b = _numbers(lab.run_dir(remote, "classroom", "p_loss", seed))
        assert a == b, seed
    sa, sb = lab.Summary.load(local).entries, lab.Summary.load(remote).entries
    assert [e.theta_l1 for e in sa] == [e.theta_l1 for e in sb]


def test_failed_run_reported_with_its_log_and_finished_runs_kept(tmp_path, monkeypatch, in_process):
    """One run fails for good (its folder is held by another writer): the error names it and
    its log; the finished run beside it is neither rerun nor rewritten; no table is written
    until all are in. A bad value for every run is refused once, before any task."""
    from scrapl_edu.lab.comparison import run_args
    from scrapl_edu.lab.files import RunLock
    from scrapl_edu.lab.run_args import config_from_argv

    monkeypatch.setenv("SCRAPL_EDU_FAST", "1")
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        lab.compare(
            ["classroom"],
            ["p_loss"],
            [0],
            tmp_path,
            fast=True,
            extra_args=["--steps", "0"],
            scheduler=in_process,
        )
    done = lab.run_dir(tmp_path, "classroom", "p_loss", 0)
    lab.run(config_from_argv(run_args("classroom", "p_loss", 0), fast=True), done, progress=False)
    finished = (done / "results.json").read_bytes()
    failed = lab.run_dir(tmp_path, "classroom", "p_loss", 1)
    with RunLock(failed), pytest.raises(RuntimeError) as info:
        lab.compare(["classroom"], ["p_loss"], [0, 1], tmp_path, fast=True, scheduler=in_process)
    msg = str(info.value)
    assert f"{failed.resolve()} (exit 2; see {failed.resolve() / 'log.txt'})" in msg
    assert "rerun the same compare" in msg
    assert "is in use by another run (pid" in (failed / "log.txt").read_text()
    assert (done / "results.json").read_bytes() == finished
    assert not (done / "log.txt").exists()  # never started
    assert not (tmp_path / "table.md").exists()


@pytest.mark.parametrize(
    "address", ["foo bar", "tcp://host", "http://host:8786", "host:99999", "", "tcp://:8786"]
)
def test_malformed_scheduler_address_is_refused_before_any_work(tmp_path, address):
    with pytest.raises(ValueError, match="not a Dask scheduler address|scheduler address like"):
        lab.compare(["classroom"], ["p_loss"], [0], tmp_path / "x", scheduler=address)
    assert not (tmp_path / "x").exists()


def test_addresses_that_are_fine():
    assert check_scheduler_address("10.0.0.5:8786") == "tcp://10.0.0.5:8786"
    assert check_scheduler_address("tls://node-3.cluster:8786") == "tls://node-3.cluster:8786"
    assert check_scheduler_address("tcp://[::1]:8786") == "tcp://[::1]:8786"


def test_unreachable_scheduler_fails_in_seconds_with_what_to_do(tmp_path, capsys):
    t0 = time.perf_counter()
    code = None
    with pytest.raises(SystemExit) as info:
        main(
            ["compare", "--rows", "p_loss", "--seeds", "0", "--out", str(tmp_path / "c")]
            + ["--scheduler", "tcp://127.0.0.1:9"]  # the discard port: nobody listens
        )
    code = info.value.code
    elapsed = time.perf_counter() - t0
    err = capsys.readouterr().err
    assert code == 2 and elapsed < 30
    assert "no Dask scheduler answered at tcp://127.0.0.1:9 within 5 s" in err
    assert "dask scheduler" in err and "dask worker" in err
    assert not any((tmp_path / "c").rglob("log.txt"))  # no run started


def test_crash_hook_fires_once_across_processes(tmp_path):
    marker = tmp_path / "m"
    assert crash_hook({}) is None
    with pytest.raises(ValueError, match="mode must be process, worker or term"):
        crash_hook({"SCRAPL_EDU_TEST_CRASH": f"3:other:{marker}"})
    marker.write_text("someone crashed already\n")
    hook = crash_hook({"SCRAPL_EDU_TEST_CRASH": f"3:process:{marker}"})
    hook(3, 6)  # the marker exists: this process carries on
    assert os.getpid() > 0 and marker.read_text() == "someone crashed already\n"


def test_a_run_killed_by_a_signal_is_retried_then_reported(tmp_path, in_process):
    """Killed (SIGKILL, as by the out-of-memory killer) on every attempt: retried, then
    reported with its folder, its log (one header per attempt) and what to do."""
    folder = tmp_path / "runs" / "p" / "r" / "seed0"
    failures = run_on_dask([(SUICIDE + ["--out", str(folder)], folder)], in_process, {}, tmp_path,
                           retries=1)  # fmt: skip
    assert len(failures) == 1
    msg = failures[0]
    assert f"run {folder} was killed by signal 9" in msg and "after 2 attempts" in msg
    assert "rerun compare to resume it" in msg and str(folder / "log.txt") in msg
    assert (folder / "log.txt").read_text().count("--- ") == 2


def test_run_task_keeps_finished_runs_and_raises_on_signals(tmp_path):
    """A retry of a finished run: the run (``--resume --overwrite``) finds its own finished
    results and keeps them; a run killed by a signal raises for Dask to retry."""
    argv = ["-m", "scrapl_edu.lab", "run", "--loss", "p_loss", "--no-progress"]
    done = tmp_path / "done"
    env = {"SCRAPL_EDU_FAST": "1", "OMP_NUM_THREADS": "1"}
    assert run_task([*argv, "--out", str(done)], str(done), env) == 0
    finished = (done / "results.json").read_bytes()
    again = [*argv, "--out", str(done), "--resume", "--overwrite"]
    assert run_task(again, str(done), env) == 0
    assert (done / "results.json").read_bytes() == finished
    assert "finished run: kept, nothing rerun" in (done / "log.txt").read_text()
    with pytest.raises(RunKilledError, match="killed by signal 9 .out of memory"):
        run_task(SUICIDE[1:], str(tmp_path / "killed"), {})


def test_no_gpu_worker_and_unshared_folder_are_clear(tmp_path, in_process):
    folder = tmp_path / "seed0"
    todo = [(SUICIDE + ["--out", str(folder)], folder)]
    with pytest.raises(
        SchedulerError, match="has no worker with the resource GPU after 0.5 s; start GPU workers"
    ):
        run_on_dask(todo, in_process, {}, tmp_path, gpu=True, workers_timeout_s=0.5)
    with pytest.raises(SchedulerError, match="cannot write into .*shared by this machine"):
        run_on_dask(todo, in_process, {}, tmp_path / "nowhere")
    assert not folder.exists()  # nothing ran
