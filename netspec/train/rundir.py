"""A run directory belongs to one run at a time: a lock held for the whole run.

Two trainings writing the same directory would interleave their checkpoints and metrics, so a
run takes an exclusive ``flock`` on ``.netspec.lock`` inside the directory before it reads or
writes anything there, and a second one is refused. The lock dies with its process (even on
``kill -9``), so a crashed run never blocks the next. Holding it also proves no one else writes
there, which makes it safe to delete the temporary files a killed run left behind.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: runs are not locked
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = ".netspec.lock"
# The files a run writes, each through write_atomically: ".NAME.XXXXXXXX" while being written.
RUN_FILES = (
    "config.json", "metrics.csv", "metrics.json", "last.pt", "best.pt", "report.json",
    "curves.png", "confusion.png",
)  # fmt: skip
_TEMPORARY = re.compile(
    r"\.(" + "|".join(re.escape(name) for name in RUN_FILES) + r")\.[A-Za-z0-9_]{8}"
)


class RunDirError(Exception):
    """The run directory cannot be used: another run holds it, or it cannot be written."""


@contextmanager
def locked(run_dir: Path) -> Iterator[None]:
    """Create ``run_dir`` if needed and hold its lock until the block ends. A directory it
    created is removed again if the run wrote nothing there (it failed before starting)."""
    created = not run_dir.exists()
    if run_dir.exists() and not run_dir.is_dir():
        raise RunDirError(f"{run_dir}: not a directory, so it cannot be a run directory")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RunDirError(
            f"{run_dir}: cannot create the run directory: {error.strerror or error}"
        ) from error
    if fcntl is None:
        yield
        return
    lock = run_dir / LOCK_NAME
    descriptor = _acquire(lock, run_dir)
    try:
        yield
    finally:
        # Unlink before unlocking: a run that opens the old file after this finds that it
        # is no longer the lock file (see _acquire) and tries again.
        try:
            lock.unlink(missing_ok=True)
        finally:
            os.close(descriptor)
        if created:
            with contextlib.suppress(OSError):  # not empty: the run wrote something
                run_dir.rmdir()


def _acquire(lock: Path, run_dir: Path) -> int:
    while True:
        try:
            descriptor = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as error:
            raise RunDirError(
                f"{run_dir}: cannot use the run directory: {error.strerror or error}"
            ) from error
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            os.close(descriptor)
            raise RunDirError(
                f"{run_dir}: another netspec run is using this directory; wait for it to "
                "finish, or choose another --out"
            ) from error
        try:
            same = os.stat(lock).st_ino == os.fstat(descriptor).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return descriptor
        os.close(descriptor)  # the run before us removed it as we opened it


def remove_stale_temporaries(run_dir: Path) -> list[Path]:
    """Delete the half-written files a killed run left (call with the lock held)."""
    removed = []
    for path in run_dir.iterdir():
        if _TEMPORARY.fullmatch(path.name) and path.is_file():
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed
