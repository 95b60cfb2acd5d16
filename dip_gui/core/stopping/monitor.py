"""Snapshots of a run and the automatic stop suggestion, without the clean image.

The run monitor feeds a stop detector (detectors.py: the output variance, or the error on
pixels held back from the fit where the run has them) and keeps the snapshot timeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch

from dip_gui.core.imaging import to_uint8
from dip_gui.core.metrics import psnr_from_mse
from dip_gui.core.networks.padded_canvas import Canvas
from dip_gui.core.stopping.detectors import (
    StopDetector,
    StopSuggestion,
    ValidationStopDetector,
    WatchedRun,
    detector_for,
    detector_from_state,
)

DEFAULT_BUDGET_BYTES = 300 * 2**20


@dataclass
class Snapshot:
    iteration: int
    image: np.ndarray  # HxWx3 uint8 (what would be saved at that moment, at 8 bits)


class SnapshotStore:
    """Result snapshots every ``every`` iterations within a memory budget.

    When the budget is reached every other old snapshot is dropped and the interval doubles, so
    the whole run stays covered, more coarsely, instead of losing its beginning. Snapshots named
    in ``keep`` (the suggested stop) survive thinning.
    """

    def __init__(self, every: int = 10, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self.every, self.budget = max(1, every), budget_bytes
        self.snapshots: list[Snapshot] = []
        self.keep: set[int] = set()

    @classmethod
    def for_run(cls, iterations: int, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> SnapshotStore:
        return cls(every=max(1, iterations // 300), budget_bytes=budget_bytes)

    def wants(self, iteration: int) -> bool:
        return iteration % self.every == 0 or iteration == 1

    def add(self, iteration: int, image: np.ndarray) -> None:
        self.snapshots.append(Snapshot(iteration, to_uint8(image)))
        while self.nbytes > self.budget and len(self.snapshots) > 2:
            self._thin()

    @property
    def nbytes(self) -> int:
        return sum(s.image.nbytes for s in self.snapshots)

    def nearest(self, iteration: int) -> Snapshot | None:
        if not self.snapshots:
            return None
        return min(self.snapshots, key=lambda s: abs(s.iteration - iteration))

    def state_dict(self) -> dict[str, Any]:
        return {"every": self.every, "budget": self.budget, "keep": sorted(self.keep),
                "iterations": [s.iteration for s in self.snapshots],
                "images": [torch.from_numpy(s.image) for s in self.snapshots]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.every, self.budget, self.keep = state["every"], state["budget"], set(state["keep"])
        self.snapshots = [Snapshot(i, image.numpy()) for i, image in zip(state["iterations"], state["images"])]

    def _thin(self) -> None:
        newest = self.snapshots[-1]
        kept = [s for i, s in enumerate(self.snapshots[:-1]) if i % 2 == 0 or s.iteration in self.keep]
        if len(kept) + 1 == len(self.snapshots):  # nothing could go (all kept): drop the oldest
            kept = kept[1:]
        self.snapshots = [*kept, newest]
        self.every *= 2


#: On a GPU the monitor reads its inputs back once per this many iterations: every host copy is a
#: synchronisation that leaves the GPU idle while the host works (docs/performance.md).
ACCELERATOR_READBACK_EVERY = 10
#: ... and holds at most this much device memory of results waiting for that read-back.
PENDING_BUDGET_BYTES = 256 * 2**20


@dataclass
class _Pending:
    iteration: int
    small: torch.Tensor  # the detector's input (shrunk output or validation error), on the device
    result: torch.Tensor | None  # the result tensor when it may be needed (snapshot, new minimum)


class MonitoredRun(WatchedRun, Protocol):
    """What the monitor reads of a run (a ``Session``; the stopping layer sits below it)."""

    device: torch.device
    canvas: Canvas

    @property
    def total_iterations(self) -> int: ...

    def result_tensor(self, raw: bool = False) -> torch.Tensor: ...

    def to_image(self, result: torch.Tensor) -> np.ndarray: ...


class RunMonitor:
    """Watches a session after each step: stop detector, snapshots, the result at the detector's best.

    The result at the detector's current minimum is kept as a device tensor (cheap: it changes on
    every new minimum) so that the suggested stop can be shown and saved exactly, whichever
    snapshot interval is in force; the full photo is built from it only when asked for.

    On the CPU every iteration is processed at once. On a GPU iterations are queued on the device
    and processed ``readback_every`` at a time, in order, with the same results: one host copy per
    batch instead of one per iteration, so the GPU is not stopped for the detector. A suggestion is
    then announced up to ``readback_every - 1`` iterations late (it names the same iteration and
    image). ``flush()`` processes what is queued (the end of a run, a saved session).
    """

    def __init__(self, session: MonitoredRun, *, snapshots: bool = True, budget_bytes: int = DEFAULT_BUDGET_BYTES,
                 readback_every: int | None = None) -> None:
        self.session = session
        #: Chosen at the first observation (``detector``): whether the run holds pixels back for a
        #: validation is known only once the session is prepared, after the monitor is made.
        self._detector: StopDetector | None = None
        self.store = SnapshotStore.for_run(session.total_iterations, budget_bytes) if snapshots else None
        self.readback_every = readback_every or self._default_readback()
        self._candidate: torch.Tensor | None = None
        self._pending: list[_Pending] = []
        self._unannounced: StopSuggestion | None = None
        self._held_out_reported = 0  # how many of the validation detector's errors take_held_out gave

    def _default_readback(self) -> int:
        if self.session.device.type == "cpu":
            return 1
        canvas = self.session.canvas
        result_bytes = canvas.out_height * canvas.out_width * 4 * 4  # up to 4 float32 channels
        return int(np.clip(PENDING_BUDGET_BYTES // max(result_bytes, 1), 1, ACCELERATOR_READBACK_EVERY))

    @property
    def detector(self) -> StopDetector:
        """The stop detector (made on first use: ask after the session's first step)."""
        if self._detector is None:
            self._detector = detector_for(self.session, self.session.total_iterations)
        return self._detector

    def observe(self, iteration: int) -> StopSuggestion | None:
        """Record the session's state after ``iteration``; returns a new stop suggestion once."""
        if self.session.last_output is None:
            return None
        signal = self.detector.signal(self.session)
        if self.readback_every == 1:
            self._process(iteration, signal.cpu(), None)
        else:
            wanted = self.store is not None and self.store.wants(iteration)
            result = self.session.result_tensor() if wanted or self.suggestion is None else None
            # no copy: the signal is a new tensor each iteration (the shrunk output, or the last output
            # itself, which each step replaces; the validation error), and a copy per iteration is
            # a visible share of a 6 ms iteration on a GPU
            self._pending.append(_Pending(iteration, signal, result))
            if len(self._pending) >= self.readback_every:
                self.flush()
        return self.take_new_suggestion()

    def take_held_out(self) -> list[tuple[int, float]]:
        """The result's PSNR (dB) on the held-back pixels, per iteration processed since the last call
        ([] where the run holds none back): the one measure of quality a run has without the clean
        photo, for the plot."""
        if not isinstance(self._detector, ValidationStopDetector):
            return []
        errors = self._detector.errors[self._held_out_reported :]
        self._held_out_reported += len(errors)
        # an exact prediction (error 0) is drawn at 100 dB, not at infinity
        return [(iteration, psnr_from_mse(max(error, 1e-10))) for iteration, error in errors]

    def take_new_suggestion(self) -> StopSuggestion | None:
        """The suggestion made since the last call (by ``observe`` or ``flush``), else None."""
        suggestion, self._unannounced = self._unannounced, None
        return suggestion

    def flush(self) -> None:
        """Process the queued iterations (one host copy); a suggestion made here is returned by
        ``take_new_suggestion`` (or the next ``observe``)."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        smalls = torch.stack([entry.small for entry in pending]).cpu()
        for entry, small in zip(pending, smalls):
            self._process(entry.iteration, small, entry.result)

    def _process(self, iteration: int, small: torch.Tensor, result: torch.Tensor | None) -> None:
        """The detector, candidate and snapshot for one iteration (``result`` None: the session's now)."""
        before, undecided = self.detector.best_iteration, self.suggestion is None
        suggestion = self.detector.update_small(iteration, small)
        if self.detector.best_iteration != before and undecided:  # the suggested result stays put
            self._candidate = self.session.result_tensor() if result is None else result
        if self.store is not None and self.store.wants(iteration):
            self.store.add(iteration, self.session.to_image(self.session.result_tensor() if result is None else result))
        if suggestion is not None:
            self._unannounced = suggestion
            if self.store is not None:
                self._keep_suggested_snapshot(self.store, suggestion)

    def _keep_suggested_snapshot(self, store: SnapshotStore, suggestion: StopSuggestion) -> None:
        store.keep.add(suggestion.iteration)
        image = self.suggested_image()
        if image is not None and all(s.iteration != suggestion.iteration for s in store.snapshots):
            store.snapshots.append(Snapshot(suggestion.iteration, to_uint8(image)))
            store.snapshots.sort(key=lambda s: s.iteration)

    @property
    def suggestion(self) -> StopSuggestion | None:
        return None if self._detector is None else self._detector.suggestion

    def state_dict(self) -> dict[str, Any]:
        self.flush()
        candidate = None if self._candidate is None else self._candidate.detach().cpu()
        detector = None if self._detector is None else self._detector.state_dict()
        return {"detector": detector, "store": None if self.store is None else self.store.state_dict(),
                "candidate": candidate}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a saved monitor (a resumed run keeps its timeline and stop suggestion)."""
        if state["detector"] is not None:  # it works on the CPU (see observe)
            self._detector = detector_from_state(state["detector"])
        if self.store is not None and state["store"] is not None:
            self.store.load_state_dict(state["store"])
        self._candidate = None if state["candidate"] is None else state["candidate"].to(self.session.device)

    def suggested_image(self) -> np.ndarray | None:
        """HxWx3 float image at the suggested stop (None before the detector fired)."""
        if self.suggestion is None or self._candidate is None:
            return None
        return self.session.to_image(self._candidate)

