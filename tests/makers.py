"""Test inputs made in code (photos, a tiny network), so no test depends on files outside the repository."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import torch

from dip_gui.core.networks import SkipSpec

#: A network small enough for a test to run hundreds of iterations in a second.
TINY_NET = SkipSpec(channels_down=(8, 8, 8), channels_up=(8, 8, 8), channels_skip=(2, 2, 2))


def smooth_image(height: int = 32, width: int = 32, seed: int = 0) -> np.ndarray:
    """A photo-like test image: smooth gradients and a few soft shapes, HxWx3 float32."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.stack([xs / max(width - 1, 1), ys / max(height - 1, 1), 0.5 + 0.0 * xs], axis=2)
    for _ in range(3):
        cy, cx, r = rng.uniform(0, height), rng.uniform(0, width), rng.uniform(4, 10)
        blob = np.exp(-((ys - cy) ** 2 + (xs - cx) ** 2) / (2 * r * r))
        image += blob[:, :, None] * rng.uniform(-0.4, 0.4, size=3)
    return np.clip(image, 0.0, 1.0).astype(np.float32)


def striped_photo(size: int = 96) -> np.ndarray:
    """Smooth shading under sharp, repeating stripes: the edges a blur destroys and NLM keeps."""
    stripes = ((np.arange(size) // 4) % 2).astype(np.float32)[None, :, None] * 0.4
    return np.clip(smooth_image(size, size) * 0.6 + stripes, 0, 1).astype(np.float32)


@contextlib.contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Torch runs with ``count`` threads inside (as a process started with OMP_NUM_THREADS=count):
    the last bit of a CPU result depends on it."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)
