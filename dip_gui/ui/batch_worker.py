"""The QThread around the core's batch runner (core/batch/runner.py): the window's queue runs there.

The runner's events become signals carrying plain objects; a photo's progress is sent at most every
``PROGRESS_SECONDS``, so the GUI thread never drowns in events. Pause holds the run before its next
step; cancel ends it after the step in progress, keeping that photo's checkpoint for the next batch.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QThread, Signal

from dip_gui.core.batch.plan import BatchItem
from dip_gui.core.batch.runner import run_batch
from dip_gui.core.batch.settings import BatchSettings
from dip_gui.core.errors import DipError
from dip_gui.ui.pausable import Pausable

PROGRESS_SECONDS = 0.1


class BatchWorker(Pausable, QThread):
    """Restores ``items`` into ``out_dir`` with ``settings``."""

    started_photo = Signal(str)  # the item's name
    progressed = Signal(str, int, int)  # name, iteration, total
    ended_photo = Signal(str, object)  # name, its report entry (dict)
    batch_ended = Signal(object)  # core/batch/runner.BatchSummary
    failed = Signal(str)  # the batch could not run at all (a message a person can read)

    def __init__(self, items: Sequence[BatchItem], settings: BatchSettings, out_dir: Path, overwrite: bool = False,
                 parent=None) -> None:
        super().__init__(parent)
        self.items, self.settings, self.out_dir, self.overwrite = list(items), settings, out_dir, overwrite
        self._running = threading.Event()
        self._running.set()
        self._cancelled = False

    # -- from the GUI thread (and pause, resume: Pausable) ---------------------------------------

    def cancel(self) -> None:
        """End the batch after the step in progress (a paused batch too)."""
        self._cancelled = True
        self._running.set()

    # -- in the thread ----------------------------------------------------------------------------

    def run(self) -> None:
        try:
            summary = run_batch(self.items, self.settings, self.out_dir, overwrite=self.overwrite,
                                events=_Signals(self), keep_going=self._keep_going)
        except DipError as exc:
            self.failed.emit(str(exc))
            return
        except Exception as exc:  # a bug: say so rather than leave the queue waiting
            self.failed.emit(f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=4)}")
            return
        self.batch_ended.emit(summary)

    def _keep_going(self) -> bool:
        self._running.wait()
        return not self._cancelled



class _Signals:
    """The runner's events (core/batch/runner.BatchEvents) as the worker's signals."""

    def __init__(self, worker: BatchWorker) -> None:
        self.worker, self.current, self.last_sent = worker, "", 0.0

    def batch_started(self, to_restore: int, reused: int) -> None:
        pass  # the queue reads the photos done earlier from the report when the batch ends

    def photo_started(self, index: int, item: BatchItem) -> None:
        self.current = item.name
        self.worker.started_photo.emit(item.name)

    def photo_progress(self, iteration: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last_sent >= PROGRESS_SECONDS or iteration == total:
            self.last_sent = now
            self.worker.progressed.emit(self.current, iteration, total)

    def photo_ended(self, index: int, item: BatchItem, entry: dict[str, object]) -> None:
        self.worker.ended_photo.emit(item.name, dict(entry))

