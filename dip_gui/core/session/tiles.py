"""Photos too large for the device: restore overlapping tiles one at a time and blend them.

Each tile is an ordinary Session on a crop (so memory is that of one tile). Neighbouring tiles
overlap by ``overlap`` pixels and are blended with raised-cosine weights that fall from 1 to 0
across the overlap and are normalised to sum to one everywhere: where two tiles agree the blend is
exact, where they differ slightly the change is spread over the whole overlap, so no seam shows.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from dip_gui.core.errors import InvalidParameterError, MaskError
from dip_gui.core.problem.choices import Task
from dip_gui.core.problem.presets import Preset
from dip_gui.core.problem.tasks import make_problem
from dip_gui.core.session.checkpoint import Checkpointer, restore_monitor
from dip_gui.core.session.handed_back import handed_back
from dip_gui.core.session.run_loop import EndReason, RunLoop
from dip_gui.core.session.session import Session
from dip_gui.core.session.tile_checkpoint import load_tile_progress, run_fingerprint, tile_source
from dip_gui.core.stopping.monitor import RunMonitor

#: Below this overlap the raised-cosine ramp is too short to hide a difference between tiles.
MIN_OVERLAP = 8


class TilesInterrupted(KeyboardInterrupt):
    """Ctrl+C during a tiled run. ``image`` keeps what is done: the finished tiles, the one in
    progress at its last step, and the photo itself (upscaled for SR) where no tile ran yet."""

    def __init__(self, image: np.ndarray, reached: int, total: int) -> None:
        super().__init__(f"interrupted in tile {reached} of {total}")
        self.image, self.reached, self.total = image, reached, total


@dataclass(frozen=True)
class Tile:
    top: int
    left: int
    height: int
    width: int

    def window(self, scale: int = 1) -> tuple[slice, slice]:
        return (slice(self.top * scale, (self.top + self.height) * scale),
                slice(self.left * scale, (self.left + self.width) * scale))


def plan_tiles(height: int, width: int, tile: int, overlap: int) -> list[Tile]:
    """Tiles of at most ``tile`` pixels a side covering the photo, neighbours sharing ``overlap``."""
    if tile <= 2 * overlap:
        raise InvalidParameterError(f"--tile {tile} must be more than twice the overlap ({overlap})")
    tops, lefts = _starts(height, tile, overlap), _starts(width, tile, overlap)
    return [Tile(top, left, min(tile, height - top), min(tile, width - left)) for top in tops for left in lefts]


def _starts(length: int, tile: int, overlap: int) -> list[int]:
    if length <= tile:
        return [0]
    count = math.ceil((length - overlap) / (tile - overlap))
    step = (length - tile) / (count - 1)  # spread evenly: every overlap is at least ``overlap``
    return [round(i * step) for i in range(count)]


def blend_weight(tile: Tile, size: tuple[int, int], overlap: int, scale: int = 1) -> np.ndarray:
    """Raised-cosine weight of a tile (output pixels): 1 inside, falling to 0 across each side that
    has a neighbour; sides on the photo's border stay at 1."""
    def ramp(length: int, start: int, total: int) -> np.ndarray:
        weight = np.ones(length * scale, np.float64)
        fade = min(overlap * scale, length * scale // 2)
        if fade == 0:
            return weight
        rising = 0.5 - 0.5 * np.cos(np.pi * (np.arange(fade) + 0.5) / fade)
        if start > 0:
            weight[:fade] = rising
        if start + length < total:
            weight[-fade:] = np.minimum(weight[-fade:], rising[::-1])
        return weight

    return np.outer(ramp(tile.height, tile.top, size[0]), ramp(tile.width, tile.left, size[1]))


def blend(tiles: list[Tile], results: list[np.ndarray], size: tuple[int, int], overlap: int, scale: int = 1) -> np.ndarray:
    """The photo from its tiles' results (HxWxC each, ``scale`` times the tile), weights normalised."""
    channels = results[0].shape[2]
    total = np.zeros((size[0] * scale, size[1] * scale, channels), np.float64)
    weights = np.zeros(total.shape[:2], np.float64)
    for tile, result in zip(tiles, results):
        weight = blend_weight(tile, size, overlap, scale)
        rows, cols = tile.window(scale)
        total[rows, cols] += result * weight[:, :, None]
        weights[rows, cols] += weight
    return (total / np.maximum(weights, 1e-12)[:, :, None]).astype(np.float32)


def run_tiled(task: str, image: np.ndarray, preset: Preset, *, tile: int, overlap: int, seed: int = 0,
              device: str = "auto", grey: bool = False, scale: int | None = None, blur: float = 0.0,
              mask: np.ndarray | None = None, guide: np.ndarray | None = None, max_seconds: float | None = None,
              auto_stop: bool = True,
              progress: Callable[[int, int, Session], None] | None = None,
              checkpoint: str | os.PathLike[str] | None = None, checkpoint_every: float = 60.0) -> np.ndarray:
    """Restore ``image`` tile by tile; returns the blended result (HxWx3 float32, output size).

    ``max_seconds`` (optimisation time, as for one run) is shared equally between the tiles, and each
    tile is a ``RunLoop`` with its share as its budget; with ``auto_stop`` each tile ends at its own
    stop detector's suggestion and gives its result there. Inpainting tiles without a hole are kept
    as they are (there is nothing to fill). With ``checkpoint`` the run is saved there every
    ``checkpoint_every`` seconds and at each tile's end, and a run given a checkpoint of the same
    photo and settings continues from it (core/session/tile_checkpoint.py).
    """
    if overlap < MIN_OVERLAP:
        raise InvalidParameterError(f"the tile overlap must be at least {MIN_OVERLAP} pixels, not {overlap}")
    size = image.shape[:2]
    tiles = plan_tiles(size[0], size[1], tile, overlap)
    factor = scale if Task.parse(task, "task").changes_size and scale else 1
    budget = None if max_seconds is None else max_seconds / len(tiles)
    # what changes a tile's result; not --max-seconds: a run that ran out of time may go on with more
    settings = {"task": task, "preset": preset.to_dict(), "tile": tile, "overlap": overlap, "seed": seed, "grey": grey,
                "scale": scale, "auto_stop": auto_stop, **({"blur": blur} if blur else {})}
    fingerprint = run_fingerprint({"image": image, "mask": mask, "guide": guide}, settings)
    saved = None if checkpoint is None else load_tile_progress(checkpoint, fingerprint, device)
    results: list[np.ndarray] = [] if saved is None else saved.done
    for index, piece in enumerate(tiles):
        if index < len(results):
            continue  # done before the checkpoint was written
        rows, cols = piece.window()
        crop_mask = None if mask is None else mask[rows, cols]
        if crop_mask is not None and crop_mask.min() >= 1.0:
            results.append(image[rows, cols])  # no hole in this tile
            continue
        if saved is not None and saved.index == index:
            session, monitor = saved.session, RunMonitor(saved.session, snapshots=False)
            restore_monitor(monitor, saved.state)
        else:
            session, monitor = _tile_session(task, image, piece, index, len(tiles), preset, seed, device, grey,
                                             (scale, blur), crop_mask, guide)
        saver = Checkpointer(checkpoint, checkpoint_every, session, monitor, tile_source(fingerprint, index, results))
        ended = auto_stop and monitor.suggestion is not None  # ended at its suggestion before the checkpoint
        loop = RunLoop(session, monitor, until=session.iteration if ended else None, budget_s=budget,
                       auto_stop=auto_stop, checkpoint=saver)
        try:
            for _ in loop.steps():
                if progress is not None:
                    progress(index, len(tiles), session)
        except KeyboardInterrupt:  # between steps; the loop ends a step's own interrupt itself
            loop.interrupt()
        results.append(handed_back(session, monitor, auto_stop).image)
        if loop.outcome.reason is EndReason.INTERRUPTED:
            untouched = [_as_output(image[piece.window()], factor) for piece in tiles[index + 1:]]
            raise TilesInterrupted(blend(tiles, results + untouched, size, overlap, factor), index + 1, len(tiles))
    return blend(tiles, results, size, overlap, factor)


def _tile_session(task: str, image: np.ndarray, piece: Tile, index: int, count: int, preset: Preset, seed: int,
                  device: str, grey: bool, sampling: tuple[int | None, float], crop_mask: np.ndarray | None,
                  guide: np.ndarray | None) -> tuple[Session, RunMonitor]:
    """A new session (and its monitor) for tile ``index``; its seed is the run's plus the index;
    ``sampling``: super-resolution's scale and camera blur."""
    rows, cols = piece.window()
    scale, blur = sampling
    try:
        problem = make_problem(task, image[rows, cols], grey=grey, scale=scale, blur=blur, mask=crop_mask,
                               guide=None if guide is None else guide[rows, cols])
    except MaskError as exc:
        raise MaskError(f"tile {index + 1} of {count}: {exc}; use larger tiles") from None
    session = Session(problem, preset, seed=seed + index, device=device)
    return session, RunMonitor(session, snapshots=False)


def _as_output(crop: np.ndarray, factor: int) -> np.ndarray:
    """A tile no run reached, at the output's size (bicubic for SR)."""
    if factor == 1:
        return crop
    height, width = crop.shape[:2]
    return cv2.resize(crop, (width * factor, height * factor), interpolation=cv2.INTER_CUBIC)
