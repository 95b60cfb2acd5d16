"""Shared fixtures: tiny images and networks so the suite stays fast on 2 CPU cores."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from dip_gui.core.networks import SkipSpec
from dip_gui.core.presets import Preset

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


@pytest.fixture
def tiny_preset() -> Preset:
    return Preset("denoise", "tiny", "test", TINY_NET, input_depth=4, reg_noise_std=0.03, lr=0.01, iterations=20, ema=0.9)


@pytest.fixture
def image32() -> np.ndarray:
    return smooth_image(32, 32)
