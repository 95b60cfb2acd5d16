"""The widgets the window's controllers work with, handed to each in its constructor."""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox, QProgressBar, QWidget

from dip_gui.ui.widgets.image_view import ImageCanvas
from dip_gui.ui.widgets.plot_panel import PlotPanel
from dip_gui.ui.widgets.task_panel import TaskPanel
from dip_gui.ui.widgets.timeline_strip import TimelineBar


class ErrorDialogs:
    """Errors shown to the user: one line in a dialog, the traceback behind 'Show details' for bugs."""

    def __init__(self, parent: QWidget) -> None:
        self.parent = parent
        self.last_error: str | None = None

    def show(self, message: str) -> None:
        first = message.strip().splitlines()[-1] if "Traceback" in message else message
        box = QMessageBox(QMessageBox.Icon.Critical, "DIP Studio", first, parent=self.parent)
        if "Traceback" in message:
            box.setDetailedText(message)
        self.last_error = message
        box.open()  # not exec(): a modal loop would block the worker's signals and tests


#: How long a confirmation (a session saved) stays over the progress line.
ANNOUNCE_S = 8.0


@dataclass
class WindowParts:
    """``parent`` owns the dialogs; ``status`` is the status bar's message."""

    parent: QWidget
    settings: QSettings
    panel: TaskPanel
    input_view: ImageCanvas
    result_view: ImageCanvas
    plot: PlotPanel
    timeline: TimelineBar
    status: QLabel
    progress_bar: QProgressBar
    errors: ErrorDialogs = field(init=False)

    def __post_init__(self) -> None:
        self.errors = ErrorDialogs(self.parent)

    def show_error(self, message: str) -> None:
        self.errors.show(message)

    def announce(self, message: str, seconds: float = ANNOUNCE_S) -> None:
        """A confirmation the run's progress line would overwrite at once: shown over it for a while."""
        bar = self.parent.statusBar() if isinstance(self.parent, QMainWindow) else None
        if bar is None:
            self.status.setText(message)
        else:
            bar.showMessage(message, int(seconds * 1000))
