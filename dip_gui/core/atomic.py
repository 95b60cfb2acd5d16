"""Atomic file writes: a reader (or a crash) never sees half a file, and the old file survives a
failed write. Every writer of the project goes through ``atomic_target``."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

# Read once at import (os.umask can only be read by setting it, which is not thread-safe later).
_UMASK = os.umask(0)
os.umask(_UMASK)


@contextmanager
def atomic_target(path: str | os.PathLike[str], suffix: str = ".tmp") -> Iterator[str]:
    """Yield a temporary file name beside ``path``; when the block succeeds the file is flushed to
    disk and renamed over ``path`` with the permissions a plain ``open`` would give (the user's
    umask, not mkstemp's private 0600). On an error the temporary file is removed."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.resolve().parent)
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def remove_stale_temporaries(path: str | os.PathLike[str]) -> None:
    """Delete leftovers of writes to ``path`` that a killed process never finished."""
    path = Path(path)
    for leftover in path.resolve().parent.glob(f".{path.name}.*"):
        with suppress(OSError):
            leftover.unlink()


def write_json_atomic(path: str | os.PathLike[str], data: object) -> None:
    """Write JSON through a temporary file and a rename, so a reader never sees half a file."""
    with atomic_target(path) as tmp, open(tmp, "w") as handle:
        json.dump(data, handle, indent=1)
