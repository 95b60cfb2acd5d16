"""Session: one Deep Image Prior optimisation (network, input z, optimiser, output average).

``step()`` runs one iteration: jitter z, x = f(z), loss = ||A x - y||^2 (on known pixels), Adam,
output average, divergence check. The network runs on a canvas padded up to its multiple and the
result is the centre crop, so every pixel of the photo comes back, whatever its size.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from dip_gui.core.classical.back_projection import BackProjection
from dip_gui.core.classical.hole_fills import FillChoice, run_fill_choice
from dip_gui.core.classical.warm_start import adapted_blur_sigma, fill_as_made, fill_holes, gaussian_blur, warm_start
from dip_gui.core.errors import DeviceError
from dip_gui.core.imaging import three_channels
from dip_gui.core.metrics import psnr
from dip_gui.core.networks import count_parameters
from dip_gui.core.networks.padded_canvas import Canvas
from dip_gui.core.problem.presets import Preset
from dip_gui.core.problem.tasks import Problem, to_numpy, to_tensor
from dip_gui.core.runtime.cuda_graph import ReplayedPass
from dip_gui.core.runtime.device import (
    configure_device,
    make_adam,
    preferred_memory_format,
    resolve_device,
    resolve_precision,
)
from dip_gui.core.session.setup import make_network, make_network_input, plan_host_memory
from dip_gui.core.stopping.divergence import DivergenceGuard, OutputAverage
from dip_gui.core.stopping.holdout import Holdout
from dip_gui.core.stopping.start_check import StartCheck


@dataclass(frozen=True)
class Execution:
    """How a session executes its pass, for benchmarks that compare the ways; a run uses the defaults."""

    #: Every convolution an ``nn.Conv2d``, as the paper's code builds it (the eager reference).
    plain_network: bool = False
    #: Force the CPU network whose batch norms keep only their outputs on (True) or off (False);
    #: None: as the host-memory plan decides.
    lean_network: bool | None = None
    #: On CUDA, replay each iteration's forward and backward pass from a recorded graph.
    cuda_graphs: bool = True


@dataclass
class StepResult:
    """One iteration's record. ``image`` (HxWx3 float32) only when asked for."""

    iteration: int
    loss: float
    seconds: float
    psnr: float | None = None
    image: np.ndarray | None = None
    backtracked: bool = False
    #: Inpainting with a holdout: the network's share of the holes (the rest is the classical fill).
    network_share: float | None = None
    #: (iteration, PSNR in dB) of the result on the pixels held back from the fit, for the iterations
    #: the run monitor processed since the last record that had them (restoration only).
    held_out: list[tuple[int, float]] | None = None


