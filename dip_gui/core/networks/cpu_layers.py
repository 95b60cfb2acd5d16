"""Batch norm, bilinear x2 upsampling and reflection padding, faster on the CPU for one photo, and
batch norm fused with LeakyReLU, leaner.

Each is a subclass of the PyTorch module it replaces (same parameters, buffers and results within
float rounding) and falls back to it for anything but one contiguous float32 CPU image. What is
replaced is only what PyTorch's CPU kernels do slowly; measured on the 2-core AVX-512 Xeon (session
13, freed memory kept, median of 9, ms):

=========================================  ========  =====
operation                                  PyTorch   here
=========================================  ========  =====
batch norm forward, 128 ch at 256 px       9.9       5-6
bilinear x2 backward, 128 ch 128->256 px   20.9      6.5
reflection padding (1) backward, 128x256   11.0      2.7
=========================================  ========  =====

Batch norm's training forward spends most of its time on a Welford variance; here the variance is
E[x^2] - mean^2 from two vectorised reductions (``_variance`` guards against cancellation), and the
output is one multiply-add ``x * alpha + beta`` as PyTorch's own kernel computes it. Its backward is
PyTorch's (already fast). The backward of upsampling and padding are the adjoints written as a few
slice operations, where PyTorch's kernels scatter one pixel at a time. Batch norm followed by
LeakyReLU keeps only its output for the backward (``FastBatchNormLeakyReLU``): a third less memory
for the activations of the paper's networks.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn


@functools.cache
def onednn_has_avx512() -> bool:
    """Whether this CPU runs PyTorch's AVX-512 kernels (oneDNN's among them).

    Which kernel is fastest for a layer differs between such CPUs and AVX2 ones: oneDNN's direct
    convolutions and MKL's matrix products are ~2x faster there, NNPACK's Winograd kernels are not.
    """
    return torch.backends.cpu.get_cpu_capability().startswith("AVX512")


def _one_cpu_image(x: torch.Tensor) -> bool:
    return (x.device.type == "cpu" and x.dim() == 4 and x.shape[0] == 1 and x.dtype == torch.float32
            and x.is_contiguous())


class _BatchNormTrain(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor | None, bias: torch.Tensor | None, eps: float):
        y, mean, variance, invstd = _normalise(x, weight, bias, eps)  # y is new: the activation may go in place
        ctx.save_for_backward(x, weight, mean, invstd)
        ctx.eps = eps
        ctx.mark_non_differentiable(mean, variance)
        return y, mean, variance

    @staticmethod
    def backward(ctx, grad: torch.Tensor, _grad_mean: torch.Tensor | None, _grad_variance: torch.Tensor | None):
        x, weight, mean, invstd = ctx.saved_tensors
        wanted = [ctx.needs_input_grad[0], ctx.needs_input_grad[1], ctx.needs_input_grad[2]]
        grad_x, grad_w, grad_b = torch.ops.aten.native_batch_norm_backward(
            grad.contiguous(), x, weight, None, None, mean, invstd, True, ctx.eps, wanted)
        return grad_x, grad_w, grad_b, None


#: E[x^2] - mean^2 loses ~log10(1 + mean^2 / variance) of float32's 7 digits; past this ratio (one
#: digit) a channel's variance is computed again from the centred values.
ONE_PASS_MAX_RATIO = 9.0


def _variance(flat: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    """Per-row (biased) variance of a (channels, pixels) tensor.

    One pass over the data without a temporary (``vector_norm`` is a vectorised reduction, PyTorch's
    ``var`` a Welford loop ~30x slower); channels whose mean is large next to their spread, where
    that would lose digits, go through the centred values instead.
    """
    count = flat.shape[1]
    variance = torch.linalg.vector_norm(flat, dim=1).square_().div_(count).sub_(mean.square())
    inexact = mean.square() > ONE_PASS_MAX_RATIO * variance.clamp(min=0)
    if bool(inexact.any()):
        rows = inexact.nonzero().squeeze(1)
        centred = flat.index_select(0, rows) - mean.index_select(0, rows).unsqueeze(1)
        variance[rows] = torch.linalg.vector_norm(centred, dim=1).square_().div_(count)
    return variance.clamp_(min=0)


class FastBatchNorm2d(nn.BatchNorm2d):
    """``nn.BatchNorm2d`` whose training forward on one CPU image is ~2.5x faster (module doc)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self._fast_path_applies(x):
            return super().forward(x)
        y, mean, variance = _BatchNormTrain.apply(x, self.weight, self.bias, self.eps)
        self._update_running_stats_if_tracked(mean, variance, x)
        return y

    def _fast_path_applies(self, x: torch.Tensor) -> bool:
        uses_batch_stats = self.training or self.running_mean is None
        return (uses_batch_stats and _one_cpu_image(x) and x.shape[2] * x.shape[3] > 1
                and (self.momentum is not None or not self.track_running_stats))

    def _update_running_stats_if_tracked(self, mean: torch.Tensor, variance: torch.Tensor, x: torch.Tensor) -> None:
        if self.training and self.track_running_stats:
            self._update_running_stats(mean, variance, x.shape[2] * x.shape[3])

    @torch.no_grad()
    def _update_running_stats(self, mean: torch.Tensor, variance: torch.Tensor, count: int) -> None:
        self.num_batches_tracked.add_(1)
        self.running_mean.lerp_(mean, self.momentum)
        self.running_var.lerp_(variance * (count / (count - 1)), self.momentum)  # unbiased, as PyTorch keeps it


