"""The main window: wiring only (docks, actions, menus, status bar); the work lives elsewhere."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from dip_gui.core.errors import DipError
from dip_gui.core.imaging import LoadedImage, load_image
from dip_gui.core.problem.presets import TASKS
from dip_gui.core.samples import sample_photo
from dip_gui.ui.widgets.image_view import ImageCanvas, sync_views
from dip_gui.ui.widgets.plot_panel import PlotPanel
from dip_gui.ui.widgets.qimage import qimage_to_array
from dip_gui.ui.widgets.task_panel import TaskPanel
from dip_gui.ui.window import files
from dip_gui.ui.window.estimator import BackgroundEstimator
from dip_gui.ui.window.file_actions import FileActionsMixin
from dip_gui.ui.window.run_actions import RunActionsMixin
from dip_gui.ui.window.run_control import RunControl
from dip_gui.ui.window.session_actions import SessionActionsMixin, recovery_path
from dip_gui.ui.window.timeline_actions import TimelineActionsMixin
from dip_gui.ui.window.view_actions import ViewActionsMixin


class MainWindow(FileActionsMixin, RunActionsMixin, SessionActionsMixin, ViewActionsMixin, TimelineActionsMixin,
                 QMainWindow):
    def __init__(self, settings: QSettings | None = None, open_sample: bool = True) -> None:
        super().__init__()
        self.settings = settings or QSettings("DIPStudio", "DIPStudio")
        self.photo: LoadedImage | None = None
        self.reference: np.ndarray | None = None
        self.guide: np.ndarray | None = None
        self.unsaved_result = False
        self._network_share: float | None = None  # of the holes, from the last preview (holdout presets)
        self.run = RunControl(self)
        self.run.recovery_path = recovery_path()
        self.input_view, self.result_view = ImageCanvas(), ImageCanvas()
        sync_views(self.input_view, self.result_view)
        self.splitter = QSplitter()
        self.splitter.addWidget(self.input_view)
        self.splitter.addWidget(self.result_view)
        self.splitter.setSizes([1, 1])
        self.splitter.setChildrenCollapsible(False)
        self.panel = TaskPanel()
        self.plot = PlotPanel()
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.splitter, 1)
        column.addWidget(self._setup_timeline())
        self.setCentralWidget(central)
        self._docks()
        self._status_bar()
        self._actions()
        self._connect()
        self._estimate_timer = QTimer(self, singleShot=True, interval=300)
        self._estimate_timer.timeout.connect(self.update_estimate)
        self.estimator = BackgroundEstimator(self)
        self.estimator.ready.connect(self.show_estimate)
        self.setAcceptDrops(True)
        self._restore_settings()
        self._update_title()
        self._update_run_actions()
        sample = sample_photo()
        if open_sample and sample is not None:
            self.open_path(sample)
            self.make_test_image_from(("noise", 25.0, 0))

    # -- construction ---------------------------------------------------------------------------

    def _docks(self) -> None:
        scroll = QScrollArea()
        scroll.setWidget(self.panel)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(self.panel.sizeHint().width() + 20)
        left = QDockWidget("Restoration", self)
        left.setObjectName("restoration_dock")
        left.setWidget(scroll)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, left)
        bottom = QDockWidget("Progress", self)
        bottom.setObjectName("progress_dock")
        bottom.setWidget(self.plot)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, bottom)
        self.resizeDocks([bottom], [230], Qt.Orientation.Vertical)  # the photos get the room
        self.resizeDocks([left], [330], Qt.Orientation.Horizontal)

    def _status_bar(self) -> None:
        self.status = QLabel("Open a photo (Ctrl+O), drop one here, or paste (Ctrl+V)")
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(240)
        self.statusBar().addWidget(self.status, 1)
        self.statusBar().addPermanentWidget(self.progress_bar)

    def _action(self, text: str, slot, shortcut=None, checkable: bool = False, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setCheckable(checkable)
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _actions(self) -> None:
        a = self._action
        self.open_action = a("&Open…", self.open_dialog, QKeySequence.StandardKey.Open)
        self.paste_action = a("&Paste image", self.paste_image, QKeySequence.StandardKey.Paste)
        self.save_action = a("&Save result…", self.save_result_dialog, QKeySequence.StandardKey.Save)
        self.save_mask_action = a("Save &mask…", self.save_mask_dialog)
        self.open_session_action = a("Open sess&ion…", self.open_session_dialog, "Ctrl+Shift+O",
                                     tip="Continue a saved run where it stopped")
        self.save_session_action = a("Save session…", self.save_session_dialog, "Ctrl+Shift+S",
                                     tip="Save the whole run (network, settings, timeline) to continue it later")
        self.sidecar_action = a("Write settings sidecar (JSON) when saving", lambda: None, checkable=True)
        self.test_image_action = a(
            "Make a &test image…",
            self.make_test_image_dialog,
            "Ctrl+T",
            tip="Degrade this clean photo and keep it as the reference",
        )
        self.quit_action = a("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.undo_action = a("&Undo mask stroke", lambda: self._mask_op("undo"), QKeySequence.StandardKey.Undo)
        self.redo_action = a("&Redo mask stroke", lambda: self._mask_op("redo"), "Ctrl+Shift+Z")
        self.start_action = a("&Start", self.start_run, "Ctrl+Return", tip="Start restoring (Ctrl+Return)")
        self.pause_action = a("&Pause", self.run.toggle_pause, "Space", tip="Pause or resume (Space)")
        self.stop_action = a("S&top", self.run.stop, "Esc", tip="Stop and keep the result (Esc)")
        self.fit_action = a("&Fit", self.input_view.fit, "Ctrl+0")
        self.actual_action = a("&100%", self.input_view.actual_size, "Ctrl+1")
        self.side_action = a("Side by side", self._layout_changed, checkable=True)
        self.side_action.setChecked(True)
        self.toggle_action = a("Toggle input / result", self.toggle_compare, "T")
        self.split_action = a("Split compare", self.split_compare, "S", checkable=True,
                              tip="Input left of a divider you drag, result right of it (S)")
        self._menus()

    def _menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([self.open_action, self.paste_action])
        self.recent_menu = file_menu.addMenu("Open &recent")
        file_menu.addActions([self.save_action, self.save_mask_action, self.sidecar_action, self.test_image_action])
        file_menu.addSeparator()
        file_menu.addActions([self.open_session_action, self.save_session_action])
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit = bar.addMenu("&Edit")
        edit.addActions([self.undo_action, self.redo_action])
        view = bar.addMenu("&View")
        view.addActions([self.fit_action, self.actual_action, self.side_action, self.toggle_action, self.split_action])
        run = bar.addMenu("&Run")
        run.addActions([self.start_action, self.pause_action, self.stop_action])
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("main_toolbar")
        toolbar.addActions(
            [
                self.open_action,
                self.save_action,
                self.start_action,
                self.pause_action,
                self.stop_action,
                self.fit_action,
                self.actual_action,
                self.toggle_action,
            ]
        )
        self._refresh_recent()

    def _connect(self) -> None:
        self.run.progress.connect(self._on_progress)
        self.run.preview.connect(self._on_preview)
        self.run.ended.connect(self._on_run_ended)
        self.run.failed.connect(self.show_error)
        self.run.device_failed.connect(self._on_device_failed)
        self.run.state_changed.connect(self._update_run_actions)
        self.run.saved.connect(self._on_session_saved)
        self.run.warning.connect(self.status.setText)
        self.panel.changed.connect(self._settings_changed)
        self.panel.guide_requested.connect(self.choose_guide)
        tools = self.panel.mask_tools
        tools.size.valueChanged.connect(self.input_view.set_brush_radius)
        self.input_view.brush_size_changed.connect(tools.size.setValue)
        tools.erase.toggled.connect(lambda on: setattr(self.input_view, "erasing", on))
        tools.clear_button.clicked.connect(lambda: self._mask_op("clear"))
        tools.invert_button.clicked.connect(lambda: self._mask_op("invert"))
        tools.load_button.clicked.connect(self.load_mask_dialog)
        tools.save_button.clicked.connect(self.save_mask_dialog)
        tools.color_button.clicked.connect(self._pick_overlay_color)
        tools.opacity.valueChanged.connect(self._overlay_opacity)

    # -- opening --------------------------------------------------------------------------------

    def open_dialog(self) -> None:
        folder = self.settings.value("last_folder", "")
        path, _ = QFileDialog.getOpenFileName(self, "Open photo", folder, files.IMAGE_FILTER)
        if path:
            self.open_path(Path(path))

    def open_path(self, path: Path) -> bool:
        try:
            photo = load_image(path)
        except DipError as exc:
            self.show_error(str(exc))
            return False
        self._set_photo(photo)
        files.remember_file(self.settings, Path(path))
        self._refresh_recent()
        return True

    def paste_image(self) -> None:
        image = QGuiApplication.clipboard().image()
        if image.isNull():
            self.show_error("the clipboard holds no image")
            return
        self._set_photo(LoadedImage(qimage_to_array(image)))

    def _set_photo(self, photo: LoadedImage) -> None:
        self.stop_run_and_wait()
        self.photo, self.reference, self.guide = photo, None, None
        self.input_view.set_image(photo.rgb)
        self.input_view.mask = None
        self.result_view.set_image(None)
        self.unsaved_result = False
        self.plot.clear()
        self._settings_changed()
        self._update_title()
        name = photo.path.name if photo.path is not None else "the pasted image"
        height, width = photo.size
        self.status.setText(f"Opened {name} ({width}x{height}). Choose a task and press Start (Ctrl+Return).")

    def dragEnterEvent(self, event) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.open_path(Path(url.toLocalFile()))
                break

    def choose_guide(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Flash photo", self.settings.value("last_folder", ""), files.IMAGE_FILTER)
        if path:
            try:
                self.guide = load_image(path).rgb
                self.panel.guide_label.setText(Path(path).name)
            except DipError as exc:
                self.show_error(str(exc))

    def _settings_changed(self) -> None:
        task = self.panel.current_task()
        self.input_view.enable_mask(task.takes_mask and self.photo is not None)
        self.input_view.set_display_scale(float(self.panel.current_scale() or 1))  # a scale for SR only
        self._estimate_timer.start()

    def _update_title(self) -> None:
        name = "no photo"
        if self.photo is not None:
            name = self.photo.path.name if self.photo.path else "pasted image"
            name += f" ({self.photo.size[1]}x{self.photo.size[0]})"
        self.setWindowTitle(f"{name} — DIP Studio")

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        for path in files.recent_files(self.settings):
            self.recent_menu.addAction(path, lambda p=path: self.open_path(Path(p)))

    def show_error(self, message: str) -> None:
        first = message.strip().splitlines()[-1] if "Traceback" in message else message
        box = QMessageBox(QMessageBox.Icon.Critical, "DIP Studio", first, parent=self)
        if "Traceback" in message:
            box.setDetailedText(message)
        self.last_error = message
        box.open()  # not exec(): a modal loop would block the worker's signals and tests

    # -- settings and closing -------------------------------------------------------------------

    def _restore_settings(self) -> None:
        geometry = self.settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        self.panel.mask_tools.size.setValue(int(self.settings.value("brush_size", 12)))
        device = self.settings.value("device", "auto")
        if device in [self.panel.device.itemText(i) for i in range(self.panel.device.count())]:
            self.panel.device.setCurrentText(device)
        self.panel.select_host_memory(self.settings.value("host_memory", "auto"))
        self.sidecar_action.setChecked(self.settings.value("sidecar", "false") == "true")
        task = self.settings.value("task")
        if task in TASKS:
            self.panel.select_task(task)
            self.panel.preset.setCurrentText(self.settings.value("preset", "fast"))

    def _save_settings(self) -> None:
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("brush_size", self.panel.mask_tools.size.value())
        self.settings.setValue("device", self.panel.device.currentText())
        self.settings.setValue("host_memory", self.panel.current_host_memory())
        self.settings.setValue("sidecar", "true" if self.sidecar_action.isChecked() else "false")
        self.settings.setValue("task", self.panel.current_task())
        self.settings.setValue("preset", self.panel.preset.currentText())
        self.settings.sync()

    def confirm_discard(self) -> bool:
        answer = QMessageBox.question(
            self,
            "DIP Studio",
            "The result is not saved. Close anyway?",
            QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Discard

    def closeEvent(self, event) -> None:
        if self.unsaved_result and not self.confirm_discard():
            event.ignore()
            return
        if not self.run.shutdown(timeout_ms=500):
            self.hide()  # the last step is still going: wait for it without a frozen window on screen
            self.run.shutdown()
        self.estimator.wait()
        self.discard_recovery()  # a normal close: nothing to recover next time
        self._save_settings()
        event.accept()
