"""The snapshot timeline under the result: scrub back through the run, jump to the suggested stop."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

from dip_gui.core.stopping.monitor import Snapshot, SnapshotStore

REFRESH_MS = 250


class TimelineBar(QWidget):
    """A slider over the kept snapshots; at its right end it follows the live result."""

    snapshot_selected = Signal(object)  # Snapshot, or None for the live result
    save_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.store: SnapshotStore | None = None
        self.suggestion: int | None = None
        self.selected: Snapshot | None = None
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip("Scrub back through the run: every kept snapshot of the result")
        self.label = QLabel("live")
        self.label.setMinimumWidth(170)
        self.live_button = QPushButton("Live")
        self.live_button.setToolTip("Follow the running result again")
        self.suggested_button = QPushButton("Go to suggested stop")
        self.suggested_button.setToolTip("The iteration the run judged best, found without the clean photo: where the "
                                         "output stopped settling, or where pixels held back from the fit were predicted "
                                         "best")
        self.suggested_button.setEnabled(False)
        self.save_button = QPushButton("Save this one…")
        self.auto_stop = QCheckBox("Stop automatically when detected")
        self.auto_stop.setChecked(True)  # the default: a run ends where its result was best
        self.auto_stop.setToolTip("End the run at the suggested stop and keep that result")
        self.averaged = QCheckBox("Averaged output")
        self.averaged.setChecked(True)
        self.averaged.setToolTip("Show the average of recent outputs (smoother) instead of the last raw output")
        #: The label of a snapshot (its iteration; the window adds its PSNR where one is known).
        self.describe: Callable[[int], str] = lambda iteration: f"iteration {iteration}"
        # two rows: the slider keeps the pane's width whatever the buttons beside it say
        scrub = QHBoxLayout()
        scrub.addWidget(self.slider, 1)
        scrub.addWidget(self.label)
        actions = QHBoxLayout()
        for widget in (self.live_button, self.suggested_button, self.save_button):
            actions.addWidget(widget)
        actions.addStretch(1)
        actions.addWidget(self.auto_stop)
        actions.addWidget(self.averaged)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.setSpacing(0)
        layout.addLayout(scrub)
        layout.addLayout(actions)
        self.slider.valueChanged.connect(self._slider_moved)
        self.live_button.clicked.connect(self.go_live)
        self.suggested_button.clicked.connect(lambda: self.select_iteration(self.suggestion))
        self.save_button.clicked.connect(self.save_requested)
        self._timer = QTimer(self, interval=REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()

    def set_store(self, store: SnapshotStore | None) -> None:
        self.store, self.suggestion, self.selected = store, None, None
        self.suggested_button.setEnabled(False)
        self.suggested_button.setText("Go to suggested stop")
        self.label.setText("live")
        self.refresh()

    def set_suggestion(self, iteration: int) -> None:
        self.suggestion = iteration
        self.suggested_button.setEnabled(True)
        self.suggested_button.setText(f"Go to suggested stop ({iteration})")

    def refresh(self) -> None:
        """Follow the store's growth (and thinning) without moving a user's selection."""
        count = len(self.store.snapshots) if self.store else 0
        self.slider.blockSignals(True)
        self.slider.setRange(0, count)  # index `count` = live
        if self.selected is None:
            self.slider.setValue(count)
        else:
            self.slider.setValue(self._index_of(self.selected.iteration))
        self.slider.blockSignals(False)

    def select_iteration(self, iteration: int | None) -> None:
        if iteration is None or not self.store:
            return
        nearest = self.store.nearest(iteration)
        if nearest is not None:
            self._choose(nearest)

    def go_live(self) -> None:
        self.selected = None
        self.label.setText("live")
        self.refresh()
        self.snapshot_selected.emit(None)

    def _slider_moved(self, index: int) -> None:
        snapshots = self.store.snapshots if self.store else []
        if index >= len(snapshots):
            self.go_live()
        else:
            self._choose(snapshots[index])

    def _choose(self, snapshot: Snapshot) -> None:
        self.selected = snapshot
        self.label.setText(self.describe(snapshot.iteration))
        self.refresh()
        self.snapshot_selected.emit(snapshot)

    def _index_of(self, iteration: int) -> int:
        snapshots = [] if self.store is None else self.store.snapshots
        return min(range(len(snapshots)), key=lambda i: abs(snapshots[i].iteration - iteration))
