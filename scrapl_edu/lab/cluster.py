"""Sweeps on a Dask cluster: ``compare --scheduler ADDRESS`` (and ``compare(..., scheduler=...)``).

Each (preset, row, seed) run of :func:`scrapl_edu.lab.comparison.compare` becomes one task of a
`dask.distributed <https://distributed.dask.org>`_ cluster. A task runs the same command as the
local pool (``python -m scrapl_edu.lab run ... --out DIR --threads 1 --resume --overwrite``, one thread, in
its own process, its output appended to ``DIR/log.txt``), with the worker's own Python, into the
shared results folder. So the rules of the local pool hold unchanged:

* a finished run of the wanted configuration is never rerun, overwritten or deleted (one of
  another configuration is replaced, kept aside until the new run's first checkpoint);
* a run that dies resumes from its last checkpoint (``--resume``): when its process is killed
  by a signal (out of memory, preempted) the task raises and Dask retries it
  (:data:`RUN_RETRIES` times); when the worker itself dies, the scheduler gives the task to
  another worker (Dask's ``distributed.scheduler.allowed-failures``, 3 by default);
* a run that fails for good is reported with its log; the others are kept; the table is built
  only when all runs are in (rerun ``compare`` to finish the missing ones).

Dask is an optional heavy dependency: it is imported only here, inside the functions that
use it. Starting a cluster by hand, on SLURM/PBS (``dask-jobqueue``) and with GPU workers
(``--resources GPU=1``): README, "Running at paper scale".

``SCRAPL_EDU_TEST_CRASH`` (tests only) makes one run die mid-way: see :func:`crash_hook`.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

__all__ = [
    "RUN_RETRIES",
    "SCHEDULER_TIMEOUT_S",
    "RunKilledError",
    "SchedulerError",
    "check_scheduler_address",
    "crash_hook",
    "run_on_dask",
    "run_task",
]

#: seconds to wait for the scheduler to answer before giving up
SCHEDULER_TIMEOUT_S = 5.0
#: seconds to wait for a worker (a worker with a GPU for ``--device cuda``) to join
WORKERS_TIMEOUT_S = 60.0
#: retries of a run whose process was killed (each resumes from the run's checkpoint)
RUN_RETRIES = 2
#: how to start a cluster (appended to the messages that need it)
START_HINT = (
    "start a scheduler with `dask scheduler` (it prints its address, tcp://HOST:8786) and "
    "workers with `dask worker tcp://HOST:8786 --nthreads 1` (add `--resources GPU=1` for a "
    "GPU worker); on SLURM/PBS see the README, 'Running at paper scale'"
)

_ADDRESS = re.compile(r"^(?:(tcp|tls|ws|wss|ucx)://)?(\[[0-9A-Fa-f:.]+\]|[^\s:/\[\]]+):(\d{1,5})$")


class SchedulerError(RuntimeError):
    """The Dask scheduler cannot be used (unreachable, no workers, no GPU workers)."""


class RunKilledError(RuntimeError):
    """A run's process was killed by a signal (out of memory, preempted): Dask retries it."""


def check_scheduler_address(address: str) -> str:
    """A Dask scheduler address, ``tcp://HOST:PORT`` (``HOST:PORT`` gets ``tcp://``).

    Also ``tls://``, ``ws://``, ``wss://``, ``ucx://`` and in-process ``inproc://`` addresses.

    Raises:
        ValueError: a malformed address (naming what a valid one looks like).
    """
    if not isinstance(address, str) or not address.strip():
        raise ValueError(
            f"--scheduler must be a Dask scheduler address like tcp://HOST:8786, got {address!r}"
        )
    address = address.strip()
    if address.startswith("inproc://"):
        return address
    match = _ADDRESS.match(address)
    if match is None or not 0 < int(match.group(3)) < 65536:
        raise ValueError(
            f"--scheduler {address!r} is not a Dask scheduler address; give tcp://HOST:PORT "
            f"(or HOST:PORT), e.g. tcp://10.0.0.5:8786. To get one, {START_HINT}"
        )
    return address if match.group(1) else f"tcp://{address}"


def connect(scheduler: Any, timeout_s: float = SCHEDULER_TIMEOUT_S) -> tuple[Any, bool]:
    """``(client, owned)``: a ``distributed.Client`` of ``scheduler`` (an address or a Client).

    ``owned`` is True when the client was made here (the caller closes it).

    Raises:
        ValueError: a malformed address.
        SchedulerError: no scheduler answers at the address within ``timeout_s`` seconds.
    """
    if hasattr(scheduler, "submit") and hasattr(scheduler, "scheduler_info"):
        return scheduler, False  # a Client already connected
    address = check_scheduler_address(scheduler)
    from dask.distributed import Client  # deferred: dask is an optional heavy dependency

    try:
        client = Client(address, timeout=f"{timeout_s}s", set_as_default=False)
    except (OSError, TimeoutError) as err:
        raise SchedulerError(
            f"no Dask scheduler answered at {address} within {timeout_s:g} s ({err}). "
            f"Check the address and that the scheduler runs. To get one, {START_HINT}"
        ) from None
    return client, True