class Session:
    """Owns the network, its input, the optimiser and the output average for one problem."""

    def __init__(self, problem: Problem, preset: Preset, *, seed: int = 0, device: str = "auto", precision: str = "auto",
                 host_memory: str = "auto", execution: Execution = Execution()) -> None:
        preset.validate()
        self.problem, self.preset, self.seed = problem, preset, seed
        self.device = resolve_device(device)
        self.precision = resolve_precision(precision, self.device)
        self.execution = execution
        configure_device(self.device, self.precision)
        self.canvas = Canvas.around(problem.out_size, preset.net.multiple, min_cells=preset.net.min_cells)
        self.host_memory, self.lean_network = plan_host_memory(host_memory, self.device, preset, problem)
        if execution.lean_network is not None:  # forced (the benchmark measures each network with each setting)
            self.lean_network = execution.lean_network and self.device.type == "cpu"
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        try:
            self._build(generator)
        except RuntimeError as exc:
            raise _device_error(exc) from None
        self.iteration = 0
        self.seconds = 0.0
        self.horizon = preset.iterations
        self.lr_scale = 1.0
        self.last_loss = float("nan")
        self.last_output: torch.Tensor | None = None  # raw network output of the last good step
        self.stopped_early: str | None = None  # why a run ended before its iterations (e.g. "diverged")
        #: The judgement of a finished run's result against its classical start (run_loop.py), if made.
        self.start_check: StartCheck | None = None

    def _build(self, generator: torch.Generator) -> None:
        problem, preset, dev = self.problem, self.preset, self.device
        self.net = make_network(problem, preset, self.execution.plain_network, self.lean_network)
        # torch's stubs leave out Module.to's memory_format, which it takes
        self.net = self.net.to(dev, memory_format=preferred_memory_format(dev, self.precision))  # type: ignore[call-overload]
        # The classical start and the input built from it wait for prepare(): non-local means takes
        # 2-5 s per megapixel on a CPU, which the window spends on its worker thread, not the GUI's.
        self._input_generator = generator
        self._z: torch.Tensor | None = None
        self._base: torch.Tensor | None = None
        self.prepared = False
        self.observed = problem.observed_tensor().to(dev)
        # A copy: moving a module moves it in place, and the CPU warm start (back-projection) uses
        # the problem's own operator, which must stay on the CPU.
        self.operator = copy.deepcopy(problem.operator).to(dev)
        mask = problem.mask_tensor()
        self.mask = None if mask is None else mask.to(dev)
        self.known_fraction = 1.0 if mask is None else float(mask.mean())
        self.holdout: Holdout | None = None  # hides known pixels from the loss for a while (prepare())
        self._holdout_released = False  # a resumed run whose holdout had already handed over
        self.reference = None if problem.reference is None else to_tensor(problem.reference).to(dev)
        self.optimizer = make_adam(self.net.parameters(), preset.lr, dev)
        self.average = OutputAverage(preset.ema)
        self.guard = DivergenceGuard(self.net, self.optimizer)
        self.jitter = torch.Generator(device=dev).manual_seed(self.seed + 1)
        self.parameters = count_parameters(self.net)
        # On CUDA the forward and backward pass is replayed from a recording (core/runtime/cuda_graph.py)
        # whose changing inputs are these tensors, refilled before each pass (``_pass_inputs``).
        self.replayed = ReplayedPass(list(self.net.parameters())) if (dev.type == "cuda" and self.execution.cuda_graphs) else None
        self._jitter_buffer: torch.Tensor | None = None
        self._fit_buffer: torch.Tensor | None = None
        self.projection = BackProjection(self.operator, self.observed) if preset.back_project else None

    def prepare(self) -> None:
        """Compute the classical start and the network input (once; seconds on a large photo).

        Called by the first step, or ahead of it by whoever wants that wait elsewhere (the window's
        worker thread). A resumed session keeps the input it saved and recomputes only the start."""
        if self.prepared:
            return
        problem, preset, dev = self.problem, self.preset, self.device
        sigma = adapted_blur_sigma(problem.observed, preset.base_sigma) if preset.adapt_blur else preset.base_sigma
        holdout = preset.holdout and problem.mask is not None
        # A residual's base is blurred only to give the network a data term (over an exact fill the
        # known pixels leave it nothing to fit); the holdout judges and shows the sharp fill.
        fill_sigma = 0.0 if (holdout and preset.residual) else sigma
        try:
            choice = run_fill_choice(preset.base, problem.observed_pixels(), problem.mask, self.seed) if (
                holdout and preset.base and problem.mask is not None) else None
            method = None if choice is None else choice.method
            start = warm_start(problem, preset.base, fill_sigma, method) if preset.base else None
            unseen_fill: torch.Tensor | None = None
            if holdout:
                assert start is not None  # Preset.validate: a holdout needs a fill
                unseen_fill = self._prepare_holdout(to_tensor(start), fill_sigma, choice)
                start = to_numpy(unseen_fill)  # what the fit hides must not reach it through the start
            if start is not None and fill_sigma != sigma:
                start = gaussian_blur(start, sigma)
            estimate = None if start is None else to_tensor(start)
            self._base = estimate.to(dev) if (estimate is not None and preset.residual) else None
            if self._z is None:
                z = make_network_input(problem, preset, self.canvas, estimate, self._input_generator)
                self._z = z.to(dev, memory_format=preferred_memory_format(dev, self.precision))
            seed_image = unseen_fill if holdout else estimate  # nor through the average
            if (preset.average_from_base or preset.holdout) and self.average.value is None and self.iteration == 0:
                assert seed_image is not None  # Preset.validate: both need a classical start
                self.average.value = seed_image.to(dev).clone()
        except RuntimeError as exc:
            raise _device_error(exc) from None
        self.prepared = True

    def _prepare_holdout(self, fill: torch.Tensor, sigma: float, choice: FillChoice | None) -> torch.Tensor:
        """``fill``: the preset's fill of the holes, blurred by ``sigma`` (made once for the start and the
        holdout); ``choice``: the run's fill method and its fill without the hidden pixels, made while
        choosing it. Returns the fill made without the pixels the fit hides."""
        problem, base, ema = self.problem, self.preset.base, self.preset.ema
        assert base is not None and ema is not None and problem.mask is not None  # Preset.validate, prepare()
        observed = problem.observed_pixels()

        def fill_without(seen: np.ndarray) -> np.ndarray:
            if choice is not None and choice.made_from(seen):
                return fill_as_made(choice, sigma)
            return fill_holes(base, observed, seen, sigma, None if choice is None else choice.method)

        self.holdout = Holdout.build(observed, problem.mask, fill.to(self.device), fill_without, self.seed, ema,
                                     self.iteration)
        if self._holdout_released:
            self.holdout.release()
        return self.holdout.fill_unseen

    @property
    def z(self) -> torch.Tensor:
        """The network input (fixed noise, the classical estimate or the guide photo)."""
        self.prepare()
        assert self._z is not None  # made by prepare()
        return self._z

    @z.setter
    def z(self, value: torch.Tensor) -> None:
        self.prepare()  # the start is still needed for the residual
        self._z = value
        self._record_again()

    @property
    def base(self) -> torch.Tensor | None:
        """The classical estimate the network's output is added to (residual presets), else None."""
        self.prepare()
        return self._base

    # -- the loop ---------------------------------------------------------------------------

    def step(self, want_image: bool = False) -> StepResult:
        """Run one iteration and return its record (with the current result image if asked)."""
        self.prepare()  # before the clock starts: the classical start is not an iteration's cost
        start = time.perf_counter()
        try:
            loss, output = self._iterate()
        except RuntimeError as exc:
            raise _device_error(exc) from None
        loss_value = float(loss)
        backtracked = not self.guard.check(loss_value)
        if backtracked:
            self.lr_scale *= 0.5
        else:
            self.optimizer.step()
            average = self.average.update(output)
            if self.projection is not None:
                self.projection.update(average)
            if self.holdout is not None:
                self.holdout.judge(average, self.observed)
            self.last_loss = loss_value
            # a replayed pass overwrites its output next time, good step or not
            self.last_output = output.clone() if self._replaying() else output
        self.iteration += 1
        self.seconds += time.perf_counter() - start
        result = StepResult(self.iteration, loss_value, self.seconds, backtracked=backtracked)
        if self.reference is not None and self.average.value is not None:
            result.psnr = psnr(self.result_tensor(), self.reference)
        if want_image:
            result.image = self.result()
        return result

    def _iterate(self) -> tuple[torch.Tensor, torch.Tensor]:
        for group in self.optimizer.param_groups:
            group["lr"] = self.current_lr()
        noise, fit = self._pass_inputs()
        if self.replayed is None:
            self.optimizer.zero_grad(set_to_none=True)
            return self._forward_backward(noise, fit)
        loss, output = self.replayed(lambda: self._forward_backward(noise, fit))
        return loss, output

    def _pass_inputs(self) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """What changes between iterations inside the pass: the jitter, drawn into one tensor, and the
        holdout's mask. A pass replayed from its recording (core/runtime/cuda_graph.py) reads them from the
        tensors it was recorded with, so the mask is copied into one too."""
        if self.preset.reg_noise_std > 0:
            if self._jitter_buffer is None:
                z = self.z
                self._jitter_buffer = torch.empty(z.shape, device=self.device, dtype=z.dtype)
            self._jitter_buffer.normal_(generator=self.jitter)
        fit = None if self.holdout is None else self.holdout.fit_mask()
        if fit is not None and self.replayed is not None:
            if self._fit_buffer is None:
                self._fit_buffer = torch.empty_like(fit)
            fit = self._fit_buffer.copy_(fit)
        return self._jitter_buffer, fit

    def _forward_backward(self, noise: torch.Tensor | None, fit: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Jitter, forward, loss, backward: (loss, output), both detached."""
        z = self.z if noise is None else self.z + noise * self.preset.reg_noise_std
        output = self._network_output(z)
        predicted: torch.Tensor = self.operator(output)
        loss: torch.Tensor
        if self.mask is None:
            loss = F.mse_loss(predicted, self.observed)
        elif fit is None:  # mean over known pixels only, so the loss scale does not depend on the hole size
            loss = F.mse_loss(predicted, self.observed * self.mask) / self.known_fraction
        else:  # the same over the pixels not hidden (the operator applied the known-pixel mask already)
            loss = F.mse_loss(predicted * fit, self.observed * fit) / fit.mean()
        torch.autograd.backward(loss)  # loss.backward(), which torch leaves untyped
        return loss.detach(), output.detach()

    def _replaying(self) -> bool:
        return self.replayed is not None and self.replayed.replaying

    def _record_again(self) -> None:
        if self.replayed is not None:
            self.replayed.reset()

    def _network_output(self, z: torch.Tensor) -> torch.Tensor:
        if self.precision == "bf16":  # no cast cache: a recorded pass may not keep one (each weight is cast once)
            with torch.autocast(self.device.type, dtype=torch.bfloat16, cache_enabled=False):
                raw = self.net(z)
            raw = raw.float()  # loss, average and result stay in float32
        else:
            raw = self.net(z)
        output = self.canvas.crop(raw)
        return output if self.base is None else output + self.base

    def current_lr(self) -> float:
        """Linear warm-up, then cosine decay from lr to lr * lr_floor, times the backtracking scale."""
        preset = self.preset
        progress = min(self.iteration / max(self.horizon, 1), 1.0)
        floor = preset.lr_floor
        factor = floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))
        if preset.warmup:
            factor *= min(1.0, (self.iteration + 1) / preset.warmup)
        return preset.lr * factor * self.lr_scale

    def set_horizon(self, iterations: int) -> None:
        """Fit the learning-rate schedule to the iterations that will really run (time budgets)."""
        self.horizon = max(1, min(int(iterations), self.preset.iterations))

    @property
    def total_iterations(self) -> int:
        return self.preset.iterations

    # -- saving and resuming -----------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Everything that changes during a run, as tensors and plain values (see core/session/checkpoint.py)."""
        def optional(tensor: torch.Tensor | None) -> torch.Tensor | None:
            return None if tensor is None else tensor.detach().contiguous()

        return {
            "device_type": self.device.type, "seed": self.seed, "precision": str(self.precision),
            "iteration": self.iteration, "seconds": self.seconds, "horizon": self.horizon, "lr_scale": self.lr_scale,
            "last_loss": self.last_loss, "stopped_early": self.stopped_early,
            "start_check": None if self.start_check is None else self.start_check.to_dict(),
            "net": self.net.state_dict(), "optimizer": self.optimizer.state_dict(), "guard": self.guard.state_dict(),
            "z": optional(self._z), "average": optional(self.average.value),
            "holdout_released": self.holdout is not None and self.holdout.released_now(),
            "last_output": optional(self.last_output),
            "projection": None if self.projection is None else optional(self.projection.correction),
            "jitter": self.jitter.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue a saved run: weights, optimiser moments, input, averages, counters, jitter stream."""
        dev = self.device
        self.net.load_state_dict(state["net"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.guard.load_state_dict(state["guard"])
        if state["z"] is not None:  # None: saved before its first step; prepare() makes it again
            self._z = state["z"].to(dev, memory_format=preferred_memory_format(dev, self.precision))
        self.average.value = None if state["average"] is None else state["average"].to(dev)
        self._holdout_released = bool(state.get("holdout_released", False))  # prepare() builds it again
        if self._holdout_released and self.holdout is not None:
            self.holdout.release()
        self.last_output = None if state["last_output"] is None else state["last_output"].to(dev)
        if self.projection is not None:  # None: saved before a first step (or by an older version)
            correction = state.get("projection")
            self.projection.correction = None if correction is None else correction.to(dev)
        if state["device_type"] == dev.type:  # generator states are device-specific; else a fresh stream
            self.jitter.set_state(state["jitter"])
        self.iteration, self.seconds, self.horizon = state["iteration"], state["seconds"], state["horizon"]
        self.lr_scale, self.last_loss, self.stopped_early = state["lr_scale"], state["last_loss"], state["stopped_early"]
        self.start_check = StartCheck.from_dict(state.get("start_check"))
        self._record_again()

    # -- results ----------------------------------------------------------------------------

    def result_tensor(self, raw: bool = False) -> torch.Tensor:
        """The result on the device (1xCxhxw, clamped, known pixels kept): cheap, no host copy."""
        self.prepare()
        output = self.average.value
        if self.holdout is not None and not raw:  # the holes: the fill, the network's average or a mix
            output = self.holdout.fill if output is None else self.holdout.blend(output)
        elif output is None or raw:
            with torch.no_grad():
                output = self._network_output(self.z)
        if self.projection is not None and not raw:
            output = self.projection.apply(output)
        output = torch.nan_to_num(output.clamp(0.0, 1.0), nan=0.0)
        if self.mask is not None and self.problem.keep_known:
            output = output * (1 - self.mask) + self.observed * self.mask
        return output

    def classical_start(self) -> torch.Tensor | None:
        """The classical estimate a residual run starts from, as a result (clamped, back-projected
        where the run's results are: its first preview), or None where the run has no such start."""
        base = self.base
        if base is None:
            return None
        start = base if self.projection is None else self.projection.fresh(base)
        return start.clamp(0.0, 1.0)

    def validation_error(self) -> torch.Tensor | None:
        """The result's mean squared error on the pixels hidden from the whole fit (a 0-d tensor on the
        device; reading it waits for the device), or None where the run hides none."""
        if self.holdout is None or self.average.value is None:
            return None
        return self.holdout.validation_error(self.average.value, self.observed)

    def validation_values(self) -> int:
        """How many values the validation error averages (0: the run hides no pixels to the end).
        Known once prepared."""
        return 0 if self.holdout is None else self.holdout.probe_values

    def network_share(self) -> float | None:
        """The network's share of the holes in the result (holdout presets; reads the device), else None."""
        return None if self.holdout is None else self.holdout.network_share

    def result(self, raw: bool = False) -> np.ndarray:
        """The restored photo as HxWx3 float32 (averaged output unless ``raw``; known pixels kept).

        For inpainting of small holes only a region around them is optimised; it is pasted back here.
        """
        return self.to_image(self.result_tensor(raw))

    def to_image(self, result: torch.Tensor) -> np.ndarray:
        """A result tensor as the photo: HxWx3 float32, a region pasted back into the full photo."""
        image = self.problem.paste(to_numpy(result))
        return three_channels(image)


def _device_error(exc: RuntimeError) -> Exception:
    text = str(exc)
    if "out of memory" in text.lower() or "can't allocate memory" in text.lower():
        return DeviceError("out of memory: use a smaller preset (fast), a smaller photo, or run on the CPU")
    return exc
