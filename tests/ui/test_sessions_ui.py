"""Save session / Open session and crash recovery in the window."""

import numpy as np
from PySide6.QtWidgets import QMessageBox

from dip_gui.core.checkpoint import read_session_file
from dip_gui.ui.main_window import MainWindow
from tests.ui.conftest import quick_settings


def _second_window(qtbot, settings, monkeypatch):
    """A new window as after a restart (same settings and recovery folder)."""
    win = MainWindow(settings=settings, open_sample=False)
    monkeypatch.setattr(win, "confirm_discard", lambda: True)
    qtbot.addWidget(win)
    return win


def test_save_session_mid_run_and_open_it_to_finish_the_run(window, photo_path, qtbot, tmp_path, settings, monkeypatch):
    window.open_path(photo_path)
    quick_settings(window, 400)
    window.start_run()
    qtbot.waitUntil(lambda: window.run.session.iteration >= 3, timeout=30000)
    path = tmp_path / "mine.dips"
    with qtbot.waitSignal(window.run.saved, timeout=30000):
        window.save_session(path)  # written by the worker between two iterations
    window.run.stop()
    qtbot.waitUntil(lambda: not window.run.running, timeout=30000)
    saved_at = read_session_file(path)["session"]["iteration"]
    assert 3 <= saved_at < 400

    other = _second_window(qtbot, settings, monkeypatch)
    other.run.recovery_every = 1e9
    assert other.open_session(path)
    assert other.photo.size == (40, 48) and other.panel.current_task() == "denoise"
    assert other.run.running and other.run.session.iteration >= saved_at
    other.run.stop()
    qtbot.waitUntil(lambda: not other.run.running, timeout=30000)
    other.close()


def test_a_run_cut_short_is_offered_back_at_the_next_start(window, photo_path, qtbot, settings, monkeypatch, recovery_dir):
    window.open_path(photo_path)
    window.panel.select_task("inpaint")
    quick_settings(window, 30)
    window.input_view.paint_stroke([(10, 10), (20, 20)])
    painted = window.input_view.mask.holes.copy()
    window.run.recovery_every = 0.0  # a recovery copy after every iteration
    window.start_run()
    qtbot.waitUntil(lambda: window.run.session.iteration >= 5, timeout=30000)
    window.run.shutdown()  # the app "dies": no normal close, the recovery copy stays
    recovery = recovery_dir / "last-run.dips"
    assert recovery.exists()
    stopped_at = read_session_file(recovery)["session"]["iteration"]

    restarted = _second_window(qtbot, settings, monkeypatch)
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a: asked.append(a[2]) or QMessageBox.StandardButton.Yes)
    assert restarted.offer_recovery()
    assert f"iteration {stopped_at} of 30" in asked[0]
    assert restarted.panel.current_task() == "inpaint"
    np.testing.assert_array_equal(restarted.input_view.mask.holes, painted)  # the painted mask comes back
    qtbot.waitUntil(lambda: not restarted.run.running, timeout=60000)
    assert restarted.run.session.iteration == 30  # carried on to the run's end
    restarted.close()  # a normal close: the copy is no longer needed
    assert not recovery.exists()


def test_declining_the_offer_discards_the_copy(window, photo_path, qtbot, settings, monkeypatch, recovery_dir):
    window.open_path(photo_path)
    quick_settings(window, 3)
    window.start_run()
    qtbot.waitUntil(lambda: not window.run.running, timeout=30000)
    recovery = recovery_dir / "last-run.dips"
    assert recovery.exists()  # a finished run keeps one until its result is saved

    restarted = _second_window(qtbot, settings, monkeypatch)
    monkeypatch.setattr(QMessageBox, "question", lambda *a: QMessageBox.StandardButton.Discard)
    assert not restarted.offer_recovery()
    assert not recovery.exists() and restarted.run.session is None
    restarted.close()


def test_saving_the_result_drops_the_recovery_copy(window, photo_path, qtbot, tmp_path, recovery_dir):
    window.open_path(photo_path)
    quick_settings(window, 3)
    window.start_run()
    qtbot.waitUntil(lambda: not window.run.running, timeout=30000)
    assert (recovery_dir / "last-run.dips").exists()
    assert window.save_result(tmp_path / "result.png")
    assert not (recovery_dir / "last-run.dips").exists()


def test_a_broken_session_file_shows_an_error_and_keeps_the_app(window, photo_path, tmp_path, qtbot):
    broken = tmp_path / "broken.dips"
    broken.write_bytes(b"not a session at all")
    assert not window.open_session(broken)
    assert "not a readable DIP Studio session" in window.last_error
    window.open_path(photo_path)  # still usable
    quick_settings(window, 2)
    window.start_run()
    qtbot.waitUntil(lambda: not window.run.running, timeout=30000)
    assert window.run.session.iteration == 2


def test_save_session_without_a_run_explains(window):
    window.save_session_dialog()
    assert "start one first" in window.last_error
