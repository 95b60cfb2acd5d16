"""Before a run: time per iteration and memory for this photo on this device, measured small.

One real iteration on a small canvas is timed and its saved activations counted; both grow with
the pixel count, so they are scaled to the photo's canvas. Cheap (tens of ms) and honest.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import torch

from dip_gui.core.device import available_memory_bytes, resolve_device
from dip_gui.core.host_memory import EXTRA_FRACTION, choose_host_memory
from dip_gui.core.networks import SkipNet
from dip_gui.core.presets import Preset
from dip_gui.core.session import Canvas

#: Runs estimated longer than this get a question (window) or a warning line (command line) first.
LONG_RUN_S = 30 * 60
#: Canvas sides of the two timing probes.
PROBE_SIDES = (64, 128)
#: The second probe only for networks this quick at 64 px: there the fixed per-operation cost is
#: a large share (fast presets: 20-40 ms there); the paper networks (90-150 ms) are per-pixel
#: bound, and their second probe would cost ~1.5 s in the window.
FIT_BELOW_S = 0.05
#: Networks no wider than this get the second probe whatever their 64 px time: the ``balanced``
#: preset's 64-channel network takes 60-90 ms there, but most of its layers reach the Winograd
#: kernels (split_conv) only on larger canvases, so one 64 px probe scaled by the pixels read it
#: ~3x too slow (4.85 s/iter predicted at 512 px, 1.66 measured; with the fit 1.6-3.1 over ten calls).
FIT_MAX_CHANNELS = 64


@dataclass(frozen=True)
class CostEstimate:
    seconds_per_iteration: float
    memory_bytes: int
    canvas: tuple[int, int]

    def duration(self, iterations: int) -> str:
        """The time ``iterations`` would take, for people: "40 s", "12 min", "1.4 h"."""
        return format_duration(self.seconds_per_iteration * iterations)

    def describe(self, iterations: int) -> str:
        return (f"~{self.seconds_per_iteration:.2f} s/iteration, ~{self.duration(iterations)} for {iterations} iterations, "
                f"~{self.memory_bytes / 2**20:,.0f} MB")


def cost_key(preset: Preset, out_size: tuple[int, int], channels: int, device: str) -> tuple:
    """What an estimate depends on: the network, its input, the size and the device, not the
    schedule (iterations, learning rate, jitter, averaging). Hashable: estimates are kept by it."""
    schedule_free = replace(preset, name="", description="", iterations=1, lr=0.01, ema=None, reg_noise_std=0.0,
                            lr_floor=1.0, warmup=0)
    return schedule_free, tuple(out_size), channels, device


def estimate_cost(preset: Preset, out_size: tuple[int, int], channels: int = 3, device: str = "auto") -> CostEstimate:
    """Estimate one iteration's time and peak memory for ``preset`` at ``out_size``.

    Time: forward and backward on two small canvases (64 and 128 px), a fixed part and a part that
    grows with the pixels fitted through them (small networks; large ones scale the 64 px probe).
    One 64 px probe scaled by the pixel ratio, as before session 3, read a small network's fixed
    per-operation cost as per-pixel cost: 3-4x too slow for the ``fast`` presets (2.33 s/iter
    predicted, 0.62 measured at 512 px).
    """
    dev = resolve_device(device)
    spec = preset.net
    # what the session will do on the CPU: which network (its memory and time), and whether it keeps
    # freed memory, which grows the peak by up to EXTRA_FRACTION of the estimate (core/host_memory.py)
    plan = plan_cpu_memory(preset, out_size, channels, available_memory_bytes(dev)) if dev.type == "cpu" else None
    net, depth = _network(preset, channels, dev, plan is not None and plan.lean_network)
    memory = plan.estimated_bytes if plan is not None else _memory_bytes(net, depth, preset, out_size, dev)
    if plan is not None and plan.host_memory == "fast":
        memory = int(memory * (1 + EXTRA_FRACTION))
    small, large, full = (Canvas.around(size, spec.multiple, spec.min_cells)
                          for size in ((PROBE_SIDES[0],) * 2, (PROBE_SIDES[1],) * 2, out_size))
    z_small = torch.rand(1, depth, small.height, small.width, device=dev)
    t_small = _probe_seconds(net, z_small, dev)
    px_small, px_large, px_full = (c.height * c.width for c in (small, large, full))
    narrow = max(spec.channels_down + spec.channels_up) <= FIT_MAX_CHANNELS
    if px_large > px_small and (t_small < FIT_BELOW_S or narrow):
        t_large = _probe_seconds(net, torch.rand(1, depth, large.height, large.width, device=dev), dev)
        per_pixel = max((t_large - t_small) / (px_large - px_small), 0.25 * t_large / px_large)
    else:  # a large network (its time is all per pixel) or no room for a second probe: scale the one
        per_pixel, px_large = t_small / px_small, px_small
    fixed = max(t_small - per_pixel * px_small, 0.0)
    seconds = fixed + per_pixel * px_large * max(px_full / px_large, 1.0) ** 1.05
    return CostEstimate(float(seconds), memory, (full.height, full.width))


def estimate_memory(preset: Preset, out_size: tuple[int, int], channels: int = 3, device: str = "auto",
                    lean: bool = False) -> int:
    """The activations, weights and optimiser state counted for the network with its pairs of layers
    or the lean one: one forward pass, no timing (``estimate_cost`` adds what keeping freed memory
    costs where the run will keep it)."""
    dev = resolve_device(device)
    net, depth = _network(preset, channels, dev, lean)
    return _memory_bytes(net, depth, preset, out_size, dev)


@dataclass(frozen=True)
class MemoryPlan:
    """How a CPU run uses memory: ``host_memory`` "fast" keeps freed memory (core/host_memory.py);
    ``lean_network`` builds the network whose batch norms keep only their outputs (networks/batch_norm.py)."""

    host_memory: str
    lean_network: bool
    estimated_bytes: int


def plan_cpu_memory(preset: Preset, out_size: tuple[int, int], channels: int, available_bytes: int | None) -> MemoryPlan:
    """What the "auto" host-memory setting does on the CPU, fastest first: keep freed memory with the
    network's pairs of layers where the extra memory allows it; else keep it with the lean network,
    whose estimate is 14-20% smaller; else keep nothing, with the lean network.

    The middle step is worth most: keeping freed memory spares every iteration its page faults, and
    the lean network's 2-7% extra time is small beside that. Measured (session 14, ``python -m dip_gui
    bench --size S --iters 3 --host-memory lean|fast``, lean network both): `fast` SR at 1024 px 2.47 ->
    1.51 s/iteration for +505 MB (1976 MB peak), `fast` denoising at 1024 px 2.31 -> 1.50 s for +726 MB,
    the paper denoiser at 448 px 2.60 -> 1.88 s for +711 MB (2092 MB peak)."""
    estimated = 0
    for lean in (False, True):
        estimated = estimate_memory(preset, out_size, channels, "cpu", lean)
        if choose_host_memory("auto", "cpu", estimated, available_bytes) == "fast":
            return MemoryPlan("fast", lean, estimated)
    return MemoryPlan("lean", True, estimated)


def _network(preset: Preset, channels: int, device: torch.device, lean: bool = False) -> tuple[SkipNet, int]:
    depth = preset.network_input_depth(channels)
    return SkipNet(preset.net, depth, channels, lean=lean).to(device), depth


def _memory_bytes(net: SkipNet, depth: int, preset: Preset, out_size: tuple[int, int], device: torch.device) -> int:
    """Activations saved for backward, counted on the small probe canvas and scaled to the photo's,
    plus weights, gradients and Adam's two moments."""
    spec = preset.net
    small = Canvas.around((PROBE_SIDES[0],) * 2, spec.multiple, spec.min_cells)
    full = Canvas.around(out_size, spec.multiple, spec.min_cells)
    saved = [0]

    def count(tensor: torch.Tensor) -> torch.Tensor:
        saved[0] += tensor.numel() * tensor.element_size()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(count, lambda t: t):
        net(torch.rand(1, depth, small.height, small.width, device=device))
    ratio = (full.height * full.width) / (small.height * small.width)
    params = sum(p.numel() for p in net.parameters()) * 4 * 4  # weights, grads, two Adam moments
    return int(saved[0] * ratio * 1.5 + params)  # 1.5: gradients of activations alive in backward


def _probe_seconds(net: torch.nn.Module, z: torch.Tensor, device: torch.device, repeats: int = 3) -> float:
    """Fastest of ``repeats`` forward+backward passes (after one warm-up at this size)."""
    net(z).mean().backward()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        net(z).mean().backward()
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best


def cost_warning(cost: CostEstimate, iterations: int, available_bytes: int | None, long_run_s: float) -> str | None:
    """Why a run deserves a question before it starts (too long, or more memory than is free), or None."""
    reasons = []
    total = cost.seconds_per_iteration * iterations
    if total > long_run_s:
        reasons.append(f"take about {format_duration(total)}")
    if available_bytes and cost.memory_bytes > 0.8 * available_bytes:
        reasons.append(f"need ~{cost.memory_bytes / 2**30:.1f} GB of memory with {available_bytes / 2**30:.1f} GB free")
    return None if not reasons else "This run would " + " and ".join(reasons) + "."


def format_duration(seconds: float) -> str:
    """Seconds for people: "40 s", "12 min", "1.4 h"."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


__all__ = ["LONG_RUN_S", "CostEstimate", "MemoryPlan", "cost_warning", "estimate_cost", "estimate_memory",
           "format_duration", "plan_cpu_memory"]
