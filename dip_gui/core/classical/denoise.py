"""The fast denoiser's classical start: non-local means and two Wiener passes per opponent-colour
channel, for one noise level or, through a variance-stabilising transform, for noise that varies
with brightness and colour channel (``profiled_start``, the run's start)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from dip_gui.core.classical.grouped_wiener import MAX_PIXELS, grouped_wiener
from dip_gui.core.classical.stabilise import Stabiliser
from dip_gui.core.classical.wiener import wiener_channel
from dip_gui.core.problem.noise_profile import NoiseProfile, estimate_noise_profile

#: An orthonormal opponent-colour transform (luma, red-blue, green-magenta): the noise stays the
#: same in each channel, while the two chroma channels carry little picture, so denoising them
#: separately smooths colour noise much harder than RGB channels would (CBM3D's choice).
OPPONENT = np.array([[1, 1, 1], [1, 0, -1], [0.5, -1, 0.5]]) / np.sqrt(np.array([[3], [2], [1.5]]))
#: Non-local means' patch and search window, and its filter strength per unit of noise sigma.
#: Measured on the paper's four denoising photos at sigma 25 (docs/presets.md, "The start: non-local
#: means and two Wiener passes"): 5 px patches beat OpenCV's default 7 px on all four (+0.1 to +0.4
#: dB); a 35 px search loses 0.3-0.5 dB; strength 0.9-1.1 moves no photo by more than 0.3 dB.
NLM_PATCH, NLM_SEARCH, NLM_STRENGTH = 5, 21, 1.0


def non_local_means(image: np.ndarray, noise_sigma: float) -> np.ndarray:
    """OpenCV's non-local means on each opponent-colour channel, for Gaussian noise of
    ``noise_sigma`` (0-255 scale). Alone it is within 0.05-2.3 dB of the paper preset's peak on the
    paper's photos in about a second (docs/presets.md)."""
    planes = _opponent_planes(image)
    return _from_opponent_planes([_nlm_channel(plane, noise_sigma) for plane in planes], image.shape)


def denoised_start(image: np.ndarray, noise_sigma: float) -> np.ndarray:
    """The fast denoiser's start for noise of one level, ``noise_sigma`` on the 0-255 scale, in every
    channel and at every brightness (``_denoised``)."""
    return _denoised(image, [noise_sigma / 255] * image.shape[2])


def profiled_start(image: np.ndarray, profile: NoiseProfile | None = None) -> np.ndarray:
    """The fast denoiser's start for noise that varies with brightness and channel, as ``profile``
    reads it (None: read from ``image``): the photo through the ``Stabiliser`` made for the profile's
    brightness shape (none where it reads even), where each channel's noise is even, denoised there
    with each opponent plane's own level, and back.

    Measured on 256 px crops of eight photos (``benchmarks/real_noise.py``; docs/quality.md, "Noise
    that varies"), the mean gain over ``denoised_start`` at the photo's one level: phone-like noise,
    strongest in the shadows, +0.6 to +0.7 dB; noise growing with the brightness +0.7 to +1.9 dB;
    even Gaussian noise +0.1 to +0.2 dB, where clipping at black and white weakens the noise in the
    darkest and brightest bands. On the paper's photos at sigma 15-25 barbara loses 0.2 dB, its
    stripes better denoised as hard as the one level's higher reading does (docs/presets.md)."""
    if profile is None:
        profile = estimate_noise_profile(image)
    shape = profile.brightness_shape()
    if profile.even_in_brightness():  # one level: the transform's bends would cost more than it gains
        shape = np.full_like(shape, profile.overall() / 255)
    stabiliser = Stabiliser.for_levels(NoiseProfile.band_centres(), shape)
    channel_noise = profile.channel_scales() * stabiliser.noise
    # an orthonormal transform of independent channels: each plane's variance is the weighted sum
    plane_noise = np.sqrt(np.square(_colour_transform(image.shape[2])) @ np.square(channel_noise))
    return stabiliser.inverse(_denoised(stabiliser.forward(image), list(plane_noise)))


def _denoised(image: np.ndarray, plane_sigmas: Sequence[float]) -> np.ndarray:
    """Per opponent-colour channel, with ``plane_sigmas`` its noise (0-1 scale): non-local means,
    then a Wiener pass in 8x8 DCT blocks with it as the pilot (``wiener.py``), then on photos up to
    ``grouped_wiener.MAX_PIXELS`` a Wiener pass over groups of similar blocks with that as the pilot
    (``grouped_wiener.py``). Each pass adds 0.4-1.2 dB on the paper's photos at sigma 25
    (docs/presets.md)."""
    noisy = _opponent_planes(image)
    pilot = [_nlm_channel(plane, sigma * 255) for plane, sigma in zip(noisy, plane_sigmas)]
    planes = [wiener_channel(plane, guide, sigma) for plane, guide, sigma in zip(noisy, pilot, plane_sigmas)]
    if image.shape[0] * image.shape[1] <= MAX_PIXELS:
        planes = grouped_wiener(noisy, planes, plane_sigmas)
    return _from_opponent_planes(planes, image.shape)


def _opponent_planes(image: np.ndarray) -> list[np.ndarray]:
    """The photo's opponent-colour channels (grey and other channel counts: the channels as they are),
    float64 H x W each; the transform is orthonormal, so each plane keeps the noise level."""
    channels = image.shape[2]
    flat = image.reshape(-1, channels).astype(np.float64) @ _colour_transform(channels).T
    return [flat[:, c].reshape(image.shape[:2]) for c in range(channels)]


def _colour_transform(channels: int) -> np.ndarray:
    """The opponent transform for colour photos; other channel counts stay as they are."""
    return OPPONENT if channels == 3 else np.eye(channels)


def _from_opponent_planes(planes: list[np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
    flat = np.stack([plane.reshape(-1) for plane in planes], axis=1) @ _colour_transform(len(planes))
    return flat.reshape(shape).astype(np.float32)


def _nlm_channel(channel: np.ndarray, noise_sigma: float) -> np.ndarray:
    """One channel through OpenCV's 8-bit non-local means, stretched over the 8 bits first so a
    faint chroma channel keeps its precision (the strength is scaled with it)."""
    low, span = float(channel.min()), float(np.ptp(channel))
    if span < 1e-6 or noise_sigma <= 0:
        return channel
    eight = np.clip((channel - low) / span * 255 + 0.5, 0, 255).astype(np.uint8)
    strength = NLM_STRENGTH * noise_sigma / span  # sigma in the stretched 8-bit units
    denoised = cv2.fastNlMeansDenoising(eight, None, float(strength), NLM_PATCH, NLM_SEARCH)
    return denoised.astype(np.float64) / 255 * span + low


