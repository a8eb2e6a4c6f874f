"""Faults: SIGKILL at any point of save, copy and overwrite; SIGTERM; two writers at once.

The kill points are named places in the lab's code (:func:`scrapl_edu.lab.files.fault_point`:
``SCRAPL_EDU_TEST_KILL_AT=point:N`` kills the process with SIGKILL the N-th time it gets
there): before a checkpoint is written, between a file's fsync and its rename (every atomic
write: checkpoints, ``results.json``, the CSVs, ``theta_is.npz``, copied files), after a
checkpoint's rename, after the old folder is moved aside, while it is put back, between
``results.json`` and the checkpoint's removal, between the files of a ``--reuse`` copy. The
runs are forked from this process (torch already imported) so that 50 kills cost seconds.

After every kill the folder must either resume (``--resume``) to results bit-identical to an
uninterrupted run, or be refused by name; nothing a user saved may be lost.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from scrapl_edu import lab
from scrapl_edu.lab.comparison import _copy_reusable, run_dir
from scrapl_edu.lab.files import FAULT_ENV, RunFolderBusyError, atomic_open
from scrapl_edu.lab.results import Results
from scrapl_edu.lab.run_args import config_from_argv

ROOT = Path(__file__).resolve().parents[1]
#: the numbers of results.json that are timings (they differ between identical runs)
TIMINGS = ("wall_s", "ms_per_step", "peak_rss_mb", "theta_is_s", "applied_s")
#: kill points of a run, and how often the 6-step run of :func:`_cfg` reaches each
#: (checkpoints at steps 0, 2, 4; history.csv, validation.csv, results.json)
RUN_POINTS = {"save": 3, "saved": 3, "replace": 6, "finished": 1}
#: kill points of --overwrite (the old folder moved aside, put back after a failure)
OVERWRITE_POINTS = {"aside": 1, "save": 2, "replace": 4, "saved": 2}
SEED = 20261207


@pytest.fixture(autouse=True)
def _fast(monkeypatch):
    monkeypatch.setenv("SCRAPL_EDU_FAST", "1")
    monkeypatch.delenv(FAULT_ENV, raising=False)
    torch.set_num_threads(1)


def _cfg(**kw) -> lab.LabConfig:
    """A SCRAPL run of 6 steps, checkpoints at 0, 2, 4 (0.5 s: no theta-IS, no diagnostic;
    their files go through the same atomic writes)."""
    kw = {"theta_is": False, "applied_diag": False, **kw}
    return lab.make_config("classroom", fast=True, loss="scrapl", steps=6, val_every=2, **kw)


def _numbers(res: Results, history: bool = True) -> dict:
    """Every number of a run but its timings (the history's losses at full precision)."""
    d = json.loads(json.dumps(res.to_dict(with_history=history)))  # as results.json has it
    for k in (*TIMINGS, "device"):
        d.pop(k, None)
    if history:
        d["history"] = {k: v for k, v in d["history"].items() if k != "step_s"}
    d["applied_diag"] = [
        {k: v for k, v in a.items() if k != "seconds"} for a in d["applied_diag"] or []
    ]
    return d


def _forked(fn, kill_at: str | None) -> int:
    """Run ``fn()`` in a forked child with the kill point set; its wait status decoded.

    Returns -9 when the child was killed (SIGKILL), else its exit code (0: ``fn`` returned).
    """
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 0
        try:
            if kill_at is not None:
                os.environ[FAULT_ENV] = kill_at
            fn()
        except BaseException as err:  # noqa: BLE001 - reported through the exit code
            print(f"child: {type(err).__name__}: {err}", file=sys.stderr, flush=True)
            code = 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


@pytest.fixture(scope="module")
def reference() -> dict:
    torch.set_num_threads(1)
    return _numbers(lab.run(_cfg(), progress=False))


def _resume_or_refuse(out: Path, reference: dict) -> str:
    """``--resume`` after a kill: bit-identical results, or a refusal by name."""
    try:
        res = lab.run(_cfg(), out, resume=True, progress=False)
    except FileExistsError as err:  # the kill came after results.json: a finished run
        assert "holds a finished run" in str(err)
        assert _numbers(Results.load(out), history=False) == _without_history(reference)
        return "refused: finished"
    assert _numbers(res) == reference
    assert _numbers(Results.load(out), history=False) == _without_history(reference)
    return "resumed"


def _without_history(numbers: dict) -> dict:
    return {k: v for k, v in numbers.items() if k != "history"}


def test_sigkill_during_save_copy_and_overwrite_50_times(tmp_path, reference):
    rng = random.Random(SEED)
    outcomes: dict[str, int] = {}
    kills = 0

    def count(what: str) -> None:
        outcomes[what] = outcomes.get(what, 0) + 1

    # (1) a run killed while saving: 20 kills at random points
    for i in range(20):
        point = rng.choice(sorted(RUN_POINTS))
        spec = f"{point}:{rng.randint(1, RUN_POINTS[point])}"
        out = tmp_path / f"run{i}"
        status = _forked(lambda out=out: lab.run(_cfg(), out, progress=False), spec)
        assert status == -signal.SIGKILL, f"{spec}: the kill point was not reached ({status})"
        kills += 1
        count(_resume_or_refuse(out, reference))
        assert not list(out.glob(".*.tmp"))  # the dead writes' temp files are gone

    # (2) --overwrite of another configuration's finished run, killed (and killed again
    # while the next run recovers it): 15 trials
    old = tmp_path / "old"
    lab.run(_cfg(lr=0.002), old, progress=False)
    old_bytes = (old / "results.json").read_bytes()
    for i in range(15):
        out = tmp_path / f"ow{i}"
        os.system(f"cp -r {old} {out}")
        point = rng.choice(sorted(OVERWRITE_POINTS))
        spec = f"{point}:{rng.randint(1, OVERWRITE_POINTS[point])}"
        status = _forked(lambda out=out: lab.run(_cfg(), out, overwrite=True, progress=False), spec)
        assert status == -signal.SIGKILL, f"{spec}: not reached ({status})"
        kills += 1
        if point in ("aside", "save") and spec.endswith(":1"):
            # killed before the new run's first save: the next run puts the old one back,
            # and is killed while doing so
            status = _forked(
                lambda out=out: lab.run(_cfg(), out, resume=True, progress=False), "restore:1"
            )
            assert status == -signal.SIGKILL
            kills += 1
        try:
            res = lab.run(_cfg(), out, resume=True, progress=False)
        except FileExistsError as err:  # the old run is back, whole: refused by name
            assert "holds a finished run" in str(err)
            assert (out / "results.json").read_bytes() == old_bytes
            count("refused: old run restored")
        else:
            assert _numbers(res) == reference
            count("resumed")
        assert not (out.parent / f".{out.name}.replaced").exists()

    # (3) a --reuse copy killed between its files: the folder is finished and whole, or not
    # finished at all (and the next copy makes it whole)
    src_root = tmp_path / "src"
    src = run_dir(src_root, "classroom", "scrapl", 0)
    lab.run(_cfg(), src, progress=False)
    want = json.loads(json.dumps(Results.load(src).config))
    files = sorted(p.name for p in src.iterdir() if p.is_file())
    n_copy = len([f for f in files if f not in ("results.json", "log.txt")])
    i = 0
    while kills < 50:
        dst_root = tmp_path / f"dst{i}"
        dst = run_dir(dst_root, "classroom", "scrapl", 0)
        point = rng.choice(["copy", "replace"])
        spec = f"{point}:{rng.randint(1, n_copy + 1)}"  # copy:n+1 comes after results.json
        status = _forked(
            lambda dst=dst: _copy_reusable([src_root], "classroom", "scrapl", 0, dst, want), spec
        )
        assert status == -signal.SIGKILL, f"{spec}: not reached ({status})"
        kills += 1
        if (dst / "results.json").exists():
            count("copy finished")
        else:
            count("copy unfinished: recopied")
            assert _copy_reusable([src_root], "classroom", "scrapl", 0, dst, want)
        for name in files:
            if name != "log.txt":
                assert (dst / name).read_bytes() == (src / name).read_bytes(), name
        i += 1

    assert kills == 50
    print(f"\n50 kills: {outcomes}")


def test_sigterm_is_handled_like_the_first_ctrl_c(tmp_path):
    """SIGTERM at step 3 (a batch system's limit): checkpoint, exit 143, resume identical."""
    env = {**os.environ, "SCRAPL_EDU_FAST": "1", "OMP_NUM_THREADS": "1"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    base = [sys.executable, "-m", "scrapl_edu.lab", "run", "--loss", "p_loss", "--no-progress"]
    full = lab.run(config_from_argv(["--loss", "p_loss"], fast=True), progress=False)
    out = tmp_path / "r"
    term = {**env, "SCRAPL_EDU_TEST_CRASH": f"3:term:{tmp_path / 'marker'}"}
    p = subprocess.run([*base, "--out", str(out)], env=term, capture_output=True, text=True)
    assert p.returncode == 128 + signal.SIGTERM, p.stderr
    assert "terminated (SIGTERM); resume with the same command plus --resume" in p.stderr
    assert "Traceback" not in p.stderr
    ck = torch.load(out / lab.CHECKPOINT, weights_only=True)
    assert ck["state"]["step"] == 3
    p = subprocess.run([*base, "--out", str(out), "--resume"], env=env, capture_output=True)
    assert p.returncode == 0, p.stderr
    assert _numbers(Results.load(out), history=False) == _numbers(full, history=False)


def test_two_runs_on_one_folder_one_runs_the_other_is_refused(tmp_path, reference):
    out = tmp_path / "r"
    r, w = os.pipe()

    def racer() -> None:
        os.read(r, 1)  # both start together
        try:
            lab.run(_cfg(), out, progress=False)
        except RunFolderBusyError as err:
            assert f"{out} is in use by another run (pid" in str(err)
            os._exit(7)
        except FileExistsError:  # the other had finished already
            os._exit(8)

    pids = []
    for _ in range(2):
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                racer()
            except BaseException as err:  # noqa: BLE001 - reported through the exit code
                print(f"racer: {type(err).__name__}: {err}", file=sys.stderr, flush=True)
                code = 3
            os._exit(code)
        pids.append(pid)
    os.write(w, b"xx")
    codes = sorted(os.WEXITSTATUS(os.waitpid(pid, 0)[1]) for pid in pids)
    assert codes in ([0, 7], [0, 8]), codes
    assert _numbers(Results.load(out), history=False) == _without_history(reference)


def test_concurrent_checkpoint_writers_never_corrupt_it(tmp_path):
    """Writers replace one checkpoint in a loop while a reader loads it 600 times: every
    read is one whole version (the replica of the old fixed-temp-name save mixed them)."""
    target = tmp_path / "checkpoint.pt"
    with atomic_open(target, "wb") as f:
        torch.save({"a": torch.zeros(20000), "b": torch.zeros(20000)}, f)
    writers = []
    for k in (1, 2):
        pid = os.fork()
        if pid == 0:
            try:
                for i in range(300):
                    v = float(k * 1000 + i)
                    with atomic_open(target, "wb") as f:
                        torch.save({"a": torch.full((20000,), v), "b": torch.full((20000,), v)}, f)
            finally:
                os._exit(0)
        writers.append(pid)
    bad = 0
    for _ in range(600):
        ck = torch.load(target, weights_only=True)
        a, b = ck["a"], ck["b"]
        if not (bool((a == a[0]).all()) and bool((b == a[0]).all())):
            bad += 1
    for pid in writers:
        os.waitpid(pid, 0)
    assert bad == 0
    assert not list(tmp_path.glob(".*.tmp"))
