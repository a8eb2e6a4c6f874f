"""One switch, flipped, on paired seeds: the dashboard's "compare" (Table 6 in small, live).

:func:`compare_switch` runs a SCRAPL configuration and the same configuration with one of
its switches (P-Adam, P-SAGA, θ-IS) flipped, on the same seeds (same data, initialisation,
batches and shifts in both arms), ``jobs`` runs at a time, and returns each seed's pair and
the paired difference (:func:`scrapl_edu.lab.paired.paired_difference`).

It is built so that it cannot hang a notebook kernel:

* every run is a separate ``python -m scrapl_edu.lab run`` process with one thread,
  started with ``subprocess.Popen`` (exec'd at once: no fork of the kernel's torch and
  OpenMP threads lives on), its output going to a log file (never to a pipe that could
  fill up and block it);
* the calling thread polls the processes: no thread, process pool or event loop is
  started inside the kernel, and ``on_progress`` (the dashboard's widgets) is called from
  the caller's own thread;
* each run has a wall-clock limit (``timeout_s``); a run past it is killed and reported,
  and a run that fails raises a RuntimeError naming its log.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scrapl_edu.lab.loss_kinds import loss_kind, loss_names_where
from scrapl_edu.lab.paired import SWITCHES, paired_difference
from scrapl_edu.lab.results import RESULTS_JSON, Results
from scrapl_edu.lab.summary import PairedDifference, PairedRows

__all__ = ["RunStatus", "SwitchComparison", "compare_switch", "run_arguments"]

#: a tqdm bar's "done/total [" in a run's log
_BAR = re.compile(rb"(\d+)/(\d+) \[")


def run_arguments(config: dict[str, Any]) -> list[str]:
    """``scrapl-edu run`` arguments of a dashboard configuration (without seed and folder).

    ``config`` holds ``preset``, ``loss``, ``steps`` and the switches ``p_adam``,
    ``p_saga``, ``theta_is`` (as :attr:`scrapl_edu.widgets.LabDashboard.config`).
    """
    loss = str(config.get("loss", "scrapl"))  # "scrapl": the dashboard's (and LabConfig's) default
    args = ["--preset", str(config["preset"]), "--loss", loss]
    if loss_kind(loss).switches_apply:
        for key, flag in (
            ("p_adam", "--no-p-adam"),
            ("p_saga", "--no-p-saga"),
            ("theta_is", "--no-theta-is"),
        ):
            if not config.get(key, True):
                args.append(flag)
    if config.get("steps") is not None:
        args += ["--steps", str(int(config["steps"]))]
    return args


@dataclass
class RunStatus:
    """One run of a comparison, as the poller sees it.

    Attributes:
        arm: ``"off"`` (the switch off) or ``"on"``.
        seed: the run's seed.
        folder: where it writes (``results.json``, ``log.txt``).
        state: ``waiting``, ``running``, ``done``, ``failed`` or ``timeout``.
        step, steps: training progress read from its log (its tqdm bar).
        started: ``time.monotonic()`` at its start (None while waiting).
    """

    arm: str
    seed: int
    folder: Path
    state: str = "waiting"
    step: int = 0
    steps: int = 0
    started: float | None = None


@dataclass
class SwitchComparison:
    """A configuration and its one-switch flip on paired seeds.

    Attributes:
        switch: the flipped switch (``p_adam``, ``p_saga`` or ``theta_is``).
        config: the configuration the comparison started from.
        seeds: the seeds, in order.
        results: ``{"off": [Results per seed], "on": [...]}``, the switch off and on.
        wall_s: the comparison's wall-clock time.
    """

    switch: str
    config: dict[str, Any]
    seeds: list[int]
    results: dict[str, list[Results]] = field(default_factory=dict)
    wall_s: float = 0.0

    @property
    def label(self) -> str:
        """``"+ P-SAGA"`` and so on: what turning the switch on does."""
        return f"+ {SWITCHES[self.switch]}"

    def paired(self) -> PairedRows:
        """Paired difference ``on - off`` of test θ L1 and of each parameter's L1 (‰).

        The same record as a summary's pairs (:func:`~scrapl_edu.lab.paired.paired_stats`):
        rows ``a = "<switch> off"`` and ``b = "<switch> on"``, metrics ``theta_l1`` and
        ``<param>_l1``, so :func:`scrapl_edu.viz.plot_paired` draws it.
        """
        off, on = self.results["off"], self.results["on"]

        def diff(values: Callable[[Results], float]) -> PairedDifference:
            return PairedDifference.from_dict(
                paired_difference([values(r) for r in off], [values(r) for r in on])
            )

        metrics = {"theta_l1": diff(lambda r: r.test_theta_l1_permille)}
        for name in off[0].param_names:
            metrics[f"{name}_l1"] = diff(lambda r, n=name: r.test_theta_l1_permille_per_param[n])
        return PairedRows(
            preset=self.config["preset"],
            a=f"{self.switch} off",
            b=f"{self.switch} on",
            label=self.label,
            seeds=list(self.seeds),
            metrics=metrics,
        )


def _progress(status: RunStatus, total: int) -> None:
    log = status.folder / "log.txt"
    try:
        with open(log, "rb") as f:
            f.seek(max(0, log.stat().st_size - 4096))
            tail = f.read()
    except OSError:
        return
    for done, of in reversed(_BAR.findall(tail)):
        if int(of) == total:  # the training bar (θ-IS has its own, shorter one)
            status.step, status.steps = int(done), total
            return


def _check_request(
    config: dict[str, Any], switch: str, seeds: Sequence[int], jobs: int
) -> list[int]:
    """A SCRAPL configuration, a switch of it, two or more distinct seeds: the seeds."""
    if switch not in SWITCHES:
        raise ValueError(f"switch must be one of {', '.join(SWITCHES)}; got {switch!r}")
    if not loss_kind(str(config.get("loss", "scrapl"))).switches_apply:
        raise ValueError(
            f"a switch of SCRAPL needs {loss_names_where(lambda k: k.switches_apply)}, got "
            f"loss={config.get('loss')!r}"
        )
    seeds = [int(s) for s in seeds]
    if len(seeds) < 2 or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be at least 2 distinct seeds, got {seeds}")
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    return seeds


class _Runner:
    """The processes of a :func:`compare_switch`: started, polled and killed from one thread.

    ``arms`` maps ``"off"`` / ``"on"`` to the configuration of each arm; every run's command
    carries fast mode (``--fast`` / ``--no-fast``), so no environment variable decides it.
    """

    def __init__(
        self, runs: list[RunStatus], arms: dict[str, dict[str, Any]], fast: bool, steps: int
    ) -> None:
        self.runs, self.arms, self.fast, self.steps = runs, arms, fast, steps
        self.procs: dict[int, subprocess.Popen] = {}
        self.env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

    def start_waiting(self, jobs: int) -> None:
        """Start waiting runs while fewer than ``jobs`` run."""
        for i, st in enumerate(self.runs):
            if st.state == "waiting" and len(self.procs) < jobs:
                st.folder.mkdir(parents=True, exist_ok=True)
                cmd = [sys.executable, "-m", "scrapl_edu.lab", "run"]
                cmd += run_arguments(self.arms[st.arm]) + ["--seed", str(st.seed)]
                cmd += ["--fast" if self.fast else "--no-fast"]
                cmd += ["--out", str(st.folder), "--overwrite", "--threads", "1"]
                with open(st.folder / "log.txt", "wb") as log:
                    self.procs[i] = subprocess.Popen(
                        cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env
                    )
                st.state, st.started, st.steps = "running", time.monotonic(), self.steps

    def poll(self, limit: float) -> None:
        """Read each running run's progress; mark it done, failed or timed out (killed)."""
        for i, proc in list(self.procs.items()):
            st = self.runs[i]
            _progress(st, self.steps)
            code = proc.poll()
            if code is None and time.monotonic() - st.started > limit:
                proc.kill()
                proc.wait()
                st.state = "timeout"
                del self.procs[i]
            elif code is not None:
                ok = code == 0 and (st.folder / RESULTS_JSON).exists()
                st.state = "done" if ok else "failed"
                if ok:
                    st.step = self.steps
                del self.procs[i]

    def raise_failures(self, limit: float) -> None:
        """A RuntimeError naming every run that failed or timed out, and its log."""
        bad = [s for s in self.runs if s.state in ("failed", "timeout")]
        if bad:
            why = "; ".join(
                f"{s.arm} seed {s.seed}: {s.state}"
                + (f" after {limit:.0f} s" if s.state == "timeout" else "")
                + f" (log: {s.folder / 'log.txt'})"
                for s in bad
            )
            raise RuntimeError(f"compare_switch: {why}")

    def kill_all(self) -> None:
        """Leave no run behind (an error or Ctrl-C)."""
        for proc in self.procs.values():
            proc.kill()
            proc.wait()


