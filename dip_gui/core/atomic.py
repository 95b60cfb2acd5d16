"""Atomic file writes: a reader (or a crash) never sees half a file, and the old file survives a
failed write. Every writer of the project goes through ``atomic_target``."""

from __future__ import annotations

import errno
import glob
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

#: Bytes of the file's name kept in its temporary's name: ``.NAME.xxxxxxxx.ext`` must stay within
#: the 255 bytes most file systems allow, also for a name close to that limit itself.
TEMPORARY_NAME_BYTES = 200

# Read once at import (os.umask can only be read by setting it, which is not thread-safe later).
_UMASK = os.umask(0)
os.umask(_UMASK)


@contextmanager
def atomic_target(path: str | os.PathLike[str], suffix: str = ".tmp") -> Iterator[str]:
    """Yield a temporary file name beside ``path``; when the block succeeds the file is flushed to
    disk and renamed over ``path`` with the permissions a plain ``open`` would give (the user's
    umask, not mkstemp's private 0600). On an error the temporary file is removed."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=_temporary_prefix(path), suffix=suffix, dir=path.resolve().parent)
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


def check_writable(path: str | os.PathLike[str], suffix: str = ".tmp") -> None:
    """Raise OSError where ``atomic_target`` could not write ``path``: a folder has its name, its
    folder is missing or read-only, or the temporary name passes the file system's limit. Asked
    before a run, so that hours of work never end in a write that was bound to fail."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "a folder has that name", str(path))
    fd, tmp = tempfile.mkstemp(prefix=_temporary_prefix(path), suffix=suffix, dir=path.resolve().parent)
    os.close(fd)
    os.unlink(tmp)


def remove_stale_temporaries(path: str | os.PathLike[str]) -> None:
    """Delete leftovers of writes to ``path`` that a killed process never finished."""
    path = Path(path)
    for leftover in path.resolve().parent.glob(f"{glob.escape(_temporary_prefix(path))}*"):
        with suppress(OSError):
            leftover.unlink()


def _temporary_prefix(path: Path) -> str:
    """``.NAME.`` with NAME cut to ``TEMPORARY_NAME_BYTES`` (whole characters)."""
    return f".{_cut_name(path)}."


def lock_path(path: str | os.PathLike[str]) -> Path:
    """``.NAME-lock`` beside ``path``: what ``held_alone`` holds for it (not ``.NAME.*``, which are
    its temporaries, removed as stale), its name cut as a temporary's is."""
    path = Path(path)
    return path.with_name(f".{_cut_name(path)}-lock")


def _cut_name(path: Path) -> str:
    name = path.name
    while len(name.encode("utf-8", "surrogateescape")) > TEMPORARY_NAME_BYTES:
        name = name[:-1]
    return name


def write_json_atomic(path: str | os.PathLike[str], data: object) -> None:
    """Write JSON through a temporary file and a rename, so a reader never sees half a file."""
    with atomic_target(path) as tmp, open(tmp, "w") as handle:
        json.dump(data, handle, indent=1)


@contextmanager
def held_alone(lock_file: str | os.PathLike[str]) -> Iterator[bool]:
    """Hold ``lock_file`` (an advisory lock, freed by the system when the process dies, however it
    dies): yields False where another process holds it, True where this one does; the file is removed
    when the block ends. Where the system has no advisory locks (Windows) it yields True: two writers
    are the user's call there."""
    try:
        import fcntl
    except ImportError:
        yield True
        return
    path = Path(lock_file)
    while True:
        handle = open(path, "a+")  # noqa: SIM115 - held for the block
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            yield False
            return
        if _same_file(handle, path):
            break
        handle.close()  # its holder removed it as this one opened it: lock the file there now
    try:
        handle.truncate(0)
        handle.write(str(os.getpid()))
        handle.flush()
        yield True
    finally:
        with suppress(OSError):
            path.unlink()  # while still held, so the next holder locks a file that stays
        handle.close()


def _same_file(handle: IO[str], path: Path) -> bool:
    try:
        return os.fstat(handle.fileno()).st_ino == path.stat().st_ino
    except OSError:
        return False
