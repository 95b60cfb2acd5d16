"""The paper's Lanczos downsampling kernel and a fixed (not learned) downsampling module."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def lanczos_kernel(factor: int, support: int = 2) -> np.ndarray:
    """Separable Lanczos kernel of the authors' code with phase 0.5.

    Size ``2 * support * factor`` per side (4f x 4f for Lanczos-2), normalised to sum 1.
    """
    width = 2 * support * factor + 1
    center = (width + 1) / 2.0
    taps = np.arange(1, width, dtype=np.float64)  # width - 1 taps: phase 0.5
    distance = np.abs(taps + 0.5 - center) / factor
    values = np.ones_like(distance)
    nonzero = distance != 0
    d = distance[nonzero]
    values[nonzero] = support * np.sin(np.pi * d) * np.sin(np.pi * d / support) / (np.pi**2 * d * d)
    kernel = np.outer(values, values)
    return (kernel / kernel.sum()).astype(np.float32)


class LanczosDownsample(nn.Module):
    """Downsample by ``factor`` with replicate padding, same size / factor output (per channel)."""

    kernel: torch.Tensor  # a buffer: it moves with the module and is not learnt

    def __init__(self, factor: int, support: int = 2) -> None:
        super().__init__()
        self.factor = factor
        kernel = torch.from_numpy(lanczos_kernel(factor, support))
        self.register_buffer("kernel", kernel[None, None], persistent=False)
        self.pad = (kernel.shape[0] - factor) // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels = x.shape[1]
        x = F.pad(x, (self.pad,) * 4, mode="replicate")
        weight = self.kernel.to(dtype=x.dtype).expand(channels, 1, -1, -1)
        return F.conv2d(x, weight, stride=self.factor, groups=channels)
