"""Warm starts: a cheap classical estimate the network refines (fast presets only).

On a CPU, plain DIP spends its first few hundred iterations learning the colours and coarse
shapes of the photo. A warm start hands it those: the output is ``base + f(z)`` with the last
layer of f initialised to zero, so iteration 0 already shows the classical estimate and the deep
prior adds the detail. The data term is unchanged (||A(base + f(z)) - y||^2), so the result still
has to explain the observation; stopping early still matters for noise.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from dip_gui.core.classical.back_projection import START_ROUNDS, refine
from dip_gui.core.classical.denoise import non_local_means, profiled_start
from dip_gui.core.classical.hole_fills import FILL_METHODS, FillChoice, chosen_fill, telea_fill
from dip_gui.core.problem.photo_traits import estimate_noise_sigma
from dip_gui.core.problem.presets import BASES, FILLS
from dip_gui.core.problem.tasks import Problem, to_numpy, to_tensor


def warm_start(problem: Problem, kind: str, sigma: float, fill_method: str | None = None) -> np.ndarray:
    """The base image HxWxC (output size) for ``kind``: blur | upsample | fill | nlm (``sigma`` is the
    blur's, in pixels, also over the upscale and the fills; nlm reads the noise's levels from the photo;
    ``fill_method``: a ``fill``'s method, else chosen for the problem's mask)."""
    observed = problem.observed_pixels()
    if kind == "blur":
        base = gaussian_blur(observed, sigma)
    elif kind == "upsample":
        base = gaussian_blur(back_projected_upscale(observed, problem), sigma)
    elif kind == "nlm":
        base = profiled_start(observed)
    elif kind in FILLS:
        base = fill_holes(kind, observed, problem.mask, sigma, fill_method)
    else:
        raise ValueError(f"unknown warm start {kind!r}; expected one of {BASES}")
    base = base.reshape(problem.out_size[0], problem.out_size[1], -1)
    return np.clip(base, 0.0, 1.0).astype(np.float32)


#: Up to this noise level (0-255 scale) the preset's blur is right; above it the blur grows.
#: Measured (fast denoiser, 300 iterations, 192 px crops of the paper's photos): at sigma 50 a
#: 1.4-1.5 px blur instead of 1.0 gave +2.1 dB (F16) and +1.1 dB (barbara); at sigma 25 a slightly
#: larger blur lost 0.2 dB on barbara, whose texture makes the noise estimate read high (28.8).
ADAPT_ABOVE_SIGMA = 30.0
ADAPT_SLOPE = 0.02  # px of blur per unit of sigma
MAX_BLUR = 2.5


def adapted_blur_sigma(image: np.ndarray, base_sigma: float) -> float:
    """The preset's blur, grown for photos noisier than ``ADAPT_ABOVE_SIGMA`` (never smaller)."""
    extra = ADAPT_SLOPE * (estimate_noise_sigma(image) - ADAPT_ABOVE_SIGMA)
    return float(np.clip(base_sigma + extra, base_sigma, max(MAX_BLUR, base_sigma)))


def back_projected_upscale(observed: np.ndarray, problem: Problem, rounds: int = START_ROUNDS) -> np.ndarray:
    """Bicubic upscale corrected by iterative back-projection under the task's own operator A.

    Bicubic is not what the Lanczos downsampler inverts; a few rounds of x += up(y - A x) make the
    start consistent with the observation, which alone beats bicubic by a fraction of a dB.
    """
    height, width = problem.out_size
    upscale = to_tensor(cv2.resize(observed, (width, height), interpolation=cv2.INTER_CUBIC).reshape(height, width, -1))
    correction = refine(torch.zeros_like(upscale), problem.operator, to_tensor(observed), upscale, rounds)
    return to_numpy(upscale + correction)


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """``image`` blurred by a Gaussian of ``sigma`` px (reflected borders), in its own shape: OpenCV
    drops a trailing channel axis of 1, which a grey photo has."""
    if sigma <= 0:
        return image
    return cv2.GaussianBlur(image, (0, 0), sigma, borderType=cv2.BORDER_REFLECT).reshape(image.shape)


