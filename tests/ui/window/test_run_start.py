"""The classical start (non-local means: seconds on a large photo) is made on the worker thread."""

import threading

import pytest

import dip_gui.core.session.session as session_module
from dip_gui.core.errors import InvalidParameterError
from dip_gui.core.problem.presets import BASES
from dip_gui.ui.window.run_controller import START_NAMES


@pytest.fixture
def held_start(monkeypatch, instant_estimate):
    """The warm start waits for ``release`` and records the thread that made it (the estimate's probe
    sessions, which make one too, are left out)."""
    real = session_module.warm_start
    state = {"threads": [], "release": threading.Event(), "error": None}

    def held(*args, **kwargs):
        state["threads"].append(threading.current_thread())
        state["release"].wait(20)
        if state["error"] is not None:
            raise state["error"]
        return real(*args, **kwargs)

    monkeypatch.setattr(session_module, "warm_start", held)
    return state


def test_the_start_is_made_off_the_gui_thread_which_stays_responsive(window, photo_path, qtbot, held_start, quick_settings):
    window.files.open_path(photo_path)
    quick_settings(window, 5)
    window.runs.start()  # returns while the start is still being made
    assert window.run.running and window.progress_bar.maximum() == 0  # a busy bar, not 0 of 5
    assert "computing the start (non-local means and Wiener filtering)" in window.status.text()
    ticks = []
    timer_id = window.startTimer(10)
    window.timerEvent = lambda event: ticks.append(event.timerId())
    qtbot.waitUntil(lambda: bool(held_start["threads"]), timeout=5000)
    qtbot.wait(150)
    assert len(ticks) >= 5  # the event loop ran while the start was held
    window.killTimer(timer_id)
    assert held_start["threads"][0] is not threading.main_thread()
    held_start["release"].set()
    qtbot.waitUntil(lambda: not window.run.running, timeout=30000)
    assert window.run.session.iteration == 5
    assert (window.progress_bar.maximum(), window.progress_bar.value()) == (5, 5)


def test_stopping_while_the_start_is_made_ends_cleanly(window, photo_path, qtbot, held_start, quick_settings):
    window.files.open_path(photo_path)
    quick_settings(window, 5)
    window.runs.start()
    qtbot.waitUntil(lambda: bool(held_start["threads"]), timeout=5000)
    window.stop_action.trigger()
    held_start["release"].set()
    qtbot.waitUntil(lambda: not window.run.running, timeout=30000)
    assert window.run.session.iteration == 0 and "Stopped after 0 iterations" in window.status.text()
    assert window.progress_bar.maximum() == 5  # no busy bar left behind
    assert window.start_action.isEnabled()


def test_a_start_that_fails_is_reported_and_the_window_stays_usable(window, photo_path, qtbot, held_start, quick_settings):
    window.files.open_path(photo_path)
    quick_settings(window, 3)
    held_start["error"] = InvalidParameterError("the start could not be made")
    held_start["release"].set()
    window.runs.start()
    qtbot.waitUntil(lambda: not window.run.running, timeout=30000)
    assert "the start could not be made" in window.last_error
    assert window.progress_bar.maximum() == 3 and window.start_action.isEnabled()
    held_start["error"] = None
    window.runs.start()
    qtbot.waitUntil(lambda: not window.run.running, timeout=30000)
    assert window.run.session.iteration == 3


def test_every_start_has_a_name_for_the_status_line():
    assert set(START_NAMES) == set(BASES)


@pytest.mark.timing
def test_the_optimisers_lazy_import_is_done_at_launch_on_a_side_thread():
    """Building the first optimiser imports torch._dynamo (~3 s), which froze the first Start."""
    import subprocess
    import sys

    code = (
        "import sys, torch\n"
        "from dip_gui.ui.app import preload_in_background\n"
        "assert 'torch._dynamo' not in sys.modules\n"
        "thread = preload_in_background()\n"
        "assert thread.name != 'MainThread'\n"
        "thread.join(120)\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"


def test_opening_another_photo_waits_for_a_start_in_progress(
    window, photo_path, qtbot, held_start, tmp_path, quick_settings, smooth_image,
):
    """The start cannot be cut short; a thread left running would feed its results to the new photo."""
    from dip_gui.core.imaging import save_image

    window.files.open_path(photo_path)
    quick_settings(window, 50)
    window.runs.start()
    qtbot.waitUntil(lambda: bool(held_start["threads"]), timeout=5000)
    threading.Timer(0.3, held_start["release"].set).start()  # the GUI thread is about to wait
    other = tmp_path / "other.png"
    save_image(other, smooth_image(24, 24, seed=2))
    worker, session = window.run.worker, window.run.session
    assert window.files.open_path(other)
    assert not window.run.running and not worker.isRunning()
    assert session.iteration < 50  # stopped, not run to its end
    assert window.run.session is None  # and forgotten: nothing of it can be saved over the new photo
    qtbot.wait(100)
    assert window.result_view._pixmap.pixmap().isNull()  # nothing of the old run shown on the new photo
