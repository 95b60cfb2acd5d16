"""Before a run: time per iteration and memory for this photo on this device, measured small.

One real iteration on a small canvas is timed and its saved activations counted; both grow with
the pixel count, so they are scaled to the photo's canvas (memory: core/estimate/memory.py).
Cheap (tens of ms) and honest.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import torch

from dip_gui.core.estimate.memory import count_memory, plan_for_setting
from dip_gui.core.networks import SkipNet
from dip_gui.core.networks.padded_canvas import Canvas
from dip_gui.core.problem.presets import Preset
from dip_gui.core.runtime.cuda_graph import EAGER_PASSES, ReplayedPass
from dip_gui.core.runtime.device import (
    available_memory_bytes,
    configure_device,
    make_adam,
    preferred_memory_format,
    resolve_device,
    resolve_precision,
)

#: Runs estimated longer than this get a question (window) or a warning line (command line) first.
LONG_RUN_S = 30 * 60
#: Canvas sides of the two timing probes on the CPU.
PROBE_SIDES = (64, 128)
#: On CUDA, larger: below ~256 px a GPU iteration costs its fixed part alone, so the difference of
#: two small probes is noise. Measured on an H200 (``Session.step()`` with the pass
#: replayed from a CUDA graph): `fast` 3.05 / 5.27 / 13.8 ms at 256 / 512 / 1024 px, paper 5.6 /
#: 13.9 / 53.4 / 125 ms at 256 / 512 / 1024 / 1536 px; the fit below through the 256 and 512 px
#: figures gives 1024 px 1.03x (fast) and 0.94x (paper) of the measured time, 1536 px 0.91x. The
#: 64 + 128 px probes launched from Python, as before, estimated 5-14x the measured time.
CUDA_PROBE_SIDES = (256, 512)
#: Every network gets both probes and a fixed + per-pixel fit: one 64 px probe scaled by the pixels
#: read the paper networks 1.13-1.75x the measured time (median 1.49 over 72 runs, 256-1024 px).
#: A CPU run that gives freed memory back faults in and zeroes every activation again each
#: iteration; the probes (small blocks, served from the heap) do not. Measured (36 pairs
#: of runs from 256 to 1024 px, `benchmarks/results/memory_model_fit_cpu_avx512_2026-11-27.json`'s rows,
#: ``bench --host-memory lean|fast``): 0.3-1.3 s more per GB the network saves, median 0.65.
PAGE_FAULT_SECONDS_PER_BYTE = 0.65 / 2**30


@dataclass(frozen=True)
class CostEstimate:
    seconds_per_iteration: float
    memory_bytes: int
    canvas: tuple[int, int]
    #: Per iteration of the check against the classical start, where the run ends with one: the same
    #: restorer on a copy of the photo, for as many iterations (core/stopping/start_check.py).
    check_seconds_per_iteration: float | None = None

    @property
    def whole_seconds_per_iteration(self) -> float:
        """Per iteration of the run and of its check against its start, where it ends with one."""
        return self.seconds_per_iteration + (self.check_seconds_per_iteration or 0.0)

    def duration(self, iterations: int) -> str:
        """The time ``iterations`` would take, for people: "40 s", "12 min", "1.4 h"."""
        return format_duration(self.seconds_per_iteration * iterations)

    def whole_duration(self, iterations: int) -> str:
        """The time ``iterations`` and the check after them would take at most, for people."""
        return format_duration(self.whole_seconds_per_iteration * iterations)

    def describe(self, iterations: int) -> str:
        text = (f"~{self.seconds_per_iteration:.2f} s/iteration, ~{self.duration(iterations)} for {iterations} iterations, "
                f"~{self.memory_bytes / 2**20:,.0f} MB")
        if self.check_seconds_per_iteration is None:
            return text
        return f"{text}; then up to ~{format_duration(self.check_seconds_per_iteration * iterations)} to check the result"


def with_check(cost: CostEstimate, out_size: tuple[int, int], check_size: tuple[int, int] | None,
               estimate: Callable[[tuple[int, int]], CostEstimate]) -> CostEstimate:
    """``cost`` with the time per iteration of the run's check against its start, where it has one
    (``check_size``: the copy's result size, ``run_loop.check_size``): the run's own where the copy is
    the photo's size (denoising), else ``estimate``d for the copy's size (x2 super-resolution)."""
    if check_size is None:
        return cost
    seconds = cost.seconds_per_iteration if check_size == out_size else estimate(check_size).seconds_per_iteration
    return replace(cost, check_seconds_per_iteration=seconds)


def cost_key(preset: Preset, out_size: tuple[int, int], channels: int, device: str,
             host_memory: str = "auto") -> tuple[object, ...]:
    """What an estimate depends on: the network, its input, the size, the device and the host-memory
    setting, not the schedule (iterations, learning rate, jitter, averaging). Hashable: estimates are
    kept by it."""
    schedule_free = replace(preset, name="", description="", iterations=1, lr=0.01, ema=None, reg_noise_std=0.0,
                            lr_floor=1.0, warmup=0)
    return schedule_free, tuple(out_size), channels, device, host_memory


#: Times one iteration of the run on a canvas of this size (a real session's step, core/session/cost_probe.py).
StepTimer = Callable[[Canvas, bool], float]


def estimate_cost(preset: Preset, out_size: tuple[int, int], channels: int = 3, device: str = "auto",
                  host_memory: str = "auto", step_seconds: StepTimer | None = None,
                  probe_sides: tuple[int, int] = PROBE_SIDES) -> CostEstimate:
    """Estimate one iteration's time and peak memory for ``preset`` at ``out_size``.

    Time: an iteration on two small canvases (``probe_sides``), a fixed part and a part that grows
    with the pixels fitted through them, plus the page faults of a CPU run that gives freed memory
    back. ``step_seconds`` times a whole iteration (``step_seconds(canvas, lean_network)``); without it
    the network's forward and backward pass alone is timed, which leaves out the optimiser, the
    output average, the input's jitter and the task's operator. One 64 px probe scaled by the pixel
    ratio would read a small network's fixed per-operation cost as per-pixel cost: 3-4x too slow for
    the ``fast`` presets (2.33 s/iter predicted, 0.62 measured at 512 px).
    """
    dev = resolve_device(device)
    # what the session will do on the CPU: which network (its memory and time), and whether it keeps
    # freed memory, which grows the peak (core/estimate/memory.py)
    plan = None
    if dev.type == "cpu":
        plan = plan_for_setting(host_memory, preset, out_size, channels, available_memory_bytes(dev))
    lean = plan is not None and plan.lean_network
    net, depth = _network(preset, channels, dev, lean) if (plan is None or step_seconds is None) else (None, 0)
    memory = plan.estimated_bytes if plan is not None else count_memory(preset, out_size, channels, dev, net=net).peak(dev.type)
    if step_seconds is None:
        assert net is not None  # built above for the network's own probe

        def step_seconds(canvas: Canvas, _lean: bool) -> float:
            return _probe_seconds(net, _probe_input(depth, canvas, dev), dev)
    seconds = _fitted_seconds(preset, out_size, dev, lambda canvas: step_seconds(canvas, lean), probe_sides)
    if plan is not None and plan.count is not None and plan.host_memory == "lean":  # small probes never fault; a large run does
        seconds += PAGE_FAULT_SECONDS_PER_BYTE * plan.count.saved
    full = Canvas.around(out_size, preset.net.multiple, preset.net.min_cells)
    return CostEstimate(float(seconds), memory, (full.height, full.width))


def _fitted_seconds(preset: Preset, out_size: tuple[int, int], device: torch.device,
                    timed: Callable[[Canvas], float], probe_sides: tuple[int, int]) -> float:
    """Seconds per iteration at ``out_size`` from two timed probes: a fixed part and a per-pixel part."""
    spec = preset.net
    small, large, full = (Canvas.around(size, spec.multiple, spec.min_cells)
                          for size in (*_probe_sizes(device, out_size, probe_sides), out_size))
    px_small, px_large, px_full = (c.height * c.width for c in (small, large, full))
    if px_full <= px_large:  # as small as a probe: its own canvas is timed
        return timed(full)
    t_small = timed(small)
    if px_large > px_small:
        t_large = timed(large)
        per_pixel = max((t_large - t_small) / (px_large - px_small), 0.25 * t_large / px_large)
    else:  # a network whose smallest canvas is larger than the second probe's: scale the one
        per_pixel, px_large = t_small / px_small, px_small
    fixed = max(t_small - per_pixel * px_small, 0.0)
    return fixed + per_pixel * px_large * max(px_full / px_large, 1.0) ** 1.05


def _probe_sizes(device: torch.device, out_size: tuple[int, int],
                 sides: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
    """The two probes' canvases: on CUDA no larger than the photo (its own size is then timed)."""
    if device.type != "cuda":
        return (sides[0],) * 2, (sides[1],) * 2
    large = (min(CUDA_PROBE_SIDES[1], out_size[0]), min(CUDA_PROBE_SIDES[1], out_size[1]))
    small = (min(CUDA_PROBE_SIDES[0], max(large[0] // 2, 1)), min(CUDA_PROBE_SIDES[0], max(large[1] // 2, 1)))
    return small, large


def _network(preset: Preset, channels: int, device: torch.device, lean: bool = False) -> tuple[SkipNet, int]:
    """The run's network as the run holds it: on CUDA in its memory format, with the run's settings
    (TF32, cuDNN's autotuning), which the session would make process-wide anyway."""
    depth = preset.network_input_depth(channels)
    net = SkipNet(preset.net, depth, channels, lean=lean)
    if device.type == "cuda":
        precision = resolve_precision("auto", device)
        configure_device(device, precision)
        # torch's stubs leave out Module.to's memory_format, which it takes
        return net.to(device, memory_format=preferred_memory_format(device, precision)), depth  # type: ignore[call-overload]
    return net.to(device), depth


def _probe_input(depth: int, canvas: Canvas, device: torch.device) -> torch.Tensor:
    """A probe's network input, in the memory format the run gives it (channels-last on CUDA)."""
    z = torch.rand(1, depth, canvas.height, canvas.width, device=device)
    return z.contiguous(memory_format=preferred_memory_format(device, resolve_precision("auto", device)))


def _probe_seconds(net: torch.nn.Module, z: torch.Tensor, device: torch.device, repeats: int = 3,
                   replayed: ReplayedPass | None = None) -> float:
    """Fastest of ``repeats`` forward+backward passes after a warm-up at this size. On CUDA as the run
    does it: the pass replayed from a CUDA graph (core/runtime/cuda_graph.py; ``replayed`` is made for it),
    and Adam's step after it, which launch overhead makes a visible part of a fast iteration there."""
    cuda = device.type == "cuda"
    if cuda and replayed is None:
        replayed = ReplayedPass(list(net.parameters()))
    optimizer = make_adam(net.parameters(), 0.01, device) if replayed is not None else None

    def one_pass() -> tuple[torch.Tensor, ...]:
        loss = net(z).mean()
        loss.backward()
        return (loss.detach(),)

    def iteration() -> None:
        if replayed is None:
            one_pass()
            return
        replayed(one_pass)
        assert optimizer is not None  # made with ``replayed``
        optimizer.step()

    for _ in range(EAGER_PASSES + 1 if replayed is not None else 1):  # to the replays; cuDNN's autotuning
        iteration()
    best = float("inf")
    for _ in range(repeats):
        if cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        iteration()
        if cuda:
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best


def cost_warning(cost: CostEstimate, iterations: int, available_bytes: int | None, long_run_s: float) -> str | None:
    """Why a run deserves a question before it starts (too long, its check against its start counted,
    or more memory than is free), or None."""
    reasons = []
    total = cost.whole_seconds_per_iteration * iterations
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


__all__ = ["LONG_RUN_S", "CostEstimate", "StepTimer", "cost_warning", "estimate_cost", "format_duration", "with_check"]
