"""An unsaved result is never lost without a question that offers Save (issue #28 item 10)."""

from contextlib import contextmanager

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from dip_gui.core.imaging import load_image, save_image
from tests.makers import smooth_image


@contextmanager
def asking_for_real(window, monkeypatch):
    """The window's own question instead of the fixture's "always discard", given back before
    pytest-qt closes the window (its close would ask too, with nobody to answer), pass or fail."""
    monkeypatch.delattr(window, "confirm_discard")
    try:
        yield
    finally:
        monkeypatch.setattr(window, "confirm_discard", lambda: True)


def answer_with(qtbot, button: QMessageBox.StandardButton, seen: list) -> None:
    """Click ``button`` of the question box once it is up (a real mouse click on it)."""

    def click() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, click)
            return
        seen.append(box.text())
        qtbot.mouseClick(box.button(button), Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, click)


def test_opening_another_photo_over_an_unsaved_result_asks_with_save(window, photo_path, tmp_path, qtbot,
                                                                     monkeypatch, run_to_end):
    other = tmp_path / "other.png"
    save_image(other, smooth_image(32, 32, seed=3))
    window.files.open_path(photo_path)
    run_to_end(window, qtbot, 3)
    assert window.unsaved_result
    seen: list = []
    with asking_for_real(window, monkeypatch):
        answer_with(qtbot, QMessageBox.StandardButton.Cancel, seen)
        assert not window.files.open_path(other)  # cancelled: the photo and its result stay
        assert seen == ["The result is not saved."] and window.photo.size == (40, 48) and window.unsaved_result

        saved = tmp_path / "kept.png"
        monkeypatch.setattr("dip_gui.ui.window.file_controller.QFileDialog.getSaveFileName",
                            lambda *args, **kwargs: (str(saved), ""))
        answer_with(qtbot, QMessageBox.StandardButton.Save, seen)
        assert window.files.open_path(other)  # saved first, then opened
        assert load_image(saved).size == (40, 48) and window.photo.size == (32, 32)

        run_to_end(window, qtbot, 3)
        answer_with(qtbot, QMessageBox.StandardButton.Discard, seen)
        assert window.files.open_path(photo_path) and window.photo.size == (40, 48)
        assert len(seen) == 3


def test_save_cancelled_in_its_dialog_keeps_the_result(window, photo_path, tmp_path, qtbot, monkeypatch, run_to_end):
    window.files.open_path(photo_path)
    run_to_end(window, qtbot, 3)
    monkeypatch.setattr("dip_gui.ui.window.file_controller.QFileDialog.getSaveFileName", lambda *a, **k: ("", ""))
    with asking_for_real(window, monkeypatch):
        answer_with(qtbot, QMessageBox.StandardButton.Save, [])
        assert not window.files.open_path(tmp_path / "missing.png")  # Save, then cancelled: nothing opened
        assert window.unsaved_result


def test_a_photo_opened_during_a_run_asks_first_and_cancel_keeps_the_run(window, photo_path, tmp_path, qtbot,
                                                                         monkeypatch, quick_settings):
    """Asked from the start of the run, before any preview makes a result to save."""
    other = tmp_path / "other.png"
    save_image(other, smooth_image(32, 32, seed=3))
    window.files.open_path(photo_path)
    quick_settings(window, 100000)
    window.runs.start()
    assert window.document.state.busy
    seen: list = []
    with asking_for_real(window, monkeypatch):
        answer_with(qtbot, QMessageBox.StandardButton.Cancel, seen)
        assert not window.files.open_path(other)
        assert seen == ["A run is going: its result is not saved."]
        assert window.run.running and window.photo.size == (40, 48)
        answer_with(qtbot, QMessageBox.StandardButton.Discard, seen)
        assert window.files.open_path(other)
    assert not window.run.running and window.photo.size == (32, 32) and window.start_action.isEnabled()


def test_save_chosen_during_a_run_stops_it_and_a_cancelled_dialog_leaves_the_window_usable(
        window, photo_path, tmp_path, qtbot, monkeypatch, quick_settings):
    window.files.open_path(photo_path)
    quick_settings(window, 100000)
    window.runs.start()
    qtbot.waitUntil(lambda: window.run.session.iteration >= 2, timeout=30000)
    monkeypatch.setattr("dip_gui.ui.window.file_controller.QFileDialog.getSaveFileName", lambda *a, **k: ("", ""))
    with asking_for_real(window, monkeypatch):
        answer_with(qtbot, QMessageBox.StandardButton.Save, [])
        assert not window.files.open_path(tmp_path / "missing.png")
    assert not window.run.running and window.photo.size == (40, 48)
    assert window.start_action.isEnabled() and window.panel.isEnabled() and not window.stop_action.isEnabled()
    assert window.continue_action.isEnabled()  # the stopped run can go on


def test_starting_again_over_an_unsaved_result_asks_first(window, photo_path, qtbot, monkeypatch, run_to_end):
    window.files.open_path(photo_path)
    run_to_end(window, qtbot, 3)
    first = window.run.session
    seen: list = []
    with asking_for_real(window, monkeypatch):
        answer_with(qtbot, QMessageBox.StandardButton.Cancel, seen)
        window.runs.start()
        assert seen == ["The result is not saved."] and window.run.session is first and not window.run.running
        answer_with(qtbot, QMessageBox.StandardButton.Discard, seen)
        window.runs.start()
        assert window.run.session is not first
        qtbot.waitUntil(lambda: not window.run.running, timeout=30000)
