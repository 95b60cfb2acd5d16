"""The batch queue in the window: photos and folders in, results out with the main window's settings."""

import json

import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent

from dip_gui.core.batch.settings import BatchSettings
from dip_gui.core.imaging import load_image, save_image
from dip_gui.ui.window.batch_queue import PROGRESS, RESULT, SETTINGS, STATUS
from tests.makers import smooth_image


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "scans"
    (root / "sub").mkdir(parents=True)
    save_image(root / "a.png", smooth_image(20, 24, seed=1))
    save_image(root / "sub" / "b.png", smooth_image(16, 20, seed=2))
    (root / "sub" / "broken.png").write_bytes(b"not a png")
    return root


@pytest.fixture
def queue(window, monkeypatch):
    window.panel.select_task("denoise")
    window.panel.iterations.setValue(4)  # "custom": every photo gets 4 iterations
    queue = window.show_batch_queue()
    yield queue
    queue.shutdown()


def statuses(queue) -> list[str]:
    return [queue.table.item(row, STATUS).text() for row in range(queue.table.rowCount())]


def test_a_dropped_folder_is_restored_into_the_output_folder_with_the_windows_settings(queue, folder, tmp_path, qtbot):
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(folder))])
    drop = QDropEvent(QPoint(10, 10), Qt.DropAction.CopyAction, data, Qt.MouseButton.NoButton,
                      Qt.KeyboardModifier.NoModifier)
    queue.dropEvent(drop)
    assert [queue.table.item(row, 0).text() for row in range(queue.table.rowCount())] == [
        "a.png", "sub/b.png", "sub/broken.png"]
    queue.output_line.setText(str(tmp_path / "out"))
    queue.start()
    assert not queue.start_button.isEnabled() and queue.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: queue.worker is None, timeout=60_000)
    assert statuses(queue) == ["done", "done", "failed"]
    assert "not an image file" in queue.table.item(2, STATUS).toolTip()
    assert load_image(tmp_path / "out" / "sub" / "b.png").size == (16, 20)
    report = json.loads((tmp_path / "out" / "batch-report.json").read_text())
    assert report["settings"]["task"] == "denoise" and report["photos"]["a.png"]["iterations"] == 4
    assert not queue.table.item(0, RESULT).icon().isNull(), "a restored photo shows its result's thumbnail"
    assert queue.table.cellWidget(0, PROGRESS).value() == 1
    assert "2 restored" in queue.message.text() and "1 failed" in queue.message.text()


def test_a_finished_result_opens_in_the_main_view_on_double_click(queue, window, folder, tmp_path, qtbot):
    queue.add_paths([folder / "a.png"])
    queue.output_line.setText(str(tmp_path / "out"))
    queue.start()
    qtbot.waitUntil(lambda: queue.worker is None, timeout=60_000)
    queue.table.cellDoubleClicked.emit(0, RESULT)
    assert window.document.photo is not None and window.document.photo.path == tmp_path / "out" / "a.png"


def test_cancel_keeps_the_photo_in_progress_for_the_next_start(queue, folder, tmp_path, qtbot):
    queue.add_paths([folder / "a.png"])
    queue.output_line.setText(str(tmp_path / "out"))
    queue.settings_source = lambda: BatchSettings(task="denoise", iterations=100_000, auto_stop=False,
                                                  checkpoint_every=0.0)
    queue.start()
    qtbot.waitUntil(lambda: queue.table.cellWidget(0, PROGRESS).value() > 2, timeout=60_000)
    queue.toggle_pause()
    assert queue.pause_button.text() == "Resume"
    queue.cancel()
    qtbot.waitUntil(lambda: queue.worker is None, timeout=60_000)
    assert statuses(queue) == ["interrupted"]
    assert (tmp_path / "out" / ".dip-batch" / "checkpoints" / "a.dips").is_file()
    assert "stopped" in queue.message.text()


def test_adding_the_same_photo_twice_queues_it_once_and_same_names_keep_their_folders(queue, folder, tmp_path):
    assert queue.add_paths([folder / "a.png"]) == 1
    assert queue.add_paths([folder / "a.png"]) == 0
    other = tmp_path / "other"
    other.mkdir()
    save_image(other / "a.png", smooth_image(16, 16))
    assert queue.add_paths([other / "a.png"]) == 1
    assert [queue.table.item(row, 0).text() for row in range(queue.table.rowCount())] == ["a.png", "other/a.png"]
    queue.table.selectRow(0)
    queue.remove_selected()
    assert queue.table.rowCount() == 1 and len(queue.photos) == 1


def test_settings_the_batch_cannot_use_are_said_in_the_queue(queue, window, folder, tmp_path):
    window.panel.select_task("flash")
    queue.add_paths([folder / "a.png"])
    queue.output_line.setText(str(tmp_path / "out"))
    queue.start()
    assert queue.worker is None and "flash takes a pair of photos" in queue.message.text()


def test_a_photo_pinned_to_its_own_settings_keeps_them_and_the_others_take_the_panels_at_start(
        queue, window, folder, tmp_path, qtbot):
    queue.add_paths([folder / "a.png", folder / "sub" / "b.png"])
    queue.table.selectRow(0)
    window.panel.iterations.setValue(3)
    queue.pin_settings_to_selected()
    assert queue.table.item(0, SETTINGS).text() == "denoise · fast · 3 iterations"
    assert queue.table.item(1, SETTINGS).text() == "the batch's"
    window.panel.iterations.setValue(5)
    queue.output_line.setText(str(tmp_path / "out"))
    queue.start()
    qtbot.waitUntil(lambda: queue.worker is None, timeout=60_000)
    photos = json.loads((tmp_path / "out" / "batch-report.json").read_text())["photos"]
    assert (photos["a.png"]["iterations"], photos["b.png"]["iterations"]) == (3, 5)
    queue.table.selectRow(0)
    queue.unpin_selected()
    assert queue.table.item(0, SETTINGS).text() == "the batch's"
