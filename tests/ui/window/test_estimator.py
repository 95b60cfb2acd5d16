"""The cost estimate runs off the GUI thread, the newest request wins, and Start reuses it."""

import threading

import pytest

import dip_gui.ui.window.estimator as estimator_module
from dip_gui.core.estimate.cost import CostEstimate
from dip_gui.ui.window.run_texts import SHORTER


class FakeEstimates:
    """Stands in for core.session.cost_probe.estimate_run_cost: records each call's preset and thread, answers
    ``seconds_per_iteration`` = 1 for fast, 7 for paper, and can be held until released."""

    def __init__(self):
        self.calls: list[tuple[str, threading.Thread]] = []
        self.host_memory: list[str] = []
        self.sizes: list[tuple[int, int]] = []
        self.release = threading.Event()
        self.release.set()
        self.started = threading.Event()

    def __call__(self, preset, size, channels, device, host_memory="auto"):
        self.calls.append((preset.name, threading.current_thread()))
        self.sizes.append(size)
        self.host_memory.append(host_memory)
        self.started.set()
        assert self.release.wait(20), "the test never released the estimate"
        return CostEstimate(seconds_per_iteration=7.0 if preset.name == "paper" else 1.0, memory_bytes=2**20,
                            canvas=size)


@pytest.fixture
def fake(monkeypatch):
    fake = FakeEstimates()
    monkeypatch.setattr(estimator_module, "estimate_run_cost", fake)
    return fake


def _select(window, preset_name):
    window.panel.preset.setCurrentIndex(window.panel.preset.findData(preset_name))


def test_estimate_runs_in_another_thread_and_the_window_says_it_is_coming(window, photo_path, qtbot, fake):
    window.files.open_path(photo_path)
    window.runs.estimate_timer.stop()
    fake.release.clear()
    window.runs.update_estimate()  # returns while the estimate is held in its thread
    assert fake.started.wait(10)
    assert window.panel.estimate.text().startswith("Estimating")
    assert fake.calls[0][1] is not threading.main_thread()
    fake.release.set()
    qtbot.waitUntil(lambda: "~1.00 s/iteration" in window.panel.estimate.text(), timeout=10000)


def test_the_newest_request_wins(window, photo_path, qtbot, fake):
    window.files.open_path(photo_path)
    window.runs.estimate_timer.stop()
    fake.release.clear()
    _select(window, "fast")
    window.runs.update_estimate()  # A: starts, held
    assert fake.started.wait(10)
    _select(window, "balanced")
    window.runs.update_estimate()  # B: queued behind A, superseded before it starts
    _select(window, "paper")
    window.runs.update_estimate()  # C: the newest
    window.runs.estimate_timer.stop()
    fake.release.set()
    qtbot.waitUntil(lambda: "~7.00 s/iteration" in window.panel.estimate.text(), timeout=10000)
    window.runs.estimator.wait()
    qtbot.wait(50)  # let any late delivery arrive: A's result must not replace C's
    assert window.panel.estimate.text().startswith("Estimate: ~7.00")
    assert [name for name, _ in fake.calls] == ["fast", "paper"]  # B was never computed


def test_start_reuses_the_estimate_shown_and_computes_one_for_changed_settings(window, photo_path, qtbot, fake):
    window.files.open_path(photo_path)
    window.runs.estimate_timer.stop()
    _select(window, "paper")
    window.runs.update_estimate()
    qtbot.waitUntil(lambda: "~7.00" in window.panel.estimate.text(), timeout=10000)
    calls = len(fake.calls)
    assert window.runs.confirm_cost()  # 3000 x 7 s is long: the fixture answers the question with "run"
    # The estimate on screen was used for paper; the quicker presets offered were estimated for their times.
    assert [name for name, _ in fake.calls[calls:]] == ["balanced", "fast"]
    calls = len(fake.calls)
    _select(window, "fast")
    window.runs.estimate_timer.stop()
    assert window.runs.confirm_cost()
    assert len(fake.calls) == calls  # estimated a moment ago, for the offer
    _select(window, "balanced")
    window.runs.estimate_timer.stop()
    assert window.runs.confirm_cost()  # 3000 x 1 s is long: fast offered; both estimated for the first offers
    assert len(fake.calls) == calls
    _select(window, "paper")
    window.runs.estimate_timer.stop()
    window.runs.update_estimate()  # the offers' estimates did not push out the one shown before
    assert "~7.00" in window.panel.estimate.text() and len(fake.calls) == calls
    window.panel.width_box.setCurrentIndex(window.panel.width_box.findText("medium (32-128 channels)"))
    window.runs.estimate_timer.stop()
    assert window.runs.confirm_cost()  # changed settings (another network): estimated again
    assert [name for name, _ in fake.calls[calls:]] == ["custom"]


def test_a_failing_estimate_says_so_in_the_panel(window, photo_path, qtbot, monkeypatch):
    def broken(preset, size, channels, device, host_memory="auto"):
        raise ValueError("probe exploded")

    monkeypatch.setattr(estimator_module, "estimate_run_cost", broken)
    window.files.open_path(photo_path)
    window.runs.update_estimate()
    qtbot.waitUntil(lambda: window.panel.estimate.text() == "Estimate unavailable: probe exploded", timeout=10000)


