"""Stride-1 convolutions for the CPU: Winograd (NNPACK) for the large ones, and the input gradient
computed as a forward convolution.

oneDNN has no Winograd kernels on AVX2 CPUs; its direct 3x3 kernels run at ~110-160 GFLOP/s on the
2-core development CPU. NNPACK, which PyTorch ships but only picks for batches of 16 or more, has
Winograd F(6x6, 3x3) for one image too. Measured there (``MALLOC_MMAP_MAX_=0``, median of 7),
132->128 channels, forward / input gradient in ms:

=======  ===============  ===============
side     oneDNN           NNPACK
=======  ===============  ===============
512 px   530 / 641        207 / 237
256 px   143 / 166        64 / 64
128 px   37 / 43          18 / 19
64 px    9.3 / 11.0       7.7 / 7.5
16 px    0.93 / 0.91      1.65 / 2.22
=======  ===============  ===============

NNPACK loses on small pictures and on few channels (3->128 at 256 px: 7.1 against 14.7 ms; 32->32
at 128 px 2.7 against 3.9; 64->64 at 128 px 10.9 against 7.4), so it is used from
``NNPACK_MIN_SIDE`` pixels and ``NNPACK_MIN_CHANNELS`` channels (in and out) on. Its results
differ from oneDNN's by ~1e-5 of their range (Winograd's rounding; TF32 on a GPU differs by ~1e-3).

The input gradient of a stride-1 convolution is itself a convolution (of the output gradient,
zero-padded by ``k - 1 - padding``, with the weights flipped and their in/out channels swapped), so
it takes the same fast forward kernel; oneDNN's own backward-data kernel is slower than its forward
one, and asking it for the input and weight gradients in one call is slower than one at a time
(132->128 channels at 256 px: 399 ms in one call against 164 + 160 ms). The weight gradient goes
to Winograd too, by hand (winograd.py): NNPACK's kernel-gradient functions are not in PyTorch's
build. The same thresholds apply there.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from dip_gui.core.networks import winograd
from dip_gui.core.networks.cpu_layers import onednn_has_avx512

#: An autograd backward's result: one gradient (or None) per input of its forward.
Gradients = tuple[torch.Tensor | None, ...]

#: NNPACK's Winograd kernels pay from this output side (pixels) and channel count (table above).
NNPACK_MIN_SIDE = 32
#: On AVX-512 CPUs oneDNN's direct kernels are ~2x faster and NNPACK pays only on large pictures.
#: Measured there (2-core AVX-512 Xeon, 128->128 channels, forward / input gradient, ms, NNPACK vs oneDNN):
#: 256 px (132 in) 57.7 / 52.9 vs 61.8 / 70.3; 128 px 14.4 / 13.9 vs 13.3 / 12.7 (132 in: 15.0 /
#: 14.1 vs 14.6 / 16.8); 64 px 4.1 / 4.0 vs 3.4 / 3.3; 32 px 1.7 / 1.8 vs 0.8 / 0.9.
NNPACK_MIN_SIDE_AVX512 = 128
NNPACK_MIN_CHANNELS = 64
#: NNPACK keeps a workspace per calling thread, as large as the largest convolution it ran, for the
#: thread's life: ~256 bytes per channel (in + out) per 6x6 output tile (measured 122 MB for
#: 132->128 channels at 256 px, 474 MB at 512 px). Larger convolutions stay with oneDNN, which
#: bounds the paper network's peak at 512 px: 2225 MB (2112 without these kernels, 2623 with NNPACK on every
#: layer).
NNPACK_MAX_WORKSPACE = 320 * 2**20
_nnpack: dict[str, bool | None] = {"ready": None}


def nnpack_ready() -> bool:
    """NNPACK present, initialised and on a CPU it supports (checked once per process).

    ``torch._nnpack_available()`` also initialises the library; without that every call fails.
    """
    if _nnpack["ready"] is None:
        try:
            _nnpack["ready"] = bool(torch._nnpack_available())
        except (AttributeError, RuntimeError):
            _nnpack["ready"] = False
    return bool(_nnpack["ready"])


def nnpack_workspace_bytes(channels_in: int, channels_out: int, out_height: int, out_width: int) -> int:
    """NNPACK's workspace for one convolution of this shape (``NNPACK_MAX_WORKSPACE``'s measure)."""
    return 256 * (channels_in + channels_out) * -(-out_height // 6) * -(-out_width // 6)


def nnpack_pays(channels_in: int, channels_out: int, out_height: int, out_width: int) -> bool:
    """Whether a float32 3x3-or-larger stride-1 convolution of this shape goes to NNPACK (table above)."""
    min_side = NNPACK_MIN_SIDE_AVX512 if onednn_has_avx512() else NNPACK_MIN_SIDE
    return (min(out_height, out_width) >= min_side and min(channels_in, channels_out) >= NNPACK_MIN_CHANNELS
            and nnpack_workspace_bytes(channels_in, channels_out, out_height, out_width) <= NNPACK_MAX_WORKSPACE
            and nnpack_ready())


def _use_nnpack(x: torch.Tensor, weight: torch.Tensor, padding: int) -> bool:
    out_h = x.shape[2] + 2 * padding - weight.shape[2] + 1
    out_w = x.shape[3] + 2 * padding - weight.shape[3] + 1
    return x.dtype == weight.dtype == torch.float32 and nnpack_pays(weight.shape[1], weight.shape[0], out_h, out_w)


def conv_stride1(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, padding: int) -> torch.Tensor:
    """``F.conv2d(x, weight, bias, padding=padding)`` for one CPU image, by the faster kernel."""
    if _use_nnpack(x, weight, padding):
        try:
            return torch._nnpack_spatial_convolution(x.contiguous(), weight.contiguous(), bias, [padding, padding])
        except RuntimeError:  # NNPACK refused (it says no more than "failed"): oneDNN from now on
            _nnpack["ready"] = False
    return F.conv2d(x, weight, bias, padding=padding)


class _SplitBackwardConv(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, padding: int) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        ctx.padding, ctx.has_bias = padding, bias is not None
        return conv_stride1(x, weight, bias, padding)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> Gradients:
        x, weight = ctx.saved_tensors
        grad = grad.contiguous()
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            flipped = weight.flip(2, 3).transpose(0, 1).contiguous()
            grad_x = conv_stride1(grad, flipped, None, weight.shape[-1] - 1 - ctx.padding)
        if ctx.needs_input_grad[1] and winograd.usable(x, grad, weight.shape[-1]):
            grad_w = winograd.weight_gradient(x, grad, ctx.padding)
            grad_b = grad.sum((0, 2, 3)) if ctx.has_bias and ctx.needs_input_grad[2] else None
        elif ctx.needs_input_grad[1] or (ctx.has_bias and ctx.needs_input_grad[2]):
            _, grad_w, grad_b = torch.ops.aten.convolution_backward(
                grad, x, weight, [weight.shape[0]] if ctx.has_bias else None, [1, 1], [ctx.padding] * 2, [1, 1],
                False, [0, 0], 1, [False, ctx.needs_input_grad[1], ctx.has_bias and ctx.needs_input_grad[2]])
        return grad_x, grad_w, grad_b, None


class SplitBackwardConv2d(nn.Conv2d):
    """``nn.Conv2d`` (same parameters and results) with the kernels above for one NCHW photo on the
    CPU with stride 1 and symmetric integer padding; anything else is plain."""

    def takes_split_kernels(self, x: torch.Tensor) -> bool:
        """Whether ``x`` (on the CPU) would go to the kernels above: the shape and settings, not the device."""
        return (x.dim() == 4 and x.shape[0] == 1 and self.stride == (1, 1) and self.dilation == (1, 1)
                and self.groups == 1 and self.padding_mode == "zeros" and isinstance(self.padding, tuple)
                and self.padding[0] == self.padding[1] and self.kernel_size[0] == self.kernel_size[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type != "cpu" or not self.takes_split_kernels(x):
            return super().forward(x)
        if not torch.is_grad_enabled():  # previews and results
            return conv_stride1(x, self.weight, self.bias, int(self.padding[0]))
        return _SplitBackwardConv.apply(x, self.weight, self.bias, int(self.padding[0]))
