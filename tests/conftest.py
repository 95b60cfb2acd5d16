"""Shared fixtures: tiny images and networks so the suite stays fast on 2 CPU cores."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from dip_gui.core.problem.presets import Preset
from tests.makers import TINY_NET
from tests.makers import smooth_image as make_smooth_image


@pytest.fixture
def smooth_image():
    """The maker of photo-like test images: ``smooth_image(height, width, seed)`` -> HxWx3 float32."""
    return make_smooth_image


@pytest.fixture
def tiny_preset() -> Preset:
    return Preset("denoise", "tiny", "test", TINY_NET, input_depth=4, reg_noise_std=0.03, lr=0.01, iterations=20, ema=0.9)


@pytest.fixture
def image32() -> np.ndarray:
    return make_smooth_image(32, 32)
