"""Before a run: its peak memory, and how a CPU run should use memory (``plan_cpu_memory``).

What is counted, at the photo's size: the bytes the network saves for its backward pass (counted on
a 128 px canvas and scaled by the pixels), the session's own images (the network's input and a few
photo-sized images; more for inpainting, with its fill and held-out pixels), and on the CPU the
workspace NNPACK keeps for the largest convolution it runs (split_conv.py), from the layers' shapes.

On the CPU the peak is the growth of the process's resident memory, which is not just that sum:
gradients and temporaries come and go in the backward pass, and the allocator keeps some of what is
freed (much more where freed memory is kept, core/runtime/host_memory.py). So the saved bytes are weighted
and a fixed part added by a fit to measured runs (``CPU_PEAK_MODEL``). On a GPU the measure is the
memory the run holds (PyTorch's reserved memory, the pass's recording included), fitted the same way
(``GPU_PEAK_MODEL``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import torch

from dip_gui.core.networks import SkipNet
from dip_gui.core.networks.padded_canvas import Canvas
from dip_gui.core.networks.skip import SkipSpec
from dip_gui.core.networks.split_conv import SplitBackwardConv2d, nnpack_pays, nnpack_workspace_bytes
from dip_gui.core.problem.presets import Preset
from dip_gui.core.runtime.device import resolve_device
from dip_gui.core.runtime.host_memory import choose_host_memory

#: Side of the canvas on which the saved tensors are counted. Smaller canvases count too much per
#: pixel (padding and the deepest levels' borders): the `fast` denoiser's bytes per pixel counted at
#: 64 / 128 / 192 / 512 px are 1814 / 1514 / 1455 / 1411, the paper's 9138 / 7442 / 7118 / 6882.
COUNT_SIDE = 128
MB = 2**20
#: CPU peak = a x saved bytes + the session's images + NNPACK's workspace + b, for freed memory given
#: back ("lean") or kept ("fast"). Least squares on the relative error over 88 runs (22
#: task/preset/size rows from 256 to 1024 px, both networks, both settings; 2-core
#: AVX-512 Xeon, ``python benchmarks/memory_model.py --fit``), rounded: every run within -15% / +19%
#: of its measured peak ("lean", root mean square 8%) and -14% / +10% ("fast", 6%); 44 runs held out
#: -10% / +17% (7%). The count times 1.5 used before was -40% / +82%. The fixed part is the run's own
#: start-up (thread pools, oneDNN's kernels): ~100 MB of it before the first iteration.
CPU_PEAK_MODEL = {"lean": (1.0, 215 * MB), "fast": (1.6, 155 * MB)}
#: GPU peak = a x saved bytes + the session's images + weights, gradients and Adam's moments + b.
#: Measured on an H200 (TF32, the pass replayed from a CUDA graph; reserved memory after
#: the warm-up, 16 runs from 256 to 1536 px: benchmarks/results/gpu_checks_rows_h200_2026-11-27.json,
#: ``python benchmarks/gpu_checks.py --parts rows``): runs whose network saves 2 GB or more within
#: -17% / +23% (paper 1536 px: 22.8 GB estimated, 21.3 GB held), all runs -49% / +77%. The fixed part is cuDNN's
#: and cuBLAS's workspaces: 0.4-2.7 GB beside small runs, as large as autotuning found useful with
#: 139 GB free, which a smaller card need not give. The count times 1.5 used before was 0.13-0.37x
#: for the `fast` networks (175 MB estimated, 1.35 GB held at 256 px) and 1.2-1.33x for the paper's
#: at 1024 px and more. bf16 holds ~0.77x the saved bytes of TF32: estimated as TF32.
GPU_PEAK_MODEL = (1.15, 1024 * MB)
#: Photo-sized images a session holds besides the network's input (observed photo, its tensor, the
#: output average, the warm start; inpainting adds the fill, the fill without the held-out pixels
#: and the masks).
SESSION_IMAGES = {"inpaint": 8, "restore": 8}
OTHER_SESSION_IMAGES = 3


@dataclass(frozen=True)
class MemoryCount:
    """What one network saves and holds at the photo's size, in bytes."""

    saved: int
    session_images: int
    nnpack_workspace: int
    parameters: int

    def peak(self, device_type: str, host_memory: str = "lean") -> int:
        if device_type != "cpu":
            per_saved_byte, fixed = GPU_PEAK_MODEL
            return int(per_saved_byte * self.saved + self.session_images + self.parameters + fixed)
        per_saved_byte, fixed = CPU_PEAK_MODEL[host_memory]
        return int(per_saved_byte * self.saved + self.session_images + self.nnpack_workspace + fixed)


@dataclass(frozen=True)
class MemoryPlan:
    """How a CPU run uses memory: ``host_memory`` "fast" keeps freed memory (core/runtime/host_memory.py);
    ``lean_network`` builds the network whose batch norms keep only their outputs
    (networks/batch_norm.py); ``estimated_bytes`` is the peak expected with both."""

    host_memory: str
    lean_network: bool
    estimated_bytes: int
    #: What the estimate counted for that network (the time estimate reads its saved bytes).
    count: MemoryCount | None = field(default=None, compare=False, repr=False)


def estimate_memory(preset: Preset, out_size: tuple[int, int], channels: int = 3, device: str = "auto",
                    lean: bool = False, host_memory: str = "lean") -> int:
    """Peak memory of a run with the network's pairs of layers or the lean one, and on the CPU with
    freed memory given back ("lean") or kept ("fast"): one forward pass on a small canvas, no timing."""
    dev = resolve_device(device)
    return count_memory(preset, out_size, channels, dev, lean).peak(dev.type, host_memory)


