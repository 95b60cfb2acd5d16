"""Save session / Open session and crash recovery in the window."""

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from dip_gui.core.session.checkpoint import read_session_file
from dip_gui.ui.window.main_window import MainWindow


def _second_window(qtbot, settings, monkeypatch):
    """A new window as after a restart (same settings and recovery folder)."""
    win = MainWindow(settings=settings, open_sample=False)
    monkeypatch.setattr(win, "confirm_discard", lambda: True)
    monkeypatch.setattr(win.runs, "ask_about_cost", lambda text, offers: "run")
    qtbot.addWidget(win)
    return win


def test_save_session_mid_run_and_open_it_to_finish_the_run(
    window, photo_path, qtbot, tmp_path, settings, monkeypatch, quick_settings,
):
    window.files.open_path(photo_path)
    quick_settings(window, 400)
    window.runs.start()
    qtbot.waitUntil(lambda: window.run.session.iteration >= 3, timeout=30000)
    path = tmp_path / "mine.dips"
    with qtbot.waitSignal(window.run.saved, timeout=30000):
        window.sessions.save_session(path)  # written by the worker between two iterations
    window.run.stop()
    qtbot.waitUntil(lambda: not window.run.running, timeout=30000)
    saved_at = read_session_file(path)["session"]["iteration"]
    assert 3 <= saved_at < 400

    other = _second_window(qtbot, settings, monkeypatch)
    other.run.recovery_every = 1e9
    assert other.sessions.open_session(path)
    # opened to look at first: its result, curve and settings, nothing running until Continue
    assert other.photo.size == (40, 48) and other.panel.current_task() == "denoise"
    assert not other.run.running and other.run.session.iteration == saved_at
    assert other.plot.iterations[:saved_at] == list(range(1, saved_at + 1))  # the curve before the save is back
    assert other.files.timeline.displayed_result() is not None and not other.unsaved_result
    assert other.continue_action.isEnabled() and "Continue" in other.status.text()
    other.panel.iterations.setValue(saved_at + 5)  # fewer than saved: the count shown is the one run to
    other.continue_action.trigger()
    assert other.run.running
    qtbot.waitUntil(lambda: not other.run.running, timeout=30000)
    assert other.run.session.iteration == saved_at + 5
    other.close()


def test_a_saved_session_is_confirmed_where_progress_does_not_overwrite_it(
    window, photo_path, qtbot, tmp_path, quick_settings,
):
    window.files.open_path(photo_path)
    quick_settings(window, 100000)
    window.runs.start()
    qtbot.waitUntil(lambda: window.run.session.iteration >= 2, timeout=30000)
    path = tmp_path / "mine.dips"
    with qtbot.waitSignal(window.run.saved, timeout=30000):
        window.sessions.save_session(path)
    qtbot.wait(1500)  # several progress updates later
    assert f"Session saved to {path}" in window.statusBar().currentMessage()
    window.run.stop()
    qtbot.waitUntil(lambda: not window.run.running, timeout=30000)


def test_a_run_cut_short_is_offered_back_at_the_next_start(
    window, photo_path, qtbot, settings, monkeypatch, recovery_dir, quick_settings,
):
    window.files.open_path(photo_path)
    window.panel.select_task("inpaint")
    quick_settings(window, 30)
    window.input_view.paint_stroke([(10, 10), (20, 20)])
    painted = window.input_view.mask_model.holes.copy()
    window.run.recovery_every = 0.0  # a recovery copy after every iteration
    window.runs.start()
    qtbot.waitUntil(lambda: window.run.session.iteration >= 5, timeout=30000)
    window.run.shutdown()  # the app "dies": no normal close, the recovery copy stays
    recovery = recovery_dir / "last-run.dips"
    assert recovery.exists()
    stopped_at = read_session_file(recovery)["session"]["iteration"]

    restarted = _second_window(qtbot, settings, monkeypatch)
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a: asked.append(a[2]) or QMessageBox.StandardButton.Yes)
    assert restarted.sessions.offer_recovery()
    assert f"iteration {stopped_at} of 30" in asked[0]
    assert restarted.panel.current_task() == "inpaint"
    np.testing.assert_array_equal(restarted.input_view.mask_model.holes, painted)  # the painted mask comes back
    qtbot.waitUntil(lambda: not restarted.run.running, timeout=60000)
    assert restarted.run.session.iteration == 30  # carried on to the run's end
    restarted.close()  # a normal close: the copy is no longer needed
    assert not recovery.exists()


