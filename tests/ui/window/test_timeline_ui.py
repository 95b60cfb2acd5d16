import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from dip_gui.core.imaging import load_image, save_image
from dip_gui.core.problem.degradations import add_gaussian_noise
from dip_gui.core.stopping import detectors, monitor


@pytest.fixture
def eager_detector(monkeypatch):
    """Tiny runs do not overfit: let the detector fire after a short patience."""
    def quick(cls, n, start=0, suggests=True):
        return cls(window=3, patience=5, start=start, suggests=suggests)

    monkeypatch.setattr(detectors.VarianceStopDetector, "for_run", classmethod(quick))


@pytest.fixture
def noisy_photo_path(tmp_path, smooth_image):
    """A noisy photo: on a clean one the default denoiser's output settles from its non-local means
    start without ever fitting noise, so (rightly) no stop is suggested."""
    path = tmp_path / "noisy.png"
    save_image(path, add_gaussian_noise(smooth_image(40, 48), 25, seed=1))
    return path


def test_suggested_stop_is_marked_and_one_click_away(window, noisy_photo_path, qtbot, eager_detector, tmp_path, run_to_end):
    window.files.open_path(noisy_photo_path)
    run_to_end(window, qtbot, 40, timeout_ms=60000)
    qtbot.wait(300)
    suggestion = window.run.monitor.suggestion
    assert suggestion is not None
    assert window.plot.suggestion_marker.isVisible() and window.plot.suggestion_marker.value() == suggestion.iteration
    assert window.timeline.suggested_button.isEnabled()
    window.timeline.suggested_button.click()
    chosen = window.timeline.selected
    assert chosen.iteration == suggestion.iteration
    assert window.plot.marker.isVisible() and window.plot.marker.value() == suggestion.iteration
    out = tmp_path / "chosen.png"
    assert window.files.save_result(out)
    np.testing.assert_array_equal(np.round(load_image(out).rgb * 255).astype(np.uint8), chosen.image)


def test_scrubbing_the_timeline_shows_older_snapshots_and_live_returns(window, photo_path, qtbot, run_to_end):
    window.files.open_path(photo_path)
    run_to_end(window, qtbot, 30, timeout_ms=60000)
    qtbot.wait(300)
    store = window.run.monitor.store
    assert len(store.snapshots) >= 3 and store.snapshots[0].iteration == 1
    window.timeline.slider.setValue(0)
    assert window.timeline.selected.iteration == 1
    window.plot.iteration_clicked.emit(store.snapshots[-1].iteration)
    assert window.timeline.selected is store.snapshots[-1]
    window.timeline.live_button.click()
    assert window.timeline.selected is None and not window.plot.marker.isVisible()


def test_auto_stop_ends_the_run_at_the_suggestion(window, noisy_photo_path, qtbot, eager_detector, quick_settings):
    """A noisy photo: the check against the start judges only photos whose noise reads grainy or more."""
    window.files.open_path(noisy_photo_path)
    quick_settings(window, 100000)
    window.timeline.auto_stop.setChecked(True)
    notes = []
    window.run.note.connect(notes.append)
    window.runs.start()
    qtbot.waitUntil(lambda: not window.run.running, timeout=60000)
    qtbot.wait(100)
    assert notes and "recorrupted copy" in notes[0], "the check after the last iteration is announced"
    assert "Stopped at the suggested iteration" in window.status.text()
    assert window.run.session.iteration < 1000
    # the suggested result, judged against the denoiser's start (mixed with it by the judgement's share)
    session, suggestion = window.run.session, window.run.monitor.suggestion
    check = session.start_check
    assert check is not None and check.iteration == suggestion.iteration
    expected = check.apply(session.to_image(session.base), window.run.monitor.suggested_image())
    np.testing.assert_array_equal(window.run.result(), expected)
    assert "recorrupted copy" in window.status.text()


