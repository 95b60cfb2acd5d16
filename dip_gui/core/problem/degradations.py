"""Forward operators A of the restoration problems (observation y = A x) and test-data makers.

Operators map the network output (N x C x H x W, the photo's size) to the observation space:
identity for denoising and JPEG, the paper's Lanczos-2 downsampler for super-resolution (after the
camera's Gaussian blur where the user gives one), and a pixel mask (1 = known) for inpainting and
restoration.
"""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image
from torch import nn

from dip_gui.core.errors import InvalidParameterError
from dip_gui.core.networks.lanczos import LanczosDownsample

SR_FACTORS = (2, 4, 8)
#: The widest camera blur super-resolution takes, as a multiple of the scale (pixels of the large
#: photo): wider, and the small photo holds little more than its colours.
MAX_BLUR_PER_SCALE = 2.0


class Identity(nn.Module):
    """A = I (denoising, JPEG artefacts, flash/no-flash)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class MaskOperator(nn.Module):
    """A x = m * x with m 1 x 1 x H x W, 1 = known pixel."""

    mask: torch.Tensor  # a buffer: it moves with the module

    def __init__(self, mask: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.mask


def sr_downsampler(factor: int, blur: float = 0.0) -> LanczosDownsample:
    """The paper's SR operator: Lanczos-2, kernel 4f x 4f, phase 0.5, replicate padding, stride f;
    after a Gaussian of sigma ``blur`` (pixels of the large photo) where the camera blurred more than
    that (docs/quality.md, "Super-resolution when the blur is not the app's")."""
    if factor not in SR_FACTORS:
        raise InvalidParameterError(f"super-resolution scale must be one of {SR_FACTORS}, not {factor}")
    check_blur(blur, factor)
    return LanczosDownsample(factor, support=2, blur=blur)


def check_blur(blur: float, factor: int | None) -> None:
    """Refuse a camera blur that is negative or wider than ``MAX_BLUR_PER_SCALE`` x the scale, and
    any blur for a task that is not super-resolution (``factor`` None)."""
    if factor is None:
        if blur:
            raise InvalidParameterError("a blur of the small photo is for super-resolution (--task sr) only")
        return
    widest = MAX_BLUR_PER_SCALE * factor
    if not 0.0 <= blur <= widest:
        raise InvalidParameterError(f"the blur of the small photo must be 0 to {widest:g} px at x{factor}, not {blur:g}")


# --- test data with ground truth (numpy HxWx3 float32 in [0, 1]) --------------------------------


def add_gaussian_noise(image: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    """Add N(0, sigma^2) noise, sigma on the 0-255 scale as in the paper, and clip to [0, 1]."""
    if sigma < 0:
        raise InvalidParameterError(f"noise sigma must be >= 0, not {sigma}")
    rng = np.random.default_rng(seed)
    noisy = image + rng.normal(0.0, sigma / 255.0, size=image.shape).astype(np.float32)
    return np.clip(noisy, 0.0, 1.0).astype(np.float32)


def downscale(image: np.ndarray, factor: int, blur: float = 0.0) -> np.ndarray:
    """Lanczos-downsample by the SR operator (so DIP's model of the degradation is exact), after a
    Gaussian of sigma ``blur`` (pixels of ``image``).

    Sides that are not multiples of ``factor`` are cut to the largest multiple first (at most
    factor-1 pixels), because a low-resolution pixel needs a whole block of high-resolution ones.
    """
    op = sr_downsampler(factor, blur)
    height, width = (image.shape[0] // factor) * factor, (image.shape[1] // factor) * factor
    if height == 0 or width == 0:
        raise InvalidParameterError(f"image is smaller than the scale factor {factor}")
    tensor = torch.from_numpy(np.ascontiguousarray(image[:height, :width])).permute(2, 0, 1)[None]
    with torch.no_grad():
        low = op(tensor)[0].permute(1, 2, 0).numpy()
    return np.clip(low, 0.0, 1.0).astype(np.float32)


def random_known_mask(shape: tuple[int, int], drop_fraction: float, seed: int = 0) -> np.ndarray:
    """Bernoulli mask HxW, 1 = known pixel, with ``drop_fraction`` of the pixels missing."""
    if not 0.0 < drop_fraction < 1.0:
        raise InvalidParameterError(f"drop fraction must be between 0 and 1 (exclusive), not {drop_fraction}")
    rng = np.random.default_rng(seed)
    return (rng.random(shape) >= drop_fraction).astype(np.float32)


def jpeg_compress(image: np.ndarray, quality: int) -> np.ndarray:
    """Round-trip through JPEG at ``quality`` (1-95) to make blocking artefacts."""
    if not 1 <= quality <= 100:
        raise InvalidParameterError(f"JPEG quality must be 1-100, not {quality}")
    eight = (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
    grey = eight.ndim == 3 and eight.shape[2] == 1
    buffer = io.BytesIO()
    Image.fromarray(eight[:, :, 0] if grey else eight).save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    decoded = np.asarray(Image.open(buffer).convert("L" if grey else "RGB"), dtype=np.float32) / 255.0
    return decoded[:, :, None] if grey else decoded
