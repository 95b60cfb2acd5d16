"""Batch norm for one photo on the CPU: a faster training forward, and fused forms that keep less.

``FastBatchNorm2d`` is ``nn.BatchNorm2d`` (same parameters, buffers and results within float
rounding) with a faster training forward for one contiguous float32 CPU image, and PyTorch's own
for anything else. PyTorch's kernel spends most of its time on a Welford variance; here the variance
is E[x^2] - mean^2 from two vectorised reductions (``_variance`` guards against cancellation), and
the output one multiply-add ``x * alpha + beta`` as PyTorch computes it (128 channels at 256 px:
9.9 -> 5-6 ms on the 2-core AVX-512 Xeon). Its backward is PyTorch's.

Two fused forms keep only their output for the backward, where the plain layers keep the batch
norm's input as well: ``FastBatchNormLeakyReLU`` (batch norm then LeakyReLU, as every block of the
paper's networks has) and ``FastBatchNormReflectionPad`` (the batch norm after a skip connection's
concatenation, writing the padded input of the convolution that follows). They cost a little time
(the backward undoes the output's activation and affine step), so a network has them only where
memory is the limit (``SkipNet(lean=True)``: CPU runs too large to keep freed memory). Measured
(2-core AVX-512 Xeon), whole iterations at 512 px, paper networks, pairs of layers -> fused (``python -m
dip_gui bench --task T --preset paper --size 512 --iters 3``, alternated twice): peak memory
inpainting 2963 -> 2201 MB, denoising 2059 -> 1616 MB; time +2 to +7%. The LeakyReLU fusion alone
gave 2950 -> 2485 and 2057 -> 1783 MB.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from dip_gui.core.networks.cpu_layers import one_cpu_image, reflection_pad, reflection_pad_adjoint

#: A batch norm's training forward: the output, the batch mean and the batch variance.
NormOutputs = tuple[torch.Tensor, torch.Tensor, torch.Tensor]
#: An autograd backward's result: one gradient (or None) per input of its forward.
Gradients = tuple[torch.Tensor | None, ...]


class _BatchNormTrain(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor | None, bias: torch.Tensor | None, eps: float) -> NormOutputs:
        y, mean, variance, invstd = _normalise(x, weight, bias, eps)  # y is new: the activation may go in place
        ctx.save_for_backward(x, weight, mean, invstd)
        ctx.eps = eps
        ctx.mark_non_differentiable(mean, variance)
        return y, mean, variance

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor, _grad_mean: torch.Tensor | None, _grad_variance: torch.Tensor | None) -> Gradients:
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
        return (uses_batch_stats and one_cpu_image(x) and x.shape[2] * x.shape[3] > 1
                and (self.momentum is not None or not self.track_running_stats))

    def _update_running_stats_if_tracked(self, mean: torch.Tensor, variance: torch.Tensor, x: torch.Tensor) -> None:
        if self.training and self.track_running_stats:
            self._update_running_stats(mean, variance, x.shape[2] * x.shape[3])

    def _output_can_stand_for_input(self) -> bool:
        """Whether the backward may recover x_hat from the output: affine parameters, every scale far
        enough from zero (``MIN_RECOVERABLE_SCALE``) and a gradient to compute."""
        if not (self.affine and torch.is_grad_enabled()):
            return False
        with torch.no_grad():
            return bool((self.weight.abs() >= MIN_RECOVERABLE_SCALE * self.bias.abs().clamp(min=1)).all())

    @torch.no_grad()
    def _update_running_stats(self, mean: torch.Tensor, variance: torch.Tensor, count: int) -> None:
        # a layer built with track_running_stats=True (the only kind the networks make) has all three
        assert self.num_batches_tracked is not None and self.running_mean is not None and self.running_var is not None
        assert self.momentum is not None
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
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float, slope: float) -> NormOutputs:
        y, mean, variance, invstd = _normalise(x, weight, bias, eps)
        F.leaky_relu_(y, slope)
        ctx.save_for_backward(y, weight, bias, invstd)
        ctx.slope = slope
        ctx.mark_non_differentiable(mean, variance)
        return y, mean, variance

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor, _grad_mean: torch.Tensor | None, _grad_variance: torch.Tensor | None) -> Gradients:
        y, weight, bias, invstd = ctx.saved_tensors
        grad_z = torch.ops.aten.leaky_relu_backward(grad.contiguous(), y, ctx.slope, True)
        # Undone in place: every layer that kept y has run its backward before this one (a second
        # backward through the same graph would stop at autograd's check that y is unchanged).
        z = F.leaky_relu_(y, 1.0 / ctx.slope)
        grad_x, grad_weight, grad_bias = _backward_from_output(grad_z, z, weight, bias, invstd, ctx.needs_input_grad)
        return grad_x, grad_weight, grad_bias, None, None


def _normalise(x: torch.Tensor, weight: torch.Tensor | None, bias: torch.Tensor | None, eps: float,
               out: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Batch norm's training forward: output ``x * alpha + beta`` (a new tensor unless ``out`` is
    given), mean, variance, 1/std."""
    channels = x.shape[1]
    flat = x.view(channels, -1)
    mean = flat.mean(1)
    variance = _variance(flat, mean)
    invstd = (variance + eps).rsqrt_()
    alpha = invstd if weight is None else invstd * weight
    beta = -mean * alpha if bias is None else bias - mean * alpha
    per_channel = (1, channels, 1, 1)
    return torch.addcmul(beta.view(per_channel), x, alpha.view(per_channel), out=out), mean, variance, invstd


