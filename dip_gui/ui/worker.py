"""The QThread adapter around the core's run loop: it streams the loop's steps to the GUI thread.

The loop (core/session/run_loop.py) decides how a run ends; this thread adds what only the window
needs: preview images at most ``preview_interval`` apart, progress batched into one signal per
~50 ms (so the GUI thread never drowns in events), pause, session files saved on request, and the
thread count measured on the run's first iterations. Signals carry plain objects.
"""

from __future__ import annotations

import math
import threading
import time
import traceback
from dataclasses import replace
from pathlib import Path

import torch
from PySide6.QtCore import QThread, Signal

from dip_gui.core.errors import DeviceError, DipError
from dip_gui.core.runtime.host_memory import apply_host_memory
from dip_gui.core.runtime.thread_trial import ThreadTrial
from dip_gui.core.session.checkpoint import Checkpointer
from dip_gui.core.session.run_loop import RunLoop
from dip_gui.core.session.session import Session
from dip_gui.core.stopping.monitor import RunMonitor
from dip_gui.ui.pausable import Pausable

BATCH_SECONDS = 0.05


class RunWorker(Pausable, QThread):
    """Runs ``session`` until ``until`` iterations, a stop request, or an error."""

    progress = Signal(object)  # list[StepResult] without images
    preview = Signal(object)  # StepResult with .image
    failed = Signal(str)  # a message a person can read (traceback appended for bugs)
    device_failed = Signal(str)  # the device failed or ran out of memory (the window may offer the CPU)
    run_ended = Signal(str)  # an EndReason's value ("done", "stopped", "auto-stopped", "diverged", ...) or "failed"
    suggested = Signal(object)  # StopSuggestion, once
    saved = Signal(str)  # a session file written on request (the path)
    save_failed = Signal(str)  # a requested session file could not be written (message)
    warning = Signal(str)  # the recovery copy could not be written (the run goes on)
    note = Signal(str)  # what the run does after its last iteration (the start check), in a sentence

    def __init__(self, session: Session, until: int, preview_interval: float = 0.1, parent=None) -> None:
        super().__init__(parent)
        self.session, self.until, self.preview_interval = session, until, preview_interval
        self.monitor = RunMonitor(session)
        self.loop = RunLoop(session, self.monitor, until=until, keep_going=self._wait_while_paused,
                            announce=self.note.emit)
        self.raw_preview = False  # preview the raw network output instead of the average
        self._running = threading.Event()
        self._running.set()
        # Crash recovery: the whole session is saved to ``recovery_path`` every ``recovery_every``
        # seconds and when the run ends, from this thread, between iterations (so the state is whole).
        self.recovery_path: Path | None = None
        self.recovery_every = 120.0
        self.source: dict = {}
        self._save_requests: list[Path] = []
        self._lock = threading.Lock()
        #: (iteration, loss, psnr or NaN) of every step, saved with the session so that a resumed
        #: run shows its whole curve. Filled from the worker thread only.
        self.history: list[tuple[float, float, float]] = []
        #: The torch thread count, measured on the run's first iterations (a worker runs once: a
        #: continued run gets a new worker, and so a new trial).
        self.thread_trial = ThreadTrial(measure=session.device.type == "cpu")

    def request_save(self, path: Path) -> None:
        """Save the session to ``path`` at the next iteration boundary (also while paused)."""
        with self._lock:
            self._save_requests.append(Path(path))

    @property
    def auto_stop(self) -> bool:
        """End the run at the detector's suggestion (set from the GUI thread, also mid-run)."""
        return self.loop.auto_stop

    @auto_stop.setter
    def auto_stop(self, value: bool) -> None:
        self.loop.auto_stop = value

    def stop(self) -> None:
        self.requestInterruption()
        self.loop.request_stop()
        self._running.set()  # wake a paused loop so it can see the request

    def run(self) -> None:
        torch.set_num_threads(self.thread_trial.threads)
        apply_host_memory(self.session.host_memory)  # a continued run after another one: set it again
        self.loop.checkpoint = Checkpointer(self.recovery_path, self.recovery_every, self.session, self.monitor,
                                            self.current_source)
        reason = "failed"
        self._batch: list = []
        try:
            self._drive_loop()
            reason = self.loop.outcome.reason.value
        except DeviceError as exc:
            self.device_failed.emit(str(exc))
        except DipError as exc:
            self.failed.emit(str(exc))
        except Exception:  # a bug: keep the app alive and show the traceback
            self.failed.emit(traceback.format_exc())
        finally:
            if self._batch:
                self.progress.emit(self._batch)
            self._serve_saves()
            apply_host_memory("lean")  # between runs the window gives kept memory back to the system
            self.run_ended.emit(reason)

    def _drive_loop(self) -> None:
        """The loop's steps, streamed: previews, batched progress, suggestions, warnings, saves."""
        last_emit = last_preview = 0.0
        seconds_before = self.session.seconds
        for step in self.loop.steps():
            result = step.result
            self._record_thread_trial(result.seconds - seconds_before)
            seconds_before = result.seconds
            now = time.monotonic()
            if now - last_preview >= self.preview_interval:
                result.image = self.session.result(raw=self.raw_preview)
                result.network_share = self.session.network_share()
                last_preview = now
                self.preview.emit(result)
                result = replace(result, image=None)
            self.history.append((result.iteration, result.loss, math.nan if result.psnr is None else result.psnr))
            result.held_out = self.monitor.take_held_out() or None
            self._batch.append(result)
            if step.checkpoint_problem is not None:
                self.warning.emit(f"could not write the recovery copy: {step.checkpoint_problem}")
            self._serve_saves()
            if step.suggestion is not None:
                self.suggested.emit(step.suggestion)
            if now - last_emit >= BATCH_SECONDS:
                self.progress.emit(self._batch)
                self._batch, last_emit = [], now
        end = self.loop.outcome
        if end.late_suggestion is not None:
            self.suggested.emit(end.late_suggestion)
        if end.checkpoint_problem is not None:
            self.warning.emit(f"could not write the recovery copy: {end.checkpoint_problem}")
        if end.message is not None:  # a divergence: the last good result is kept, and the user told why
            self.warning.emit(end.message)
        if end.check_problem is not None:
            self.warning.emit(f"the result could not be checked against its start: {end.check_problem}")

    def _record_thread_trial(self, seconds: float) -> None:
        """During the thread trial: the iteration's time, and the thread count set for the next."""
        if self.thread_trial.decided:
            return
        self.thread_trial.record(seconds)
        if self.thread_trial.threads != torch.get_num_threads():
            torch.set_num_threads(self.thread_trial.threads)

    def _flush_monitor(self) -> None:
        """Process the iterations the monitor still queues (GPU), so the timeline is complete."""
        self.monitor.flush()
        suggestion = self.monitor.take_new_suggestion()
        if suggestion is not None:
            self.suggested.emit(suggestion)

    def _wait_while_paused(self) -> bool:
        """False when a stop was requested (paused or not)."""
        if not self._running.is_set():
            self._flush_monitor()
        while not self._running.wait(0.05):
            self._serve_saves()
            self._save_recovery_when_due()
            if self.isInterruptionRequested():
                return False
        return not self.isInterruptionRequested()

    def _save_recovery_when_due(self) -> None:
        """While paused the loop makes no steps, so the recovery copy due meanwhile is written here."""
        recovery = self.loop.checkpoint
        if recovery is not None and recovery.due() and self.session.iteration > 0:
            problem = recovery.save()
            if problem is not None:
                self.warning.emit(f"could not write the recovery copy: {problem}")

    def _serve_saves(self) -> None:
        """Write the session files the GUI asked for (the loop writes the recovery copy)."""
        with self._lock:
            requests, self._save_requests = self._save_requests, []
        for path in requests:
            problem = Checkpointer(path, 0.0, self.session, self.monitor, self.current_source).save()
            if problem is None:
                self.saved.emit(str(path))
            else:
                self.save_failed.emit(f"could not save the session to {path}: {problem}")

    def current_source(self) -> dict:
        """The source facts with the loss/PSNR history so far (a resumed run shows its whole curve)."""
        return {**self.source, "history": torch.tensor(self.history, dtype=torch.float64).reshape(-1, 3)}
