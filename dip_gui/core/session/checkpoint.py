"""Saved sessions (``.dips``): a run's whole state in one file, written atomically, resumable.

A file holds the problem (photo, mask, guide, reference, region), the settings, the network and
optimiser state, the input noise and its jitter stream, counters, the divergence guard's last good
copy and, when given, the run monitor (snapshots, stop detector) and a few facts about the source
photo (``source``: file name, bit depth, grey, alpha) so a resumed run saves the same kind of file.

Files are read with ``torch.load(weights_only=True)``: tensors and plain values only, so opening a
session file from elsewhere cannot run code.
"""

from __future__ import annotations

import errno
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dip_gui.core.atomic import atomic_target, remove_stale_temporaries
from dip_gui.core.errors import DipError
from dip_gui.core.imaging import LoadedImage, PhotoMetadata, three_channels
from dip_gui.core.problem.presets import preset_from_dict
from dip_gui.core.problem.tasks import Problem
from dip_gui.core.session.session import Execution, Session
from dip_gui.core.stopping.monitor import RunMonitor

FORMAT = "dip-studio-session"
VERSION = 1
SUFFIX = ".dips"


class SessionFileError(DipError):
    """A saved session that cannot be read or used."""


def save_session(path: str | os.PathLike[str], session: Session, monitor: RunMonitor | None = None,
                 source: dict[str, Any] | None = None) -> Path:
    """Write the session to ``path`` through a temporary file and a rename (never half a file)."""
    path = Path(path)
    state = {
        "format": FORMAT,
        "version": VERSION,
        "problem": session.problem.to_state(),
        "preset": session.preset.to_dict(),
        "plain_network": session.execution.plain_network,
        "session": session.state_dict(),
        "monitor": None if monitor is None else monitor.state_dict(),
        "source": dict(source or {}),
    }
    remove_stale_temporaries(path)  # a run killed while saving leaves one behind
    with atomic_target(path) as tmp:
        _torch_save(state, tmp)
    return path


#: Below this much free space a failed write is put down to a full disk.
NEARLY_FULL_BYTES = 64 * 2**20


def _torch_save(state: dict[str, Any], tmp: str) -> None:
    """``torch.save``, its failed writes said in words: torch's zip writer reports a full disk as
    "[enforce fail at inline_container.cc:...] ... file write failed"."""
    try:
        torch.save(state, tmp)
    except RuntimeError as exc:
        if "write failed" not in str(exc) and "enforce fail" not in str(exc):
            raise
        if shutil.disk_usage(Path(tmp).parent).free < NEARLY_FULL_BYTES:
            raise OSError(errno.ENOSPC, "no space left on the device") from None
        raise OSError(errno.EIO, "the file could not be written") from None


def read_session_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The raw saved state; SessionFileError with a one-line reason when it is not a usable session."""
    path = Path(path)
    if not path.is_file():
        raise SessionFileError(f"{path}: no such session file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated, corrupt, or not a torch file at all
        raise SessionFileError(f"{path.name}: not a readable DIP Studio session ({type(exc).__name__})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise SessionFileError(f"{path.name}: not a DIP Studio session file")
    if state.get("version") != VERSION:
        raise SessionFileError(f"{path.name}: session format version {state.get('version')} is not supported by this version")
    return state


def load_session(path: str | os.PathLike[str], device: str = "auto", precision: str = "auto",
                 host_memory: str = "auto") -> tuple[Session, dict[str, Any]]:
    """Rebuild a saved session on ``device``; returns it and the raw state (monitor, source)."""
    state = read_session_file(path)
    try:
        problem = Problem.from_state(state["problem"])
        preset = preset_from_dict(state["preset"])
        saved = state["session"]
        session = Session(problem, preset, seed=saved["seed"], device=device, precision=precision,
                          host_memory=host_memory, execution=Execution(plain_network=state["plain_network"]))
        session.load_state_dict(saved)
    except DipError:
        raise
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise SessionFileError(f"{Path(path).name}: the saved session is damaged ({type(exc).__name__}: {exc})") from None
    return session, state


def restore_monitor(monitor: RunMonitor, state: dict[str, Any]) -> None:
    """Give a fresh RunMonitor the saved timeline and stop detector, when the file has them."""
    if state.get("monitor") is not None:
        monitor.load_state_dict(state["monitor"])


def photo_facts(photo: LoadedImage, **extra: Any) -> dict[str, Any]:
    """The ``source`` of a saved session: what a resumed run needs to save the same kind of file
    (bit depth, grey, alpha) and to protect the same input, plus any ``extra`` entries."""
    alpha = None if photo.alpha is None else torch.from_numpy(np.ascontiguousarray(photo.alpha))
    metadata = photo.metadata or PhotoMetadata()
    return {"input": str(photo.path) if photo.path else None, "bit_depth": photo.bit_depth, "grey": photo.grey,
            "alpha": alpha, "icc_profile": _bytes_tensor(metadata.icc_profile), "exif": _bytes_tensor(metadata.exif),
            **extra}


def _bytes_tensor(data: bytes | None) -> torch.Tensor | None:
    """Bytes as a tensor: a session file holds tensors and plain values only (it is loaded weights-only)."""
    return None if data is None else torch.frombuffer(bytearray(data), dtype=torch.uint8)


def _tensor_bytes(tensor: torch.Tensor | None) -> bytes | None:
    return None if tensor is None else bytes(tensor.numpy().tobytes())


def saved_photo(session: Session, source: dict[str, Any]) -> LoadedImage:
    """The input photo of a loaded session as the CLI and the window use it (3 channels, file facts)."""
    problem = session.problem
    observed = problem.full if problem.full is not None else problem.observed
    rgb = three_channels(observed)
    alpha, name = source.get("alpha"), source.get("input")
    profile, exif = _tensor_bytes(source.get("icc_profile")), _tensor_bytes(source.get("exif"))
    metadata = PhotoMetadata(profile, exif) if profile is not None or exif is not None else None
    return LoadedImage(rgb, None if alpha is None else alpha.numpy(), source.get("bit_depth", 8),
                       bool(source.get("grey", False)), Path(name) if name else None, metadata)


class Checkpointer:
    """Saves a running session to ``path`` every ``every`` seconds and when asked (atomically).

    A failed save never ends the run: ``save`` returns the reason (None when written) for the caller
    to report. ``source`` may be a function, for facts that change during the run (a plot history).
    """

    def __init__(self, path: str | os.PathLike[str] | None, every: float, session: Session, monitor: RunMonitor | None,
                 source: dict[str, Any] | Callable[[], dict[str, Any]]) -> None:
        self.path = None if path is None else Path(path)
        self.every, self.session, self.monitor, self.source = every, session, monitor, source
        self._last = time.monotonic()

    def due(self) -> bool:
        return self.path is not None and time.monotonic() - self._last >= self.every

    def save(self) -> str | None:
        """Write now; None when written (or nowhere to write), else why not."""
        if self.path is None:
            return None
        self._last = time.monotonic()
        source = self.source() if callable(self.source) else self.source
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            save_session(self.path, self.session, self.monitor, source)
        except Exception as exc:  # whatever the cause (disk full, a device error), the run goes on
            if isinstance(exc, OSError) and exc.strerror:
                return exc.strerror
            return str(exc) or type(exc).__name__
        return None