def compare_switch(
    config: dict[str, Any],
    switch: str,
    seeds: Sequence[int] = (0, 1, 2),
    *,
    jobs: int = 2,
    fast: bool = False,
    out: str | Path | None = None,
    timeout_s: float | None = None,
    poll_s: float = 0.5,
    on_progress: Callable[[list[RunStatus]], None] | None = None,
) -> SwitchComparison:
    """Run ``config`` with ``switch`` off and on, on each seed; ``jobs`` processes at a time.

    Args:
        config: a SCRAPL configuration (``preset``, ``loss="scrapl"``, ``steps``, switches).
        switch: ``"p_adam"``, ``"p_saga"`` or ``"theta_is"``.
        seeds: the paired seeds (at least 2 for an interval).
        jobs: runs at a time, one thread each.
        fast: the shrunk presets (``--fast`` on each run's command line).
        out: where the runs go (``<out>/<off|on>/seed<N>``); default a temporary folder,
            removed afterwards.
        timeout_s: wall-clock limit of one run (default 60 s + 3 s per step); a run past it
            is killed and the comparison raises a RuntimeError.
        poll_s: seconds between two looks at the processes.
        on_progress: called with every run's :class:`RunStatus` at each look, from the
            calling thread.

    Returns:
        the :class:`SwitchComparison` (each seed's pair; :meth:`SwitchComparison.paired`).
    """
    seeds = _check_request(config, switch, seeds, jobs)
    steps = int(config["steps"])
    limit = 60.0 + 3.0 * steps if timeout_s is None else float(timeout_s)
    tmp = tempfile.TemporaryDirectory(prefix="scrapl-compare-") if out is None else None
    root = Path(tmp.name if tmp is not None else out)
    arms = {"off": {**config, switch: False}, "on": {**config, switch: True}}
    runs = [
        RunStatus(arm, seed, root / arm / f"seed{seed}") for seed in seeds for arm in ("off", "on")
    ]
    runner = _Runner(runs, arms, fast, steps)
    t0 = time.monotonic()
    try:
        while True:
            runner.start_waiting(jobs)
            runner.poll(limit)
            if on_progress is not None:
                on_progress(runs)
            runner.raise_failures(limit)
            if all(s.state == "done" for s in runs):
                break
            time.sleep(poll_s)
        results = {
            arm: [Results.load(s.folder) for s in runs if s.arm == arm] for arm in ("off", "on")
        }
    finally:
        runner.kill_all()
        if tmp is not None:
            tmp.cleanup()
    return SwitchComparison(
        switch=switch,
        config=dict(config),
        seeds=seeds,
        results=results,
        wall_s=time.monotonic() - t0,
    )
