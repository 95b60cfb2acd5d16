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
        """``image`` (0-1) through F, in its own shape, float32."""
        return np.interp(image, self.grid, self.curve).astype(np.float32)

    def inverse(self, image: np.ndarray) -> np.ndarray:
        """F's inverse (values beyond 0-1 held at its ends), in ``image``'s shape, float32."""
        return np.interp(image, self.curve, self.grid).astype(np.float32)
