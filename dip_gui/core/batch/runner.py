"""A batch on this machine: the photos one after another, each with the whole device.

A photo that fails (unreadable, a mask of the wrong size, out of memory, any error) is reported and
the batch goes on. A photo whose result exists is not redone (``overwrite`` redoes it): results are
written atomically, so one that exists is complete. Ctrl+C, or ``keep_going`` returning False, ends
the batch after the current step; that photo's checkpoint is kept for the next batch.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from dip_gui.core.atomic import held_alone
from dip_gui.core.batch.plan import WORK_FOLDER, BatchItem
from dip_gui.core.batch.report import BatchReport
from dip_gui.core.batch.restore import PhotoOutcome, restore_photo
from dip_gui.core.batch.settings import BatchSettings
from dip_gui.core.errors import DipError, InvalidParameterError


class BatchEvents(Protocol):
    """What a batch tells its caller (a progress bar, the window's queue) as it goes."""

    def batch_started(self, to_restore: int, reused: int) -> None: ...

    def photo_started(self, index: int, item: BatchItem) -> None: ...

    def photo_progress(self, iteration: int, total: int) -> None: ...

    def photo_ended(self, index: int, item: BatchItem, entry: dict[str, object]) -> None: ...


@dataclass
class BatchSummary:
    """The batch's end: photos restored now, reused from before, failed, and whether it was stopped."""

    restored: int = 0
    reused: int = 0
    failed: int = 0
    stopped: bool = False

    def count(self, status: str) -> None:
        """One photo's end: restored, failed, or interrupted (which stops the batch)."""
        self.restored += status == "done"
        self.failed += status == "failed"
        self.stopped |= status == "interrupted"

    def line(self) -> str:
        parts = [f"{self.restored} restored"]
        if self.reused:
            parts.append(f"{self.reused} already done")
        parts.append(f"{self.failed} failed")
        ending = "batch stopped; run the same command to go on" if self.stopped else "batch finished"
        return f"{ending}: " + ", ".join(parts)


def run_batch(items: Sequence[BatchItem], settings: BatchSettings, out_dir: Path, *, overwrite: bool = False,
              events: BatchEvents | None = None, keep_going: Callable[[], bool] | None = None) -> BatchSummary:
    """Restore ``items`` into ``out_dir``, keeping ``OUT_DIR/batch-report.json`` up to date."""
    check_settings(items, settings)
    out_dir.mkdir(parents=True, exist_ok=True)
    with batch_lock(out_dir):
        report, summary, todo = open_batch(items, settings, out_dir, overwrite, events)
        for index, item in enumerate(todo):
            if keep_going is not None and not keep_going():
                summary.stopped = True
                break
            status = restore_item(index, item, settings, report, events, keep_going)
            summary.count(status)
            if summary.stopped:
                break
    return summary


def open_batch(items: Sequence[BatchItem], settings: BatchSettings, out_dir: Path, overwrite: bool,
               events: BatchEvents | None) -> tuple[BatchReport, BatchSummary, list[BatchItem]]:
    """The folder's report, the summary so far and the photos to restore (pending in the report;
    with ``overwrite`` their checkpoints removed, so that they start again). Called under the lock."""
    report = BatchReport.open(out_dir, settings, items, overwrite)
    summary = BatchSummary()
    todo = [item for item in items if needs_restoring(item, report, overwrite, summary)]
    for item in todo:
        report.record(item, "pending", write=False)
        if overwrite:
            item.checkpoint.unlink(missing_ok=True)
    report.write()
    if events is not None:
        events.batch_started(len(todo), summary.reused)
    return report, summary, todo


def check_settings(items: Sequence[BatchItem], settings: BatchSettings) -> None:
    """The batch's settings and every photo's own, before the first photo."""
    settings.check()
    for own in {item.settings for item in items if item.settings is not None}:
        own.check()


def needs_restoring(item: BatchItem, report: BatchReport, overwrite: bool, summary: BatchSummary) -> bool:
    """False for a photo whose result is complete (counted as reused)."""
    if overwrite or not item.output.is_file() or report.status(item) not in (None, "done"):
        return True
    if report.status(item) is None:
        report.record(item, "done", write=False, reused=True)
    summary.reused += 1
    return False


def restore_item(index: int, item: BatchItem, settings: BatchSettings, report: BatchReport,
                 events: BatchEvents | None, keep_going: Callable[[], bool] | None) -> str:
    """One photo with its report entries and events; returns its final status."""
    report.record(item, "running")
    facts: dict[str, Any] = {}
    if events is not None:
        events.photo_started(index, item)
    try:
        outcome = restore_photo(item, item.settings_within(settings), progress=events.photo_progress if events else None,
                                keep_going=keep_going)
    except KeyboardInterrupt:  # before the run loop took over (loading, the classical start)
        outcome, status = None, "interrupted"
    except Exception as exc:  # any failure of one photo is reported; the batch goes on
        outcome, status = None, "failed"
        facts["error"] = failure_line(exc)
        release_device_memory()
    if outcome is not None:
        status, facts = ("done" if outcome.finished else "interrupted"), outcome_facts(outcome)
    report.record(item, status, **facts)
    if events is not None:
        events.photo_ended(index, item, report.photos[item.name])
    return status


def release_device_memory() -> None:
    """After a failed photo (out of memory above all), the memory it held goes back to the device
    before the next photo, not to torch's cache."""
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def outcome_facts(outcome: PhotoOutcome) -> dict[str, Any]:
    facts = outcome.to_dict()
    if outcome.notes:
        facts["notes"] = outcome.notes
    return facts


def failure_line(exc: BaseException) -> str:
    """One line for the report: the project's own errors as they read, out of memory named as such."""
    if isinstance(exc, DipError):
        return str(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, MemoryError) or "out of memory" in text.lower():
        return "out of memory: try a smaller preset, --tile with a single run, or a device with more memory"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@contextlib.contextmanager
def batch_lock(out_dir: Path) -> Iterator[None]:
    """One batch at a time per output folder: a second one is refused with a clear line, not left to
    write over the first one's report and checkpoints."""
    work = out_dir / WORK_FOLDER
    work.mkdir(parents=True, exist_ok=True)
    with held_alone(work / "lock") as alone:
        if not alone:
            raise InvalidParameterError(f"{out_dir} is in use by another batch; wait for it or choose another folder")
        yield
