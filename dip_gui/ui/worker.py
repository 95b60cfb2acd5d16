"""The QThread that drives Session.step() and streams results to the GUI thread.

Signals carry plain objects. Progress is batched (one signal per ~50 ms) and preview images are
asked for at most ``preview_interval`` apart, so the GUI thread never drowns in events.
"""

from __future__ import annotations

import os
import threading
import time
import traceback

import torch
from PySide6.QtCore import QThread, Signal

from dip_gui.core.errors import DipError
from dip_gui.core.session import Session
from dip_gui.core.timeline import RunMonitor

BATCH_SECONDS = 0.05


def worker_threads() -> int:
    """Leave one core to the GUI thread. Measured on 2 cores: the event loop's worst stall fell
    from 85 to 52 ms with the same iterations per second (docs/benchmarks.md)."""
    return max(1, (os.cpu_count() or 2) - 1)


class RunWorker(QThread):
    """Runs ``session`` until ``until`` iterations, a stop request, or an error."""

    progress = Signal(object)  # list[StepResult] without images
    preview = Signal(object)  # StepResult with .image
    failed = Signal(str)  # a message a person can read (traceback appended for bugs)
    run_ended = Signal(str)  # "done" | "stopped" | "auto-stopped" | "failed"
    suggested = Signal(object)  # StopSuggestion, once

    def __init__(self, session: Session, until: int, preview_interval: float = 0.1, parent=None) -> None:
        super().__init__(parent)
        self.session, self.until, self.preview_interval = session, until, preview_interval
        self.monitor = RunMonitor(session)
        self.auto_stop = False  # stop at the detector's suggestion (set from the GUI thread)
        self.raw_preview = False  # preview the raw network output instead of the average
        self._running = threading.Event()
        self._running.set()

    # Called from the GUI thread.
    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def stop(self) -> None:
        self.requestInterruption()
        self._running.set()  # wake a paused loop so it can see the request

    def run(self) -> None:
        torch.set_num_threads(worker_threads())
        reason = "done"
        batch: list = []
        last_emit = last_preview = 0.0
        try:
            while self.session.iteration < self.until:
                if not self._wait_while_paused():
                    reason = "stopped"
                    break
                now = time.monotonic()
                want_image = now - last_preview >= self.preview_interval
                result = self.session.step()
                if want_image:
                    result.image = self.session.result(raw=self.raw_preview)
                    last_preview = now
                    self.preview.emit(result)
                    result = _without_image(result)
                batch.append(result)
                suggestion = self.monitor.observe(result.iteration)
                if suggestion is not None:
                    self.suggested.emit(suggestion)
                    if self.auto_stop:
                        reason = "auto-stopped"
                        break
                if now - last_emit >= BATCH_SECONDS:
                    self.progress.emit(batch)
                    batch, last_emit = [], now
        except DipError as exc:
            reason = "failed"
            self.failed.emit(str(exc))
        except Exception:  # a bug: keep the app alive and show the traceback
            reason = "failed"
            self.failed.emit(traceback.format_exc())
        finally:
            if batch:
                self.progress.emit(batch)
            self.run_ended.emit(reason)

    def _wait_while_paused(self) -> bool:
        """False when a stop was requested (paused or not)."""
        while not self._running.wait(0.05):
            if self.isInterruptionRequested():
                return False
        return not self.isInterruptionRequested()


def _without_image(result):
    from dataclasses import replace

    return replace(result, image=None)
