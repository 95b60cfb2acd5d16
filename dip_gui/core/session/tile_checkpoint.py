"""Crash safety for tiled runs: the tiles done and the tile in progress in one session file.

A tiled run given a checkpoint writes, every few seconds and when a tile or the run ends, the session
of the tile in progress (an ordinary session file, ``checkpoint.save_session``) whose ``source`` holds
the results of the tiles before it and a fingerprint of the run: the pixels of the photo, mask and
guide, and every setting that changes a tile's result. The same command run again with the same
checkpoint finds it, checks the fingerprint, keeps the tiles done and continues the tile in progress
from its last saved iteration: the result is the one an uninterrupted run gives, bit for bit on the
same device and thread count.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dip_gui.core.errors import InvalidParameterError
from dip_gui.core.session.checkpoint import load_session, read_session_file
from dip_gui.core.session.session import Session


@dataclass
class TileProgress:
    """What a checkpoint of a tiled run holds: the results of the tiles before ``index`` and the
    session of tile ``index`` with its raw saved state (monitor) to continue it."""

    done: list[np.ndarray]
    index: int
    session: Session
    state: dict[str, Any]


def run_fingerprint(arrays: dict[str, np.ndarray | None], settings: dict[str, Any]) -> str:
    """A digest of the inputs' pixels and the settings: a checkpoint resumes only the run it was made by."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for name in sorted(arrays):
        array = arrays[name]
        digest.update(name.encode())
        if array is not None:
            digest.update(str(array.shape).encode())
            digest.update(np.ascontiguousarray(array, dtype=np.float32).tobytes())
    return digest.hexdigest()


def tile_source(fingerprint: str, index: int, done: list[np.ndarray]) -> dict[str, Any]:
    """The ``source`` saved with tile ``index``'s session."""
    results = [torch.from_numpy(np.ascontiguousarray(result, dtype=np.float32)) for result in done]
    return {"tiles": {"fingerprint": fingerprint, "index": index, "done": results}}


def load_tile_progress(path: str | os.PathLike[str], fingerprint: str, device: str = "auto") -> TileProgress | None:
    """The run's progress saved at ``path``; None where there is no file yet. A file of another run
    (another photo or settings) or of a single run is refused with a line saying so."""
    path = Path(path)
    if not path.exists():
        return None
    tiles = (read_session_file(path).get("source") or {}).get("tiles")
    if not isinstance(tiles, dict):
        raise InvalidParameterError(f"{path.name} is the checkpoint of a run without tiles; resume it with --resume, "
                                    "or choose another --checkpoint")
    if tiles.get("fingerprint") != fingerprint:
        raise InvalidParameterError(f"{path.name} holds a tiled run of another photo or other settings; delete it or "
                                    "choose another --checkpoint")
    session, state = load_session(path, device)
    done = [result.numpy() for result in tiles.get("done", [])]
    return TileProgress(done, int(tiles["index"]), session, state)
