"""The lab's files: atomic writes, named read errors, one writer per run folder.

Every file the lab writes goes through :func:`atomic_write` (or a helper built on it): the
bytes go to a unique temporary file in the same folder, are flushed and ``fsync``-ed, and
the file is renamed onto its name with :func:`os.replace`, so a reader (or a run killed at
any instant) sees the old file or the new one, never half of one, and two writers never
mix their bytes.

A run folder has one writer at a time: :class:`RunLock` is an exclusive
`filelock <https://py-filelock.readthedocs.io>`_ lock on ``.<name>.lock`` beside the folder
(beside it, so that ``--overwrite`` can move the folder aside while holding it). The lock is
an ``flock`` of the operating system, released when its process ends however it ends, so a
dead run's lock is free for the next one; ``.<name>.lock.owner`` names the holder's pid and
host for the message a second writer gets (:class:`RunFolderBusyError`).

``--overwrite`` never deletes a finished run before its replacement exists:
:func:`move_aside` renames the old folder to ``.<name>.replaced`` beside it,
:func:`restore_aside` puts it back when the new run fails before its first save, and
:func:`recover_aside` finishes the job after a kill (the new run saved: drop the old one;
it did not: put the old one back).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from filelock import FileLock, Timeout

__all__ = [
    "RunFolderBusyError",
    "RunLock",
    "aside_path",
    "atomic_copy",
    "atomic_open",
    "atomic_write",
    "atomic_write_json",
    "atomic_write_text",
    "check_out_folder",
    "move_aside",
    "read_json",
    "recover_aside",
    "restore_aside",
    "write_figures",
]

#: files of a run folder that stay with the folder's name when it is moved aside: the
#: append-only log of every attempt (a compare's runner has it open while the run starts)
JOURNAL = "log.txt"
#: the test hook that kills the process at a named point (see :func:`fault_point`)
FAULT_ENV = "SCRAPL_EDU_TEST_KILL_AT"


def fault_point(name: str) -> None:
    """Tests only: die here (SIGKILL) when ``SCRAPL_EDU_TEST_KILL_AT`` is ``name[:N]``.

    ``SCRAPL_EDU_TEST_KILL_AT="save:3"`` kills the process the third time it reaches the
    point ``"save"``; the fault test walks every point this way. Unset: a dictionary look-up.
    """
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    point, _, nth = spec.partition(":")
    if point != name:
        return
    count = _FAULT_COUNTS.get(name, 0) + 1
    _FAULT_COUNTS[name] = count
    if count >= int(nth or 1):
        os.kill(os.getpid(), 9)


_FAULT_COUNTS: dict[str, int] = {}


def _umask() -> int:
    """The process's umask (read once; new files get ``0o666 & ~umask``, like ``open``)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_open(path: str | Path, mode: str = "wb", **kwargs: Any) -> Iterator[IO[Any]]:
    """Open a unique temporary file beside ``path``; on success it replaces ``path``.

    The file is flushed and ``fsync``-ed before :func:`os.replace`; on an exception the
    temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, _FILE_MODE)  # mkstemp makes 0600; a results file reads like any other
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        fault_point("replace")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def atomic_write(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (unique temp file, fsync, :func:`os.replace`)."""
    with atomic_open(path, "wb") as f:
        f.write(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any, indent: int | None = 1) -> None:
    """Write ``obj`` as JSON to ``path`` atomically."""
    atomic_write_text(path, json.dumps(obj, indent=indent))


def atomic_copy(src: str | Path, dst: str | Path) -> None:
    """Copy the file ``src`` to ``dst`` atomically (its times and mode kept)."""
    src, dst = Path(src), Path(dst)
    with atomic_open(dst, "wb") as f, open(src, "rb") as g:
        shutil.copyfileobj(g, f)
    shutil.copystat(src, dst)


