"""Bilinear x2 upsampling and reflection padding with faster backwards on the CPU for one photo.

Each is a subclass of the PyTorch module it replaces (same parameters, buffers and results within
float rounding) and falls back to it for anything but one contiguous float32 CPU image. Measured on
the 2-core AVX-512 Xeon (freed memory kept, median of 9, ms):

=========================================  ========  =====
operation                                  PyTorch   here
=========================================  ========  =====
bilinear x2 backward, 128 ch 128->256 px   20.9      6.5
reflection padding (1) backward, 128x256   11.0      2.7
=========================================  ========  =====

The backwards are the adjoints written as a few slice operations, where PyTorch's kernels scatter
one pixel at a time. Batch norm's replacements are in ``batch_norm.py``.
"""

from __future__ import annotations

import functools
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

#: An autograd backward's result: one gradient (or None) per input of its forward.
Gradients = tuple[torch.Tensor | None, ...]


@functools.cache
def onednn_has_avx512() -> bool:
    """Whether this CPU runs PyTorch's AVX-512 kernels (oneDNN's among them).

    Which kernel is fastest for a layer differs between such CPUs and AVX2 ones: oneDNN's direct
    convolutions and MKL's matrix products are ~2x faster there, NNPACK's Winograd kernels are not.
    """
    return torch.backends.cpu.get_cpu_capability().startswith("AVX512")


def one_cpu_image(x: torch.Tensor) -> bool:
    return (x.device.type == "cpu" and x.dim() == 4 and x.shape[0] == 1 and x.dtype == torch.float32
            and x.is_contiguous())


def bilinear_x2_adjoint(grad: torch.Tensor) -> torch.Tensor:
    """Gradient of ``F.interpolate(x, scale_factor=2, mode="bilinear")`` with respect to ``x``.

    Along each axis output pixel 2i is 0.75 x[i] + 0.25 x[i-1] and 2i+1 is 0.75 x[i] + 0.25 x[i+1],
    indices clamped at the edges, so x[i] collects 0.75 of outputs 2i and 2i+1 and 0.25 of outputs
    2i-1 and 2i+2 (at the edges the clamped neighbour is the pixel's own output).
    """
    return _adjoint_along(_adjoint_along(grad, 2), 3)  # rows first: whole rows are contiguous, and it halves the data


def _adjoint_along(grad: torch.Tensor, dim: int) -> torch.Tensor:
    pairs = grad.unfold(dim, 2, 2)  # (.., size, ..., 2): outputs 2i and 2i+1 side by side, no copy
    even, odd = pairs.select(-1, 0), pairs.select(-1, 1)
    out = torch.add(even, odd).mul_(0.75)
    size = out.shape[dim]
    out.narrow(dim, 1, size - 1).add_(odd.narrow(dim, 0, size - 1), alpha=0.25)
    out.narrow(dim, 0, size - 1).add_(even.narrow(dim, 1, size - 1), alpha=0.25)
    out.narrow(dim, 0, 1).add_(even.narrow(dim, 0, 1), alpha=0.25)
    out.narrow(dim, size - 1, 1).add_(odd.narrow(dim, size - 1, 1), alpha=0.25)
    return out


class _BilinearX2(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=2, mode="bilinear")

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        return bilinear_x2_adjoint(grad)


class FastUpsample(nn.Upsample):
    """``nn.Upsample``; bilinear x2 (corners not aligned) on one CPU image has a faster backward."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (self.mode == "bilinear" and self.scale_factor in (2, 2.0, (2.0, 2.0)) and self.size is None
                and not self.align_corners and not self.recompute_scale_factor and one_cpu_image(x)):
            return _BilinearX2.apply(x)
        return super().forward(x)


def reflection_pad_adjoint(grad: torch.Tensor, pad: int) -> torch.Tensor:
    """Gradient of ``F.pad(x, (pad,) * 4, mode="reflect")`` with respect to ``x``.

    Padded row ``pad - k`` (k = 1..pad) mirrors row ``k`` of ``x`` and padded row ``pad + H - 1 + k``
    mirrors row ``H - 1 - k`` (the edge itself is not repeated); the same for columns. The border
    strips are added onto the interior one at a time; the top and bottom strips run the full padded
    width, so the corners take the column fold with them.
    """
    height, width = grad.shape[2] - 2 * pad, grad.shape[3] - 2 * pad
    out = grad[:, :, pad:pad + height, pad:pad + width].clone()
    for k in range(1, pad + 1):
        out[:, :, k].add_(_fold_row(grad[:, :, pad - k], pad, width))
        out[:, :, height - 1 - k].add_(_fold_row(grad[:, :, pad + height - 1 + k], pad, width))
        out[:, :, :, k].add_(grad[:, :, pad:pad + height, pad - k])
        out[:, :, :, width - 1 - k].add_(grad[:, :, pad:pad + height, pad + width - 1 + k])
    return out


def _fold_row(row: torch.Tensor, pad: int, width: int) -> torch.Tensor:
    """A padded row's gradient (.., width + 2 pad) folded onto the row's ``width`` pixels."""
    folded = row[..., pad:pad + width].clone()
    for k in range(1, pad + 1):
        folded[..., k] += row[..., pad - k]
        folded[..., width - 1 - k] += row[..., pad + width - 1 + k]
    return folded


class _ReflectionPad(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, pad: int) -> torch.Tensor:
        ctx.pad = pad
        return F.pad(x, (pad,) * 4, mode="reflect")

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> Gradients:
        return reflection_pad_adjoint(grad, ctx.pad), None


class FastReflectionPad2d(nn.ReflectionPad2d):
    """``nn.ReflectionPad2d``; the same padding on every side of one CPU image has a faster backward."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if len(set(self.padding)) == 1:
            return reflection_pad(x, self.padding[0])
        return super().forward(x)


def reflection_pad(x: torch.Tensor, pad: int) -> torch.Tensor:
    """``F.pad(x, (pad,) * 4, mode="reflect")``, with the faster backward for one CPU image."""
    if pad < min(x.shape[-2:]) and one_cpu_image(x) and torch.is_grad_enabled() and x.requires_grad:
        return _ReflectionPad.apply(x, pad)
    return F.pad(x, (pad,) * 4, mode="reflect")
