"""The paper's encoder-decoder with skip connections ("skip"), every knob of the authors' code.

Level i (0 = full resolution) of the network, for input x with ``c_in`` channels::

    skip_i(x)   = act(bn(conv_k_skip(x)))                      (absent when skip channels = 0)
    deeper_i(x) = up(act(bn(conv(act(bn(down_conv(x))))) -> level i+1))
    y           = bn(cat(skip_i(x), deeper_i(x)))
    out_i       = [act(bn(conv1x1(.)))] act(bn(conv_k_up(y)))

The final 1x1 convolution maps to the output channels, followed by a sigmoid. An hourglass is the
same network with zero skip channels. Parameter counts match the authors' implementation exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from dip_gui.core.networks.batch_norm import FastBatchNorm2d, FastBatchNormLeakyReLU, FastBatchNormReflectionPad
from dip_gui.core.networks.cpu_layers import FastReflectionPad2d, FastUpsample, onednn_has_avx512
from dip_gui.core.networks.lanczos import LanczosDownsample
from dip_gui.core.networks.split_conv import SplitBackwardConv2d
from dip_gui.core.runtime.host_memory import keeping_freed_memory

DOWNSAMPLE_MODES = ("stride", "avg", "max", "lanczos2", "lanczos3")
UPSAMPLE_MODES = ("nearest", "bilinear")
PAD_MODES = ("reflection", "zero")


@dataclass(frozen=True)
class SkipSpec:
    """Hyper-parameters of a skip network; per-level tuples are ordered from full resolution down."""

    channels_down: tuple[int, ...] = (128,) * 5
    channels_up: tuple[int, ...] = (128,) * 5
    channels_skip: tuple[int, ...] = (4,) * 5
    filter_down: int = 3
    filter_up: int = 3
    filter_skip: int = 1
    downsample: str | tuple[str, ...] = "stride"
    upsample: str | tuple[str, ...] = "bilinear"
    pad: str = "reflection"
    need1x1_up: bool = True
    sigmoid: bool = True
    leaky_slope: float = 0.2

    @property
    def levels(self) -> int:
        return len(self.channels_down)

    @property
    def multiple(self) -> int:
        """Input sides must be a multiple of this (one halving per level)."""
        return 2**self.levels

    @property
    def min_cells(self) -> int:
        """Smallest canvas side in multiples: batch norm needs more than one value per channel at
        the deepest level, and reflection padding needs more pixels than it pads."""
        return max(2, self.filter_down // 2 + 1)

    def per_level(self, value: str | tuple[str, ...]) -> tuple[str, ...]:
        return tuple(value) if isinstance(value, (tuple, list)) else (value,) * self.levels

    def validate(self) -> None:
        if not (len(self.channels_down) == len(self.channels_up) == len(self.channels_skip)):
            raise ValueError("channels_down, channels_up and channels_skip need one entry per level")
        for mode in self.per_level(self.downsample):
            if mode not in DOWNSAMPLE_MODES:
                raise ValueError(f"unknown downsample mode {mode!r}")
        for mode in self.per_level(self.upsample):
            if mode not in UPSAMPLE_MODES:
                raise ValueError(f"unknown upsample mode {mode!r}")
        if self.pad not in PAD_MODES:
            raise ValueError(f"unknown padding {self.pad!r}")


class PointwiseConv2d(nn.Conv2d):
    """A 1x1 convolution computed as one matrix product on the CPU.

    Same parameters (names, shapes, initialisation) as ``nn.Conv2d(c_in, c_out, 1)``. For one NCHW
    photo a 1x1 convolution is the product weight (c_out x c_in) @ x (c_in x H*W); MKL's GEMM does it,
    and its backward, 2-4x faster than the convolution kernels on a CPU (measured at 256 px: 128->128
    channels 66 -> 50 ms forward, 133 -> 73 ms backward; 128->3 channels 20 -> 5 ms forward). GPUs and
    batches keep the convolution (cuDNN is good at 1x1 and needs it for channels-last). So does a CPU
    run that keeps freed memory (core/runtime/host_memory.py) on an AVX2 CPU, for 16 output channels or more:
    without the page faults of fresh allocations oneDNN's 1x1 kernels are the faster ones there
    (128->128 channels at 256 px, forward and backward: 70.7 ms against 80.5 ms as a matrix product;
    those figures above were measured with faults). On AVX-512 CPUs the product wins either way.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (x.device.type != "cpu" or x.dim() != 4 or x.shape[0] != 1 or not x.is_contiguous()
                or (keeping_freed_memory() and not _matrix_product_wins_with_kept_memory(self.out_channels))):
            return super().forward(x)
        _, channels, height, width = x.shape
        weight = self.weight.view(self.out_channels, channels)
        flat = x.view(channels, height * width)
        y = weight @ flat if self.bias is None else torch.addmm(self.bias.unsqueeze(1), weight, flat)
        return y.view(1, self.out_channels, height, width)


def _matrix_product_wins_with_kept_memory(out_channels: int) -> bool:
    """With freed memory kept, oneDNN's 1x1 kernel beats the matrix product only on AVX2 CPUs and wide
    outputs. Measured (forward + backward, ms, at 256 px): AVX2 128->128 70.7 vs 80.5 (oneDNN wins);
    AVX-512 128->128 39.8 vs 30.6, 128->3 12.7 vs 3.5 (the product wins)."""
    return out_channels < 16 or onednn_has_avx512()


