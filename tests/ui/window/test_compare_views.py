"""Comparing input and result (issue #28 items 2, 5 and 8): one layout at a time, labelled panes, a
before/after divider that follows the photo shown, and nothing of the last photo left on screen."""

import pytest
from PySide6.QtCore import QPointF, Qt

from dip_gui.core.imaging import save_image
from tests.makers import smooth_image


def press(qtbot, window, key, modifier=Qt.KeyboardModifier.NoModifier):
    window.activateWindow()
    qtbot.keyClick(window, key, modifier)


def shown_panes(window):
    return [view for view in (window.input_view, window.result_view) if view.isVisible()]


@pytest.fixture
def finished(window, photo_path, qtbot, run_to_end):
    """The window after a short run of ``photo_path`` (40x48)."""
    window.files.open_path(photo_path)
    run_to_end(window, qtbot, 3)
    return window


def test_s_twice_returns_to_side_by_side_and_the_layouts_are_one_at_a_time(finished, qtbot):
    window = finished
    press(qtbot, window, Qt.Key.Key_S)
    assert window.split_action.isChecked() and not window.side_action.isChecked()
    assert shown_panes(window) == [window.result_view] and window.result_view.comparing
    press(qtbot, window, Qt.Key.Key_S)
    assert window.side_action.isChecked() and not window.split_action.isChecked()
    assert shown_panes(window) == [window.input_view, window.result_view] and not window.result_view.comparing

    press(qtbot, window, Qt.Key.Key_S)
    window.side_action.trigger()  # side by side chosen from the split view: the split is off
    assert not window.split_action.isChecked() and not window.result_view.comparing
    assert len(shown_panes(window)) == 2


def test_side_by_side_has_a_shortcut_and_t_says_which_pane_shows(finished, qtbot):
    window = finished
    press(qtbot, window, Qt.Key.Key_T)
    assert len(shown_panes(window)) == 1 and not window.side_action.isChecked()
    first = shown_panes(window)[0]
    press(qtbot, window, Qt.Key.Key_T)
    second = shown_panes(window)[0]
    assert {first.caption_text(), second.caption_text()} == {"Input", "Result"}
    press(qtbot, window, Qt.Key.Key_Y)
    assert window.side_action.isChecked() and len(shown_panes(window)) == 2


def test_both_panes_are_labelled_with_their_zoom(finished):
    window = finished
    assert window.input_view.caption_text() == "Input" and window.result_view.caption_text() == "Result"
    window.input_view.set_zoom(2.0)
    assert window.input_view.caption.text().endswith("200%") and window.result_view.caption.text().endswith("200%")
    window.split_action.trigger()
    assert window.result_view.caption_text() == "Input | Result"


def test_a_pane_s_name_stays_in_its_corner_when_the_photo_scrolls(finished, qtbot):
    view = finished.input_view
    view.set_zoom(40.0)
    corner = view.caption.pos()
    assert view.horizontalScrollBar().maximum() > 100
    view.horizontalScrollBar().setValue(view.horizontalScrollBar().maximum())
    qtbot.wait(20)
    assert view.caption.pos() == corner and view.caption.isVisible()


def test_the_divider_moves_to_a_click_anywhere_on_the_photo(finished, qtbot):
    window = finished
    window.split_action.trigger()
    view = window.result_view
    view.actual_size()
    far_left = view.mapFromScene(QPointF(4, 20))  # the divider is at 24: 20 pixels away
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=far_left)
    assert view.split == pytest.approx(4 / 48, abs=0.03)
    dragged = view.mapFromScene(QPointF(40, 20))
    qtbot.mouseMove(view.viewport(), pos=dragged)
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=dragged)
    assert view.split == pytest.approx(40 / 48, abs=0.03)


def test_the_split_view_fits_the_whole_pane(finished, qtbot):
    window = finished
    window.split_action.trigger()
    qtbot.waitUntil(lambda: window.result_view.viewport().width() > window.input_view.width())
    view = window.result_view
    fit = min(view.viewport().width() / 48, view.viewport().height() / 40)
    qtbot.waitUntil(lambda: view.zoom_factor() == pytest.approx(fit, rel=0.05))


def test_the_split_overlay_follows_the_next_photo_and_test_image(finished, tmp_path, qtbot):
    window = finished
    window.split_action.trigger()
    other = tmp_path / "other.png"
    save_image(other, smooth_image(30, 36, seed=5))
    window.files.open_path(other)
    view = window.result_view
    assert view.compare_size() == (36, 30)  # the new photo's, not the last one's
    window.files.make_test_image_from(("noise", 25.0, 0))
    assert view.compare_size() == (36, 30) and window.split_action.isChecked()
    window.side_action.trigger()
    assert not view.comparing and len(shown_panes(window)) == 2


def test_a_new_photo_leaves_nothing_of_the_last_run(finished, tmp_path, qtbot):
    window = finished
    window.timeline.select_iteration(1)
    assert window.timeline.selected is not None
    window.result_view.set_zoom(8.0)
    other = tmp_path / "other.png"
    save_image(other, smooth_image(30, 36, seed=5))
    window.files.open_path(other)
    assert window.timeline.selected is None and window.timeline.store is None
    assert window.timeline.label.text() == "live"
    assert window.files.timeline.displayed_result() is None  # nothing of the last photo to save
    assert window.progress_bar.value() in (-1, 0) and window.progress_bar.minimum() == 0
    assert not window.result_view.horizontalScrollBar().isVisible()
    assert window.result_view.scene().sceneRect().isEmpty()


def test_a_task_that_takes_a_mask_invites_painting(window, photo_path):
    window.files.open_path(photo_path)
    window.panel.select_task("inpaint")
    assert "Paint over" in window.status.text()
    window.panel.select_task("denoise")
    window.panel.select_task("restore")
    assert "Paint over" in window.status.text()
