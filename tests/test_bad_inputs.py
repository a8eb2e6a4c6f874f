"""Bad inputs and hostile files, each case of docs/bad_inputs.md run as a user would.

Every case ends in a named error (one line on stderr, exit status 2, the argument or file
named), a documented behaviour, or the right result: never a raw traceback (an exception
escaping ``main`` fails the test), never a silently wrong result, never lost data, never
code run from a file. The ids of :data:`CASES` are the rows of docs/bad_inputs.md, and
:func:`test_the_docs_list_every_case` keeps the two the same.

Fast mode (``SCRAPL_EDU_FAST=1``): most cases fail before any training; the few that train
run a few steps of the P-loss (seconds).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch

from scrapl_edu import lab
from scrapl_edu.lab import cli
from scrapl_edu.lab.cli import main
from scrapl_edu.lab.files import RunLock
from scrapl_edu.lab.results import Results

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "bad_inputs.md"
RUN = ["run", "--loss", "p_loss", "--no-progress"]
CMP = ["compare", "--rows", "p_loss", "--seeds", "0"]


@pytest.fixture(autouse=True)
def _fast(monkeypatch):
    monkeypatch.setenv("SCRAPL_EDU_FAST", "1")
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> dict[str, Path]:
    """A stopped P-loss run (its checkpoint) and a finished one, made once."""
    root = tmp_path_factory.mktemp("made")
    old = os.environ.get("SCRAPL_EDU_FAST")
    os.environ["SCRAPL_EDU_FAST"] = "1"
    try:
        assert main([*RUN, "--out", str(root / "stopped"), "--stop-after", "2"]) == 0
        assert main([*RUN, "--out", str(root / "finished")]) == 0
    finally:
        if old is None:
            del os.environ["SCRAPL_EDU_FAST"]
        else:
            os.environ["SCRAPL_EDU_FAST"] = old
    return {"stopped": root / "stopped", "finished": root / "finished"}


# ------------------------------------------------------------------------------ setups
def _copy(name: str, to: str = "r") -> Callable[[Path, dict], None]:
    def setup(tmp: Path, made: dict) -> None:
        shutil.copytree(made[name], tmp / to)

    return setup


def _ckpt(write: Callable[[Path], None]) -> Callable[[Path, dict], None]:
    """The stopped run in ``tmp/r`` with its checkpoint replaced by ``write(path)``."""

    def setup(tmp: Path, made: dict) -> None:
        shutil.copytree(made["stopped"], tmp / "r")
        write(tmp / "r" / lab.CHECKPOINT)

    return setup


def _truncate(p: Path) -> None:
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 3])


class _Pwn:
    """A pickled callable: unpickling it would run a shell command (it must never run)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _pickled_callable(p: Path) -> None:
    ck = torch.load(p, weights_only=True)
    ck["state"]["x"] = _Pwn(p.parent.parent / "PWNED")
    torch.save(ck, p)


def _plain_but_wrong(p: Path) -> None:
    ck = torch.load(p, weights_only=True)
    ck["encoder"] = {"nonsense": torch.zeros(3)}
    torch.save(ck, p)


def _file(tmp: Path, made: dict) -> None:
    (tmp / "f").write_text("a file, not a folder")


def _edit_results(edit: Callable[[dict], None], name: str = "finished"):
    def setup(tmp: Path, made: dict) -> None:
        shutil.copytree(made[name], tmp / "r")
        f = tmp / "r" / "results.json"
        d = json.loads(f.read_text())
        edit(d)
        f.write_text(json.dumps(d))

    return setup