def _workers(client: Any) -> dict[str, Any]:
    return client.scheduler_info().get("workers", {})


def wait_for_workers(client: Any, gpu: bool, timeout_s: float = WORKERS_TIMEOUT_S) -> None:
    """Wait until the cluster has a worker (with a ``GPU`` resource when ``gpu``).

    Raises:
        SchedulerError: none within ``timeout_s``: tasks would wait for ever.
    """
    need = "worker with the resource GPU" if gpu else "worker"
    deadline = time.monotonic() + timeout_s
    while True:
        workers = _workers(client).values()
        if gpu:
            workers = [w for w in workers if w.get("resources", {}).get("GPU", 0) >= 1]
        if workers:
            return
        if time.monotonic() > deadline:
            how = (
                "start GPU workers with `dask worker ADDRESS --nthreads 1 --resources GPU=1` "
                "(one per GPU: CUDA_VISIBLE_DEVICES=i)"
                if gpu
                else "start workers with `dask worker ADDRESS --nthreads 1`"
            )
            raise SchedulerError(
                f"the Dask scheduler at {client.scheduler.address} has no {need} after "
                f"{timeout_s:g} s; {how}"
            )
        time.sleep(0.2)


def _writable(folder: str) -> bool:
    """On a worker: can this process write into the results folder?"""
    return os.path.isdir(folder) and os.access(folder, os.W_OK)


def check_shared_folder(client: Any, out: Path) -> None:
    """Every worker must see the results folder (a file system shared with this machine).

    Raises:
        SchedulerError: naming the workers that cannot write into it.
    """
    seen = client.run(_writable, str(out))
    blind = sorted(w for w, ok in seen.items() if not ok)
    if blind:
        raise SchedulerError(
            f"worker(s) {', '.join(blind)} cannot write into {out}: the results folder must be "
            "on a file system shared by this machine and every worker (give an absolute path "
            "on it, e.g. under your cluster's shared home or scratch)"
        )


def run_task(argv: Sequence[str], folder: str, env: dict[str, str]) -> int:
    """On a worker: one lab run, exactly as the local pool runs it; its exit code.

    ``argv`` follows the Python executable (``-m scrapl_edu.lab run ... --resume``); the
    worker's own Python runs it, with its environment plus ``env``, its output appended to
    ``folder/log.txt``. A run that finished meanwhile (a retry after its last step) is not
    started again: the run itself finds it (``--resume --overwrite`` keeps the finished run of
    its configuration and replaces one of another).

    Raises:
        RunKilledError: the process was killed by a signal (out of memory, preempted), so
            that Dask retries the task, which resumes the run from its checkpoint.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, *argv]
    with open(out / "log.txt", "a") as log:
        log.write(f"--- {socket.gethostname()} (pid {os.getpid()}): {' '.join(cmd)}\n")
        log.flush()
        code = subprocess.run(
            cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **env}
        ).returncode
    if code < 0 or code == 128 + signal.SIGKILL:
        raise RunKilledError(
            f"run {out} was killed by signal {abs(code) if code < 0 else 9} (out of memory? "
            f"preempted?); see {out / 'log.txt'}"
        )
    return code


def _log_hint(folder: Path) -> str:
    """What to do, from the tail of a failed run's log."""
    try:
        tail = (folder / "log.txt").read_text(errors="replace")[-4000:]
    except OSError:
        return ""
    if "OutOfMemoryError" in tail or "CUDA out of memory" in tail:
        return (
            "; out of GPU memory: use a smaller --batch-size or one run per GPU "
            "(workers with --nthreads 1 --resources GPU=1)"
        )
    if "MemoryError" in tail:
        return "; out of memory: give the workers more memory or run fewer per machine"
    return ""


