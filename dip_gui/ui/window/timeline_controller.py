"""The timeline under the result: scrub back through snapshots, the suggested stop, raw/averaged."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Slot

from dip_gui.core.stopping.detectors import StopSuggestion
from dip_gui.core.stopping.monitor import Snapshot
from dip_gui.ui.window.current_run import CurrentRun
from dip_gui.ui.window.parts import WindowParts


class TimelineController(QObject):
    def __init__(self, parts: WindowParts, run: CurrentRun) -> None:
        super().__init__(parts.parent)
        self.parts, self.run = parts, run
        timeline = parts.timeline
        timeline.snapshot_selected.connect(self._on_snapshot_selected)
        timeline.auto_stop.toggled.connect(run.set_auto_stop)
        timeline.averaged.toggled.connect(self._averaged_toggled)
        parts.plot.iteration_clicked.connect(timeline.select_iteration)
        timeline.describe = self.describe_iteration
        run.suggested.connect(self._on_suggested)

    def displayed_result(self) -> np.ndarray | None:
        """What the result view shows: the chosen snapshot, or the current result."""
        snapshot = self.parts.timeline.selected
        if snapshot is not None:
            return snapshot.image.astype(np.float32) / 255.0
        return self.run.result()

    def displayed_iteration(self) -> int | None:
        """The iteration of ``displayed_result``: the chosen snapshot's, the suggestion's after an
        automatic stop, else the run's (None before a run)."""
        snapshot = self.parts.timeline.selected
        if snapshot is not None:
            return snapshot.iteration
        monitor, session = self.run.monitor, self.run.session
        if self.run.ended_reason == "auto-stopped" and monitor is not None and monitor.suggestion is not None:
            return monitor.suggestion.iteration
        return None if session is None else session.iteration

    def describe_iteration(self, iteration: int) -> str:
        """"iteration 120 · 31.24 dB": the PSNR against the clean photo where one is known."""
        psnr = self.parts.plot.psnr_at(iteration)
        return f"iteration {iteration}" + ("" if psnr is None else f" · {psnr:.2f} dB")

    @property
    def following_live(self) -> bool:
        """The result view follows the run (no snapshot chosen)."""
        return self.parts.timeline.selected is None

    def run_started(self) -> None:
        self.parts.timeline.set_store(None if self.run.monitor is None else self.run.monitor.store)
        self.parts.plot.set_suggestion(None)

    @Slot(object)
    def _on_suggested(self, suggestion: StopSuggestion) -> None:
        self.parts.timeline.set_suggestion(suggestion.iteration)
        self.parts.plot.set_suggestion(suggestion.iteration)
        self.parts.status.setText(f"Suggested stop: iteration {suggestion.iteration} ({suggestion.reason}).")

    @Slot(object)
    def _on_snapshot_selected(self, snapshot: Snapshot | None) -> None:
        if snapshot is None:
            self.parts.plot.set_marker(None)
            image = self.run.result()
        else:
            self.parts.plot.set_marker(snapshot.iteration)
            image = snapshot.image
        if image is not None:
            self.parts.result_view.set_image(image, keep_view=True)

    def _averaged_toggled(self, averaged: bool) -> None:
        self.run.set_raw(not averaged)
        result = self.run.result()
        if self.following_live and not self.run.running and result is not None:
            self.parts.result_view.set_image(result, keep_view=True)