def test_raw_and_averaged_outputs_differ(window, photo_path, qtbot, run_to_end):
    window.files.open_path(photo_path)
    run_to_end(window, qtbot, 10, timeout_ms=60000)
    averaged = window.run.result()
    window.timeline.averaged.setChecked(False)
    assert np.abs(window.run.result() - averaged).max() > 1e-4


def test_split_compare_divider_follows_the_mouse(window, photo_path, qtbot, run_to_end):
    window.files.open_path(photo_path)
    run_to_end(window, qtbot, 3, timeout_ms=60000)
    window.split_action.trigger()
    view = window.result_view
    assert view.comparing and not window.input_view.isVisible()
    view.actual_size()
    start, end = view.mapFromScene(QPointF(24, 20)), view.mapFromScene(QPointF(12, 20))
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(view.viewport(), pos=end)
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=end)
    assert view.split == pytest.approx(12 / 48, abs=0.05)
    window.split_action.trigger()
    assert not view.comparing


def test_batched_read_back_as_on_a_gpu_still_completes_the_timeline(window, noisy_photo_path, qtbot, eager_detector,
                                                                   monkeypatch, run_to_end):
    """On a GPU the monitor reads back several iterations at once; the window still gets the
    suggestion, and the end of the run flushes the iterations still queued. (A noisy photo: whether
    the output of a clean one ever moves enough to suggest a stop depends on the CPU's arithmetic.)"""
    monkeypatch.setattr(monitor.RunMonitor, "_default_readback", lambda self: 4)
    window.timeline.auto_stop.setChecked(False)  # the whole run, past the suggestion
    window.files.open_path(noisy_photo_path)
    run_to_end(window, qtbot, 42, timeout_ms=60000)  # 42 = 10 batches of 4 + 2 left queued at the end
    qtbot.wait(300)
    assert window.run.monitor.readback_every == 4
    assert window.run.monitor.store.snapshots[-1].iteration == 42
    suggestion = window.run.monitor.suggestion
    assert suggestion is not None and window.plot.suggestion_marker.value() == suggestion.iteration


def test_the_status_line_says_which_measure_chose_the_stop(window, photo_path):
    from dip_gui.core.stopping.detectors import VALIDATION, StopSuggestion

    window.files.open_path(photo_path)
    window.run.suggested.emit(StopSuggestion(12, 1e-3, 1, 100, VALIDATION))
    assert "iteration 12" in window.status.text() and "held back" in window.status.text()
    assert window.timeline.suggested_button.text() == "Go to suggested stop (12)"
    window.run.suggested.emit(StopSuggestion(30, 1e-5, 20, 100))
    assert "iteration 30" in window.status.text() and "stopped settling" in window.status.text()


def test_a_restoration_run_plots_its_quality_on_the_held_back_pixels(window, tmp_path, qtbot, run_to_end, smooth_image):
    path = tmp_path / "photo72.png"
    save_image(path, smooth_image(72, 72))
    window.files.open_path(path)
    window.files.make_test_image_from(("drop", 0.5, 0))
    assert window.panel.current_task() == "restore"
    run_to_end(window, qtbot, 6)
    qtbot.wait(300)
    assert window.plot.held_out_iterations == list(range(1, 7))
    assert all(np.isfinite(window.plot.held_out_psnrs)) and not window.plot.legend.isHidden()


def test_stopping_at_the_suggestion_is_the_default_and_remembered(window, settings, qtbot):
    assert window.timeline.auto_stop.isChecked()
    qtbot.mouseClick(window.timeline.auto_stop, Qt.MouseButton.LeftButton)
    assert not window.timeline.auto_stop.isChecked() and not window.run.auto_stop
    window._save_settings()
    from dip_gui.ui.window.main_window import MainWindow

    again = MainWindow(settings=settings, open_sample=False)
    qtbot.addWidget(again)
    assert not again.timeline.auto_stop.isChecked() and not again.run.auto_stop
    again.close()


