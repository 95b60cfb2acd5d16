"""The window composed: one explicit state, and controllers that work without a MainWindow."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QLabel, QProgressBar, QWidget

from dip_gui.core.imaging import LoadedImage
from dip_gui.ui.widgets.image_view import ImageCanvas
from dip_gui.ui.widgets.plot_panel import PlotPanel
from dip_gui.ui.widgets.task_panel import TaskPanel
from dip_gui.ui.widgets.timeline_strip import TimelineBar
from dip_gui.ui.window.current_run import CurrentRun
from dip_gui.ui.window.document import Document, WindowState
from dip_gui.ui.window.parts import WindowParts
from dip_gui.ui.window.run_controller import RunController
from dip_gui.ui.window.timeline_controller import TimelineController


def enabled(window) -> dict[str, bool]:
    return {name: getattr(window, f"{name}_action").isEnabled() for name in ("start", "pause", "stop")} | {
        "panel": window.panel.isEnabled()}


def test_the_window_state_follows_a_run_driven_by_the_keyboard_and_derives_every_action(
    window, photo_path, qtbot, quick_settings,
):
    assert window.document.state is WindowState.NO_PHOTO
    assert enabled(window) == {"start": False, "pause": False, "stop": False, "panel": True}
    window.files.open_path(photo_path)
    assert window.document.state is WindowState.PHOTO
    assert enabled(window) == {"start": True, "pause": False, "stop": False, "panel": True}

    quick_settings(window, 100000)
    seen: list[WindowState] = []
    window.document.state_changed.connect(seen.append)
    qtbot.keyClick(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.document.state is WindowState.RUNNING, timeout=30000)
    assert enabled(window) == {"start": False, "pause": True, "stop": True, "panel": False}

    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert window.document.state is WindowState.PAUSED and window.pause_action.text() == "Resume"
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert window.document.state is WindowState.RUNNING and window.pause_action.text() == "Pause"

    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert window.document.state in (WindowState.STOPPING, WindowState.FINISHED)
    qtbot.waitUntil(lambda: window.document.state is WindowState.FINISHED, timeout=30000)
    assert enabled(window) == {"start": True, "pause": False, "stop": False, "panel": True}
    assert seen[:1] in ([WindowState.PREPARING], [WindowState.RUNNING])
    assert {WindowState.PAUSED, WindowState.STOPPING, WindowState.FINISHED} <= set(seen)


def test_a_run_controller_works_without_a_main_window(qtbot, tmp_path, smooth_image):
    """Controllers get what they need in their constructors: here widgets on a bare QWidget."""
    parent = QWidget()
    qtbot.addWidget(parent)
    parts = WindowParts(parent, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), TaskPanel(),
                        ImageCanvas(), ImageCanvas(), PlotPanel(), TimelineBar(), QLabel(), QProgressBar())
    document, run = Document(), CurrentRun(parent)
    runs = RunController(document, parts, run, TimelineController(parts, run))
    photo = LoadedImage(smooth_image(32, 40))
    document.set_photo(photo)
    parts.input_view.set_image(photo.rgb)
    parts.panel.width_box.setCurrentIndex(1)
    parts.panel.iterations.setValue(5)
    runs.ask_about_cost = lambda text, offers: "run"

    runs.start()
    assert document.state in (WindowState.PREPARING, WindowState.RUNNING)
    qtbot.waitUntil(lambda: document.state is WindowState.FINISHED, timeout=30000)
    assert run.session.iteration == 5 and document.unsaved_result
    assert run.result().shape == (32, 40, 3)
    assert "Done after 5 iterations" in parts.status.text()
    runs.estimator.wait()