#: Channels whose scale |weight| is below this fraction of max(1, |bias|) would lose digits when the
#: normalised values are recovered from the output; a layer with one of them keeps its input instead.
MIN_RECOVERABLE_SCALE = 1e-3


class _BatchNormLeakyReLUTrain(torch.autograd.Function):
    """Batch norm with batch statistics, then LeakyReLU, keeping only the output for the backward.

    Batch norm's backward needs the normalised input x_hat. LeakyReLU (slope > 0) and the affine step
    z = weight * x_hat + bias can both be undone, so x_hat is recovered from the output y, which the
    next convolution keeps anyway, and the batch norm's input is freed as soon as y exists: the idea
    of in-place activated batch norm (Rota Bulo, Porzi, Kontschieder, CVPR 2018). The backward undoes
    the activation on y in place, so y must not be read after it (the network reads it only before).
    Measured (``python -m dip_gui bench --task T --preset paper --size 512``, session 14): peak
    memory 2950 -> 2485 MB for inpainting's paper network and 2057 -> 1783 MB for denoising's, 2-4%
    more time per iteration; at 256 px the same time.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float, slope: float):
        y, mean, variance, invstd = _normalise(x, weight, bias, eps)
        F.leaky_relu_(y, slope)
        ctx.save_for_backward(y, weight, bias, invstd)
        ctx.slope = slope
        ctx.mark_non_differentiable(mean, variance)
        return y, mean, variance

    @staticmethod
    def backward(ctx, grad: torch.Tensor, _grad_mean: torch.Tensor | None, _grad_variance: torch.Tensor | None):
        y, weight, bias, invstd = ctx.saved_tensors
        grad_z = torch.ops.aten.leaky_relu_backward(grad.contiguous(), y, ctx.slope, True)
        # Undone in place: every layer that kept y has run its backward before this one (a second
        # backward through the same graph would stop at autograd's check that y is unchanged).
        z = F.leaky_relu_(y, 1.0 / ctx.slope)
        # PyTorch's kernel normalises its input as (input - mean) * invstd: given z, mean = bias and
        # invstd = 1 / weight give x_hat; the weight it is given scales dx by weight * invstd.
        grad_x, grad_weight, grad_bias = torch.ops.aten.native_batch_norm_backward(
            grad_z, z, weight * weight * invstd, None, None, bias, weight.reciprocal(), True, 0.0,
            list(ctx.needs_input_grad[:3]))
        return grad_x, grad_weight, grad_bias, None, None


def _normalise(x: torch.Tensor, weight: torch.Tensor | None, bias: torch.Tensor | None, eps: float):
    """Batch norm's training forward: output ``x * alpha + beta`` (a new tensor), mean, variance, 1/std."""
    channels = x.shape[1]
    flat = x.view(channels, -1)
    mean = flat.mean(1)
    variance = _variance(flat, mean)
    invstd = (variance + eps).rsqrt_()
    alpha = invstd if weight is None else invstd * weight
    beta = -mean * alpha if bias is None else bias - mean * alpha
    per_channel = (1, channels, 1, 1)
    return torch.addcmul(beta.view(per_channel), x, alpha.view(per_channel)), mean, variance, invstd


class FastBatchNormLeakyReLU(FastBatchNorm2d):
    """``FastBatchNorm2d`` followed by ``LeakyReLU(slope)``, keeping half the memory for the backward.

    Same parameters and buffers as the batch norm alone (the network puts an ``nn.Identity`` where
    the activation was, so the layers keep their names). The fused path (``_BatchNormLeakyReLUTrain``)
    runs where the batch norm's own fast path does, with affine parameters, a positive slope and every
    scale large enough to undo; elsewhere it is the two layers one after the other.
    """

    def __init__(self, channels: int, slope: float) -> None:
        super().__init__(channels)
        self.slope = slope

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self._fast_path_applies(x) and self.slope > 0 and self.affine and torch.is_grad_enabled()
                and self._scales_recoverable()):
            return F.leaky_relu_(super().forward(x), self.slope)
        y, mean, variance = _BatchNormLeakyReLUTrain.apply(x, self.weight, self.bias, self.eps, self.slope)
        self._update_running_stats_if_tracked(mean, variance, x)
        return y

    def _scales_recoverable(self) -> bool:
        with torch.no_grad():
            return bool((self.weight.abs() >= MIN_RECOVERABLE_SCALE * self.bias.abs().clamp(min=1)).all())

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, slope={self.slope}"


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
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=2, mode="bilinear")

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return bilinear_x2_adjoint(grad)


class FastUpsample(nn.Upsample):
    """``nn.Upsample``; bilinear x2 (corners not aligned) on one CPU image has a faster backward."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (self.mode == "bilinear" and self.scale_factor in (2, 2.0, (2.0, 2.0)) and self.size is None
                and not self.align_corners and not self.recompute_scale_factor and _one_cpu_image(x)):
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
    def forward(ctx, x: torch.Tensor, pad: int) -> torch.Tensor:
        ctx.pad = pad
        return F.pad(x, (pad,) * 4, mode="reflect")

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return reflection_pad_adjoint(grad, ctx.pad), None


class FastReflectionPad2d(nn.ReflectionPad2d):
    """``nn.ReflectionPad2d``; the same padding on every side of one CPU image has a faster backward."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad = self.padding[0]
        if (len(set(self.padding)) == 1 and pad < min(x.shape[-2:]) and _one_cpu_image(x)
                and torch.is_grad_enabled() and x.requires_grad):
            return _ReflectionPad.apply(x, pad)
        return super().forward(x)
