"""A variance-stabilising transform: noise that varies with brightness made even, and back.

A brightness ``t`` whose noise is ``s(t)`` maps to ``F(t) = c * integral_0^t du / s(u)``: a small
change ``d`` in ``t`` moves ``F`` by ``c * d / s(t)``, so the noise comes out as ``c`` at every
brightness. ``c`` is chosen so that ``F`` maps 0-1 onto 0-1. A denoiser made for one noise level
works on ``F(photo)``, and ``F``'s inverse takes its result back (Anscombe's transform does the same
for Poisson noise; this one is read from the photo's own ``NoiseProfile``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Brightness samples of the transform's table (its inverse interpolates the same table).
SAMPLES = 1025


@dataclass(frozen=True, eq=False)
class Stabiliser:
    """``grid``: brightness samples 0-1; ``curve``: F at each, rising from 0 to 1; ``noise``: the
    noise level (0-1 scale) after ``forward`` where the noise follows the shape it was made for."""

    grid: np.ndarray
    curve: np.ndarray
    noise: float

    @classmethod
    def for_levels(cls, centres: np.ndarray, levels: np.ndarray) -> Stabiliser:
        """The transform for noise of ``levels`` (0-1 scale, all above zero) at the brightness
        ``centres``, held level beyond the first and last."""
        grid = np.linspace(0.0, 1.0, SAMPLES)
        inverse_level = 1.0 / np.interp(grid, centres, levels)
        steps = (inverse_level[1:] + inverse_level[:-1]) / 2 * np.diff(grid)  # trapezoids
        integral = np.concatenate([[0.0], np.cumsum(steps)])
        return cls(grid, integral / integral[-1], float(1.0 / integral[-1]))

    def forward(self, image: np.ndarray) -> np.ndarray:
        """``image`` through F, in its own shape, float32. Beyond 0-1 F goes on along its slope at
        the end: a copy of the photo given extra noise (the start check's) reaches past black and
        white, and clipping it there would bias its denoised start against a network fitted to the
        same values (docs/stopping.md, "Denoising: the network against its start")."""
        return _extended(image, self.grid, self.curve)

    def inverse(self, image: np.ndarray) -> np.ndarray:
        """F's inverse (beyond 0-1 along its slope at the ends, as ``forward``), in ``image``'s shape,
        float32."""
        return _extended(image, self.curve, self.grid)


def _extended(values: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """The piecewise-linear function through (``xs``, ``ys``) at ``values``, continued beyond the
    first and last sample along the end segments' slopes."""
    inside = np.interp(values, xs, ys)
    low_slope = (ys[1] - ys[0]) / (xs[1] - xs[0])
    high_slope = (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
    below, above = values < xs[0], values > xs[-1]
    extended = np.where(below, ys[0] + (values - xs[0]) * low_slope, inside)
    extended = np.where(above, ys[-1] + (values - xs[-1]) * high_slope, extended)
    return np.asarray(extended, dtype=np.float32)