def run_on_dask(
    todo: Sequence[tuple[list[str], Path]],
    scheduler: Any,
    env: dict[str, str],
    out: Path,
    *,
    gpu: bool = False,
    retries: int = RUN_RETRIES,
    timeout_s: float = SCHEDULER_TIMEOUT_S,
    workers_timeout_s: float = WORKERS_TIMEOUT_S,
) -> list[str]:
    """Run ``todo`` (``(command, folder)`` of the local pool) as tasks of a Dask cluster.

    Args:
        todo: the runs: the command (``[python, -m, scrapl_edu.lab, run, ...]``; the
            worker's Python replaces the first item) and the run's folder.
        scheduler: a scheduler address (``tcp://HOST:PORT``) or a ``distributed.Client``.
        env: variables the runs need (threads), added to each worker's own; fast mode is
            on each command line (``--fast``).
        out: the comparison's folder (checked to be writable by every worker).
        gpu: ask each task for one unit of the worker resource ``GPU``.
        retries: retries of a run whose process was killed by a signal.
        timeout_s: seconds to wait for the scheduler.
        workers_timeout_s: seconds to wait for a (GPU) worker to join.

    Returns:
        One line per run that failed for good: its folder, why, its log and what to do.

    Raises:
        ValueError: a malformed scheduler address.
        SchedulerError: an unreachable scheduler, no (GPU) workers, or a results folder
            that the workers cannot write into.
    """
    client, owned = connect(scheduler, timeout_s)
    try:
        # deferred: dask is an optional heavy dependency
        from dask.distributed import KilledWorker, as_completed

        wait_for_workers(client, gpu, workers_timeout_s)
        check_shared_folder(client, Path(out).resolve())
        resources = {"GPU": 1} if gpu else None
        futures = {}
        for cmd, folder in todo:
            folder = Path(folder).resolve()
            argv = [str(a) for a in cmd[1:]]
            argv[argv.index("--out") + 1] = str(folder)
            fut = client.submit(
                run_task,
                argv,
                str(folder),
                dict(env),
                retries=retries,
                resources=resources,
                pure=False,  # a new task each time: a rerun of compare is a new attempt
                key=f"scrapl-run-{'-'.join(folder.parts[-3:])}-{os.urandom(4).hex()}",
            )
            futures[fut] = folder
        failures = []
        done = as_completed(list(futures), loop=client.loop)
        for fut in tqdm(done, total=len(futures), desc="compare runs (dask)"):
            folder = futures[fut]
            log = folder / "log.txt"
            try:
                code = fut.result()
            except KilledWorker:
                failures.append(
                    f"{folder}: its worker died on every attempt (out of memory? killed?); "
                    f"see {log}. Its checkpoint is kept: rerun compare to resume it"
                    + _log_hint(folder)
                )
                continue
            except RunKilledError as err:
                failures.append(
                    f"{err} after {retries + 1} attempts. Its checkpoint is kept: rerun compare "
                    "to resume it, with more memory per worker (dask worker --memory-limit) or "
                    "fewer workers per machine" + _log_hint(folder)
                )
                continue
            except Exception as err:  # noqa: BLE001 - any task error is reported, not raised
                failures.append(f"{folder}: {type(err).__name__}: {err}; see {log}")
                continue
            if code != 0:
                failures.append(f"{folder} (exit {code}; see {log}){_log_hint(folder)}")
        return failures
    finally:
        if owned:
            client.close()


def crash_hook(environ: dict[str, str] | None = None) -> Callable[[int, int], None] | None:
    """Tests only: ``SCRAPL_EDU_TEST_CRASH="STEP:MODE:MARKER"`` makes one run die mid-way.

    The first run process to finish training step ``STEP`` creates the file ``MARKER`` and
    dies at once, before that step's checkpoint, so its last periodic checkpoint is what a
    retry resumes from; every other run, and the retry, finds the marker and carries on.
    ``MODE`` is ``process`` (the run is killed by SIGKILL, as by the out-of-memory killer),
    ``worker`` (it also kills its parent, the Dask worker, as if the machine lost it) or
    ``term`` (the run is sent SIGTERM, as by a batch system's time limit: it saves at the
    step's end and exits with status 143).
    Returns an ``on_step`` hook for :func:`scrapl_edu.lab.train.run`, or None when unset.
    """
    spec = (os.environ if environ is None else environ).get("SCRAPL_EDU_TEST_CRASH")
    if not spec:
        return None
    step_s, mode, marker = spec.split(":", 2)
    if mode not in ("process", "worker", "term"):
        raise ValueError(
            f"SCRAPL_EDU_TEST_CRASH mode must be process, worker or term, got {mode!r}"
        )
    at = int(step_s)

    def hook(step: int, steps: int) -> None:  # noqa: ARG001 - run's on_step signature
        if step != at:
            return
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return  # another run (or this run's first attempt) crashed already
        os.write(fd, f"{os.getpid()} step {step}\n".encode())
        os.close(fd)
        print(f"test crash at step {step} ({mode})", flush=True)
        if mode == "term":
            os.kill(os.getpid(), signal.SIGTERM)
            return
        if mode == "worker":
            os.kill(os.getppid(), signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)

    return hook