def plan_cpu_memory(preset: Preset, out_size: tuple[int, int], channels: int, available_bytes: int | None) -> MemoryPlan:
    """What the "auto" host-memory setting does on the CPU, fastest first: keep freed memory with the
    network's pairs of layers where the extra memory allows it (core/runtime/host_memory.py); else keep it
    with the lean network, which saves 15-20% less for the backward; else keep nothing, with the
    lean network.

    The middle step is worth most: keeping freed memory spares every iteration its page faults, and
    the lean network's 2-7% extra time is small beside that: `fast` denoising at 1024 px 2.31 -> 1.50
    s/iteration for +0.7 GB (2-core AVX-512 Xeon). Where the bounds in core/runtime/host_memory.py stop it, the
    speed is there for the asking (``--host-memory fast``): the paper denoiser at 512 px 3.80 -> 2.38
    s/iteration for +1.4 GB."""
    dev = torch.device("cpu")
    for lean in (False, True):
        count = count_memory(preset, out_size, channels, dev, lean)
        kept = count.peak("cpu", "fast")
        if choose_host_memory("auto", "cpu", kept - count.peak("cpu", "lean"), kept, available_bytes) == "fast":
            return MemoryPlan("fast", lean, kept, count)
    return MemoryPlan("lean", True, count.peak("cpu", "lean"), count)


def plan_for_setting(setting: str, preset: Preset, out_size: tuple[int, int], channels: int,
                     available_bytes: int | None) -> MemoryPlan:
    """The plan a CPU session makes for a host-memory ``setting``: ``auto`` as ``plan_cpu_memory``;
    ``fast`` keeps freed memory with the pairs of layers, ``lean`` gives it back with the lean network."""
    if setting == "auto":
        return plan_cpu_memory(preset, out_size, channels, available_bytes)
    choose_host_memory(setting, "cpu")  # a clear error for a setting that does not exist
    lean = setting == "lean"
    count = count_memory(preset, out_size, channels, torch.device("cpu"), lean)
    return MemoryPlan(setting, lean, count.peak("cpu", setting), count)


def count_memory(preset: Preset, out_size: tuple[int, int], channels: int, device: torch.device,
                 lean: bool = False, net: SkipNet | None = None) -> MemoryCount:
    """What ``preset``'s run at ``out_size`` saves and holds, in bytes (``net``: its network, already
    built on ``device``)."""
    depth = preset.network_input_depth(channels)
    if net is None:
        net = SkipNet(preset.net, depth, channels, lean=lean).to(device)
    full = Canvas.around(out_size, preset.net.multiple, preset.net.min_cells)
    pixels = full.height * full.width
    images = (depth + SESSION_IMAGES.get(preset.task, OTHER_SESSION_IMAGES) * channels) * pixels * 4
    workspace = _nnpack_workspace(preset.net, depth, channels, full.height, full.width) if device.type == "cpu" else 0
    parameters = sum(p.numel() for p in net.parameters()) * 4 * 4  # weights, gradients, two Adam moments
    return MemoryCount(_saved_bytes(net, depth, preset, full, device), images, workspace, parameters)


def _saved_bytes(net: SkipNet, depth: int, preset: Preset, full: Canvas, device: torch.device) -> int:
    """Bytes saved for the backward pass, counted on a small canvas and scaled to ``full``'s pixels
    (a photo no larger is counted as it is). Every saved reference counts: measured peaks follow
    that better than storages counted once."""
    small = Canvas.around((COUNT_SIDE,) * 2, preset.net.multiple, preset.net.min_cells)
    if full.height * full.width <= small.height * small.width:
        small = full
    saved = [0]

    def count(tensor: torch.Tensor) -> torch.Tensor:
        saved[0] += tensor.numel() * tensor.element_size()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(count, lambda t: t):
        net(torch.rand(1, depth, small.height, small.width, device=device))
    return int(saved[0] * (full.height * full.width) / (small.height * small.width))


@functools.lru_cache(maxsize=64)
def _nnpack_workspace(spec: SkipSpec, depth: int, channels: int, height: int, width: int) -> int:
    """NNPACK keeps a workspace per thread as large as the largest convolution it ran (split_conv.py):
    the layers' shapes at the photo's size come from a forward pass on the meta device (no memory, no
    arithmetic; ~0.1 s, so kept), each judged by the same rule the CPU kernels use. Both networks
    have the same convolutions."""
    largest = [0]

    def record(module: SplitBackwardConv2d, inputs: tuple[torch.Tensor], output: torch.Tensor) -> None:
        shape = (module.in_channels, module.out_channels, output.shape[2], output.shape[3])
        if module.takes_split_kernels(inputs[0]) and nnpack_pays(*shape):
            largest[0] = max(largest[0], nnpack_workspace_bytes(*shape))

    with torch.device("meta"):
        net = SkipNet(spec, depth, channels)
    for module in net.modules():
        if isinstance(module, SplitBackwardConv2d):
            module.register_forward_hook(record)
    with torch.no_grad():
        net(torch.empty(1, depth, height, width, device="meta"))
    return largest[0]


__all__ = ["CPU_PEAK_MODEL", "GPU_PEAK_MODEL", "MemoryCount", "MemoryPlan", "count_memory", "estimate_memory", "plan_cpu_memory",
           "plan_for_setting"]
