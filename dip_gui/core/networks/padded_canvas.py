"""The network's canvas: a photo padded up to the size the network's levels divide evenly.

The network runs on the canvas and the result is its centre crop, so every pixel of the photo comes
back, whatever its size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Canvas:
    """The padded network canvas and where the photo sits in it."""

    height: int
    width: int
    top: int
    left: int
    out_height: int
    out_width: int

    @classmethod
    def around(cls, size: tuple[int, int], multiple: int, min_cells: int) -> Canvas:
        def side(n: int) -> int:
            return max(math.ceil(n / multiple), min_cells) * multiple

        height, width = side(size[0]), side(size[1])
        return cls(height, width, (height - size[0]) // 2, (width - size[1]) // 2, size[0], size[1])

    def crop(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, self.top : self.top + self.out_height, self.left : self.left + self.out_width]

    def pad(self, x: torch.Tensor) -> torch.Tensor:
        """Reflect-pad an image tensor of the output size onto the canvas (replicate past one reflection)."""
        pads = [self.left, self.width - self.out_width - self.left, self.top, self.height - self.out_height - self.top]
        while any(pads):
            step = [min(p, max(dim - 1, 0)) for p, dim in zip(pads, (x.shape[3], x.shape[3], x.shape[2], x.shape[2]))]
            if not any(step):
                return F.pad(x, pads, mode="replicate")
            x = F.pad(x, step, mode="reflect")
            pads = [p - s for p, s in zip(pads, step)]
        return x


__all__ = ["Canvas"]
