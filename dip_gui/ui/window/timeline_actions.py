"""Window wiring of the timeline: snapshots, the suggested stop, raw/averaged, saving a snapshot."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Slot

from dip_gui.ui.widgets.timeline_strip import TimelineBar


class TimelineActionsMixin:
    """Mixed into MainWindow; uses its run, plot, result_view, status and save dialogs."""

    def _setup_timeline(self) -> TimelineBar:
        self.timeline = TimelineBar()
        self.timeline.snapshot_selected.connect(self._on_snapshot_selected)
        self.timeline.save_requested.connect(self.save_result_dialog)
        self.timeline.auto_stop.toggled.connect(self.run.set_auto_stop)
        self.timeline.averaged.toggled.connect(self._averaged_toggled)
        self.plot.iteration_clicked.connect(self.timeline.select_iteration)
        self.run.suggested.connect(self._on_suggested)
        return self.timeline

    def displayed_result(self) -> np.ndarray | None:
        """What the result view shows: the chosen snapshot, or the current result."""
        snapshot = self.timeline.selected
        if snapshot is not None:
            return snapshot.image.astype(np.float32) / 255.0
        return self.run.result()

    @property
    def following_live(self) -> bool:
        return self.timeline.selected is None

    def _timeline_run_started(self) -> None:
        self.timeline.set_store(self.run.monitor.store)
        self.plot.set_suggestion(None)

    @Slot(object)
    def _on_suggested(self, suggestion) -> None:
        self.timeline.set_suggestion(suggestion.iteration)
        self.plot.set_suggestion(suggestion.iteration)
        self.status.setText(f"Suggested stop: iteration {suggestion.iteration} ({suggestion.reason}).")

    @Slot(object)
    def _on_snapshot_selected(self, snapshot) -> None:
        if snapshot is None:
            self.plot.set_marker(None)
            image = self.run.result()
        else:
            self.plot.set_marker(snapshot.iteration)
            image = snapshot.image
        if image is not None:
            self.result_view.set_image(image, keep_view=True)

    def _averaged_toggled(self, averaged: bool) -> None:
        self.run.set_raw(not averaged)
        if self.following_live and not self.run.running and self.run.result() is not None:
            self.result_view.set_image(self.run.result(), keep_view=True)
