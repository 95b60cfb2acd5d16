"""How a photo's noise varies with brightness and colour channel.

Noise from a phone or a scanner is not one level: read noise lifted by the tone curve makes the
shadows grainier, photon noise grows with the light, and white balance amplifies the red and blue
channels more than green. A denoiser told one level smooths away the detail where the noise is
weaker and leaves grain where it is stronger. This reads a level per channel and per brightness
band, from the photo alone.

Each channel's finest diagonal Haar band (noise passes into it at its full level, a smooth picture
does not) is cut into blocks of 4x4 coefficients (8x8 pixels). A block's root mean square reads
its noise plus whatever edge or texture it holds, so within each band of brightness the level is a
low percentile of the blocks' readings (the flattest blocks), corrected for where that percentile
of pure noise falls. Liu, Szeliski, Kang, Zitnick, Freeman, "Automatic estimation and removal of
noise from a single image" (IEEE TPAMI 2008) fit the same lower envelope of a noise level function.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Brightness bands (equal widths over 0-1), the side of a block in Haar coefficients, the least
#: blocks a band needs to be read on its own (else it is interpolated from the bands that are read).
BANDS, BLOCK, MIN_BLOCKS = 8, 4, 16
#: The percentile of the blocks' readings taken in each band: low enough to read the flattest blocks,
#: high enough to stay steady with a few dozen of them.
PERCENTILE = 20.0
#: Where PERCENTILE of the root mean square of BLOCK**2 unit Gaussian values falls: the reading of a
#: noise-only band divided by this is its level (``tests/core/problem/test_noise_profile.py`` checks it
#: by simulation).
PERCENTILE_OF_NOISE = 0.834
#: No band reads under this share of the channel's strongest band, nor under FLOOR (0-1 scale): a
#: band of clipped white or black reads near zero, and a stabilising transform that took that
#: literally would spend most of its range on a band with nothing in it to denoise.
MIN_SHARE, FLOOR = 1 / 8, 0.5 / 255
#: A brightness shape whose strongest band is within this factor of its weakest is read as even.
#: A denoiser run through a stabilising transform pays for the transform's bends where a pattern
#: spans bands: on the striped test photo with even noise (tests/makers.py) a shape read 15% low in
#: the end bands costs 0.8 dB against one level. The shapes read where the transform gains on photos
#: (docs/quality.md, "Noise that varies") span 1.5x and more, clipped even noise included.
EVEN_WITHIN = 1.25


@dataclass(frozen=True, eq=False)
class NoiseProfile:
    """``levels``: channels x BANDS, the noise's standard deviation (0-1 scale) at the centre of each
    brightness band of each channel."""

    levels: np.ndarray

    @staticmethod
    def band_centres() -> np.ndarray:
        """The brightness (0-1) at the centre of each band."""
        return (np.arange(BANDS) + 0.5) / BANDS

    def brightness_shape(self) -> np.ndarray:
        """The level per band, the root mean square over channels (BANDS,)."""
        return np.sqrt(np.mean(np.square(self.levels), axis=0))

    def even_in_brightness(self) -> bool:
        """Whether the noise reads about the same at every brightness (within ``EVEN_WITHIN``)."""
        shape = self.brightness_shape()
        return bool(shape.max() <= EVEN_WITHIN * shape.min())

    def channel_scales(self) -> np.ndarray:
        """Each channel's level as a multiple of ``brightness_shape`` (the median over bands)."""
        return np.median(self.levels / self.brightness_shape(), axis=1)

    def overall(self) -> float:
        """One level for the photo on the 0-255 scale: the root mean square over channels and bands."""
        return float(np.sqrt(np.mean(np.square(self.levels))) * 255)

    def describe(self) -> str:
        """Where the noise is strongest, in words, or empty where it is about even (within 1.5x)."""
        parts = []
        shape = self.brightness_shape()
        darkest, brightest = shape[: BANDS // 3].mean(), shape[-(BANDS // 3):].mean()
        if darkest > 1.5 * brightest:
            parts.append("in the shadows")
        elif brightest > 1.5 * darkest:
            parts.append("in the highlights")
        scales = self.channel_scales()
        if len(scales) == 3 and scales.max() > 1.5 * scales.min():
            parts.append(f"in the {('red', 'green', 'blue')[int(scales.argmax())]} channel")
        return "" if not parts else "It is strongest " + " and ".join(parts) + "."


def estimate_noise_profile(image: np.ndarray) -> NoiseProfile:
    """The noise level per channel and brightness band of an HxWxC (or HxW) photo in 0-1.

    Photos too small for a single block read as noise-free (``FLOOR``)."""
    planes = image if image.ndim == 3 else image[:, :, None]
    return NoiseProfile(np.stack([_channel_levels(planes[:, :, c]) for c in range(planes.shape[2])]))


def _channel_levels(channel: np.ndarray) -> np.ndarray:
    readings, brightness = _block_readings(channel.astype(np.float64))
    if readings.size == 0:
        return np.full(BANDS, FLOOR)
    band = np.minimum((brightness * BANDS).astype(int), BANDS - 1)
    levels = np.full(BANDS, np.nan)
    for index in range(BANDS):
        inside = readings[band == index]
        if inside.size >= MIN_BLOCKS:
            levels[index] = np.percentile(inside, PERCENTILE) / PERCENTILE_OF_NOISE
    read = ~np.isnan(levels)
    if not read.any():  # too few blocks for any band alone: one level from all of them
        levels[:] = np.percentile(readings, PERCENTILE) / PERCENTILE_OF_NOISE
    else:
        bands = np.arange(BANDS)
        levels[~read] = np.interp(bands[~read], bands[read], levels[read])
    return np.maximum(levels, max(FLOOR, MIN_SHARE * float(levels.max())))


def _block_readings(channel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each block's root mean square in the diagonal Haar band, and its mean brightness."""
    height, width = channel.shape
    side = 2 * BLOCK  # pixels per block side
    rows, cols = height // side, width // side
    if rows == 0 or cols == 0:
        return np.empty(0), np.empty(0)
    pixels = channel[: rows * side, : cols * side]
    top_left, top_right = pixels[0::2, 0::2], pixels[0::2, 1::2]
    bottom_left, bottom_right = pixels[1::2, 0::2], pixels[1::2, 1::2]
    diagonal = (top_left - top_right - bottom_left + bottom_right) / 2  # the noise's full level
    mean = (top_left + top_right + bottom_left + bottom_right) / 4

    def blocks(band: np.ndarray) -> np.ndarray:
        return band.reshape(rows, BLOCK, cols, BLOCK).transpose(0, 2, 1, 3).reshape(-1, BLOCK * BLOCK)

    return np.sqrt(np.mean(np.square(blocks(diagonal)), axis=1)), blocks(mean).mean(axis=1)
