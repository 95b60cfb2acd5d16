"""The batch queue (File > Batch...): photos and folders restored one after another with the main
window's settings, into an output folder, by the same runner as ``python -m dip_gui batch``.

Photos come from Add photos, Add folder or a drop on the queue; a photo may keep settings of its own
(Own settings: the main window's as they are then); each row shows the photo, its settings, its status,
its progress and, once restored, a thumbnail of the result (double-click: open it in the main view).
Pause holds the photo in progress; Cancel ends the batch after the current step and keeps that
photo's checkpoint, so Start goes on where it stopped. ``OUT/batch-report.json`` is the record.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QIcon, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSystemTrayIcon,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dip_gui.core.batch.plan import BatchItem, find_photos, plan_items
from dip_gui.core.batch.report import REPORT_NAME
from dip_gui.core.batch.runner import BatchSummary
from dip_gui.core.batch.settings import BatchSettings
from dip_gui.core.errors import DipError
from dip_gui.ui.batch_worker import BatchWorker
from dip_gui.ui.window import files
from dip_gui.ui.window.batch_settings import describe

PHOTO, SETTINGS, STATUS, PROGRESS, RESULT = range(5)
#: The settings column of a photo restored with the batch's settings (the panel's when Start is pressed).
BATCH_SETTINGS = "the batch's"
THUMBNAIL = 56


def _button(text: str, slot: Callable[[], object]) -> QPushButton:
    button = QPushButton(text)
    button.clicked.connect(slot)
    return button


def _row_of(*widgets: QWidget | None) -> QHBoxLayout:
    """The widgets side by side; None is a stretch."""
    row = QHBoxLayout()
    for widget in widgets:
        if widget is None:
            row.addStretch(1)
        else:
            row.addWidget(widget)
    return row


class BatchQueue(QDialog):
    """``settings_source`` gives the main window's settings when Start is pressed; ``open_result``
    asks the main window to open a finished result."""

    open_result = Signal(Path)

    def __init__(self, settings_source: Callable[[], BatchSettings], settings: QSettings,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Batch — DIP Studio")
        self.settings_source, self.qsettings = settings_source, settings
        self.photos: list[tuple[Path, Path]] = []  # (file, name in the output folder) per row
        self.own_settings: dict[Path, BatchSettings] = {}  # by name: photos pinned to their own settings
        self.worker: BatchWorker | None = None
        self.last_summary: BatchSummary | None = None
        self.setAcceptDrops(True)
        self._build()
        self._update_buttons()

    # -- layout -------------------------------------------------------------------------------------

    def _build(self) -> None:
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["Photo", "Settings", "Status", "Progress", "Result"])
        self.table.horizontalHeader().setSectionResizeMode(PHOTO, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(SETTINGS, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setIconSize(QPixmap(THUMBNAIL, THUMBNAIL).size())
        self.table.verticalHeader().setDefaultSectionSize(THUMBNAIL + 6)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.cellDoubleClicked.connect(self._open_row)
        self.add_files_button = _button("Add photos…", self._add_files_dialog)
        self.add_folder_button = _button("Add folder…", self._add_folder_dialog)
        self.remove_button = _button("Remove", self.remove_selected)
        self.pin_button = _button("Own settings", self.pin_settings_to_selected)
        self.pin_button.setToolTip("The selected photos keep the main window's settings as they are now; the "
                                   "others take them when Start is pressed")
        self.unpin_button = _button("Batch's settings", self.unpin_selected)
        self.output_line = QLineEdit(str(self.qsettings.value("batch_output", "")))
        self.output_line.setPlaceholderText("output folder (results keep each photo's folder and name)")
        self.browse_button = _button("Browse…", self._choose_output)
        self.format_box = QComboBox()
        self.format_box.addItems(["png", "tif", "jpg", "webp"])
        self.start_button = _button("Start", self.start)
        self.pause_button = _button("Pause", self.toggle_pause)
        self.cancel_button = _button("Cancel", self.cancel)
        self.message = QLabel("Add photos or a folder, or drop them here. The batch uses the main window's "
                              "task and preset; each photo stops by itself.")
        self.message.setWordWrap(True)
        adding = _row_of(self.add_files_button, self.add_folder_button, self.remove_button, None, self.pin_button,
                         self.unpin_button)
        output = _row_of(QLabel("Output:"), self.output_line, self.browse_button, self.format_box)
        running = _row_of(None, self.start_button, self.pause_button, self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addLayout(adding)
        layout.addWidget(self.table, 1)
        layout.addLayout(output)
        layout.addWidget(self.message)
        layout.addLayout(running)
        self.resize(760, 480)

    # -- the queue ----------------------------------------------------------------------------------

    def add_paths(self, paths: list[Path]) -> int:
        """Queue the photos in ``paths`` (folders recursively); returns how many were new."""
        try:
            found = find_photos(paths, exclude=[self.output_folder()] if self.output_line.text().strip() else [])
        except DipError as exc:
            self.message.setText(str(exc))
            return 0
        queued = {source.resolve() for source, _ in self.photos}
        names = {name for _, name in self.photos}
        added = 0
        for source, name in found:
            if source.resolve() in queued:
                continue
            if name in names:  # the same name from another folder: its folder's name keeps them apart
                name = Path(source.parent.name) / name
            self.photos.append((source, name))
            names.add(name)
            self._add_row(source, name)
            added += 1
        if added and not self.output_line.text().strip():
            self.output_line.setText(str(Path(paths[0]).resolve().parent / "restored"))
        self.message.setText(f"{len(self.photos)} photos in the queue.")
        self._update_buttons()
        return added

    def _add_row(self, source: Path, name: Path) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        photo = QTableWidgetItem(name.as_posix())
        photo.setToolTip(str(source))
        self.table.setItem(row, PHOTO, photo)
        self.table.setItem(row, SETTINGS, QTableWidgetItem(BATCH_SETTINGS))
        self.table.setItem(row, STATUS, QTableWidgetItem("queued"))
        bar = QProgressBar()
        bar.setRange(0, 1)
        bar.setValue(0)
        self.table.setCellWidget(row, PROGRESS, bar)
        self.table.setItem(row, RESULT, QTableWidgetItem())

    def selected_rows(self) -> list[int]:
        return sorted({index.row() for index in self.table.selectedIndexes()})

    def remove_selected(self) -> None:
        for row in reversed(self.selected_rows()):
            self.table.removeRow(row)
            self.own_settings.pop(self.photos[row][1], None)
            del self.photos[row]
        self._update_buttons()

    def pin_settings_to_selected(self) -> None:
        """The selected photos keep the main window's settings as they are now."""
        try:
            settings = self.settings_source()
            settings.check()
        except DipError as exc:
            self.message.setText(str(exc))
            return
        for row in self.selected_rows():
            self.own_settings[self.photos[row][1]] = settings
            self._cell(row, SETTINGS).setText(describe(settings))

    def unpin_selected(self) -> None:
        for row in self.selected_rows():
            self.own_settings.pop(self.photos[row][1], None)
            self._cell(row, SETTINGS).setText(BATCH_SETTINGS)

    def output_folder(self) -> Path:
        return Path(self.output_line.text().strip()).expanduser()

    def items(self) -> list[BatchItem]:
        """The queue as batch items, each pinned photo with its own settings (in the queue's format)."""
        items = plan_items(self.photos, self.output_folder(), self.format_box.currentText())
        output_format = {"output_format": self.format_box.currentText()}
        return [item if item.relative not in self.own_settings else replace(
                    item, settings=BatchSettings.from_dict({**self.own_settings[item.relative].to_dict(), **output_format}))
                for item in items]

    # -- running ------------------------------------------------------------------------------------

    def start(self) -> None:
        if self.worker is not None or not self.photos:
            return
        if not self.output_line.text().strip():
            self.message.setText("Choose the output folder first.")
            return
        try:
            settings = self.settings_source()
            settings = BatchSettings.from_dict({**settings.to_dict(), "output_format": self.format_box.currentText()})
            settings.check()
            items = self.items()
        except DipError as exc:
            self.message.setText(str(exc))
            return
        self.qsettings.setValue("batch_output", str(self.output_folder()))
        for row in range(self.table.rowCount()):
            self._set_status(row, "queued")
        self.worker = BatchWorker(items, settings, self.output_folder(), parent=self)
        self.worker.started_photo.connect(lambda name: self._set_status(self._row(name), "restoring"))
        self.worker.progressed.connect(self._show_progress)
        self.worker.ended_photo.connect(self._photo_ended)
        self.worker.batch_ended.connect(self._batch_ended)
        self.worker.failed.connect(self._batch_failed)
        self.worker.start()
        preset = settings.preset or "the device's default preset"
        self.message.setText(f"Restoring {len(items)} photos: {settings.task}, {preset}, into {self.output_folder()}")
        self._update_buttons()

    def toggle_pause(self) -> None:
        if self.worker is None:
            return
        if self.worker.paused:
            self.worker.resume()
        else:
            self.worker.pause()
        self._update_buttons()

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.message.setText("Cancelling after the current step; Start goes on where it stopped.")

    def _cell(self, row: int, column: int) -> QTableWidgetItem:
        item = self.table.item(row, column)
        assert item is not None, "every row is made with all its cells"
        return item

    def _row(self, name: str) -> int:
        return next((row for row, (_, own) in enumerate(self.photos) if own.as_posix() == name), -1)

    def _set_status(self, row: int, status: str) -> None:
        if row >= 0:
            self._cell(row, STATUS).setText(status)

    def _show_progress(self, name: str, iteration: int, total: int) -> None:
        row = self._row(name)
        bar = self.table.cellWidget(row, PROGRESS) if row >= 0 else None
        if isinstance(bar, QProgressBar):
            bar.setRange(0, max(total, 1))
            bar.setValue(iteration)

    def _photo_ended(self, name: str, entry: dict) -> None:
        row = self._row(name)
        if row < 0:
            return
        status = str(entry.get("status"))
        self._set_status(row, status)
        self._cell(row, STATUS).setToolTip(str(entry.get("error") or ""))
        bar = self.table.cellWidget(row, PROGRESS)
        if isinstance(bar, QProgressBar) and status == "done":
            bar.setRange(0, 1)
            bar.setValue(1)
        if status == "done":
            self._show_thumbnail(row, self.output_folder() / str(entry.get("output")))

    def _show_thumbnail(self, row: int, result: Path) -> None:
        pixmap = QPixmap(str(result))
        item = self._cell(row, RESULT)
        if not pixmap.isNull():
            item.setIcon(QIcon(pixmap.scaled(THUMBNAIL, THUMBNAIL, Qt.AspectRatioMode.KeepAspectRatio,
                                              Qt.TransformationMode.SmoothTransformation)))
        item.setData(Qt.ItemDataRole.UserRole, str(result))
        item.setToolTip(f"{result}\nDouble-click to open it in the main window")

    def _batch_ended(self, summary: BatchSummary) -> None:
        self._finish()
        self.last_summary = summary
        self._show_report()
        text = f"{summary.line()}. Report: {self.output_folder() / REPORT_NAME}"
        self.message.setText(text)
        QApplication.alert(self.window())
        if QSystemTrayIcon.isSystemTrayAvailable() and not self.isActiveWindow():
            tray = QSystemTrayIcon(self.windowIcon(), self)
            tray.show()
            tray.showMessage("DIP Studio", text)

    def _batch_failed(self, message: str) -> None:
        self._finish()
        self.message.setText(message.splitlines()[0])

    def _finish(self) -> None:
        if self.worker is not None:
            self.worker.wait()
            self.worker = None
        self._update_buttons()

    def _show_report(self) -> None:
        """Photos restored by an earlier batch into the folder show as done too."""
        try:
            report = json.loads((self.output_folder() / REPORT_NAME).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        for name, entry in (report.get("photos") or {}).items():
            row = self._row(name)
            if row >= 0 and self._cell(row, STATUS).text() == "queued":
                self._photo_ended(name, entry)

    def _open_row(self, row: int, column: int) -> None:
        result = self._cell(row, RESULT).data(Qt.ItemDataRole.UserRole)
        if result and Path(result).is_file():
            self.open_result.emit(Path(result))

    def _update_buttons(self) -> None:
        running = self.worker is not None
        for widget in (self.add_files_button, self.add_folder_button, self.remove_button, self.output_line,
                       self.browse_button, self.format_box, self.pin_button, self.unpin_button):
            widget.setEnabled(not running)
        self.start_button.setEnabled(not running and bool(self.photos))
        self.pause_button.setEnabled(running)
        self.pause_button.setText("Resume" if running and self.worker is not None and self.worker.paused else "Pause")
        self.cancel_button.setEnabled(running)

    # -- dialogs and drops -------------------------------------------------------------------------

    def _add_files_dialog(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Add photos", files.last_folder(self.qsettings),
                                                files.IMAGE_FILTER)
        if paths:
            self.add_paths([Path(p) for p in paths])

    def _add_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of photos", files.last_folder(self.qsettings))
        if folder:
            self.add_paths([Path(folder)])

    def _choose_output(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Output folder", self.output_line.text())
        if folder:
            self.output_line.setText(folder)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        self.add_paths([Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()])

    def closeEvent(self, event) -> None:
        """Closing the queue's window leaves a running batch running; the main window's close cancels it."""
        event.accept()

    def shutdown(self) -> None:
        """Cancel a running batch and wait for its step (the app is closing)."""
        if self.worker is not None:
            self.worker.cancel()
            self.worker.wait()
            self.worker = None