def test_editing_the_schedule_reuses_the_estimate(window, photo_path, qtbot, fake):
    window.files.open_path(photo_path)
    _select(window, "paper")
    window.runs.estimate_timer.stop()
    window.runs.update_estimate()
    qtbot.waitUntil(lambda: "~7.00" in window.panel.estimate.text(), timeout=10000)
    calls = len(fake.calls)
    window.panel.iterations.setValue(1234)  # the schedule, not the network: no new estimate
    window.runs.estimate_timer.stop()
    window.runs.update_estimate()
    qtbot.waitUntil(lambda: "for 1234 iterations" in window.panel.estimate.text(), timeout=10000)
    assert len(fake.calls) == calls


def test_the_memory_setting_is_estimated_and_given_to_the_run(window, photo_path, qtbot, fake):
    """Choosing 'Faster, more memory' asks for an estimate with freed memory kept (not the one kept
    for 'Auto') and the run starts with that setting; it is remembered for the next start."""
    window.files.open_path(photo_path)
    window.runs.estimate_timer.stop()
    window.runs.update_estimate()
    qtbot.waitUntil(lambda: "~1.00" in window.panel.estimate.text(), timeout=10000)
    calls = len(fake.calls)
    window.panel.select_host_memory("fast")
    window.runs.estimate_timer.stop()
    window.runs.update_estimate()
    qtbot.waitUntil(lambda: len(fake.calls) > calls, timeout=10000)
    assert fake.host_memory[-1] == "fast"
    window.panel.iterations.setValue(2)
    window.runs.start()
    qtbot.waitUntil(lambda: not window.run.running, timeout=60000)
    assert window.run.session.host_memory in ("fast", "lean")  # "lean" only where glibc cannot be set
    assert window.run.session.lean_network is False
    window._save_settings()
    assert window.settings.value("host_memory") == "fast"


def test_the_memory_setting_is_greyed_out_where_the_run_goes_to_a_gpu(window, monkeypatch):
    """It is about the CPU's allocator: 'auto' resolving to a GPU greys it out, the CPU brings it back."""
    import torch

    import dip_gui.ui.widgets.task_panel as task_panel

    monkeypatch.setattr(task_panel, "resolve_device",
                        lambda name: torch.device("cuda" if name == "auto" else "cpu"))
    panel = window.panel
    panel.device.setCurrentText("auto")
    panel._device_changed()
    assert not panel.memory.isEnabled()
    panel.device.setCurrentText("cpu")
    assert panel.memory.isEnabled()


def test_an_estimate_that_ends_after_its_window_is_gone_is_dropped_quietly(qtbot, fake):
    """Closing the window while an estimate runs deleted the estimator under the pool thread, whose
    result then went to a deleted signal source (an error in the pool thread)."""
    import shiboken6
    from PySide6.QtCore import QObject

    from dip_gui.core.problem.presets import get_preset
    from dip_gui.ui.window.estimator import BackgroundEstimator, EstimateRequest

    owner = QObject()
    estimator = BackgroundEstimator(owner)
    delivered = []
    estimator.ready.connect(lambda request, result: delivered.append(result))
    fake.release.clear()
    estimator.request(EstimateRequest(get_preset("denoise", "fast"), (64, 64), 3, "cpu"))
    assert fake.started.wait(10)
    threading.Timer(0.2, fake.release.set).start()  # ends while the estimator is being deleted
    shiboken6.delete(owner)  # as the window's deletion does: the pool waits for its thread
    qtbot.wait(100)
    assert not shiboken6.isValid(estimator) and delivered == [] and len(fake.calls) == 1


def test_an_x2_enlargement_s_estimate_includes_its_check_unless_the_automatic_stop_is_off(window, photo_path, qtbot,
                                                                                          fake):
    window.files.open_path(photo_path)  # 40x48: its half-size copy is large enough to judge by
    window.panel.select_task("sr")
    window.panel.scale.setCurrentIndex(window.panel.scale.findData(2))
    window.runs.estimate_timer.stop()
    window.runs.update_estimate()
    qtbot.waitUntil(lambda: "to check the result" in window.panel.estimate.text(), timeout=10000)
    assert fake.sizes[-2:] == [(80, 96), (40, 48)]  # the run's result, then the copy's: the photo's size
    assert "then up to ~25 min to check the result" in window.panel.estimate.text()  # 1500 iterations x 1 s
    window.timeline.auto_stop.setChecked(False)  # no automatic stop: the run ends unjudged
    qtbot.waitUntil(lambda: window.panel.estimate.text().startswith("Result 96x80 (from 48x40). Estimate:")
                    and "check" not in window.panel.estimate.text(), timeout=10000)
    window.panel.scale.setCurrentIndex(window.panel.scale.findData(4))
    window.timeline.auto_stop.setChecked(True)
    qtbot.waitUntil(lambda: "Result 192x160" in window.panel.estimate.text(), timeout=10000)
    assert "check" not in window.panel.estimate.text()  # x4 climbs to its end: no check


def test_the_long_run_question_counts_the_check_and_offers_a_run_that_fits_with_it(window, photo_path, qtbot, fake,
                                                                                   monkeypatch):
    asked = []
    monkeypatch.setattr(window.runs, "ask_about_cost", lambda text, offers: asked.append((text, offers)) or "cancel")
    window.files.open_path(photo_path)
    window.panel.select_task("sr")
    window.panel.scale.setCurrentIndex(window.panel.scale.findData(2))
    window.panel.iterations.setValue(1200)  # 20 min of run (1 s per iteration), 40 with its check
    window.runs.estimate_timer.stop()
    assert not window.runs.confirm_cost()
    text, offers = asked[-1]
    assert text == "This run would take about 40 min."
    assert (f"{SHORTER}900", "~30 min") in offers  # 900 iterations and their check fit the 30-minute mark
    assert ("fast", "~50 min") in offers  # fast's own 1500 iterations, and their check
