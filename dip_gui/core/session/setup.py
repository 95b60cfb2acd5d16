"""What a Session is built from: its network, the network's input and the host-memory plan.

Kept apart from core/session/session.py, which runs the loop; these are decided once, when a run is made.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from dip_gui.core.errors import InvalidParameterError
from dip_gui.core.estimate.memory import plan_cpu_memory
from dip_gui.core.networks import SkipNet, make_input
from dip_gui.core.networks.padded_canvas import Canvas
from dip_gui.core.problem.presets import Preset
from dip_gui.core.problem.tasks import Problem, to_tensor
from dip_gui.core.runtime.device import available_memory_bytes
from dip_gui.core.runtime.host_memory import apply_host_memory, choose_host_memory


def plan_host_memory(setting: str, device: torch.device, preset: Preset, problem: Problem) -> tuple[str, bool]:
    """(host memory, lean network): keep freed memory for reuse on the CPU when memory allows
    (core/runtime/host_memory.py; applied here, process-wide), and whether the network's batch norms keep
    only their outputs, which large CPU runs get (core/estimate/memory.py, ``plan_cpu_memory``)."""
    on_cpu = device.type == "cpu"
    if setting == "auto" and on_cpu:
        try:
            plan = plan_cpu_memory(preset, problem.out_size, problem.channels, available_memory_bytes(device))
            mode, lean = plan.host_memory, plan.lean_network
        except RuntimeError:  # no estimate (e.g. no memory even for the probe): the frugal setting
            mode, lean = "lean", True
    else:
        mode = choose_host_memory(setting, device.type)
        lean = on_cpu and mode == "lean"
    return (mode if apply_host_memory(mode) else "lean"), lean  # not glibc: the system's allocator as it is


def make_network(problem: Problem, preset: Preset, plain: bool, lean: bool) -> SkipNet:
    """The preset's network for the problem's channels (on the CPU; the session moves it)."""
    guide_channels = problem.guide.shape[2] if problem.guide is not None else 3
    depth = preset.network_input_depth(problem.channels, guide_channels)
    if not (preset.base and preset.residual):
        return SkipNet(preset.net, depth, problem.channels, plain=plain, lean=lean)
    # Residual over the classical estimate: no sigmoid and a zero last layer, so x starts
    # exactly at the estimate and never strays far from it early on (see classical/warm_start.py).
    net = SkipNet(replace(preset.net, sigmoid=False), depth, problem.channels, plain=plain, lean=lean)
    last = net.head[-1]
    assert isinstance(last, torch.nn.Conv2d) and last.bias is not None  # the head ends in a convolution with a bias
    torch.nn.init.zeros_(last.weight)
    torch.nn.init.zeros_(last.bias)
    return net


def make_network_input(problem: Problem, preset: Preset, canvas: Canvas, estimate: torch.Tensor | None,
                       generator: torch.Generator) -> torch.Tensor:
    """The network's input z on the canvas: the guide photo, the classical ``estimate`` or fixed noise."""
    if preset.input_kind == "image":
        if problem.guide is None:
            raise InvalidParameterError("this preset uses a guide image as input; give the flash photo")
        return canvas.pad(to_tensor(problem.guide))
    if preset.input_kind == "base":
        # The classical estimate is the input, as the flash photo is for flash/no-flash.
        assert estimate is not None  # Preset.validate: a base input needs a warm start
        return canvas.pad(estimate)
    depth = preset.network_input_depth(problem.channels)
    return make_input(preset.input_kind, depth, canvas.height, canvas.width, preset.input_scale, generator)
