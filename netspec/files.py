"""Writing output files so that a failure never leaves a half-written one."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
import time
from pathlib import Path

PIPE_READER_WAIT_S = 0.5


def write_atomically(path: str | Path, data: str | bytes) -> None:
    """Write ``data`` to ``path``: to a temporary file beside it, then renamed over it.

    Readers see the old file or the new one, never a part. A path that exists but is not a
    regular file (``/dev/null``, a pipe) is written in place: renaming over it would replace
    the device itself; a pipe that no process reads is refused rather than waited on. A
    symbolic link is followed, so the link stays. A file we may not write is not replaced
    either (a rename would, as the directory allows it). Errors are OSErrors with a reason.
    """
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        target = target.resolve()
    except (RuntimeError, OSError) as error:  # a symlink loop: RuntimeError before 3.13
        raise OSError(errno.ELOOP, f"{path}: too many levels of symbolic links") from error
    if target.exists() and not stat.S_ISREG(target.stat().st_mode):
        _write_in_place(target, payload)
        return
    if target.exists() and (
        not os.access(target, os.W_OK) or not target.stat().st_mode & 0o222  # root too
    ):
        raise PermissionError(errno.EACCES, "Permission denied: the file is read-only")
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        if target.exists():
            os.chmod(temporary, stat.S_IMODE(target.stat().st_mode))
        else:
            os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _write_in_place(target: Path, payload: bytes) -> None:
    """Write to a device or a pipe. Opening a pipe blocks until a reader comes: wait a moment
    for one (it may be starting), then give up."""
    flags = os.O_WRONLY | getattr(os, "O_NOCTTY", 0)
    if stat.S_ISFIFO(target.stat().st_mode):
        deadline = time.monotonic() + PIPE_READER_WAIT_S
        while True:
            try:
                descriptor = os.open(target, flags | os.O_NONBLOCK)
                break
            except OSError as error:
                if error.errno != errno.ENXIO:
                    raise
                if time.monotonic() > deadline:
                    raise OSError(errno.ENXIO, "a pipe that no process is reading") from None
                time.sleep(0.01)
        os.set_blocking(descriptor, True)
    else:
        descriptor = os.open(target, flags)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(payload)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
