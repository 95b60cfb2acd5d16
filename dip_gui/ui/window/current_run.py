"""The run the window works with: its Session and worker thread; start, pause/resume, stop, results."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from dip_gui.core.errors import InvalidParameterError
from dip_gui.core.problem.presets import Preset
from dip_gui.core.problem.tasks import Problem
from dip_gui.core.session.checkpoint import restore_monitor, save_session
from dip_gui.core.session.handed_back import HandedBack, handed_back
from dip_gui.core.session.session import Session
from dip_gui.ui.worker import RunWorker


def saved_history(state: dict) -> list[tuple[float, float, float]]:
    """The (iteration, loss, psnr) rows a window saved with a session (none from the command line)."""
    history = (state.get("source") or {}).get("history")
    return [] if history is None else [tuple(row) for row in history.tolist()]


#: Seconds between crash-recovery copies of a running session (and one when a run ends).
RECOVERY_EVERY_S = 120.0


class CurrentRun(QObject):
    """GUI-thread object; the worker's signals arrive here queued, so slots may touch widgets."""

    progress = Signal(object)  # list[StepResult]
    preview = Signal(object)  # StepResult with image
    ended = Signal(str)  # done | stopped | failed
    failed = Signal(str)
    device_failed = Signal(str)
    suggested = Signal(object)  # StopSuggestion
    saved = Signal(str)  # session file written (path)
    note = Signal(str)  # what the run does after its last iteration (the start check)
    warning = Signal(str)  # a problem that does not stop the run

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.session: Session | None = None
        self.worker: RunWorker | None = None
        self.latest_image: np.ndarray | None = None
        self.started_at = 0.0
        self._active = False
        self.raw = False  # results from the raw network output instead of the averaged one
        #: End runs at the stop detector's suggestion (the window's "Stop automatically", on by default).
        self.auto_stop = True
        #: How the last run ended (an EndReason's value, or "failed"); None before the first.
        self.ended_reason: str | None = None
        self.recovery_path: Path | None = None  # where the worker keeps a crash-recovery copy
        self.recovery_every = RECOVERY_EVERY_S

    def require_session(self) -> Session:
        """The session, for what only happens once a run was started (its end, a sidecar)."""
        if self.session is None:
            raise RuntimeError("no run was started")
        return self.session

    @property
    def running(self) -> bool:
        """True from start until the GUI thread has handled the run's end (not just the thread's)."""
        return self._active

    @property
    def paused(self) -> bool:
        return self.worker is not None and self.running and self.worker.paused

    def start(self, problem: Problem, preset: Preset, seed: int, device: str, source: dict | None = None,
              host_memory: str = "auto") -> Session:
        """Build the session (DipError on bad input) and start the worker thread."""
        if self.running:
            raise RuntimeError("a run is already going")
        session = Session(problem, preset, seed=seed, device=device, host_memory=host_memory)
        return self.continue_session(session, source=source)

    def continue_session(self, session: Session, saved_state: dict | None = None, source: dict | None = None) -> Session:
        """Run ``session`` (new, or loaded from a file with its saved monitor) up to its iterations."""
        self.load(session, saved_state, source)
        self.ended_reason = None
        self.started_at = time.monotonic()
        self._active = True
        assert self.worker is not None
        self.worker.start()
        return session

    def load(self, session: Session, saved_state: dict | None = None, source: dict | None = None) -> Session:
        """Make ``session`` the window's without running it (a saved session opened to look at first):
        its result, curve and timeline are there, and ``run_on`` runs it on."""
        if self.running:
            raise RuntimeError("a run is already going")
        if self.worker is not None:
            self.worker.deleteLater()
        self.session, self.ended_reason = session, "loaded"
        self.latest_image = None
        self.worker = RunWorker(session, session.total_iterations, parent=self)
        if saved_state is not None:
            restore_monitor(self.worker.monitor, saved_state)
            self.worker.history = saved_history(saved_state)
        self.worker.raw_preview, self.worker.auto_stop = self.raw, self.auto_stop
        self.worker.recovery_path, self.worker.recovery_every = self.recovery_path, self.recovery_every
        self.worker.source = dict(source or {})
        self.worker.suggested.connect(self.suggested)
        self.worker.progress.connect(self._on_progress)
        self.worker.preview.connect(self._on_preview)
        self.worker.failed.connect(self.failed)
        self.worker.device_failed.connect(self.device_failed)
        self.worker.save_failed.connect(self.failed)
        self.worker.saved.connect(self.saved)
        self.worker.warning.connect(self.warning)
        self.worker.note.connect(self._on_note)
        self.worker.run_ended.connect(self._on_ended)
        return session

    def run_on(self, iterations: int | None = None) -> Session:
        """Continue the last run past where it stopped (an automatic stop, Stop, a session opened) to
        its iterations, or to ``iterations`` where the user changed them, with its timeline, stop
        suggestion and curve kept."""
        session, worker = self.require_session(), self.worker
        if worker is None:
            raise RuntimeError("no run was started")
        if iterations is not None and iterations != session.total_iterations:
            session.preset = replace(session.preset, iterations=iterations)
        state = {"monitor": worker.monitor.state_dict(), "source": worker.current_source()}
        return self.continue_session(session, state, worker.source)

    def save_session(self, path: Path) -> None:
        """Write the session to ``path``: by the worker between iterations while a run is going (the
        ``saved`` signal follows), at once otherwise. DipError/OSError when there is nothing to save
        or the file cannot be written."""
        if self.session is None:
            raise InvalidParameterError("there is no run to save yet: start one first")
        if self.worker is not None and self.running:
            self.worker.request_save(path)
            return
        save_session(path, self.session, self.monitor, {} if self.worker is None else self.worker.current_source())
        self.saved.emit(str(path))

    @property
    def monitor(self):
        return None if self.worker is None else self.worker.monitor

    def set_raw(self, raw: bool) -> None:
        self.raw = raw
        if self.worker is not None:
            self.worker.raw_preview = raw

    def set_auto_stop(self, on: bool) -> None:
        self.auto_stop = on
        if self.worker is not None:
            self.worker.auto_stop = on

    def toggle_pause(self) -> None:
        if self.worker is None or not self.running:
            return
        if self.worker.paused:
            self.worker.resume()
        else:
            self.worker.pause()

    def stop(self) -> None:
        if self.worker is not None and self.running:
            self.worker.stop()

    def shutdown(self, timeout_ms: int | None = None) -> bool:
        """Stop and wait for the thread: until it ends (default), or ``timeout_ms``. True when no
        thread is left running. The wait can be long: a step or the classical start of a large
        photo is not interruptible, and a thread left running would feed its results to the next
        photo (or, at exit, make Qt abort the process)."""
        if self.worker is None:
            return True
        self.worker.stop()
        finished = self.worker.wait() if timeout_ms is None else self.worker.wait(timeout_ms)
        self._active = self._active and not finished
        return finished

    def forget(self) -> None:
        """Another photo replaces the run's (already shut down): its session, result and recovery copy go,
        so nothing of it can be shown, saved or continued over the new photo."""
        if self.running:
            raise RuntimeError("shut the run down first")
        self.discard_recovery()
        if self.worker is not None:
            self.worker.deleteLater()
        self.session, self.worker, self.latest_image, self.ended_reason = None, None, None, None

    def result(self) -> np.ndarray | None:
        """The current result (after a run: computed from the session; during: the last preview)."""
        if self.session is None:
            return None
        if self.running:
            return self.latest_image
        finished = self.finished_result()
        if finished is None:  # no output averaged yet: the last preview, or the classical start
            return self.latest_image if self.latest_image is not None or not self.session.prepared \
                else self.session.result(raw=self.raw)
        return finished.image

    def finished_result(self) -> HandedBack | None:
        """What the finished run hands back: an auto-stopped run its suggested result, a judged one its
        mix with the classical start (core/session/handed_back.py). None while a run is going, and
        before a run has averaged any output."""
        session = self.session
        if session is None or self.running or session.average.value is None:
            return None
        return handed_back(session, self.monitor, self.ended_reason == "auto-stopped", raw=self.raw)

    def discard_recovery(self) -> None:
        """The work is safe (saved, or the user closed normally): drop the recovery copy."""
        path = self.recovery_path
        if path is not None and path.exists() and not self.running:
            path.unlink(missing_ok=True)

    @Slot(object)
    def _on_progress(self, results) -> None:
        if self._active:  # signals still queued from a run that was shut down are dropped
            self.progress.emit(results)

    @Slot(object)
    def _on_preview(self, result) -> None:
        if not self._active:
            return
        self.latest_image = result.image
        self.preview.emit(result)

    @Slot(str)
    def _on_note(self, message: str) -> None:
        if self._active:
            self.note.emit(message)

    @Slot(str)
    def _on_ended(self, reason: str) -> None:
        if self.worker is not None:
            self.worker.wait()
        if not self._active:
            return  # shut down already (new photo, closing): its end is old news
        self._active = False
        self.ended_reason = reason
        self.ended.emit(reason)