def fill_holes(kind: str, image: np.ndarray, known: np.ndarray | None, sigma: float,
               fill_method: str | None = None) -> np.ndarray:
    """The photo with its holes filled by the method ``kind`` (one of ``FILLS``), then blurred by
    ``sigma`` px, HxWxC; ``fill_method``: a ``fill``'s method (hole_fills.FILL_METHODS), else chosen.
    (A residual preset needs the blur: over a start that matches every known pixel exactly the data
    term is zero, so the network, which starts at zero, never moves.)"""
    if kind == "nlm_fill":
        return gaussian_blur(non_local_means_fill(image, known), sigma)
    return classical_fill(image, known, sigma, fill_method)


#: The rounds of the scattered-pixel fill and its non-local means strength in the first and last
#: (noise sigma, 0-255 scale; geometric steps between). Measured with half and 80% of the pixels
#: missing on five of the paper's photos (docs/presets.md, "Restoration of scattered missing pixels"):
#: 10 rounds from 25 to 3 are within 0.2 dB of 20 rounds in half the time; a strong first round (40)
#: suits barbara's stripes (+1.8 dB) but costs kate and F16 about 1 dB.
NLM_FILL_ROUNDS, NLM_FILL_FIRST, NLM_FILL_LAST = 10, 25.0, 3.0
#: The normalised convolution's Gaussian (px) and the weight under which a pixel has no known
#: neighbours near enough (inside a large hole), where Telea's fill is the start instead.
SPREAD_SIGMA, SPREAD_MIN_WEIGHT = 0.7, 0.05


def non_local_means_fill(image: np.ndarray, known: np.ndarray | None) -> np.ndarray:
    """Missing pixels scattered over the photo (restoration) filled by plug-and-play non-local means.

    The start spreads the known pixels into their missing neighbours (normalised convolution, which
    unlike Telea's method uses every known neighbour); each round then denoises the whole picture
    with non-local means, weaker each time, and puts the known pixels back, so similar patches
    elsewhere in the photo fill in what the neighbours cannot. On the paper's photos with half the
    pixels missing this is 2.3 to 3.7 dB above Telea's fill (docs/presets.md)."""
    if known is None:
        return image
    keep = known[:, :, None] > 0.5
    estimate = _spread_known(image, known)
    for round_ in range(NLM_FILL_ROUNDS):
        strength = NLM_FILL_FIRST * (NLM_FILL_LAST / NLM_FILL_FIRST) ** (round_ / max(NLM_FILL_ROUNDS - 1, 1))
        denoised = non_local_means(np.clip(estimate, 0.0, 1.0).astype(np.float32), strength)
        estimate = np.where(keep, image, denoised)
    return np.clip(estimate, 0.0, 1.0).astype(np.float32)


def _spread_known(image: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Each missing pixel as the Gaussian-weighted mean of its known neighbours; Telea's fill where
    none is near enough."""
    weight = known.astype(np.float32)
    mass = gaussian_blur(image * weight[:, :, None], SPREAD_SIGMA)
    total = gaussian_blur(weight, SPREAD_SIGMA)
    spread = mass / np.maximum(total, 1e-6)[:, :, None]
    lonely = total < SPREAD_MIN_WEIGHT
    if lonely.any():
        spread = np.where(lonely[:, :, None], telea_fill(image, known), spread)
    return np.where(known[:, :, None] > 0.5, image, spread)


def classical_fill(image: np.ndarray, known: np.ndarray | None, sigma: float,
                   method: str | None = None) -> np.ndarray:
    """The ``fill`` start: holes filled by the method (hole_fills.FILL_METHODS) that predicts known
    pixels shaped like the holes best, chosen here when ``method`` is None (hole_fills.chosen_fill),
    then blurred by ``sigma`` px where the fill is Telea's (``blurred_fill``)."""
    method = method or chosen_fill(image, known)
    return blurred_fill(FILL_METHODS[method](image, known), method, sigma)


def fill_as_made(choice: FillChoice, sigma: float) -> np.ndarray:
    """``classical_fill`` of the pixels ``choice.seen`` with the run's method, from the fill the choice made."""
    return blurred_fill(choice.fill_unseen, choice.method, sigma)


def blurred_fill(filled: np.ndarray, method: str, sigma: float) -> np.ndarray:
    """A fill blurred by ``sigma`` px where it is Telea's: the blur smooths its streaks (kate's text:
    40.79 -> 41.32 dB), while the biharmonic fill is smooth already and loses by it (43.96 -> 43.69),
    and the texture fill's texture is what it is for."""
    return gaussian_blur(filled, sigma if method == "telea" else 0.0)
