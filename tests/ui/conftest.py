import pytest
import shiboken6
from PySide6.QtCore import QSettings

from dip_gui.core.imaging import save_image
from dip_gui.ui.window.main_window import MainWindow
from dip_gui.ui.worker import RunWorker
from tests.makers import smooth_image as make_smooth_image


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def photo_path(tmp_path):
    path = tmp_path / "photo.png"
    save_image(path, make_smooth_image(40, 48))
    return path


@pytest.fixture(autouse=True)
def recovery_dir(tmp_path, monkeypatch):
    """Recovery copies of test runs go to the test's folder, never to the user's."""
    folder = tmp_path / "recovery"
    monkeypatch.setenv("DIP_STUDIO_RECOVERY_DIR", str(folder))
    return folder


@pytest.fixture
def window(qtbot, settings, monkeypatch):
    win = MainWindow(settings=settings, open_sample=False)
    monkeypatch.setattr(win, "confirm_discard", lambda: True)
    # Tests run "until stopped" with huge iteration counts: answer the long-run question with "run".
    monkeypatch.setattr(win.runs, "ask_about_cost", lambda text, offers: "run")
    qtbot.addWidget(win)
    win.show()
    yield win
    win.run.shutdown()
    win.close()
    win.deleteLater()


@pytest.fixture(autouse=True)
def no_thread_left_running(qtbot):
    """Like napari: a test that leaves a worker thread running fails."""
    yield
    for worker in list(_workers):
        if shiboken6.isValid(worker):  # a worker deleted once its thread ended is not running
            assert not worker.isRunning(), "a RunWorker is still running after the test"
    _workers.clear()


_workers: list = []
_original_start = RunWorker.start


def _tracking_start(self, *args):
    _workers.append(self)
    return _original_start(self, *args)


RunWorker.start = _tracking_start


def set_quick_settings(win, iterations=20):
    """Small network and few iterations so a run takes a second or two."""
    panel = win.panel
    panel.width_box.setCurrentIndex(1)  # small
    panel.iterations.setValue(iterations)


def run_window_to_end(win, qtbot, iterations, timeout_ms=30000):
    """A quick run of ``iterations`` started and waited for until the window has handled its end."""
    set_quick_settings(win, iterations)
    win.runs.start()
    qtbot.waitUntil(lambda: not win.run.running, timeout=timeout_ms)


@pytest.fixture
def quick_settings():
    """``quick_settings(window, iterations=20)``: a small network and few iterations (a second or two)."""
    return set_quick_settings


@pytest.fixture
def run_to_end():
    """``run_to_end(window, qtbot, iterations)``: a quick run, waited for until the window handled its end."""
    return run_window_to_end


@pytest.fixture
def instant_estimate(monkeypatch):
    """The window's estimates answer at once without running probe sessions, for tests that count
    or break the session's own steps and starts (the estimate's probes would be counted too)."""
    from dip_gui.core.estimate.cost import CostEstimate
    from dip_gui.ui.window import estimator

    monkeypatch.setattr(estimator, "estimate_run_cost",
                        lambda preset, size, *args, **kwargs: CostEstimate(0.01, 2**20, tuple(size)))
