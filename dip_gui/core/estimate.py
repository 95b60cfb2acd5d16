"""Before a run: time per iteration and memory for this photo on this device, measured small.

One real iteration on a small canvas is timed and its saved activations counted; both grow with
the pixel count, so they are scaled to the photo's canvas. Cheap (tens of ms) and honest.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from dip_gui.core.device import resolve_device
from dip_gui.core.networks import SkipNet
from dip_gui.core.presets import Preset
from dip_gui.core.session import Canvas


@dataclass(frozen=True)
class CostEstimate:
    seconds_per_iteration: float
    memory_bytes: int
    canvas: tuple[int, int]

    def describe(self, iterations: int) -> str:
        total = self.seconds_per_iteration * iterations
        return (f"~{self.seconds_per_iteration:.2f} s/iteration, ~{_duration(total)} for {iterations} iterations, "
                f"~{self.memory_bytes / 2**20:,.0f} MB")


def estimate_cost(preset: Preset, out_size: tuple[int, int], channels: int = 3, device: str = "auto") -> CostEstimate:
    """Estimate one iteration's time and peak memory for ``preset`` at ``out_size``."""
    dev = resolve_device(device)
    spec = preset.net
    probe = Canvas.around((64, 64), spec.multiple, spec.min_cells)
    full = Canvas.around(out_size, spec.multiple, spec.min_cells)
    depth = preset.network_input_depth(channels)
    net = SkipNet(spec, depth, channels).to(dev)
    z = torch.rand(1, depth, probe.height, probe.width, device=dev)
    saved = [0]

    def count(tensor: torch.Tensor) -> torch.Tensor:
        saved[0] += tensor.numel() * tensor.element_size()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(count, lambda t: t):
        out = net(z)
    out.mean().backward()  # warm-up (first call allocates)
    start = time.perf_counter()
    net(z).mean().backward()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    ratio = (full.height * full.width) / (probe.height * probe.width)
    params = sum(p.numel() for p in net.parameters()) * 4 * 4  # weights, grads, two Adam moments
    memory = int(saved[0] * ratio * 1.5 + params)  # 1.5: gradients of activations alive in backward
    return CostEstimate(float(seconds * max(ratio, 1.0) ** 1.05), memory, (full.height, full.width))


def cost_warning(cost: CostEstimate, iterations: int, available_bytes: int | None, long_run_s: float) -> str | None:
    """Why a run deserves a question before it starts (too long, or more memory than is free), or None."""
    reasons = []
    total = cost.seconds_per_iteration * iterations
    if total > long_run_s:
        reasons.append(f"take about {_duration(total)}")
    if available_bytes and cost.memory_bytes > 0.8 * available_bytes:
        reasons.append(f"need ~{cost.memory_bytes / 2**30:.1f} GB of memory with {available_bytes / 2**30:.1f} GB free")
    return None if not reasons else "This run would " + " and ".join(reasons) + "."


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


__all__ = ["CostEstimate", "cost_warning", "estimate_cost"]
