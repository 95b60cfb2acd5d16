"""The main window: it builds the widgets, composes the controllers and wires actions to them.

The work lives in the controllers (run, files, sessions, view, timeline), each given what it needs
in its constructor; the window's one state is ``Document.state``, from which ``_apply_state``
derives what every action allows.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from dip_gui.core.imaging import LoadedImage
from dip_gui.core.problem.presets import TASKS
from dip_gui.core.samples import sample_photo
from dip_gui.ui.gui_thread_gc import install_gui_thread_gc
from dip_gui.ui.widgets.image_view import ImageCanvas, sync_views
from dip_gui.ui.widgets.plot_panel import PlotPanel
from dip_gui.ui.widgets.task_panel import TaskPanel
from dip_gui.ui.widgets.timeline_strip import TimelineBar
from dip_gui.ui.window import files
from dip_gui.ui.window.about import show_about
from dip_gui.ui.window.batch_queue import BatchQueue
from dip_gui.ui.window.batch_settings import batch_settings
from dip_gui.ui.window.current_run import CurrentRun
from dip_gui.ui.window.document import Document, WindowState
from dip_gui.ui.window.file_controller import FileController
from dip_gui.ui.window.parts import WindowParts
from dip_gui.ui.window.run_controller import RunController
from dip_gui.ui.window.session_controller import SessionController, recovery_path
from dip_gui.ui.window.timeline_controller import TimelineController
from dip_gui.ui.window.view_controller import ViewController


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, open_sample: bool = True) -> None:
        super().__init__()
        install_gui_thread_gc()  # cycles collected between events only: elsewhere Qt deadlocks (gui_thread_gc.py)
        self.settings = settings or QSettings("DIPStudio", "DIPStudio")
        self.document = Document(self)
        self.run = CurrentRun(self)
        self.run.recovery_path = recovery_path()
        self.parts = self._build_widgets()
        self._actions()
        self.timeline_control = TimelineController(self.parts, self.run)
        self.runs = RunController(self.document, self.parts, self.run, self.timeline_control)
        self.files = FileController(self.document, self.parts, self.run, self.runs, self.timeline_control,
                                    self.sidecar_action, self.srgb_action)
        self.files.confirm_discard = lambda: self.confirm_discard()  # late-bound: the window's question as it is then
        self.runs.confirm_discard = lambda: self.confirm_discard()
        self.sessions = SessionController(self.document, self.parts, self.run, self.runs, self.files)
        self.view = ViewController(self.document, self.parts, self.side_action, self.split_action)
        self.batch_queue: BatchQueue | None = None
        self._connect()
        self._menus()
        self.setAcceptDrops(True)
        self._restore_settings()
        self._update_title()
        self._apply_state(self.document.state)
        self.view.set_layout(self.view.layout)
        sample = sample_photo()
        if open_sample and sample is not None:
            self.files.open_path(sample)
            self.files.make_test_image_from(("noise", 25.0, 0))

    # -- what tests and the app read of the window ------------------------------------------------

    @property
    def photo(self) -> LoadedImage | None:
        return self.document.photo

    @property
    def reference(self) -> np.ndarray | None:
        return self.document.reference

    @property
    def unsaved_result(self) -> bool:
        return self.document.unsaved_result

    @property
    def last_error(self) -> str | None:
        return self.parts.errors.last_error

    # -- construction ---------------------------------------------------------------------------

    def _build_widgets(self) -> WindowParts:
        self.input_view, self.result_view = ImageCanvas(), ImageCanvas()
        sync_views(self.input_view, self.result_view)
        self.splitter = QSplitter()
        self.splitter.addWidget(self.input_view)
        self.splitter.addWidget(self.result_view)
        self.splitter.setSizes([1, 1])
        self.splitter.setChildrenCollapsible(False)
        self.panel, self.plot, self.timeline = TaskPanel(), PlotPanel(), TimelineBar()
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.splitter, 1)
        column.addWidget(self.timeline)
        self.setCentralWidget(central)
        self._docks()
        self.status = QLabel("Open a photo (Ctrl+O), drop one here, or paste (Ctrl+V)")
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(240)
        self.statusBar().addWidget(self.status, 1)
        self.statusBar().addPermanentWidget(self.progress_bar)
        return WindowParts(self, self.settings, self.panel, self.input_view, self.result_view, self.plot,
                           self.timeline, self.status, self.progress_bar)

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

    def _action(self, text: str, shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
                checkable: bool = False, tip: str = "") -> QAction:
        """An action of the window (its slot is connected in ``_connect``, once the controllers exist)."""
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setCheckable(checkable)
        action.setStatusTip(tip)
        self.addAction(action)
        return action

    def _actions(self) -> None:
        a = self._action
        self.open_action = a("&Open…", QKeySequence.StandardKey.Open)
        self.paste_action = a("&Paste image", QKeySequence.StandardKey.Paste)
        self.save_action = a("&Save result…", QKeySequence.StandardKey.Save)
        self.save_mask_action = a("Save &mask…")
        self.open_session_action = a("Open sess&ion…", "Ctrl+Shift+O", tip="Continue a saved run where it stopped")
        self.save_session_action = a("Save session…", "Ctrl+Shift+S",
                                     tip="Save the whole run (network, settings, timeline) to continue it later")
        self.sidecar_action = a("Write settings sidecar (JSON) when saving", checkable=True)
        self.srgb_action = a("Convert results to sRGB", checkable=True,
                             tip="Save results in sRGB, for places that ignore colour profiles (by default a result "
                                 "keeps its photo's profile: Display P3, Adobe RGB...)")
        self.test_image_action = a("Make a &test image…", "Ctrl+T", tip="Degrade this clean photo and keep it as the reference")
        self.quit_action = a("&Quit", QKeySequence.StandardKey.Quit)
        self.undo_action = a("&Undo mask stroke", QKeySequence.StandardKey.Undo)
        self.redo_action = a("&Redo mask stroke", "Ctrl+Shift+Z")
        self.start_action = a("&Start", "Ctrl+Return", tip="Start restoring (Ctrl+Return)")
        self.pause_action = a("&Pause", "Space", tip="Pause or resume (Space)")
        self.stop_action = a("S&top", "Esc", tip="Stop and keep the result (Esc)")
        self.continue_action = a("&Continue", "Ctrl+Shift+Return",
                                 tip="Run on past the stop, to the run's iterations (Ctrl+Shift+Return)")
        self.fit_action = a("&Fit", "Ctrl+0")
        self.actual_action = a("&100%", "Ctrl+1")
        self.side_action = a("Side by side", "Y", checkable=True, tip="Input and result next to each other (Y)")
        self.side_action.setChecked(True)
        self.toggle_action = a("Input or result (one at a time)", "T",
                               tip="One pane, flipping between the input and the result at each press (T)")
        self.split_action = a("Split compare", "S", checkable=True,
                              tip="Input left of a divider you drag, result right of it; S again goes back (S)")
        self.batch_action = a("&Batch…", "Ctrl+B", tip="Restore many photos with these settings (Ctrl+B)")
        self.about_action = a("&About DIP Studio", tip="The version and the devices it runs on")

    def _connect(self) -> None:
        files_, runs, sessions, view = self.files, self.runs, self.sessions, self.view
        slots: list[tuple[QAction, Callable[..., object]]] = [
            (self.open_action, files_.open_dialog), (self.paste_action, files_.paste_image),
            (self.save_action, files_.save_result_dialog), (self.save_mask_action, files_.save_mask_dialog),
            (self.open_session_action, sessions.open_session_dialog),
            (self.save_session_action, sessions.save_session_dialog),
            (self.test_image_action, files_.make_test_image_dialog), (self.quit_action, self.close),
            (self.undo_action, lambda: view.mask_op("undo")), (self.redo_action, lambda: view.mask_op("redo")),
            (self.start_action, runs.start), (self.pause_action, runs.toggle_pause), (self.stop_action, runs.stop),
            (self.continue_action, runs.continue_run),
            (self.fit_action, self.input_view.fit), (self.actual_action, self.input_view.actual_size),
            (self.side_action, view.side_by_side), (self.toggle_action, view.toggle_compare),
            (self.split_action, view.split_compare), (self.about_action, partial(show_about, self)),
            (self.batch_action, self.show_batch_queue),
        ]
        for action, slot in slots:
            action.triggered.connect(slot)
        self.document.state_changed.connect(self._apply_state)
        self.run.warning.connect(self.status.setText)
        self.panel.changed.connect(self._settings_changed)
        self.panel.guide_requested.connect(files_.choose_guide)
        self.panel.mask_tools.load_button.clicked.connect(files_.load_mask_dialog)
        self.panel.mask_tools.save_button.clicked.connect(files_.save_mask_dialog)
        self.timeline.save_requested.connect(files_.save_result_dialog)
        files_.photo_changed.connect(self._photo_changed)
        files_.photo_set.connect(view.refresh_compare)
        self.panel.task.currentIndexChanged.connect(view.invite_to_paint)

    def _menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([self.open_action, self.paste_action])
        self.recent_menu = file_menu.addMenu("Open &recent")
        file_menu.addActions([self.save_action, self.save_mask_action, self.sidecar_action, self.srgb_action,
                              self.test_image_action])
        file_menu.addSeparator()
        file_menu.addActions([self.open_session_action, self.save_session_action])
        file_menu.addSeparator()
        file_menu.addAction(self.batch_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit = bar.addMenu("&Edit")
        edit.addActions([self.undo_action, self.redo_action])
        view = bar.addMenu("&View")
        view.addActions([self.fit_action, self.actual_action, self.side_action, self.toggle_action, self.split_action])
        run = bar.addMenu("&Run")
        run.addActions([self.start_action, self.pause_action, self.stop_action, self.continue_action])
        bar.addMenu("&Help").addAction(self.about_action)
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("main_toolbar")
        toolbar.addActions([self.open_action, self.save_action, self.start_action, self.pause_action, self.stop_action,
                            self.fit_action, self.actual_action, self.toggle_action])
        self._refresh_recent()

    # -- the one state ----------------------------------------------------------------------------

    def _apply_state(self, state: WindowState) -> None:
        """What each action allows in ``state``: the only place that enables or disables them."""
        self.start_action.setEnabled(state in (WindowState.PHOTO, WindowState.FINISHED))
        self.pause_action.setEnabled(state in (WindowState.PREPARING, WindowState.RUNNING, WindowState.PAUSED))
        self.pause_action.setText("Resume" if state is WindowState.PAUSED else "Pause")
        self.stop_action.setEnabled(state.busy and state is not WindowState.STOPPING)
        self.continue_action.setEnabled(self.runs.can_continue())
        self.panel.setEnabled(not state.busy)

    # -- reactions ----------------------------------------------------------------------------------

    def _settings_changed(self) -> None:
        self.view.show_task()
        self.runs.estimate_timer.start()
        self.continue_action.setEnabled(self.runs.can_continue())  # more iterations let a finished run go on

    def _photo_changed(self) -> None:
        self._settings_changed()
        self._update_title()
        self._refresh_recent()

    def show_batch_queue(self) -> BatchQueue:
        """The batch queue's window (one per main window, kept while the app runs)."""
        if self.batch_queue is None:
            self.batch_queue = BatchQueue(lambda: batch_settings(self.panel, self.timeline.auto_stop.isChecked(),
                                                                 self.srgb_action.isChecked()),
                                          self.settings, parent=self)
            self.batch_queue.open_result.connect(self.files.open_path)
        self.batch_queue.show()
        self.batch_queue.raise_()
        return self.batch_queue

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.files.open_path(Path(url.toLocalFile()))
                break

    def _update_title(self) -> None:
        name = "no photo"
        photo = self.document.photo
        if photo is not None:
            name = photo.path.name if photo.path else "pasted image"
            name += f" ({photo.size[1]}x{photo.size[0]})"
        self.setWindowTitle(f"{name} — DIP Studio")

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        for path in files.recent_files(self.settings):
            self.recent_menu.addAction(path, partial(self.files.open_path, Path(path)))

    # -- settings and closing -------------------------------------------------------------------

    def _restore_settings(self) -> None:
        geometry = self.settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        self.panel.mask_tools.brush_size.setValue(int(str(self.settings.value("brush_size", 12))))
        device = str(self.settings.value("device", "auto"))
        if device in [self.panel.device.itemText(i) for i in range(self.panel.device.count())]:
            self.panel.device.setCurrentText(device)
        self.panel.select_host_memory(str(self.settings.value("host_memory", "auto")))
        self.sidecar_action.setChecked(self.settings.value("sidecar", "false") == "true")
        self.srgb_action.setChecked(self.settings.value("to_srgb", "false") == "true")
        self.panel.show_advanced(self.settings.value("advanced_settings", "false") == "true")
        self.timeline.auto_stop.setChecked(self.settings.value("auto_stop", "true") == "true")
        self.run.set_auto_stop(self.timeline.auto_stop.isChecked())
        task = self.settings.value("task")
        if task in TASKS:
            self.panel.select_task(task)
            self.panel.preset.setCurrentText(str(self.settings.value("preset", "fast")))

    def _save_settings(self) -> None:
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("brush_size", self.panel.mask_tools.brush_size.value())
        self.settings.setValue("device", self.panel.device.currentText())
        self.settings.setValue("host_memory", self.panel.current_host_memory())
        self.settings.setValue("sidecar", "true" if self.sidecar_action.isChecked() else "false")
        self.settings.setValue("to_srgb", "true" if self.srgb_action.isChecked() else "false")
        self.settings.setValue("advanced_settings", "true" if self.panel.advanced_toggle.isChecked() else "false")
        self.settings.setValue("auto_stop", "true" if self.timeline.auto_stop.isChecked() else "false")
        self.settings.setValue("task", str(self.panel.current_task()))
        self.settings.setValue("preset", self.panel.preset.currentText())
        self.settings.sync()

    def confirm_discard(self) -> bool:
        """The result is not saved (or a run is going): Save (going on only once it is saved; a run is
        stopped first), Discard, or Cancel."""
        running = self.document.state.busy
        text = "A run is going: its result is not saved." if running else "The result is not saved."
        box = QMessageBox(QMessageBox.Icon.Question, "DIP Studio", text, parent=self)
        box.setInformativeText("Save it before going on?")
        buttons = QMessageBox.StandardButton
        box.setStandardButtons(buttons.Save | buttons.Discard | buttons.Cancel)
        box.setDefaultButton(buttons.Save)
        answer = box.exec()
        if answer == buttons.Save:
            self.runs.stop_and_wait()  # the result saved is the one the run ends on
            return self.files.save_result_dialog()
        return answer == buttons.Discard

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.document.work_to_lose and not self.confirm_discard():
            event.ignore()
            return
        if self.batch_queue is not None:
            self.batch_queue.shutdown()  # the photo in progress keeps its checkpoint: Start goes on next time
        if not self.run.shutdown(timeout_ms=500):
            self.hide()  # the last step is still going: wait for it without a frozen window on screen
            self.run.shutdown()
        self.runs.estimator.wait()
        self.run.discard_recovery()  # a normal close: nothing to recover next time
        self._save_settings()
        event.accept()
