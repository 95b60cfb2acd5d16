"""The paper's Lanczos downsampling kernel and a fixed (not learned) downsampling module."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def lanczos_kernel(factor: int, support: int = 2, blur: float = 0.0) -> np.ndarray:
    """Separable Lanczos kernel of the authors' code with phase 0.5.

    Size ``2 * support * factor`` per side (4f x 4f for Lanczos-2), normalised to sum 1. With ``blur``
    (a Gaussian's sigma in pixels of the large photo: a camera's blur before its sampling), the kernel
    is that Gaussian followed by the Lanczos one, ``2 * ceil(3 * blur)`` taps wider, still centred.
    """
    width = 2 * support * factor + 1
    center = (width + 1) / 2.0
    taps = np.arange(1, width, dtype=np.float64)  # width - 1 taps: phase 0.5
    distance = np.abs(taps + 0.5 - center) / factor
    values = np.ones_like(distance)
    nonzero = distance != 0
    d = distance[nonzero]
    values[nonzero] = support * np.sin(np.pi * d) * np.sin(np.pi * d / support) / (np.pi**2 * d * d)
    if blur > 0:
        radius = int(np.ceil(3 * blur))
        gaussian = np.exp(-np.arange(-radius, radius + 1, dtype=np.float64) ** 2 / (2 * blur * blur))
        values = np.convolve(values, gaussian / gaussian.sum())
    kernel = np.outer(values, values)
    return (kernel / kernel.sum()).astype(np.float32)


class LanczosDownsample(nn.Module):
    """Downsample by ``factor`` with replicate padding, same size / factor output (per channel);
    ``blur``: a Gaussian blur before it (``lanczos_kernel``)."""

    kernel: torch.Tensor  # a buffer: it moves with the module and is not learnt

    def __init__(self, factor: int, support: int = 2, blur: float = 0.0) -> None:
        super().__init__()
        self.factor, self.blur = factor, blur
        kernel = torch.from_numpy(lanczos_kernel(factor, support, blur))
        self.register_buffer("kernel", kernel[None, None], persistent=False)
        self.pad = (kernel.shape[0] - factor) // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels = x.shape[1]
        x = F.pad(x, (self.pad,) * 4, mode="replicate")
        weight = self.kernel.to(dtype=x.dtype).expand(channels, 1, -1, -1)
        return F.conv2d(x, weight, stride=self.factor, groups=channels)
