"""A stride-1 convolution whose input gradient is computed as a forward convolution (CPU).

oneDNN's backward-data kernel for a 3x3 convolution on an AVX2 CPU is slower than its forward
kernel on the same numbers, and asking for the input and weight gradients in one call is slower
than asking for them one at a time. The input gradient of a stride-1 convolution is itself a
convolution (of the output gradient, zero-padded by ``k - 1 - padding``, with the weights flipped
and their in/out channels swapped), so it is computed with the forward kernel. Measured in
isolation on the 2-core CPU (``MALLOC_MMAP_MAX_=0``, median of 5): 132->128 channels at 256 px,
input+weight gradients 399 ms in one call against 164 + 160 ms; at 128 px 104 against 42 + 51 ms;
128->128 at 128 px 85 against 38 + 50 ms (no gain, no loss). Same numbers within float tolerance.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class _SplitBackwardConv(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, padding: int) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        ctx.padding, ctx.has_bias = padding, bias is not None
        return F.conv2d(x, weight, bias, padding=padding)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, weight = ctx.saved_tensors
        grad = grad.contiguous()
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            flipped = weight.flip(2, 3).transpose(0, 1)
            grad_x = F.conv2d(grad, flipped, padding=weight.shape[-1] - 1 - ctx.padding)
        if ctx.needs_input_grad[1] or (ctx.has_bias and ctx.needs_input_grad[2]):
            _, grad_w, grad_b = torch.ops.aten.convolution_backward(
                grad, x, weight, [weight.shape[0]] if ctx.has_bias else None, [1, 1], [ctx.padding] * 2, [1, 1],
                False, [0, 0], 1, [False, ctx.needs_input_grad[1], ctx.has_bias and ctx.needs_input_grad[2]])
        return grad_x, grad_w, grad_b, None


class SplitBackwardConv2d(nn.Conv2d):
    """``nn.Conv2d`` (same parameters and results) with the split backward above for one NCHW
    photo on the CPU with stride 1 and symmetric integer padding; anything else is plain."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        usable = (x.device.type == "cpu" and x.dim() == 4 and x.shape[0] == 1 and self.stride == (1, 1)
                  and self.dilation == (1, 1) and self.groups == 1 and self.padding_mode == "zeros"
                  and isinstance(self.padding, tuple) and self.padding[0] == self.padding[1]
                  and self.kernel_size[0] == self.kernel_size[1] and torch.is_grad_enabled())
        if not usable:
            return super().forward(x)
        return _SplitBackwardConv.apply(x, self.weight, self.bias, self.padding[0])