def test_declining_the_offer_discards_the_copy(window, photo_path, qtbot, settings, monkeypatch, recovery_dir, run_to_end):
    window.files.open_path(photo_path)
    run_to_end(window, qtbot, 3)
    recovery = recovery_dir / "last-run.dips"
    assert recovery.exists()  # a finished run keeps one until its result is saved

    restarted = _second_window(qtbot, settings, monkeypatch)
    monkeypatch.setattr(QMessageBox, "question", lambda *a: QMessageBox.StandardButton.Discard)
    assert not restarted.sessions.offer_recovery()
    assert not recovery.exists() and restarted.run.session is None
    restarted.close()


def test_saving_the_result_drops_the_recovery_copy(window, photo_path, qtbot, tmp_path, recovery_dir, run_to_end):
    window.files.open_path(photo_path)
    run_to_end(window, qtbot, 3)
    assert (recovery_dir / "last-run.dips").exists()
    assert window.files.save_result(tmp_path / "result.png")
    assert not (recovery_dir / "last-run.dips").exists()


def test_a_broken_session_file_shows_an_error_and_keeps_the_app(window, photo_path, tmp_path, qtbot, run_to_end):
    broken = tmp_path / "broken.dips"
    broken.write_bytes(b"not a session at all")
    assert not window.sessions.open_session(broken)
    assert "not a readable DIP Studio session" in window.last_error
    window.files.open_path(photo_path)  # still usable
    run_to_end(window, qtbot, 2)
    assert window.run.session.iteration == 2


def test_save_session_without_a_run_explains(window):
    window.sessions.save_session_dialog()
    assert "start one first" in window.last_error


class _OutOfMemoryAfter:
    """Session.step that runs out of device memory after ``steps`` iterations, until switched off."""

    def __init__(self, steps):
        from dip_gui.core.session.session import Session

        self.steps, self.on, self.original = steps, True, Session.step

    def install(self, monkeypatch):
        from dip_gui.core.errors import DeviceError
        from dip_gui.core.session.session import Session

        fault = self

        def step(session, *args, **kwargs):
            if fault.on and session.iteration >= fault.steps:
                raise DeviceError("out of memory: use a smaller preset (fast), a smaller photo, or run on the CPU")
            return fault.original(session, *args, **kwargs)

        monkeypatch.setattr(Session, "step", step)
        return self


def test_out_of_memory_on_a_gpu_offers_the_cpu_and_runs_there_when_accepted(
    window, photo_path, qtbot, monkeypatch, quick_settings,
):
    window.files.open_path(photo_path)
    quick_settings(window, 6)
    fault = _OutOfMemoryAfter(2).install(monkeypatch)
    monkeypatch.setattr(window.runs, "_device_type", lambda: "cuda" if window.panel.device.currentText() != "cpu" else "cpu")
    asked = []

    def answer(*args):
        asked.append(args[2])
        fault.on = False  # the CPU run does not fail
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", answer)
    window.runs.start()
    qtbot.waitUntil(lambda: bool(asked), timeout=30000)
    assert "out of memory" in asked[0] and "CPU instead" in asked[0]
    qtbot.waitUntil(lambda: window.run.session is not None and window.run.session.iteration == 6 and not window.run.running,
                    timeout=30000)
    assert window.panel.device.currentText() == "cpu"


def test_out_of_memory_on_the_cpu_says_what_to_change_and_keeps_the_app(window, photo_path, qtbot, monkeypatch, quick_settings):
    window.files.open_path(photo_path)
    quick_settings(window, 6)
    window.panel.device.setCurrentText("cpu")
    fault = _OutOfMemoryAfter(2).install(monkeypatch)
    monkeypatch.setattr(QMessageBox, "question", lambda *a: pytest.fail("no CPU offer on the CPU"))
    window.runs.start()
    qtbot.waitUntil(lambda: not window.run.running, timeout=30000)
    qtbot.waitUntil(lambda: "smaller preset" in (window.last_error or ""), timeout=5000)
    fault.on = False
    window.runs.start()  # still usable
    qtbot.waitUntil(lambda: not window.run.running, timeout=30000)
    assert window.run.session.iteration == 6


