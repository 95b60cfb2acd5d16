"""The quality a JPEG was saved at, read from its decoded pixels.

A JPEG stores each 8x8 block's DCT coefficients as multiples of a quantisation step; decoding keeps
them close to those multiples (rounding to 8-bit pixels moves them by well under one step). So the
step of a low-frequency coefficient is the largest one its values cluster on, and the IJG tables
(libjpeg, which Pillow and most cameras' software use) turn steps into the quality setting. The
photo's own file may be gone (a PNG of a JPEG, a crop on the 8-pixel grid): the pixels are what is
certain to be there.
"""

from __future__ import annotations

import numpy as np

#: libjpeg's luminance table at quality 50, for the low frequencies read here: (row, column) -> step.
BASE_STEPS = {(0, 1): 11, (1, 0): 12, (1, 1): 12, (0, 2): 10, (2, 0): 14}
#: A step fits when the coefficients sit this close to its multiples on average (in steps): uniform
#: values would sit 0.25 away.
FIT = 0.1
#: The side of the region read (a centre crop on the 8-pixel grid): a few thousand blocks decide it.
REGION = 512
#: Blocks with this little detail say nothing of the step (a flat block's coefficients are all zero).
MIN_BLOCKS = 32


def _dct_matrix() -> np.ndarray:
    k = np.arange(8)
    matrix = np.cos(np.pi * (2 * k[None, :] + 1) * k[:, None] / 16) * np.sqrt(2 / 8)
    matrix[0] /= np.sqrt(2)
    return matrix


def _luma_blocks(image: np.ndarray) -> np.ndarray:
    """The photo's JPEG luma (0-255, centred) as N x 8 x 8 blocks on the grid from the top-left."""
    rgb = image[..., :3] if image.shape[-1] >= 3 else np.repeat(image[..., :1], 3, axis=-1)
    top, left = (((side - min(side, REGION)) // 2) // 8 * 8 for side in rgb.shape[:2])
    region = rgb[top:top + REGION, left:left + REGION].astype(np.float64)
    luma = (region * 255.0) @ np.array([0.299, 0.587, 0.114]) - 128.0
    height, width = (luma.shape[0] // 8) * 8, (luma.shape[1] // 8) * 8
    blocks = luma[:height, :width].reshape(height // 8, 8, width // 8, 8).swapaxes(1, 2)
    return blocks.reshape(-1, 8, 8)


def ijg_step(base: int, quality: int) -> int:
    """libjpeg's quantisation step for a table entry at ``quality`` (1-100)."""
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return int(np.clip((base * scale + 50) // 100, 1, 255))


def _misfit(values: np.ndarray, step: int) -> float:
    """How far the coefficients sit from the multiples of ``step``, on average, in steps."""
    ratio = values / step
    return float(np.mean(np.abs(ratio - np.round(ratio))))


def estimate_jpeg_quality(image: np.ndarray) -> int | None:
    """The IJG quality (1-100) the photo (HxWxC float in [0, 1]) was last saved at as a JPEG, or
    None where its pixels show no JPEG quantisation (never compressed, resized, or too flat).

    The lowest quality whose steps fit: the coefficients also sit on the multiples of any divisor
    of their step, so higher qualities (smaller steps) may fit as well. A step is judged on the
    values at least half a step from zero (smaller ones are rounded to zero at that step), with
    JPEG's own rounding of pixels to 8 bits moving them by about one."""
    if image.shape[0] < 16 or image.shape[1] < 16:
        return None
    dct = _dct_matrix()
    coefficients = dct @ _luma_blocks(image) @ dct.T
    columns = {base: coefficients[:, row, column] for (row, column), base in BASE_STEPS.items()}
    for quality in range(1, 96):
        verdicts = []
        for base, values in columns.items():
            step = ijg_step(base, quality)
            if step < 2:
                return None  # steps of 1: every value fits, nothing to read
            size = np.abs(values)
            judged = values[size >= step / 2]
            if judged.size >= MIN_BLOCKS:
                # and nothing well short of half a step: the step would have rounded it to zero (at
                # twice the true step the values on its odd multiples fall there)
                short = np.count_nonzero((size >= max(step / 4, 3.0)) & (size < step / 2))
                verdicts.append(_misfit(judged, step) < FIT and short <= 0.05 * judged.size)
        if verdicts and all(verdicts):
            return quality
    return None