def read_json(path: str | Path) -> Any:
    """The JSON in ``path``; a file that cannot be read or parsed raises a ValueError naming it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is not a UTF-8 JSON file ({err})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        what = "empty" if not text.strip() else f"not valid JSON ({err})"
        raise ValueError(
            f"{path} is {what}: it was cut short or edited by hand; restore it, or delete "
            "it and rerun the run that wrote it"
        ) from None


def write_figures(
    folder: str | Path, draw: Callable[[Path], Any], inputs: Sequence[str] = ()
) -> Any:
    """Run ``draw(tmp)`` in a temporary folder inside ``folder``; move what it wrote into it.

    Each new file is fsync-ed and renamed onto its name in ``folder``, so a figure is whole
    or absent. ``inputs``: files of ``folder`` that ``draw`` reads, linked into ``tmp``.
    Returns what ``draw`` returned.
    """
    folder = Path(folder)
    tmp = Path(tempfile.mkdtemp(dir=folder, prefix=".figures-", suffix=".tmp"))
    try:
        for name in inputs:
            try:
                os.link(folder / name, tmp / name)
            except OSError:
                shutil.copy2(folder / name, tmp / name)
        result = draw(tmp)
        for item in sorted(tmp.iterdir()):
            if item.name in inputs or not item.is_file():
                continue
            with open(item, "rb+") as f:
                os.fsync(f.fileno())
            os.replace(item, folder / item.name)
        _fsync_dir(folder)
        return result
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------- folders
def check_out_folder(out: Path, what: str = "--out") -> None:
    """Refuse an ``out`` that is not (and cannot become) a writable folder, before any work.

    Raises:
        ValueError: ``out`` names a file or a device (``/dev/null``), or a parent is a file.
        OSError: the folder cannot be created or written into (read-only, no permission),
            with the path in the message.
    """
    if not str(out).strip() or not out.resolve().name:
        raise ValueError(f"{what} {str(out)!r} names no folder; give a folder for the results")
    if out.exists() and not out.is_dir():
        kind = "a file" if out.is_file() else "not a folder (a device or a socket)"
        raise ValueError(f"{what} {out} is {kind}; give a folder for the results")
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(f"{what} {out}: {parent} is a file, not a folder")
            break
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out, prefix=".write-test-", suffix=".tmp")
        os.close(fd)
        Path(probe).unlink(missing_ok=True)
    except OSError as err:
        raise OSError(f"{what} {out} cannot be written into ({err.strerror or err})") from None


def aside_path(out: Path) -> Path:
    """Where :func:`move_aside` keeps the folder being replaced: ``.<name>.replaced``."""
    return out.parent / f".{out.name}.replaced"


def move_aside(out: Path) -> Path:
    """Rename the folder ``out`` to :func:`aside_path` and make a new, empty ``out``.

    The log (:data:`JOURNAL`) stays with the name: it is moved into the new folder.
    Call with the folder's :class:`RunLock` held.
    """
    aside = aside_path(out)
    if aside.exists():
        raise FileExistsError(
            f"{aside} exists: an earlier replacement of {out} was interrupted; "
            "run the same command again (it is recovered first)"
        )
    os.replace(out, aside)
    fault_point("aside")
    out.mkdir(exist_ok=True)  # (another process's check may have made it empty meanwhile)
    if (aside / JOURNAL).exists():
        os.replace(aside / JOURNAL, out / JOURNAL)
    _fsync_dir(out.parent)
    return aside


def restore_aside(out: Path) -> bool:
    """Put the folder moved aside back as ``out`` (the new run's files are dropped).

    Returns whether there was one. Call with the folder's :class:`RunLock` held.
    """
    aside = aside_path(out)
    if not aside.exists():
        return False
    failed = out.parent / f".{out.name}.failed"
    if out.exists():
        if failed.exists():
            shutil.rmtree(failed)
        os.replace(out, failed)
        if (failed / JOURNAL).exists():
            os.replace(failed / JOURNAL, aside / JOURNAL)
    fault_point("restore")
    os.replace(aside, out)
    _fsync_dir(out.parent)
    shutil.rmtree(failed, ignore_errors=True)
    return True


def drop_aside(out: Path) -> None:
    """The new run has saved: remove the folder it replaces (and any failed attempt)."""
    shutil.rmtree(aside_path(out), ignore_errors=True)
    shutil.rmtree(out.parent / f".{out.name}.failed", ignore_errors=True)


def recover_aside(out: Path, saved: Callable[[Path], bool]) -> str | None:
    """After a kill during ``--overwrite``: finish the replacement, or undo it.

    ``saved(out)`` says whether the new run in ``out`` saved anything (a checkpoint or its
    results). If it did, the old folder is dropped; if not, it is restored. Returns what
    was done (``"dropped"``, ``"restored"``) or None when nothing was pending.
    """
    shutil.rmtree(out.parent / f".{out.name}.failed", ignore_errors=True)
    if not aside_path(out).exists():
        return None
    if out.is_dir() and saved(out):
        drop_aside(out)
        return "dropped"
    restore_aside(out)
    return "restored"


# ------------------------------------------------------------------------------ lock
class RunFolderBusyError(OSError):
    """Another process writes into this run folder (it holds the folder's lock)."""


def _alive(owner: str) -> bool:
    """Whether ``pid N on HOST`` names a live process (always True for another host)."""
    parts = owner.split()
    if len(parts) != 4 or parts[0] != "pid" or not parts[1].isdigit():
        return True
    if parts[3] != socket.gethostname():
        return True
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def lock_path(out: Path) -> Path:
    """The lock file of a run folder: ``.<name>.lock`` beside it."""
    return out.parent / f".{out.name}.lock"


class RunLock:
    """An exclusive lock on a run folder for as long as a run (or a copy) writes into it.

    ``with RunLock(out):`` takes it or raises :class:`RunFolderBusyError` at once, naming
    the folder and the holder's pid and host. A lock whose process has died is free (the
    operating system drops an ``flock`` with its process), so it is taken over safely.
    """

    def __init__(self, out: str | Path, what: str = "results folder") -> None:
        self.out = Path(out)
        self.what = what
        if not self.out.resolve().name:
            raise ValueError(f"{what} {str(out)!r} names no folder; give a folder for the results")
        self.path = lock_path(self.out.resolve())
        self.owner = self.path.with_name(self.path.name + ".owner")
        self._lock = FileLock(str(self.path), timeout=0)

    def holder(self, wait_s: float = 2.0) -> str:
        """``pid N on HOST`` of the process that holds the lock, as it recorded itself.

        The holder writes its name just after taking the lock, so a name is waited for up
        to ``wait_s`` seconds; a name left by a dead process of this host is not taken.
        """
        deadline = time.monotonic() + wait_s
        while True:
            text = ""
            try:
                text = self.owner.read_text().strip()
            except OSError:
                pass
            if text and _alive(text):
                return text
            if time.monotonic() > deadline:
                return "an unknown process"
            time.sleep(0.05)

    def acquire(self) -> RunLock:
        self.out.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            raise RunFolderBusyError(
                f"{self.what} {self.out} is in use by another run ({self.holder()}); wait for "
                "it to finish, stop it, or use another folder"
            ) from None
        atomic_write_text(self.owner, f"pid {os.getpid()} on {socket.gethostname()}\n")
        return self

    def release(self) -> None:
        if self._lock.is_locked:
            self.owner.unlink(missing_ok=True)
            self._lock.release()

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