def test_a_very_long_run_asks_first_and_offers_the_quicker_presets(window, photo_path, qtbot, monkeypatch):
    import dip_gui.ui.window.run_controller as run_controller

    window.files.open_path(photo_path)
    window.panel.preset.setCurrentIndex(window.panel.preset.findData("paper"))
    monkeypatch.setattr(run_controller, "LONG_RUN_S", 0.001)  # every run is "long"
    asked = []
    monkeypatch.setattr(window.runs, "ask_about_cost", lambda text, offers: asked.append((text, offers)) or "cancel")
    window.runs.start()
    text, offers = asked[0]
    assert "take about" in text
    assert [name for name, _ in offers] == ["balanced", "fast"]  # quicker first-class presets, each with its time
    assert all(duration.startswith("~") for _, duration in offers)
    assert window.run.session is None  # cancelled: nothing started

    monkeypatch.setattr(window.runs, "ask_about_cost", lambda text, offers: "balanced")
    window.runs.start()
    assert window.run.session.preset.name == "balanced"
    window.run.stop()
    qtbot.waitUntil(lambda: not window.run.running, timeout=60000)

    asked.clear()
    monkeypatch.setattr(window.runs, "ask_about_cost", lambda text, offers: asked.append(offers) or "fast")
    window.panel.iterations.setValue(3)  # custom settings derived from balanced...
    window.runs.start()  # ...switched to the fast preset by the user's choice
    assert [name for name, _ in asked[0]] == ["balanced", "fast"]  # custom is not balanced itself
    assert window.run.session.preset.name == "fast"
    window.run.stop()
    qtbot.waitUntil(lambda: not window.run.running, timeout=60000)

    asked.clear()
    window.runs.start()  # fast itself: nothing quicker to offer
    assert asked == [[]]
    window.run.stop()
    qtbot.waitUntil(lambda: not window.run.running, timeout=60000)


def test_a_long_run_offers_as_many_iterations_as_fit_the_long_run_mark(window, photo_path, qtbot, monkeypatch):
    """With nothing quicker to switch to (``fast``) the question still offers a shorter run: the
    iterations that fit the mark, with their time; choosing it runs that many."""
    import dip_gui.ui.window.run_controller as run_controller
    import dip_gui.ui.window.run_texts as run_texts

    window.files.open_path(photo_path)
    window.panel.preset.setCurrentIndex(window.panel.preset.findData("fast"))
    cost = window.runs.estimator.result_for(window.runs._estimate_request(window.panel.current_preset()))
    monkeypatch.setattr(run_controller, "LONG_RUN_S", 7.5 * cost.seconds_per_iteration)
    asked = []
    monkeypatch.setattr(window.runs, "ask_about_cost", lambda text, offers: asked.append(offers) or offers[-1][0])
    window.runs.start()
    assert asked == [[("iterations:7", "~" + cost.duration(7))]]
    assert window.run.session.total_iterations == 7
    assert run_texts.offer_label(*asked[0][0]).startswith("Run 7 iterations (~")
    qtbot.waitUntil(lambda: not window.run.running, timeout=60000)


def test_cost_warning_names_time_and_memory():
    from dip_gui.core.estimate.cost import CostEstimate, cost_warning

    cost = CostEstimate(seconds_per_iteration=2.0, memory_bytes=6 * 2**30, canvas=(512, 512))
    assert cost_warning(cost, 100, 64 * 2**30, long_run_s=3600) is None
    text = cost_warning(cost, 3000, 4 * 2**30, long_run_s=3600)
    assert "take about 1.7 h" in text and "6.0 GB of memory with 4.0 GB free" in text


def test_a_failing_recovery_save_warns_and_the_run_goes_on(window, photo_path, qtbot, monkeypatch, quick_settings):
    import dip_gui.core.session.checkpoint as checkpoint

    def broken(*args, **kwargs):
        raise ValueError("disk on fire")

    monkeypatch.setattr(checkpoint, "save_session", broken)  # every session save goes through Checkpointer
    warnings = []
    window.run.warning.connect(warnings.append)
    window.files.open_path(photo_path)
    quick_settings(window, 5)
    window.run.recovery_every = 0.0
    window.runs.start()
    qtbot.waitUntil(lambda: not window.run.running, timeout=30000)
    assert window.run.session.iteration == 5  # not cut short by the failing saves
    assert warnings and "disk on fire" in warnings[0]


def test_super_resolution_takes_the_camera_blur_set_in_the_panel_and_a_saved_session_shows_it_again(
    window, photo_path, qtbot, tmp_path, settings, monkeypatch, run_to_end,
):
    window.files.open_path(photo_path)
    assert not window.panel.form.isRowVisible(window.panel.blur)  # a setting of super-resolution only
    window.panel.select_task("sr")
    window.panel.scale.setCurrentIndex(window.panel.scale.findData(2))
    assert window.panel.form.isRowVisible(window.panel.blur) and window.panel.blur.maximum() == 4.0
    window.panel.blur.setValue(1.5)
    run_to_end(window, qtbot, 2)
    assert window.run.session.problem.blur == 1.5
    path = tmp_path / "blurred.dips"
    with qtbot.waitSignal(window.run.saved, timeout=30000):
        window.sessions.save_session(path)

    other = _second_window(qtbot, settings, monkeypatch)
    assert other.sessions.open_session(path)
    assert other.panel.current_task() == "sr" and other.panel.current_blur() == 1.5
    other.panel.select_task("denoise")
    assert other.panel.current_blur() == 0.0  # not carried into a task without one
    other.close()