def _summary(edit: Callable[[dict], None] | None = None, text: str | None = None):
    def setup(tmp: Path, made: dict) -> None:
        (tmp / "c").mkdir()
        res = Results.load(made["finished"])
        one = [res.test_theta_l1_permille, float("nan")]
        summary = {
            "presets": ["classroom"],
            "rows": ["p_loss"],
            "seeds": [0],
            "title": "",
            "entries": [
                {
                    "preset": "classroom",
                    "row": "p_loss",
                    "label": "P-loss",
                    "n_seeds": 1,
                    "loss": "p_loss",
                    "theta_l1": one,
                    **{f"{n}_l1": one for n in res.param_names},
                    "total_var": [res.val_total_variation, float("nan")],
                    "conv_rate": 0.0,
                    "conv_steps": [float("nan"), float("nan")],
                    "ms_per_step": [res.ms_per_step, float("nan")],
                    "wall_s": [res.wall_s, float("nan")],
                    "steps": [float(res.steps), float("nan")],
                    "param_names": res.param_names,
                    "per_seed_theta_l1": [res.test_theta_l1_permille],
                }
            ],
        }
        if edit is not None:
            edit(summary)
        body = text if text is not None else json.dumps(summary)
        (tmp / "c" / "summary.json").write_text(body)

    return setup


def _run_folder(tmp: Path) -> Path:
    return lab.run_dir(tmp / "c", "classroom", "p_loss", 0)


def _planted(
    edit: Callable[[dict], None] | None = None, truncate: bool = False, results_only: bool = False
):
    """The finished run planted in compare's folder for seed 0 (optionally changed).

    ``edit`` changes its configuration: in ``config.json`` and ``results.json`` (a run of
    another configuration), or in ``results.json`` only (``results_only``: the two disagree).
    """

    def setup(tmp: Path, made: dict) -> None:
        folder = _run_folder(tmp)
        shutil.copytree(made["finished"], folder)
        f = folder / "results.json"
        if edit is not None:
            d = json.loads(f.read_text())
            edit(d["config"])
            f.write_text(json.dumps(d))
            if not results_only:
                c = json.loads((folder / "config.json").read_text())
                edit(c)
                (folder / "config.json").write_text(json.dumps(c))
        if truncate:
            f.write_text(f.read_text()[:200])

    return setup


def _set_lr(config: dict) -> None:
    config["lr"] = 0.05


def _reuse_other(tmp: Path, made: dict) -> None:
    _planted(_set_lr)(tmp, made)
    os.replace(tmp / "c", tmp / "src")