def _backward_from_output(grad_z: torch.Tensor, z: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                          invstd: torch.Tensor, needs_input_grad: tuple[bool, ...]) -> Gradients:
    """Batch norm's backward given its output z = weight * x_hat + bias instead of its input.

    PyTorch's kernel normalises its input as (input - mean) * invstd: given z, mean = bias and
    invstd = 1 / weight give x_hat; the weight it is given scales dx by weight * invstd.
    """
    return torch.ops.aten.native_batch_norm_backward(
        grad_z, z, weight * weight * invstd, None, None, bias, weight.reciprocal(), True, 0.0,
        list(needs_input_grad[:3]))


class _BatchNormReflectionPad(torch.autograd.Function):
    """Batch norm with batch statistics written straight into a reflection-padded output.

    What follows is a convolution that keeps the padded tensor anyway; the batch norm keeps only that
    (x_hat is recovered from the interior, as in ``_BatchNormLeakyReLUTrain``), so neither its input,
    the concatenation of a skip and a deeper branch, nor an unpadded output has to live on.
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float, pad: int) -> NormOutputs:
        height, width = x.shape[2:]
        padded = x.new_empty(x.shape[0], x.shape[1], height + 2 * pad, width + 2 * pad)
        _, mean, variance, invstd = _normalise(x, weight, bias, eps, out=_interior(padded, pad))
        _reflect_borders(padded, pad)
        ctx.save_for_backward(padded, weight, bias, invstd)
        ctx.pad = pad
        ctx.mark_non_differentiable(mean, variance)
        return padded, mean, variance

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor, _grad_mean: torch.Tensor | None, _grad_variance: torch.Tensor | None) -> Gradients:
        padded, weight, bias, invstd = ctx.saved_tensors
        grad_z = reflection_pad_adjoint(grad.contiguous(), ctx.pad)
        grad_x, grad_weight, grad_bias = _backward_from_output(
            grad_z, _interior(padded, ctx.pad), weight, bias, invstd, ctx.needs_input_grad)
        return grad_x, grad_weight, grad_bias, None, None


def _interior(padded: torch.Tensor, pad: int) -> torch.Tensor:
    return padded[:, :, pad:padded.shape[2] - pad, pad:padded.shape[3] - pad]


def _reflect_borders(padded: torch.Tensor, pad: int) -> None:
    """Fill the border of ``padded`` as ``F.pad(interior, (pad,) * 4, mode="reflect")`` would: rows
    first, then columns over the full height, which carries the corners along."""
    height, width = padded.shape[2] - 2 * pad, padded.shape[3] - 2 * pad
    columns = slice(pad, pad + width)
    for k in range(1, pad + 1):
        padded[:, :, pad - k, columns] = padded[:, :, pad + k, columns]
        padded[:, :, pad + height - 1 + k, columns] = padded[:, :, pad + height - 1 - k, columns]
    for k in range(1, pad + 1):
        padded[:, :, :, pad - k] = padded[:, :, :, pad + k]
        padded[:, :, :, pad + width - 1 + k] = padded[:, :, :, pad + width - 1 - k]


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
        if not (self._fast_path_applies(x) and self.slope > 0 and self._output_can_stand_for_input()):
            return F.leaky_relu_(super().forward(x), self.slope)
        y, mean, variance = _BatchNormLeakyReLUTrain.apply(x, self.weight, self.bias, self.eps, self.slope)
        self._update_running_stats_if_tracked(mean, variance, x)
        return y

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, slope={self.slope}"


class FastBatchNormReflectionPad(FastBatchNorm2d):
    """``FastBatchNorm2d`` followed by reflection padding, the batch norm keeping nothing of its own.

    Same parameters and buffers as the batch norm alone (the network puts an ``nn.Identity`` where the
    padding layer was). Fused (``_BatchNormReflectionPad``) where the batch norm's fast path applies
    and its scales can be undone; elsewhere the two steps one after the other.
    """

    def __init__(self, channels: int, pad: int) -> None:
        super().__init__(channels)
        self.pad = pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self._fast_path_applies(x) and self.pad < min(x.shape[-2:]) and self._output_can_stand_for_input()):
            return reflection_pad(super().forward(x), self.pad)
        y, mean, variance = _BatchNormReflectionPad.apply(x, self.weight, self.bias, self.eps, self.pad)
        self._update_running_stats_if_tracked(mean, variance, x)
        return y

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, pad={self.pad}"
