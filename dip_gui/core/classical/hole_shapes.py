"""Known pixels shaped like the holes: where a fill, or the network, can be judged without the clean
photo. The holes shifted onto known pixels keep their shapes (thin strokes stay thin strokes, a blob
stays a blob), so a predictor's error there resembles its error in the holes. Used by the holdout
(core/stopping/holdout.py), which judges the network against the fill during a run, and by the
choice of the fill itself (warm_start.classical_fill)."""

from __future__ import annotations

import cv2
import numpy as np

#: At most this fraction of the known pixels is hidden: the fit loses them.
MAX_HIDDEN_FRACTION = 0.1
#: Copies of the holes hidden (each shifted elsewhere). Two judged a single blob in more places but
#: cost kate's text 0.4 dB at 3000 iterations by hiding twice as much (docs/presets.md).
COPIES = 1
#: Fewer hidden pixels than this tell nothing reliable: no holdout then.
MIN_HIDDEN_PIXELS = 64
#: Holes strewn over the whole photo (missing pixels at random, restoration) leave almost no known
#: pixel ``GAP_TO_HOLES`` away from them: below this fraction of known pixels, the holdout hides
#: known pixels picked at random instead of shifted copies of the holes (30% missing: ~1.5%).
SCATTERED_BELOW = 0.1
#: Keeps the random pick apart from other draws made with the run's seed (see ``_random_pixels``).
RANDOM_PIXELS_STREAM = 0x4F1D
#: Hidden pixels keep this distance (px) from the holes, so that a hidden stroke beside a hole does
#: not make one hole twice as wide for the fill it is judged by.
GAP_TO_HOLES = 2


def holdout_mask(known: np.ndarray, seed: int = 0) -> np.ndarray | None:
    """Known pixels shaped like the holes (HxW bool), or None where no useful set fits.

    The holes, shifted by about their own size in the directions that land most of them on known
    pixels (``COPIES`` of them), keep their shapes (thin strokes stay thin strokes, a blob stays a
    blob), so the fill's and the network's errors there resemble their errors in the holes. Whole
    shifted components are dropped at random (seeded) until at most ``MAX_HIDDEN_FRACTION`` of the
    known pixels are hidden. Holes strewn over the whole photo get a random sample of known pixels
    instead (``SCATTERED_BELOW``).
    """
    known = known.astype(bool)
    holes = ~known
    if not holes.any() or not known.any():
        return None
    apart = _apart_from_holes(known)
    if _few_apart(apart, known):
        return _random_pixels(known, seed)
    shifted = _shifted_copies(holes, apart)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(shifted.astype(np.uint8), connectivity=8)
    budget = MAX_HIDDEN_FRACTION * known.sum()
    order = np.random.default_rng(seed).permutation(np.arange(1, count))
    keep, total = [], 0
    for label in order:
        area = int(stats[label, cv2.CC_STAT_AREA])
        if total + area <= budget:
            keep.append(label)
            total += area
    if total < MIN_HIDDEN_PIXELS:
        return None
    return np.isin(labels, keep)


def holes_are_scattered(known: np.ndarray) -> bool:
    """Whether the holes are strewn over the whole photo (restoration), leaving fewer than
    ``SCATTERED_BELOW`` of the known pixels ``GAP_TO_HOLES`` away from them."""
    known = known.astype(bool)
    return bool((~known).any() and _few_apart(_apart_from_holes(known), known))


def _apart_from_holes(known: np.ndarray) -> np.ndarray:
    return known & (cv2.distanceTransform(known.astype(np.uint8), cv2.DIST_L2, 3) > GAP_TO_HOLES)


def _few_apart(apart: np.ndarray, known: np.ndarray) -> bool:
    """The scattered-holes test: fewer than ``SCATTERED_BELOW`` of the known pixels are apart from holes."""
    return bool(apart.sum() < SCATTERED_BELOW * known.sum())


def _random_pixels(known: np.ndarray, seed: int) -> np.ndarray | None:
    """``MAX_HIDDEN_FRACTION`` of the known pixels, picked at random, or None if too few. For holes
    strewn over the whole photo (restoration), where a hidden known pixel is as alone among known
    neighbours as a missing pixel is. The draw has a stream of its own: a mask drawn with
    ``np.random.default_rng(seed)`` (degradations.random_known_mask, the same seed as the run's)
    would otherwise be hidden from exactly where it is known."""
    draw = np.random.default_rng((seed, RANDOM_PIXELS_STREAM)).random(known.shape)
    hidden = known & (draw < MAX_HIDDEN_FRACTION)
    return hidden if hidden.sum() >= MIN_HIDDEN_PIXELS else None


def _shifted_copies(holes: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """The holes moved (with wrap-around) to where each copy adds the most allowed pixels, cut to those."""
    size = _typical_hole_size(holes)
    steps = [factor * size for factor in (1, 2, 3)]
    candidates = [np.roll(holes, (dy, dx), axis=(0, 1)) & allowed
                  for step in steps for dy, dx in ((step, 0), (0, step), (step, step), (-step, step))]
    union = np.zeros_like(holes)
    for _ in range(COPIES):
        gains = [int((moved & ~union).sum()) for moved in candidates]
        best = int(np.argmax(gains))
        if gains[best] == 0:
            break
        union |= candidates.pop(best)
    return union


def _typical_hole_size(holes: np.ndarray) -> int:
    """About twice the width of the holes (pixels): the shift that clears a hole of itself."""
    distance = cv2.distanceTransform(holes.astype(np.uint8), cv2.DIST_L2, 3)
    return max(4, int(2 * np.percentile(distance[holes], 90)) + 2)
