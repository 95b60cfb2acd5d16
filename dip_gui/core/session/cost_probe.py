"""The estimate before a run, timed on real sessions: a few iterations of the task on small
synthetic photos, so the optimiser, the output average, the input's jitter and the task's operator
are in the figure, not only the network's pass (core/estimate/cost.py fits the two probes to the
photo's size). ``benchmarks/estimate_check.py`` compares the estimate with the run.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dip_gui.core.estimate.cost import CostEstimate, StepTimer, estimate_cost
from dip_gui.core.networks.padded_canvas import Canvas
from dip_gui.core.problem.choices import Task
from dip_gui.core.problem.degradations import random_known_mask
from dip_gui.core.problem.presets import Preset
from dip_gui.core.problem.tasks import Problem, make_problem
from dip_gui.core.runtime.device import resolve_device
from dip_gui.core.session.session import Execution, Session

#: The probes' super-resolution factor: the operator's cost hardly depends on it.
PROBE_SCALE = 4
#: The probes' canvas sides on a CPU.
SESSION_PROBE_SIDES = (128, 256)
#: Iterations before the timed ones: the first builds the kernels for the sizes (tens of ms on a CPU).
WARM_UP_STEPS = 2
TIMED_STEPS = 3


def synthetic_photo(height: int, width: int | None = None, seed: int = 0) -> np.ndarray:
    """A smooth test photo with light texture, HxWx3 float32 (speed does not depend on content)."""
    width = height if width is None else width
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    ys, xs = ys / height, xs / width
    image = np.stack([xs, ys, 0.5 + 0.3 * np.sin(6 * xs * ys)], axis=2) + rng.normal(0, 0.05, (height, width, 3))
    return np.clip(image, 0, 1).astype(np.float32)


def synthetic_problem(task: Task, height: int, width: int, grey: bool = False) -> Problem:
    """A problem of ``task`` whose result is ``height`` x ``width``, on a synthetic photo: SR gets a
    photo ``PROBE_SCALE`` times smaller, masks half the pixels, flash the photo as its guide."""
    photo = synthetic_photo(height, width)
    kwargs: dict[str, Any] = {"grey": grey}
    if task.changes_size:
        photo = photo[: height // PROBE_SCALE, : width // PROBE_SCALE]
        kwargs["scale"] = PROBE_SCALE
    elif task.takes_mask:
        kwargs["mask"] = random_known_mask(photo.shape[:2], 0.5)
    elif task.needs_guide:
        kwargs["guide"] = photo
    return make_problem(task, photo, **kwargs)


def probe_session(preset: Preset, canvas: Canvas, channels: int, device: str, lean_network: bool | None) -> Session:
    """A session of ``preset``'s task whose result fills ``canvas``, on a synthetic photo."""
    problem = synthetic_problem(preset.task, canvas.height, canvas.width, grey=channels == 1)
    return Session(problem, preset, device=device, host_memory="fast", execution=Execution(lean_network=lean_network))


def session_step_timer(preset: Preset, channels: int, device: str) -> StepTimer:
    """Times a few iterations of a probe session on a canvas (their median)."""

    def step_seconds(canvas: Canvas, lean_network: bool) -> float:
        session = probe_session(preset, canvas, channels, device, lean_network)
        for _ in range(WARM_UP_STEPS):
            session.step()
        times = []
        for _ in range(TIMED_STEPS):
            before = session.seconds
            session.step()
            times.append(session.seconds - before)
        return float(np.median(times))  # a run's iterations vary as much: the fastest is an under-estimate

    return step_seconds


def estimate_run_cost(preset: Preset, out_size: tuple[int, int], channels: int = 3, device: str = "auto",
                      host_memory: str = "auto") -> CostEstimate:
    """``estimate_cost`` with whole iterations timed (on CUDA the network's pass, replayed from a
    graph, is what the fit was checked on: core/estimate/cost.py)."""
    timer = None if resolve_device(device).type == "cuda" else session_step_timer(preset, channels, device)
    return estimate_cost(preset, out_size, channels, device, host_memory, step_seconds=timer,
                         probe_sides=SESSION_PROBE_SIDES)


__all__ = ["estimate_run_cost", "probe_session", "session_step_timer", "synthetic_photo", "synthetic_problem"]
