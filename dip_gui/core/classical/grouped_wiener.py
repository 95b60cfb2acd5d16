"""Wiener filtering of groups of similar blocks (BM3D's second step), over a pilot estimate.

Where ``wiener.py`` shrinks each 8x8 block's DCT alone, this stacks every reference block with its
most similar blocks nearby (found on the pilot's luma, so the noise does not steer the matching) and
shrinks the group's 3-D transform: a detail that repeats across the group (an edge, a stripe, a
letter) is one strong coefficient, and the noise spreads thin. The groups found on luma serve the
colour channels too (CBM3D). Dabov, Foi, Katkovnik and Egiazarian, "Image denoising by sparse 3-D
transform-domain collaborative filtering", IEEE TIP 2007; the parameters are smaller than theirs for
speed (a 25 px search instead of 39, 16 blocks a group instead of 32, a reference block every 4 px
instead of 3).

Measured after non-local means and ``wiener.py``'s pass as the pilot, sigma 25 (dB):
F16 31.59 -> 32.26, barbara 31.93 -> 32.72, zebra 29.17 -> 29.60. About linear in the pixel count,
so larger photos than ``MAX_PIXELS`` skip it. The denoiser's whole start at 512 px on the 2-core
CPU: 2.4 s (8.6 s at 1024 px): OpenCV's integral image in the block search, the groups' worst slot kept up to
date instead of searched for every offset, the colour planes filtered in threads.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np

from dip_gui.core.classical.wiener import BLOCK, dct_matrix, wiener_gains

#: Reference blocks every STEP px (BM3D: 3); measured at sigma 25, F16 / barbara: STEP 3 32.26 / 32.72
#: dB in 5.7 s, STEP 4 32.24 / 32.71 in 3.9-4.2 s; RADIUS 8 -0.05 dB, GROUP 8 -0.12 dB on F16.
STEP, RADIUS, GROUP = 4, 12, 16  # blocks of wiener.BLOCK (8) px
#: Photos above this many pixels keep the block-by-block pass alone (the search would take minutes).
MAX_PIXELS = 2_000_000
#: Reference blocks filtered at once: bounds the group arrays (~4 KB each per array).
CHUNK = 4096


def grouped_wiener(noisy: list[np.ndarray], pilot: list[np.ndarray],
                   noise_sigmas: Sequence[float]) -> list[np.ndarray]:
    """Planes (opponent channels, luma first; H x W, 0-1) filtered in groups matched on the pilot's
    first plane; ``noise_sigmas``: each plane's noise on the 0-1 scale. Too small or noise-free: the
    pilot's planes."""
    height, width = noisy[0].shape
    if max(noise_sigmas) <= 0 or min(height, width) < BLOCK + 2 * STEP:
        return pilot
    rows, cols = matched_blocks(pilot[0].astype(np.float32))

    def filtered(plane: tuple[np.ndarray, np.ndarray, float]) -> np.ndarray:
        noisy_plane, pilot_plane, sigma = plane
        if sigma <= 0:
            return pilot_plane
        return _filter_plane(np.asarray(noisy_plane, np.float32), np.asarray(pilot_plane, np.float32), rows, cols,
                             sigma)

    # numpy lets go of the GIL in the heavy steps: the planes share the cores (1.7 -> 0.9-1.4 s on 2)
    with ThreadPoolExecutor(max_workers=min(len(noisy), os.cpu_count() or 1)) as pool:
        return list(pool.map(filtered, zip(noisy, pilot, noise_sigmas)))


def _reference_grid(size: int) -> np.ndarray:
    starts = np.arange(0, size - BLOCK + 1, STEP)
    return starts if starts[-1] == size - BLOCK else np.append(starts, size - BLOCK)  # the last block too