def conv_block(c_in: int, c_out: int, kernel: int, spec: SkipSpec, stride: int = 1, downsample: str = "stride",
               plain: bool = False, padded_before: bool = False) -> nn.Sequential:
    """Padding + convolution (+ a fixed downsampler when downsampling is not by stride).

    ``plain`` builds every convolution as ``nn.Conv2d`` (the reference the benchmark compares with).
    ``padded_before``: the layer before pads (``FastBatchNormReflectionPad``); an Identity holds the
    padding's place so that the convolution keeps its name.
    """
    layers: list[nn.Module] = []
    pad = (kernel - 1) // 2
    if spec.pad == "reflection" and pad > 0:
        layers.append(nn.Identity() if padded_before else nn.ReflectionPad2d(pad) if plain else FastReflectionPad2d(pad))
        pad = 0
    conv_stride = stride if downsample == "stride" else 1
    # CPU-faster forms with the same parameters and results (PointwiseConv2d, split_conv.py)
    faster = PointwiseConv2d if kernel == 1 else SplitBackwardConv2d
    conv_type = nn.Conv2d if plain or conv_stride != 1 else faster
    layers.append(conv_type(c_in, c_out, kernel, conv_stride, padding=pad, bias=True))
    if stride != 1 and downsample != "stride":
        if downsample == "avg":
            layers.append(nn.AvgPool2d(stride, stride))
        elif downsample == "max":
            layers.append(nn.MaxPool2d(stride, stride))
        else:
            layers.append(LanczosDownsample(stride, support=int(downsample[-1])))
    return nn.Sequential(*layers)


def batch_norm(channels: int, plain: bool) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels) if plain else FastBatchNorm2d(channels)


def norm_act(channels: int, spec: SkipSpec, plain: bool = False, lean: bool = False) -> list[nn.Module]:
    """Batch norm and LeakyReLU. ``lean`` fuses them to keep half the memory for the backward; the
    Identity holds the activation's place so that every layer keeps its name (state dicts load in
    all three forms)."""
    if lean and not plain:
        return [FastBatchNormLeakyReLU(channels, spec.leaky_slope), nn.Identity()]
    return [batch_norm(channels, plain), nn.LeakyReLU(spec.leaky_slope, inplace=True)]


class SkipLevel(nn.Module):
    """One resolution level: optional skip branch, deeper branch, merge and up-convolution."""

    def __init__(self, spec: SkipSpec, index: int, c_in: int, plain: bool = False, lean: bool = False) -> None:
        super().__init__()
        down, up, skip = spec.channels_down[index], spec.channels_up[index], spec.channels_skip[index]
        last = index == spec.levels - 1
        self.skip = None
        if skip:
            self.skip = nn.Sequential(conv_block(c_in, skip, spec.filter_skip, spec, plain=plain),
                                      *norm_act(skip, spec, plain, lean))
        deeper: list[nn.Module] = [
            conv_block(c_in, down, spec.filter_down, spec, 2, spec.per_level(spec.downsample)[index], plain),
            *norm_act(down, spec, plain, lean),
            conv_block(down, down, spec.filter_down, spec, plain=plain),
            *norm_act(down, spec, plain, lean),
        ]
        if not last:
            deeper.append(SkipLevel(spec, index + 1, down, plain, lean))
        mode = spec.per_level(spec.upsample)[index]
        deeper.append((nn.Upsample if plain else FastUpsample)(scale_factor=2, mode=mode))
        self.deeper = nn.Sequential(*deeper)
        merged = skip + (down if last else spec.channels_up[index + 1])
        # Lean, the merge's batch norm writes the padded input of the up-convolution and keeps only that
        padded = lean and not plain and spec.pad == "reflection" and spec.filter_up > 2
        self.merge_norm = FastBatchNormReflectionPad(merged, (spec.filter_up - 1) // 2) if padded else batch_norm(merged, plain)
        post: list[nn.Module] = [conv_block(merged, up, spec.filter_up, spec, plain=plain, padded_before=padded),
                                 *norm_act(up, spec, plain, lean)]
        if spec.need1x1_up:
            post += [conv_block(up, up, 1, spec, plain=plain), *norm_act(up, spec, plain, lean)]
        self.post = nn.Sequential(*post)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        deep = self.deeper(x)
        y = deep if self.skip is None else torch.cat([self.skip(x), deep], dim=1)
        return self.post(self.merge_norm(y))


class SkipNet(nn.Module):
    """Encoder-decoder of the paper. Input N x C_in x H x W, H and W multiples of ``spec.multiple``.

    ``plain=True`` builds the textbook eager network (every convolution an ``nn.Conv2d``): identical
    parameters and results, kept as the benchmark's reference. ``lean=True`` fuses each batch norm
    with what follows it (core/networks/batch_norm.py): the same parameters and results, ~45% less
    kept for the backward (a quarter less peak memory) at 2-7% more time per iteration, for runs
    where memory is the limit (``memory_estimate.plan_cpu_memory``).
    """

    def __init__(self, spec: SkipSpec, in_channels: int, out_channels: int, plain: bool = False,
                 lean: bool = False) -> None:
        super().__init__()
        spec.validate()
        self.spec = spec
        self.body = SkipLevel(spec, 0, in_channels, plain, lean)
        self.head = conv_block(spec.channels_up[0], out_channels, 1, spec, plain=plain)
        self.sigmoid = spec.sigmoid

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.head(self.body(x))
        return torch.sigmoid(y) if self.sigmoid else y