def _dead_lock_holder(tmp: Path, made: dict) -> None:
    """A process that took the folder's lock and was killed (SIGKILL): a stale lock."""
    code = textwrap.dedent(
        f"""
        import os, signal
        from scrapl_edu.lab.files import RunLock
        RunLock({str(tmp / "r")!r}).acquire()
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    p = subprocess.run([sys.executable, "-c", code], env={**os.environ}, cwd=ROOT)
    assert p.returncode == -signal.SIGKILL
    assert (tmp / ".r.lock.owner").exists()  # it left its name behind


# ------------------------------------------------------------------------------ checks
def _not_run(tmp: Path) -> None:
    assert not (tmp / "PWNED").exists(), "a command in the checkpoint ran"


def _old_results_kept(tmp: Path) -> None:
    assert (tmp / "r" / "results.json").exists()


def _seeds_once(tmp: Path) -> None:
    assert json.loads((tmp / "c" / "summary.json").read_text())["seeds"] == [0]


def _rerun(tmp: Path) -> None:
    res = Results.load(_run_folder(tmp))
    assert res.config["lr"] == lab.make_config("classroom", fast=True).lr


def _copied_nothing(tmp: Path) -> None:
    assert "copied from" not in (_run_folder(tmp) / "log.txt").read_text()
    _rerun(tmp)


@dataclass
class Case:
    """One bad input: the command (``{tmp}`` is the case's folder), its set-up and outcome.

    ``code`` 2 is a named error whose one line on stderr matches ``match``; 0 is a
    documented behaviour or the right result (``match`` on stdout + stderr); ``check``
    looks at the files afterwards.
    """

    id: str
    argv: list[str]
    code: int
    match: str
    setup: Callable[[Path, dict], None] | None = None
    check: Callable[[Path], None] | None = None
    env: dict[str, str] = field(default_factory=dict)


CASES = [
    # ---- run: values
    Case(
        "seed-beyond-2**63",
        [*RUN, "--seed", str(2**64), "--out", "{tmp}/r"],
        2,
        r"--seed must be an integer 0 \.\. 9223372036854775807",
    ),
    Case(
        "seed-negative",
        [*RUN, "--seed", "-1", "--out", "{tmp}/r"],
        2,
        r"--seed must be an integer 0",
    ),
    Case(
        "threads-negative",
        [*RUN, "--threads", "-3", "--out", "{tmp}/r"],
        2,
        r"--threads must be an integer 1 \.\. 1024",
    ),
    Case(
        "threads-zero",
        [*RUN, "--threads", "0", "--out", "{tmp}/r"],
        2,
        r"--threads must be an integer 1",
    ),
    Case(
        "n-examples-huge",
        [*RUN, "--n-examples", "100000000", "--out", "{tmp}/r"],
        2,
        r"n_examples=100000000 needs about .* GiB .* use at most \d+ examples",
    ),
    Case(
        "n-examples-zero",
        [*RUN, "--n-examples", "0", "--out", "{tmp}/r"],
        2,
        r"n_examples must be a positive integer",
    ),
    Case(
        "batch-size-zero",
        [*RUN, "--batch-size", "0", "--out", "{tmp}/r"],
        2,
        r"batch_size must be a positive integer",
    ),
    Case(
        "steps-negative",
        [*RUN, "--steps", "-5", "--out", "{tmp}/r"],
        2,
        r"steps must be a positive integer",
    ),
    Case(
        "max-wall-s-nan",
        [*RUN, "--max-wall-s", "nan", "--out", "{tmp}/r"],
        2,
        r"max_wall_s must be a finite number of seconds > 0",
    ),
    Case(
        "max-wall-s-inf",
        [*RUN, "--max-wall-s", "inf", "--out", "{tmp}/r"],
        2,
        r"max_wall_s must be a finite number",
    ),
    Case(
        "max-wall-s-negative",
        [*RUN, "--max-wall-s", "-1", "--out", "{tmp}/r"],
        2,
        r"max_wall_s must be a finite number",
    ),
    Case(
        "theta-is-examples-beyond-training-set",
        ["run", "--no-progress", "--theta-is-examples", "100000", "--out", "{tmp}/r"],
        2,
        r"theta_is_examples=100000 is more than the training set's \d+ signals",
    ),
    Case(
        "stop-after-zero",
        [*RUN, "--stop-after", "0", "--out", "{tmp}/r"],
        2,
        r"--stop-after must be an integer >= 1, got 0",
    ),
    Case(
        "stop-after-negative",
        [*RUN, "--stop-after", "-2", "--out", "{tmp}/r"],
        2,
        r"--stop-after must be an integer >= 1, got -2",
    ),
    Case(
        "lr-inf",
        [*RUN, "--lr", "inf", "--out", "{tmp}/r"],
        2,
        r"lr must be a finite positive number, got lr=inf",
    ),
    Case(
        "lr-nan",
        [*RUN, "--lr", "nan", "--out", "{tmp}/r"],
        2,
        r"lr must be a finite positive number, got lr=nan",
    ),
    Case(
        "lr-negative",
        [*RUN, "--lr", "-0.1", "--out", "{tmp}/r"],
        2,
        r"lr must be a finite positive number",
    ),
    Case(
        "am-hz-nan",
        ["run", "--no-progress", "--am-hz", "nan", "nan", "--out", "{tmp}/r"],
        2,
        r"am_hz",
    ),
    Case(
        "unknown-preset",
        [*RUN, "--preset", "nope", "--out", "{tmp}/r"],
        2,
        r"unknown preset 'nope'",
    ),
    Case("unknown-loss", ["run", "--loss", "l2", "--out", "{tmp}/r"], 2, r"unknown loss 'l2'"),
    # ---- run: the results folder
    Case("out-empty", [*RUN, "--out", ""], 2, r"--out is empty"),
    Case(
        "out-is-a-file",
        [*RUN, "--out", "{tmp}/f"],
        2,
        r"--out .*/f is a file; give a folder",
        setup=_file,
    ),
    Case("out-is-dev-null", [*RUN, "--out", "/dev/null"], 2, r"--out /dev/null is not a folder"),
    Case(
        "out-under-a-file",
        [*RUN, "--out", "{tmp}/f/sub"],
        2,
        r"/f is a file, not a folder",
        setup=_file,
    ),
    Case(
        "out-cannot-be-created",
        [*RUN, "--out", "/proc/scrapl-edu-test/r"],
        2,
        r"--out /proc/scrapl-edu-test/r cannot be written into",
    ),
    Case(
        "out-holds-a-finished-run",
        [*RUN, "--out", "{tmp}/r"],
        2,
        r"holds a finished run; pass --overwrite",
        setup=_copy("finished"),
        check=_old_results_kept,
    ),
    Case(
        "resume-a-finished-run",
        [*RUN, "--resume", "--out", "{tmp}/r"],
        2,
        r"holds a finished run",
        setup=_copy("finished"),
        check=_old_results_kept,
    ),
    Case(
        "resume-overwrite-a-finished-run",
        [*RUN, "--resume", "--overwrite", "--out", "{tmp}/r"],
        0,
        r"holds this configuration's finished run: kept",
        setup=_copy("finished"),
        check=_old_results_kept,
    ),
    Case(
        "resume-overwrite-another-config",
        [*RUN, "--resume", "--overwrite", "--lr", "0.002", "--out", "{tmp}/r"],
        0,
        r"replacing .*another configuration \(lr: 0\.001 recorded, 0\.002 wanted\)",
        setup=_copy("stopped"),
    ),
    Case(
        "folder-in-use",
        [*RUN, "--out", "{tmp}/r"],
        2,
        r"results folder .*/r is in use by another run \(pid \d+ on ",
    ),
    Case(
        "stale-lock-of-a-dead-run",
        [*RUN, "--out", "{tmp}/r"],
        0,
        r"test θ L1",
        setup=_dead_lock_holder,
    ),
    # ---- run: checkpoints
    Case(
        "checkpoint-truncated",
        [*RUN, "--resume", "--out", "{tmp}/r"],
        2,
        r"checkpoint .*checkpoint\.pt cannot be read .*cut short",
        setup=_ckpt(_truncate),
    ),
    Case(
        "checkpoint-empty",
        [*RUN, "--resume", "--out", "{tmp}/r"],
        2,
        r"checkpoint .*checkpoint\.pt cannot be read",
        setup=_ckpt(lambda p: p.write_bytes(b"")),
    ),
    Case(
        "checkpoint-garbage",
        [*RUN, "--resume", "--out", "{tmp}/r"],
        2,
        r"checkpoint .*checkpoint\.pt (was not written by this lab|cannot be read)",
        setup=_ckpt(lambda p: p.write_bytes(os.urandom(4096))),
    ),
    Case(
        "checkpoint-pickled-callable",
        [*RUN, "--resume", "--out", "{tmp}/r"],
        2,
        r"was not written by this lab: .* refused unread \(nothing in it ran\)",
        setup=_ckpt(_pickled_callable),
        check=_not_run,
    ),
    Case(
        "checkpoint-plain-but-wrong",
        [*RUN, "--resume", "--out", "{tmp}/r"],
        2,
        r"checkpoint .*checkpoint\.pt does not fit this run",
        setup=_ckpt(_plain_but_wrong),
    ),
    Case(
        "checkpoint-of-another-config",
        [*RUN, "--resume", "--lr", "0.002", "--out", "{tmp}/r"],
        2,
        r"different configuration \(lr: 0\.001 recorded, 0\.002 wanted\)",
        setup=_copy("stopped"),
    ),
    # ---- compare
    Case("compare-seed-twice", [*CMP, "0", "--out", "{tmp}/c"], 0, r"P-loss", check=_seeds_once),
    Case(
        "compare-seed-negative",
        ["compare", "--rows", "p_loss", "--seeds", "-1", "--out", "{tmp}/c"],
        2,
        r"--seeds must be an integer 0",
    ),
    Case(
        "compare-jobs-zero",
        [*CMP, "--jobs", "0", "--out", "{tmp}/c"],
        2,
        r"--jobs must be an integer 1",
    ),
    Case(
        "compare-unknown-row",
        ["compare", "--rows", "p_loss,nope", "--out", "{tmp}/c"],
        2,
        r"unknown row 'nope'",
    ),
    Case(
        "row-arg-unknown-row",
        [*CMP, "--row-arg", "plos=--steps 2", "--out", "{tmp}/c"],
        2,
        r"--row-arg 'plos=--steps 2': unknown row 'plos'",
    ),
    Case(
        "row-arg-without-equals",
        [*CMP, "--row-arg", "p_loss --steps 2", "--out", "{tmp}/c"],
        2,
        r"--row-arg takes ROW=ARGS",
    ),
    Case(
        "row-arg-row-not-compared",
        [*CMP, "--row-arg", "mss=--steps 2", "--out", "{tmp}/c"],
        2,
        r"row 'mss' is not in this compare",
    ),
    Case(
        "row-arg-redirects-out",
        [*CMP, "--row-arg", "p_loss=--out {tmp}/elsewhere", "--out", "{tmp}/c"],
        2,
        r"may not set --out",
    ),
    Case(
        "run-arg-sets-seed",
        [*CMP, "--run-arg", "--seed 3", "--out", "{tmp}/c"],
        2,
        r"may not set --seed",
    ),
    Case(
        "run-arg-abbreviated-threads",
        [*CMP, "--run-arg", "--thr 4", "--out", "{tmp}/c"],
        2,
        r"'--thr 4' is not an option of a run",
    ),
    Case(
        "run-arg-bad-value",
        [*CMP, "--run-arg", "--lr abc", "--out", "{tmp}/c"],
        2,
        r"invalid float value: 'abc'",
    ),
    Case(
        "run-arg-unknown-option",
        [*CMP, "--run-arg", "--bogus 1", "--out", "{tmp}/c"],
        2,
        r"'--bogus 1' is not an option of a run",
    ),
    Case(
        "run-arg-unbalanced-quote",
        [*CMP, "--run-arg", "--title 'x", "--out", "{tmp}/c"],
        2,
        r"cannot be split into arguments",
    ),
    Case(
        "run-arg-lr-inf",
        [*CMP, "--run-arg", "--lr inf", "--out", "{tmp}/c"],
        2,
        r"lr must be a finite positive number",
    ),
    Case(
        "table-drums-chirplet-preset",
        ["compare", "--table", "drums", "--preset", "classroom", "--out", "{tmp}/c"],
        2,
        r"--table drums compares drum presets, got classroom",
    ),
    Case(
        "compare-out-is-a-file",
        [*CMP, "--out", "{tmp}/f"],
        2,
        r"compare --out .*/f is a file",
        setup=_file,
    ),
    Case(
        "compare-run-folder-is-a-file",
        [*CMP, "--out", "{tmp}/c"],
        2,
        r"run folder .*seed0 is a file, not a folder",
        setup=lambda tmp, made: (
            _run_folder(tmp).parent.mkdir(parents=True),
            _run_folder(tmp).write_text("x"),
        ),
    ),
    Case(
        "pairs-row-not-compared",
        [*CMP, "--pairs", "p_loss:mss", "--out", "{tmp}/c"],
        2,
        r"--pairs p_loss:mss: both rows must be in this compare",
    ),
    Case(
        "compare-reuse-missing-folder",
        [*CMP, "--reuse", "{tmp}/nope", "--out", "{tmp}/c"],
        2,
        r"--reuse folder .*/nope does not exist",
    ),
    Case(
        "compare-folder-in-use",
        [*CMP, "--out", "{tmp}/c"],
        2,
        r"comparison folder .*/c is in use by another run \(pid \d+",
    ),
    Case(
        "compare-run-of-another-config",
        [*CMP, "--out", "{tmp}/c"],
        0,
        r"rerunning: .* another configuration \(lr: 0\.05 recorded, 0\.001 wanted\)",
        setup=_planted(_set_lr),
        check=_rerun,
    ),
    Case(
        "compare-config-and-results-disagree",
        [*CMP, "--out", "{tmp}/c"],
        0,
        r"rerunning: .*config\.json and results\.json disagree on lr",
        setup=_planted(_set_lr, results_only=True),
        check=_rerun,
    ),
    Case(
        "compare-truncated-results",
        [*CMP, "--out", "{tmp}/c"],
        0,
        r"rerunning: .*results\.json is not valid JSON",
        setup=_planted(truncate=True),
        check=_rerun,
    ),
    Case(
        "compare-reuse-of-another-config",
        [*CMP, "--reuse", "{tmp}/src", "--out", "{tmp}/c"],
        0,
        r"not reused: .*another configuration \(lr: 0\.05 recorded",
        setup=_reuse_other,
        check=_copied_nothing,
    ),
    # ---- paired (summary.json)
    Case("paired-a-file-not-json", ["paired", "{tmp}/f"], 2, r"/f is not valid JSON", setup=_file),
    Case("paired-no-summary", ["paired", "{tmp}"], 2, r"summary\.json does not exist"),
    Case(
        "paired-summary-truncated",
        ["paired", "{tmp}/c"],
        2,
        r"summary\.json is not valid JSON",
        setup=_summary(text='{"presets": ['),
    ),
    Case(
        "paired-summary-empty",
        ["paired", "{tmp}/c"],
        2,
        r"summary\.json is empty",
        setup=_summary(text=""),
    ),
    Case(
        "paired-summary-missing-key",
        ["paired", "{tmp}/c"],
        2,
        r"summary\.json is not a comparison summary: no 'entries'",
        setup=_summary(lambda s: s.pop("entries")),
    ),
    Case(
        "paired-summary-wrong-type",
        ["paired", "{tmp}/c"],
        2,
        r"seeds should be a list of int",
        setup=_summary(lambda s: s.update(seeds="0 1")),
    ),
    Case(
        "paired-summary-unknown-key",
        ["paired", "{tmp}/c"],
        2,
        r"summary\.json is not a comparison summary: unknown keys \['note'\]",
        setup=_summary(lambda s: s.update(note="x")),
    ),
    Case(
        "paired-entry-missing-key",
        ["paired", "{tmp}/c"],
        2,
        r"entries\[0\] has no 'theta_l1'",
        setup=_summary(lambda s: s["entries"][0].pop("theta_l1")),
    ),
    Case(
        "paired-entry-unknown-row",
        ["paired", "{tmp}/c"],
        2,
        r"unknown row 'nope'",
        setup=_summary(lambda s: s["entries"][0].update(row="nope")),
    ),
    Case(
        "paired-entry-bad-value",
        ["paired", "{tmp}/c"],
        2,
        r"summary\.json is not a valid comparison summary: entries\[0\]\.theta_l1 should be",
        setup=_summary(lambda s: s["entries"][0].update(theta_l1="abc")),
    ),
    Case(
        "paired-entry-unknown-key",
        ["paired", "{tmp}/c"],
        2,
        r"entries\[0\] has unknown keys \['density_l1'\]",
        setup=_summary(lambda s: s["entries"][0].update(density_l1=[1.0, 0.0])),
    ),
    # ---- theta-is, theta-is-quality
    Case(
        "theta-is-examples-zero",
        ["theta-is", "--examples", "0", "--out", "{tmp}/t"],
        2,
        r"--examples must be an integer >= 1",
    ),
    Case(
        "theta-is-examples-beyond-training-set",
        ["theta-is", "--examples", "100000", "--out", "{tmp}/t"],
        2,
        r"theta_is_examples=100000 is more than the training set",
    ),
    Case(
        "theta-is-out-is-a-file",
        ["theta-is", "--out", "{tmp}/f"],
        2,
        r"--out .*/f is a file",
        setup=_file,
    ),
    Case(
        "theta-is-quality-iters-zero",
        ["theta-is-quality", "--iters", "0", "--out", "{tmp}/q"],
        2,
        r"--iters must be an integer >= 1",
    ),
]


def _fill(argv: list[str], tmp: Path) -> list[str]:
    return [a.replace("{tmp}", str(tmp)) for a in argv]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path, made, capsys, monkeypatch):
    for k, v in case.env.items():
        monkeypatch.setenv(k, v)
    if case.setup is not None:
        case.setup(tmp_path, made)
    argv = _fill(case.argv, tmp_path)
    holder = None
    if case.id == "folder-in-use":
        holder = RunLock(tmp_path / "r").acquire()
    elif case.id == "compare-folder-in-use":
        holder = RunLock(tmp_path / "c", "comparison folder").acquire()
    try:
        try:
            code = main(argv)
        except SystemExit as e:
            code = e.code
    finally:
        if holder is not None:
            holder.release()
    out, err = capsys.readouterr()
    assert code == case.code, f"exit {code}, expected {case.code}\nstdout: {out}\nstderr: {err}"
    if case.code == 2:
        line = err.strip().splitlines()[-1]
        assert line.startswith("scrapl-edu "), err
        assert "Traceback" not in err
        assert re.search(case.match, line), f"{line!r} does not match {case.match!r}"
    else:
        assert re.search(case.match, out + err), f"{case.match!r} not in\n{out}\n{err}"
    if case.check is not None:
        case.check(tmp_path)


def test_table_drums_without_a_preset_takes_the_drum_presets(tmp_path, monkeypatch, capsys):
    """``compare --table drums`` with no ``--preset`` runs the drum presets, not the chirplet."""
    seen = {}

    def fake_compare(presets, rows, seeds, out, **kw):
        seen.update(presets=presets, rows=rows)
        raise ValueError("stop here")

    monkeypatch.setattr(cli, "compare", fake_compare)
    with pytest.raises(SystemExit):
        main(["compare", "--table", "drums", "--out", str(tmp_path / "c")])
    assert seen["presets"] == list(cli.DRUM_PRESETS)
    assert seen["rows"] == lab.TABLES["drums"]


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda d: d.pop("steps"), r"results\.json is not a run's results: it lacks steps"),
        (
            lambda d: d.update(test_theta_l1_permille="abc"),
            r"test_theta_l1_permille should be float",
        ),
        (lambda d: d.update(val_steps=[0, "x"]), r"val_steps should be list\[int\]"),
        (lambda d: d.update(extra=1), r"unknown keys \['extra'\]"),
    ],
)
def test_hand_edited_results_are_refused_by_name(edit, match, tmp_path, made):
    _edit_results(edit)(tmp_path, made)
    with pytest.raises(ValueError, match=match):
        Results.load(tmp_path / "r")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"weight_decay": float("inf")}, r"weight_decay must be a finite number >= 0"),
        ({"weight_decay": -0.1}, r"weight_decay must be a finite number >= 0"),
        ({"eps": 0.0}, r"eps must be a finite positive number"),
        ({"betas": (0.9, 1.0)}, r"betas must be two numbers in \[0, 1\)"),
        ({"seed": True}, r"seed must be an integer"),
        ({"seed": 2**63}, r"seed must be an integer in 0 \.\. 2\*\*63-1"),
        ({"data_seed": -1}, r"data_seed must be an integer"),
        ({"min_prob_frac": 1.5}, r"min_prob_frac must be a number in \[0, 1\]"),
        ({"applied_probe": 10**6}, r"applied_probe=1000000 is more than the training set"),
        ({"max_wall_s": float("nan")}, r"max_wall_s must be a finite number"),
    ],
)
def test_library_values_are_range_checked(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lab.make_config("classroom", fast=True, **kwargs).validate()


@pytest.mark.parametrize("value", [0, -2, 1.5, True])
def test_run_refuses_stop_after_below_one(value):
    with pytest.raises(ValueError, match="stop_after must be a positive number of steps"):
        lab.run(lab.make_config("classroom", fast=True, loss="p_loss"), stop_after=value)


def test_overwrite_restores_the_old_run_when_the_new_one_fails_before_saving(
    tmp_path, made, monkeypatch
):
    """``--overwrite`` moves the old folder aside; a failure before the first save puts it back."""
    import scrapl_edu.lab.train as train

    shutil.copytree(made["finished"], tmp_path / "r")
    before = (tmp_path / "r" / "results.json").read_bytes()

    def boom(*a, **k):
        raise MemoryError("out of memory (simulated)")

    monkeypatch.setattr(train, "build_parts", boom)
    cfg = lab.make_config("classroom", fast=True, loss="p_loss", lr=0.002)
    with pytest.raises(MemoryError):
        lab.run(cfg, tmp_path / "r", overwrite=True, progress=False)
    assert (tmp_path / "r" / "results.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".r.lock", "r"]


def test_the_docs_list_every_case():
    """docs/bad_inputs.md has one row per case of this file, and no other."""
    text = DOC.read_text()
    documented = set(re.findall(r"^\| `([^`]+)` \|", text, flags=re.M))
    assert documented == {c.id for c in CASES}