def matched_blocks(plane: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every reference block (a STEP grid), the top-left corners (rows, cols: refs x GROUP) of
    the GROUP blocks within RADIUS most similar to it (squared distance; itself among them)."""
    height, width = plane.shape
    grid_rows, grid_cols = np.meshgrid(_reference_grid(height), _reference_grid(width), indexing="ij")
    ref_rows, ref_cols = grid_rows.ravel(), grid_cols.ravel()
    count = ref_rows.size
    best = np.full((count, GROUP), np.inf, np.float32)
    best[:, 0] = 0.0  # the reference itself, always in its group (a tie at 0 never displaces it)
    rows = np.repeat(ref_rows[:, None], GROUP, axis=1).astype(np.int32)
    cols = np.repeat(ref_cols[:, None], GROUP, axis=1).astype(np.int32)
    # each group's worst slot, kept up to date for the groups that change (a full argmax per offset
    # took a third of the search)
    worst = best.argmax(axis=1)
    worst_distance = best[np.arange(count), worst]
    for dy in range(-RADIUS, RADIUS + 1):
        for dx in range(-RADIUS, RADIUS + 1):
            if dy == dx == 0:
                continue
            distance = _shifted_distances(plane, dy, dx, ref_rows, ref_cols)
            better = np.nonzero(distance < worst_distance)[0]
            slot = worst[better]
            best[better, slot] = distance[better]
            rows[better, slot] = ref_rows[better] + dy
            cols[better, slot] = ref_cols[better] + dx
            worst[better] = best[better].argmax(axis=1)
            worst_distance[better] = best[better, worst[better]]
    return rows, cols


def _shifted_distances(plane: np.ndarray, dy: int, dx: int, ref_rows: np.ndarray, ref_cols: np.ndarray) -> np.ndarray:
    """Squared distance of each reference block to the block (dy, dx) away (inf outside the photo),
    all at once from an integral image of the squared difference of the photo and its shift.

    OpenCV's integral (float64 sums, as numpy's two cumulative sums were) takes 0.45 ms at 512 px
    where the cumulative sums took 1.6: this runs once per offset in the search, 624 times."""
    height, width = plane.shape
    top, bottom, left, right = max(0, -dy), min(height, height - dy), max(0, -dx), min(width, width - dx)
    squares = np.zeros((height, width), np.float32)
    difference = plane[top:bottom, left:right] - plane[top + dy:bottom + dy, left + dx:right + dx]
    squares[top:bottom, left:right] = np.square(difference)
    integral = cv2.integral(squares, sdepth=cv2.CV_64F)
    y, x = ref_rows, ref_cols
    sums = integral[y + BLOCK, x + BLOCK] - integral[y, x + BLOCK] - integral[y + BLOCK, x] + integral[y, x]
    inside = (y + dy >= 0) & (y + dy <= height - BLOCK) & (x + dx >= 0) & (x + dx <= width - BLOCK)
    return np.where(inside, sums, np.inf).astype(np.float32)


def _filter_plane(noisy: np.ndarray, pilot: np.ndarray, rows: np.ndarray, cols: np.ndarray, sigma: float) -> np.ndarray:
    height, width = noisy.shape
    total = np.zeros(height * width)
    weights = np.zeros(height * width)
    inside = (np.arange(BLOCK)[:, None] * width + np.arange(BLOCK)[None, :]).ravel()
    for first in range(0, rows.shape[0], CHUNK):
        corners = rows[first:first + CHUNK].astype(np.int64) * width + cols[first:first + CHUNK]
        pixels = (corners[:, :, None] + inside).reshape(-1)  # refs x GROUP x 64
        estimate, weight = _filtered_groups(noisy.ravel()[pixels], pilot.ravel()[pixels], sigma)
        per_pixel = np.repeat(weight, GROUP * BLOCK * BLOCK)  # each group's weight on each of its pixels
        low = int(pixels.min())  # count only over the span these groups touch
        span = int(pixels.max()) - low + 1
        total[low:low + span] += np.bincount(pixels - low, estimate * per_pixel, span)
        weights[low:low + span] += np.bincount(pixels - low, per_pixel, span)
    return (total / np.maximum(weights, 1e-12)).reshape(height, width)


def _filtered_groups(noisy: np.ndarray, pilot: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Groups (flat, refs x GROUP x 64) through the 3-D DCT, shrunk by the pilot's spectrum, and
    back (flat, unweighted); with each group's aggregation weight (inverse remaining noise variance)."""
    spatial, across = dct_matrix(BLOCK).astype(np.float32), dct_matrix(GROUP).astype(np.float32)

    def forward(groups: np.ndarray) -> np.ndarray:
        blocks = groups.reshape(-1, GROUP, BLOCK, BLOCK)
        return np.matmul(across, (spatial @ blocks @ spatial.T).reshape(-1, GROUP, BLOCK * BLOCK))

    shrink, weight = wiener_gains(forward(pilot), sigma, axes=(1, 2))
    shrunk = np.matmul(across.T, shrink * forward(noisy)).reshape(-1, GROUP, BLOCK, BLOCK)
    estimate = spatial.T @ shrunk @ spatial
    return estimate.reshape(-1), weight
