"""THE run loop: a session iterated to its end, with one behaviour for every caller.

The command line, tiles, evaluate-stopping, the benchmark and the window's worker all drive
``RunLoop.steps()``; none iterates a session itself. The loop owns what a run does between steps:

* the end: all iterations (or ``until``), the wall-clock budget, the stop rule (``auto_stop``), a
  stop request, Ctrl+C, or a divergence. Each ends the run the same way: the monitor's queued
  iterations are processed, the checkpoint is written, and ``end`` says why (an ``EndReason``).
* the budget: ``budget_s`` counts optimisation time (``Session.seconds``; the classical start is
  not an iteration's cost). After ``HORIZON_PROBE`` iterations the learning-rate schedule's horizon
  is fitted to the iterations the budget allows, so the schedule decays within the time there is.
* a divergence keeps the last good result: the run ends ``DIVERGED`` with the guard's message,
  and the session's result is the one before the jump (not a failure).
* checkpoints: written when due and at the end; a failed write never ends the run, the step
  carries the reason for the caller to report.
* the start check: a denoising or x2 super-resolution run that ends by itself with ``auto_stop``
  (all its iterations, its suggestion or its budget) judges the result it hands back against its
  classical start, by running the same restorer for as many iterations on a copy of the photo with
  a known answer: a recorrupted copy, or the photo's own downscaled copy
  (core/stopping/start_check.py); ``announce`` is told before that second run starts.

The loop is a generator so that its caller keeps control between steps (previews, progress,
pause) without callbacks: ``for step in loop.steps(): ...``, then ``loop.end``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from enum import Enum

import numpy as np

from dip_gui.core.errors import DivergenceError
from dip_gui.core.problem.choices import Start, Task
from dip_gui.core.problem.photo_traits import estimate_noise_sigma, estimate_noise_sigma_pca
from dip_gui.core.problem.presets import GRAINY, Preset
from dip_gui.core.problem.tasks import make_problem, to_numpy
from dip_gui.core.runtime.interrupts import whole_step
from dip_gui.core.session.checkpoint import Checkpointer
from dip_gui.core.session.handed_back import handed_back_iteration
from dip_gui.core.session.session import Session, StepResult
from dip_gui.core.stopping.detectors import StopSuggestion
from dip_gui.core.stopping.monitor import RunMonitor
from dip_gui.core.stopping.start_check import (
    DOWNSCALED,
    RECORRUPTED,
    StartCheck,
    downscaled_pair,
    network_share,
    recorrupted_pair,
)

#: Iterations timed before a time budget fixes the learning-rate schedule's horizon.
HORIZON_PROBE = 5


#: Super-resolution's scale whose result is judged: at x2 on a small photo the network draws past its
#: best and ends under its start; at x4 and x8 it climbs to the end or stays level (docs/stopping.md).
JUDGED_SCALE = 2
#: The smallest side of a downscaled copy worth judging by (pixels): smaller, and the copy's result
#: is more its borders than its picture.
MIN_COPY_SIDE = 16


def check_measure(session: Session) -> str | None:
    """How the run's result is judged against its classical start when it ends by itself (the copy
    named in core/stopping/start_check.py), or None where it is not judged (``measure_for``)."""
    problem = session.problem
    sigma = estimate_noise_sigma(problem.observed) if problem.task is Task.DENOISE else None
    height, width = problem.observed.shape[:2]
    return measure_for(session.preset, problem.task, problem.scale, (height, width), sigma)


def measure_for(preset: Preset, task: Task, scale: int | None, photo_size: tuple[int, int],
                noise_sigma: float | None) -> str | None:
    """How a run of ``preset`` on a photo of ``photo_size`` (its noise read as ``noise_sigma`` by
    ``estimate_noise_sigma``; None: not read) is judged against its classical start, or None:

    * denoising over a non-local-means start (the noise model the recorrupted copy needs) of a photo
      whose noise reads at ``GRAINY`` or more. Below that the read is as much the photo's fine texture
      and its own grain as the noise, and a copy recorrupted at that level judges against the
      network's detail: at sigma 5 it threw away 46-100% of a 0.12-0.31 dB gain on three photos and
      won nothing (docs/stopping.md, benchmarks/start_check.py);
    * super-resolution at ``JUDGED_SCALE`` over a classical upscale, where the downscaled copy's
      sides are at least ``MIN_COPY_SIDE``."""
    if preset.base is None or not preset.residual:
        return None
    if task is Task.DENOISE and preset.base == Start.NLM and noise_sigma is not None and noise_sigma >= GRAINY:
        return RECORRUPTED
    if task is Task.SR and scale == JUDGED_SCALE and min(photo_size) // JUDGED_SCALE >= MIN_COPY_SIDE:
        return DOWNSCALED
    return None


def check_size(measure: str, photo_size: tuple[int, int]) -> tuple[int, int]:
    """The result size of the check's run on the copy (what its time is estimated for): the photo's
    own size, its sides cut to multiples of the scale for the downscaled copy (denoising's copy and
    result are the photo's size)."""
    if measure == DOWNSCALED:
        return (photo_size[0] // JUDGED_SCALE * JUDGED_SCALE, photo_size[1] // JUDGED_SCALE * JUDGED_SCALE)
    return photo_size


def judges_start(session: Session) -> bool:
    """Whether the run's result is judged against its classical start when it ends by itself."""
    return check_measure(session) is not None


class EndReason(str, Enum):
    """Why a run ended. A ``str`` so that it reads and compares as its value (``"done"``)."""

    DONE = "done"  # every iteration asked for ran
    BUDGET = "budget"  # the wall-clock budget was spent
    AUTO_STOPPED = "auto-stopped"  # the stop rule fired (``auto_stop``)
    STOPPED = "stopped"  # the caller asked (the window's Stop)
    INTERRUPTED = "interrupted"  # Ctrl+C
    DIVERGED = "diverged"  # the guard gave up; the last good result is kept


#: The ends whose result is judged against the start: the run ended by itself, not at the user's word.
JUDGED_ENDS = (EndReason.DONE, EndReason.AUTO_STOPPED, EndReason.BUDGET)


@dataclass
class LoopStep:
    """One iteration as the loop hands it to its caller."""

    result: StepResult
    #: The stop rule's suggestion, on the step that made it (once per run).
    suggestion: StopSuggestion | None = None
    #: Why a due checkpoint could not be written (the run goes on), else None.
    checkpoint_problem: str | None = None


@dataclass
class RunEnd:
    """How a run ended: the reason, the iteration it ended at, and what to tell the user."""

    reason: EndReason
    iteration: int
    #: A divergence's explanation; None otherwise.
    message: str | None = None
    #: A suggestion made while the last queued iterations were processed (GPU read-back), if any.
    late_suggestion: StopSuggestion | None = None
    #: Why the final checkpoint could not be written, else None.
    checkpoint_problem: str | None = None
    #: Seconds the classical start took before the first iteration (0 for a resumed or prepared session).
    start_seconds: float = 0.0
    #: The judgement of the handed-back result against the classical start, where the run made one.
    start_check: StartCheck | None = None
    #: Seconds the start check took (its own classical start and iterations).
    check_seconds: float = 0.0
    #: Why the start check could not be made (the result is handed back unjudged), else None.
    check_problem: str | None = None


class RunLoop:
    """Iterate ``session`` to its end (see the module's docstring for what ends a run and how).

    ``monitor``: the stop detector and snapshots, observed after every step (None: no detector).
    ``until``: the iteration to end at (default: the preset's count; may exceed it, as a benchmark's
    rounds do). ``budget_s``: optimisation seconds. ``auto_stop``: end at the stop rule's suggestion
    and judge the result against the start (denoising). ``checkpoint``: saved when due and at the end.
    ``keep_going``: called before each step (of the start check's run too); it may block (a paused
    window) and returns False to end the run as ``STOPPED``. ``announce``: told what the run does
    after its last step (the start check), in a sentence.
    """

    def __init__(self, session: Session, monitor: RunMonitor | None = None, *, until: int | None = None,
                 budget_s: float | None = None, auto_stop: bool = False, checkpoint: Checkpointer | None = None,
                 keep_going: Callable[[], bool] | None = None, announce: Callable[[str], None] | None = None) -> None:
        self.session, self.monitor, self.checkpoint = session, monitor, checkpoint
        self.until = session.total_iterations if until is None else until
        self.budget_s, self.auto_stop, self.keep_going = budget_s, auto_stop, keep_going
        self.announce = announce
        self._stop_requested = False
        self._running: Generator[LoopStep, None, None] | None = None
        self.end: RunEnd | None = None
        self._start_seconds = 0.0

    def request_stop(self) -> None:
        """End the run before its next step (from any thread): the step in progress cannot be cut short."""
        self._stop_requested = True

    def steps(self) -> Iterator[LoopStep]:
        """Run the steps, handing each to the caller; ``end`` is set when the iterator is exhausted."""
        self._running = self._iterate()
        return self._running

    def interrupt(self) -> RunEnd:
        """Ctrl+C reached the caller between steps: end the run as ``INTERRUPTED``, as if it had come
        during a step (the monitor flushed, the checkpoint written)."""
        if self.end is None:
            if self._running is not None:
                self._running.close()
            self.end = self._finish(EndReason.INTERRUPTED, None)
        return self.outcome

    def _iterate(self) -> Generator[LoopStep, None, None]:
        session, message = self.session, None
        try:
            started = time.perf_counter()
            session.prepare()  # before the first step's clock: the classical start is not an iteration
            self._start_seconds = time.perf_counter() - started
            reason = self._reason_to_end()
            while reason is None:
                with whole_step():  # an interrupt waits for the step: a resumed run continues it exactly
                    step = self._step()
                yield step
                reason = EndReason.AUTO_STOPPED if (step.suggestion and self.auto_stop) else self._reason_to_end()
        except KeyboardInterrupt:
            reason = EndReason.INTERRUPTED
        except DivergenceError as exc:
            session.stopped_early = EndReason.DIVERGED.value
            reason, message = EndReason.DIVERGED, str(exc)
        except Exception:  # a failure (device, bug) propagates, but the run so far is saved first
            self._save_checkpoint()
            raise
        self.end = self._finish(reason, message)

    @property
    def outcome(self) -> RunEnd:
        """How the run ended; asked before the end (the steps not exhausted), a RuntimeError."""
        if self.end is None:
            raise RuntimeError("the run has not ended")
        return self.end

    def run(self) -> RunEnd:
        """All the steps, for a caller with nothing to do between them."""
        for _ in self.steps():
            pass
        return self.outcome

    def _reason_to_end(self) -> EndReason | None:
        session = self.session
        if self._stop_requested or (self.keep_going is not None and not self.keep_going()):
            return EndReason.STOPPED
        if session.iteration >= self.until:
            return EndReason.DONE
        if self.budget_s is not None and session.seconds >= self.budget_s:
            return EndReason.BUDGET
        return None

    def _step(self) -> LoopStep:
        session = self.session
        result = session.step()
        if self.budget_s is not None and session.iteration == HORIZON_PROBE:
            session.set_horizon(int(self.budget_s / (session.seconds / HORIZON_PROBE)))
        step = LoopStep(result)
        if self.monitor is not None:
            step.suggestion = self.monitor.observe(result.iteration)
        if self.checkpoint is not None and self.checkpoint.due():
            step.checkpoint_problem = self.checkpoint.save()
        return step

    def _finish(self, reason: EndReason, message: str | None) -> RunEnd:
        end = RunEnd(reason, self.session.iteration, message, start_seconds=self._start_seconds)
        if self.monitor is not None:
            self.monitor.flush()  # the iterations still queued for the detector and the snapshots (GPU)
            end.late_suggestion = self.monitor.take_new_suggestion()
        measure = check_measure(self.session) if (self.auto_stop and reason in JUDGED_ENDS) else None
        if measure is not None:
            self._check_against_start(end, measure)
        end.checkpoint_problem = self._save_checkpoint()
        return end

    def _check_against_start(self, end: RunEnd, measure: str) -> None:
        """Judge the handed-back result against the start on the copy ``measure`` names
        (start_check.py). A stop request or Ctrl+C during it leaves the result unjudged, as does a
        failure (said in ``end.check_problem``): the run's own result is whole either way."""
        session = self.session
        iteration = handed_back_iteration(session, self.monitor, self.auto_stop)
        if session.start_check is not None and session.start_check.iteration == iteration:
            end.start_check = session.start_check  # judged before the checkpoint this run resumed from
            return
        if self.announce is not None:
            self.announce(f"checking the result against its classical start on a {measure} ({iteration} iterations)")
        started = time.perf_counter()
        try:
            copy, target = judging_pair(session, measure)
            share = network_share_on_copy(session, iteration, copy, target, self._check_may_go_on)
        except KeyboardInterrupt:
            share = None
        except Exception as exc:  # a device or memory failure: the run's result stands unjudged
            share, end.check_problem = None, str(exc) or type(exc).__name__
        end.check_seconds = time.perf_counter() - started
        if share is not None:
            session.start_check = end.start_check = StartCheck(iteration, share, measure)

    def _check_may_go_on(self) -> bool:
        return not self._stop_requested and (self.keep_going is None or self.keep_going())

    def _save_checkpoint(self) -> str | None:
        """The final checkpoint (none before a first step: there is nothing to continue)."""
        if self.checkpoint is None or self.session.iteration == 0:
            return None
        return self.checkpoint.save()


def judging_pair(session: Session, measure: str) -> tuple[np.ndarray, np.ndarray]:
    """The copy of ``session``'s photo to restore and the target its result is judged by, for the
    check ``measure`` names (start_check.py). Denoising's copy and target are read for noise clipped
    at black and white where the run's classical start puts its pixels (``recorrupted_pair``)."""
    problem = session.problem
    if measure == DOWNSCALED:
        assert problem.scale is not None  # check_measure: super-resolution
        return downscaled_pair(problem.observed, problem.scale, problem.blur)
    start = session.classical_start()
    assert start is not None  # check_measure: a residual over the start
    sigma = estimate_noise_sigma_pca(problem.observed)  # texture read as noise would lean to the start
    return recorrupted_pair(problem.observed, sigma / 255, session.seed, to_numpy(start))


def network_share_on_copy(session: Session, iteration: int, copy: np.ndarray, target: np.ndarray,
                          keep_going: Callable[[], bool] | None = None) -> float | None:
    """The network's share in ``session``'s result at ``iteration``, judged by the same restorer run
    as many iterations on ``copy`` of the photo, its result against ``target`` (start_check.py); None
    where ``keep_going`` ended that run first."""
    problem = session.problem
    copy_problem = make_problem(problem.task, copy, grey=problem.channels == 1, scale=problem.scale, blur=problem.blur)
    check = Session(copy_problem, session.preset,
                    seed=session.seed, device=session.device.type, precision=session.precision.value,
                    host_memory=session.host_memory)
    ended = RunLoop(check, until=iteration, keep_going=keep_going).run()
    if ended.reason is not EndReason.DONE:
        return None
    start = check.classical_start()
    assert start is not None  # check_measure: a residual over the start
    return network_share(to_numpy(start), to_numpy(check.result_tensor()), target)
