"""Gaussian noise clipped at black and white, as a photo file holds it.

A pixel of brightness ``x`` (0-1) with noise of level ``sigma`` is stored as ``clip(x + sigma n)``.
Where ``x`` is within a few ``sigma`` of black or white the clip shifts the pixel's mean towards the
middle and narrows its spread: on scikit-image's ``hubble_deep_field`` (a 256 px crop, mostly black
sky) at sigma 50, 38% of the values are clipped and the noise reads as 34.9 (the level under the
clip: 44.9, ``benchmarks/start_check.py``); the mean of pure black is lifted by 20 grey levels.
The start check (``stopping/start_check.py``) needs the level under the clip, to give its copy noise
as strong as the photo's, and the lift, to judge against the clean photo rather than against the
lifted one (docs/stopping.md, "Noise clipped at black and white").
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

_ROOT_TWO_PI = np.sqrt(2.0 * np.pi)
#: Brightness samples ``underlying_sigma`` reads (a stride through the photo): enough to set the
#: share of clipped pixels to a fraction of a percent.
_SAMPLES = 50_000
#: Bisection steps of ``underlying_sigma``: the level to 1e-12 of its bracket.
_STEPS = 40


def clipped_moments(clean: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """The mean and variance of ``clip(clean + sigma n, 0, 1)`` for n ~ N(0, 1), per element
    (``clean`` in 0-1, ``sigma`` > 0 on the 0-1 scale), float64."""
    x = np.clip(np.asarray(clean, dtype=np.float64), 0.0, 1.0)
    low, high = -x / sigma, (1.0 - x) / sigma  # black and white in units of the noise
    under_low, under_high = ndtr(low), ndtr(high)
    density_low, density_high = np.exp(-low * low / 2) / _ROOT_TWO_PI, np.exp(-high * high / 2) / _ROOT_TWO_PI
    inside = under_high - under_low
    mean = (1.0 - under_high) + x * inside + sigma * (density_low - density_high)
    second = ((1.0 - under_high) + x * x * inside + 2.0 * x * sigma * (density_low - density_high)
              + sigma * sigma * (inside + low * density_low - high * density_high))
    return mean, np.maximum(second - mean * mean, 0.0)


def clipping_lift(clean: np.ndarray, sigma: float) -> np.ndarray:
    """How far the clip moves each pixel's mean, ``E[clip(clean + sigma n)] - clean``, float32:
    up near black, down near white, about nothing in between."""
    mean, _ = clipped_moments(clean, sigma)
    return (mean - np.clip(clean, 0.0, 1.0)).astype(np.float32)


def underlying_sigma(clean: np.ndarray, read: float) -> float:
    """The level of the noise before the clip (0-1 scale) whose clipped spread over the pixels of
    ``clean`` (an estimate of the clean photo) averages to ``read``, the level read from the noisy
    photo. Equal to ``read`` where nothing is near black or white; up to 4x it where all is."""
    if read <= 0:
        return 0.0
    values = np.asarray(clean, dtype=np.float64).ravel()
    values = values[:: max(1, values.size // _SAMPLES)]
    target = read * read

    def spread(sigma: float) -> float:
        return float(clipped_moments(values, sigma)[1].mean())

    low, high = read, 4.0 * read
    if spread(high) < target:
        return high
    for _ in range(_STEPS):
        middle = (low + high) / 2
        low, high = (middle, high) if spread(middle) < target else (low, middle)
    return (low + high) / 2


__all__ = ["clipped_moments", "clipping_lift", "underlying_sigma"]
