"""One photo of a batch, restored as the ``run`` command restores it: the device's default preset
fitted to the photo, the run loop ending at the stop rule, the result written like the input.

The run is checkpointed to the item's ``.dips`` file every ``checkpoint_every`` seconds, so a batch
killed at any moment (SIGKILL included) loses at most that much of one photo: the next batch resumes
the photo from its checkpoint and ends bit for bit where an uninterrupted run ends (on the CPU).
The checkpoint is removed once the result is written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dip_gui.core.batch.plan import BatchItem
from dip_gui.core.batch.settings import BatchSettings
from dip_gui.core.errors import DipError, MaskError
from dip_gui.core.imaging import LoadedImage, check_srgb_conversion, load_image, load_mask, save_like
from dip_gui.core.problem.choices import Task
from dip_gui.core.problem.presets import preset_for_photo
from dip_gui.core.problem.tasks import make_problem
from dip_gui.core.runtime.device import resolve_device
from dip_gui.core.session.checkpoint import Checkpointer, load_session, photo_facts, restore_monitor
from dip_gui.core.session.handed_back import handed_back
from dip_gui.core.session.run_loop import EndReason, RunLoop
from dip_gui.core.session.session import Session
from dip_gui.core.stopping.monitor import RunMonitor

#: Called after every iteration with (iteration, total iterations).
Progress = Callable[[int, int], None]


@dataclass
class PhotoOutcome:
    """What became of one photo. ``finished``: its result is written; otherwise the run was stopped
    (Ctrl+C, a cancelled queue) and its checkpoint holds it for the next batch."""

    finished: bool
    iterations: int
    seconds: float
    end_reason: str
    preset: str
    stopped_at: int | None = None
    resumed_from: int | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"iterations": self.iterations, "seconds": round(self.seconds, 3), "end_reason": self.end_reason,
                "preset": self.preset, "stopped_at": self.stopped_at, "resumed_from": self.resumed_from}


def restore_photo(item: BatchItem, settings: BatchSettings, *, output: Path | None = None,
                  progress: Progress | None = None, keep_going: Callable[[], bool] | None = None) -> PhotoOutcome:
    """Restore ``item`` with ``settings`` and write the result to ``output`` (default: the item's).
    A DipError (unreadable photo, missing or wrong-sized mask) is raised before the first iteration.
    ``keep_going`` returns False to stop the run, keeping its checkpoint."""
    photo = load_image(item.source)
    if settings.to_srgb:
        check_srgb_conversion(photo)  # a profile that cannot be converted fails the photo before its run
    notes = [photo.frames_note()] if photo.frames_note() else []
    fingerprint = _fingerprint(item, settings)  # hashes the files: once per photo
    session, monitor, resumed_from = _session(item, settings, photo, fingerprint)
    checkpoint = Checkpointer(item.checkpoint, settings.checkpoint_every, session, monitor,
                              photo_facts(photo, batch=fingerprint))
    ended = settings.auto_stop and monitor.suggestion is not None  # stopped, then killed before the save
    loop = RunLoop(session, monitor, until=session.iteration if ended else None, budget_s=settings.max_seconds,
                   auto_stop=settings.auto_stop, checkpoint=checkpoint, keep_going=keep_going)
    try:
        for step in loop.steps():
            if progress is not None:
                progress(step.result.iteration, session.total_iterations)
    except KeyboardInterrupt:  # in the progress callback, between steps
        loop.interrupt()
    end = loop.outcome
    if end.checkpoint_problem is not None:
        notes.append(f"the checkpoint could not be written: {end.checkpoint_problem}")
    outcome = PhotoOutcome(finished=end.reason not in (EndReason.INTERRUPTED, EndReason.STOPPED),
                           iterations=session.iteration, seconds=session.seconds, end_reason=end.reason.value,
                           preset=session.preset.name, resumed_from=resumed_from, notes=notes)
    if outcome.finished:
        outcome.stopped_at = _write_result(item, settings, session, monitor, photo, output or item.output)
    return outcome


def _write_result(item: BatchItem, settings: BatchSettings, session: Session, monitor: RunMonitor,
                  photo: LoadedImage, target: Path) -> int | None:
    """The result (at the suggested stop where the stop rule ended the run) written like the photo,
    and the checkpoint removed; returns the iteration of the stop the result is from, if any."""
    result = handed_back(session, monitor, settings.auto_stop)
    target.parent.mkdir(parents=True, exist_ok=True)
    protected = tuple(p for p in (item.source, item.mask) if p is not None)
    save_like(target, result.image, photo, quality=settings.quality, protected=protected, to_srgb=settings.to_srgb)
    item.checkpoint.unlink(missing_ok=True)
    return result.stopped_at


def _session(item: BatchItem, settings: BatchSettings, photo: LoadedImage,
             fingerprint: dict[str, Any]) -> tuple[Session, RunMonitor, int | None]:
    """The photo's run: resumed from its checkpoint when that holds this photo with these settings,
    else a new one."""
    resumed = _resumed(item, settings, fingerprint)
    if resumed is not None:
        session, state = resumed
        monitor = RunMonitor(session, snapshots=False)
        restore_monitor(monitor, state)
        return session, monitor, session.iteration
    task = Task.parse(settings.task, "task")
    mask = None
    if task.takes_mask:
        if item.mask is None:
            raise MaskError("no mask found for it (give --mask-dir, --mask, or put NAME_mask.png beside it)")
        mask = load_mask(item.mask, photo.size, white_is_hole=not settings.mask_white_known)
    problem = make_problem(task, photo.rgb, grey=photo.grey, scale=settings.scale, mask=mask,
                           keep_known=not settings.raw_output, blur=settings.blur)
    preset = preset_for_photo(settings.task, settings.preset, resolve_device(settings.device).type, photo.rgb,
                              scale=settings.scale, iterations=settings.iterations, lr=settings.lr)
    session = Session(problem, preset, seed=settings.seed, device=settings.device, precision=settings.precision,
                      host_memory=settings.host_memory)
    return session, RunMonitor(session, snapshots=False), None


def _resumed(item: BatchItem, settings: BatchSettings,
             fingerprint: dict[str, Any]) -> tuple[Session, dict[str, Any]] | None:
    """The session saved in the item's checkpoint, if it is this photo's run with these settings; a
    checkpoint of anything else (a changed photo, other settings, a damaged file) is discarded."""
    if not item.checkpoint.is_file():
        return None
    try:
        session, state = load_session(item.checkpoint, settings.device, settings.precision, settings.host_memory)
    except DipError:
        item.checkpoint.unlink(missing_ok=True)
        return None
    if (state.get("source") or {}).get("batch") != fingerprint:
        item.checkpoint.unlink(missing_ok=True)
        return None
    return session, state


def _fingerprint(item: BatchItem, settings: BatchSettings) -> dict[str, Any]:
    """What a checkpoint must match to be resumed: the photo and mask files as they are now, and the recipe."""
    def file_facts(path: Path | None) -> str | None:  # by content: a Ray worker reads a copy of the file
        return None if path is None else hashlib.sha256(path.read_bytes()).hexdigest()

    return {"photo": file_facts(item.source), "mask": file_facts(item.mask), "recipe": settings.recipe()}
