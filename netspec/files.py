"""Writing output files so that a failure never leaves a half-written one."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


def write_atomically(path: str | Path, data: str | bytes) -> None:
    """Write ``data`` to ``path``: to a temporary file beside it, then renamed over it.

    Readers see the old file or the new one, never a part. A path that exists but is not a
    regular file (``/dev/null``, a pipe) is written in place: renaming over it would replace
    the device itself. A symbolic link is followed, so the link stays.
    """
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    if target.exists() and not stat.S_ISREG(target.stat().st_mode):
        with open(target, "wb") as stream:
            stream.write(payload)
        return
    target = target.resolve()
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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
