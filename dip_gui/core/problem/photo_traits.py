"""What a photo's pixels say about how it was degraded: the quality it was last saved at as a JPEG
and the level of its noise. Read once when a photo opens; presets fit their schedules to them
(``presets.fitted_for``): how long the network gains over its classical start depends on both
(docs/stopping.md)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dip_gui.core.problem.jpeg_quality import estimate_jpeg_quality
from dip_gui.core.problem.noise_profile import estimate_noise_profile


def estimate_noise_sigma(image: np.ndarray) -> float:
    """Gaussian noise level of a photo on the 0-255 scale: the median absolute value of the finest
    diagonal Haar band over 0.6745 (Donoho's estimator), from the mean of the colour channels. Noise
    clipped at black and white reads lower: sigma 50 reads 39-47 on 256 px crops of six photos."""
    grey = image.mean(axis=2) if image.ndim == 3 else image
    height, width = (grey.shape[0] // 2) * 2, (grey.shape[1] // 2) * 2
    if height == 0 or width == 0:
        return 0.0
    grey = grey[:height, :width].astype(np.float64)
    diagonal = (grey[0::2, 0::2] - grey[0::2, 1::2] - grey[1::2, 0::2] + grey[1::2, 1::2]) / 2
    channels = image.shape[2] if image.ndim == 3 else 1
    return float(np.median(np.abs(diagonal)) / 0.6745 * 255 * np.sqrt(channels))  # the mean divided it


#: The PCA estimator's patch side and the most patches it reads per channel (a grid of them, evenly
#: spread, on larger photos: 0.1-0.3 s a channel).
PCA_PATCH, PCA_MAX_PATCHES = 7, 60_000


def estimate_noise_sigma_pca(image: np.ndarray) -> float:
    """Gaussian noise level of a photo on the 0-255 scale from the spectrum of its 7x7 patches (Chen,
    Zhu, Heng, "An Efficient Statistical Method for Image Noise Level Estimation", ICCV 2015): the
    noise spreads its variance evenly over every direction of patch space, the picture over a few,
    so the noise variance is the mean of the smallest eigenvalues of the patches' covariance, taken
    from the largest tail whose mean does not exceed its median. Fine texture reads as far less
    noise than with ``estimate_noise_sigma`` (scikit-image's grass at sigma 15: 18.9 against 26.0;
    barbara at sigma 5: 5.8 against 10.1), at 0.1-0.3 s a channel; the same clipping at black and
    white reads low. Photos smaller than a patch read through ``estimate_noise_sigma``."""
    planes = image if image.ndim == 3 else image[:, :, None]
    if min(planes.shape[:2]) < PCA_PATCH:
        return estimate_noise_sigma(image)
    variances = [_noise_variance(_patch_spectrum(planes[:, :, c])) for c in range(planes.shape[2])]
    return float(np.sqrt(np.mean(variances)) * 255)


def _patch_spectrum(plane: np.ndarray) -> np.ndarray:
    """The eigenvalues of the covariance of ``plane``'s PCA_PATCH-square patches, largest first."""
    windows = np.lib.stride_tricks.sliding_window_view(plane.astype(np.float64), (PCA_PATCH, PCA_PATCH))
    step = max(1, int(np.ceil(np.sqrt(windows.shape[0] * windows.shape[1] / PCA_MAX_PATCHES))))
    patches = windows[::step, ::step].reshape(-1, PCA_PATCH * PCA_PATCH)
    patches = patches - patches.mean(axis=0)
    return np.linalg.eigvalsh(patches.T @ patches / len(patches))[::-1]


def _noise_variance(eigenvalues: np.ndarray) -> float:
    """The mean of the largest tail of ``eigenvalues`` (largest first) that is no larger than its median."""
    for first in range(len(eigenvalues)):
        tail = eigenvalues[first:]
        if tail.mean() <= np.median(tail):
            return max(float(tail.mean()), 0.0)
    return max(float(eigenvalues[-1]), 0.0)


@dataclass(frozen=True)
class PhotoTraits:
    """``jpeg_quality``: IJG quality 1-100, None where the pixels show no JPEG grid. ``noise_sigma``:
    the noise on the 0-255 scale (None: not read). ``noise_shape``: where the noise is strongest, in
    words (``NoiseProfile.describe``; empty: about even, or not read)."""

    jpeg_quality: int | None = None
    noise_sigma: float | None = None
    noise_shape: str = ""

    @classmethod
    def read(cls, image: np.ndarray, *, noise_shape: bool = False) -> PhotoTraits:
        """The traits of an HxWxC photo in [0, 1]; ``noise_shape``: also say where the noise is
        strongest (a second read of the noise, about a second at 12 MP, that only the window shows)."""
        shape = estimate_noise_profile(image).describe() if noise_shape else ""
        return cls(estimate_jpeg_quality(image), estimate_noise_sigma(image), shape)

    def noise_note(self, from_sigma: float) -> str:
        """A sentence for the user where the noise reads at ``from_sigma`` or more, else empty."""
        if self.noise_sigma is None or self.noise_sigma < from_sigma:
            return ""
        return " ".join(part for part in (f"Its noise reads as sigma about {self.noise_sigma:.0f} (0-255).",
                                          self.noise_shape) if part)

    def jpeg_note(self) -> str:
        """A sentence for the user where the photo was saved as a JPEG, else empty."""
        return "" if self.jpeg_quality is None else f"It was saved as a JPEG at quality about {self.jpeg_quality}."