def test_a_run_left_alone_ends_at_the_suggestion_and_continue_runs_on(
    window, noisy_photo_path, qtbot, eager_detector, quick_settings,
):
    window.files.open_path(noisy_photo_path)
    quick_settings(window, 300)
    window.runs.start()
    qtbot.waitUntil(lambda: not window.run.running, timeout=60000)
    session, suggestion = window.run.session, window.run.monitor.suggestion
    assert suggestion is not None and session.iteration < 300
    shown = window.run.result()
    check = session.start_check  # the result at the stop, mixed with the start as the check judged
    assert check is not None and check.iteration == suggestion.iteration
    np.testing.assert_array_equal(shown, check.apply(session.to_image(session.base), window.run.monitor.suggested_image()))
    assert f"iteration {suggestion.iteration}" in window.status.text() and "Continue" in window.status.text()
    drawn = len(window.plot.iterations)
    assert window.continue_action.isEnabled()

    qtbot.keyClick(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: not window.run.running, timeout=60000)
    assert window.run.session is session and session.iteration == 300  # the same run, on to its end
    assert len(window.plot.iterations) > drawn and window.plot.iterations[:drawn] == list(range(1, drawn + 1))
    assert not window.continue_action.isEnabled()
    assert np.abs(window.run.result() - window.run.monitor.suggested_image()).max() > 0  # now the last result


def test_the_sidecar_names_the_iteration_of_the_image_saved(window, noisy_photo_path, qtbot, eager_detector, tmp_path,
                                                           quick_settings):
    """After a rewind the snapshot's iteration; after an automatic stop the suggestion's."""
    import json

    window.sidecar_action.setChecked(True)
    window.files.open_path(noisy_photo_path)
    quick_settings(window, 300)
    window.runs.start()
    qtbot.waitUntil(lambda: not window.run.running, timeout=60000)
    stop = window.run.monitor.suggestion.iteration
    assert window.run.session.iteration > stop or window.run.session.iteration == stop
    assert window.files.save_result(tmp_path / "stopped.png")
    stopped = json.loads((tmp_path / "stopped.png.json").read_text())
    assert stopped["iteration"] == stop
    # the saved result is the suggestion's mixed with the start as judged: the sidecar says by how much
    assert stopped["start_check"] == window.run.session.start_check.to_dict() and stopped["start_check"]["iteration"] == stop

    window.timeline.slider.setValue(0)  # rewind to the first snapshot
    first = window.timeline.selected.iteration
    assert window.files.save_result(tmp_path / "first.png")
    rewound = json.loads((tmp_path / "first.png.json").read_text())
    assert rewound["iteration"] == first == 1 and "start_check" not in rewound  # a snapshot as it is


def test_the_timeline_slider_keeps_its_room_beside_the_suggestion(window, qtbot):
    window.resize(1280, 800)
    window.timeline.set_suggestion(12345)
    qtbot.wait(50)
    assert window.timeline.slider.width() >= 300


def test_a_test_image_run_says_its_psnr_where_the_timeline_stops_and_at_the_end(window, photo_path, qtbot, run_to_end):
    window.files.open_path(photo_path)
    window.files.make_test_image_from(("noise", 25.0, 0))
    run_to_end(window, qtbot, 12)
    best_iteration, best = window.plot.best_psnr()
    assert f"best {best:.2f} dB at iteration {best_iteration}" in window.status.text()
    assert "PSNR" in window.status.text()
    window.timeline.select_iteration(1)
    assert window.timeline.label.text() == f"iteration 1 · {window.plot.psnr_at(1):.2f} dB"


def test_a_finished_run_goes_on_when_its_iterations_are_raised(window, photo_path, qtbot, run_to_end):
    window.files.open_path(photo_path)
    run_to_end(window, qtbot, 3)
    assert not window.continue_action.isEnabled()  # it ran all its iterations
    window.panel.iterations.setValue(6)
    assert window.continue_action.isEnabled()
    window.continue_action.trigger()
    qtbot.waitUntil(lambda: not window.run.running, timeout=30000)
    assert window.run.session.iteration == 6
