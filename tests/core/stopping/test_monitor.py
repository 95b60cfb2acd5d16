from types import SimpleNamespace

import numpy as np
import pytest
import torch

from dip_gui.core.stopping.detectors import VarianceStopDetector
from dip_gui.core.stopping.monitor import RunMonitor, SnapshotStore


def test_detector_suggests_the_turn_from_fitting_to_overfitting():
    torch.manual_seed(0)
    detector = VarianceStopDetector(window=20, patience=60)
    base = torch.rand(1, 3, 40, 40)
    suggestion = None
    for t in range(1, 400):
        amplitude = abs(t - 150) / 150 + 0.05  # outputs settle until 150, then start to wander
        found = detector.update(t, base + amplitude * torch.randn_like(base) * 0.1)
        suggestion = suggestion or found
    assert suggestion is not None
    assert 130 <= suggestion.iteration <= 175
    assert detector.suggestion is suggestion


def test_the_learning_rate_warm_up_is_not_watched():
    """A warm-started preset's warm-up keeps the output still on purpose: watched, that stillness is
    the lowest variance of the run and the suggestion lands on it, before the network has fitted."""
    torch.manual_seed(0)
    base = torch.rand(1, 3, 16, 16)

    def run(detector):
        for t in range(1, 400):
            # still through the warm-up (30), then moving a lot, settling until 250, wandering again
            amplitude = 0.001 if t <= 30 else abs(t - 250) / 250 + 0.05
            detector.update(t, base + amplitude * torch.randn_like(base) * 0.1)
        return detector

    watched, unwatched = run(VarianceStopDetector(20, 60)), run(VarianceStopDetector(20, 60, start=30))
    assert watched.suggestion is not None and watched.suggestion.iteration <= 40  # the still start
    assert unwatched.variances[0][0] == 50  # the first full window after the warm-up
    assert unwatched.suggestion is not None and 220 <= unwatched.suggestion.iteration <= 270


def test_the_detector_skips_the_warm_up_of_presets_that_start_from_a_blur_or_noise(smooth_image):
    from dip_gui.core.problem.presets import get_preset
    from dip_gui.core.problem.tasks import make_problem
    from dip_gui.core.session.session import Session
    from dip_gui.core.stopping.detectors import detector_for, detector_from_state

    image = smooth_image(32, 32)
    cases = (("sr", "fast", {"scale": 2}, 30),  # draws from noise over a blurred upscale: its warm-up skipped
             ("jpeg", "fast", {}, 30),  # refines a blur of the JPEG, which the network improves on after the warm-up
             ("denoise", "fast", {}, 0),  # starts at its estimate, which may be the best: watched at once
             ("denoise", "paper", {}, 0))  # no warm-up
    for task, name, kwargs, start in cases:
        preset = get_preset(task, name)
        detector = detector_for(Session(make_problem(task, image, **kwargs), preset, device="cpu"), 1200)
        assert detector.start == start
        assert detector_from_state(detector.state_dict()).start == start  # a resumed run keeps it
    assert get_preset("sr", "fast").warmup == 30


def test_detector_window_and_patience_scale_with_the_run():
    short, long = VarianceStopDetector.for_run(300), VarianceStopDetector.for_run(6000)
    assert short.window < long.window and short.patience < long.patience
    assert long.window == 100 and long.patience == 1000  # the paper's settings for long runs


def test_snapshots_stay_within_budget_and_cover_the_whole_run():
    image = np.random.default_rng(0).random((32, 32, 3)).astype(np.float32)
    budget = 40 * image.size  # room for 40 uint8 snapshots
    store = SnapshotStore(every=1, budget_bytes=budget)
    store.keep.add(37)
    for t in range(1, 1001):
        if store.wants(t):
            store.add(t, image)
    assert store.nbytes <= budget
    iterations = [s.iteration for s in store.snapshots]
    assert iterations[0] <= 10 and iterations[-1] >= 990  # thinned, not cut
    assert 37 in iterations  # kept snapshots survive thinning
    assert store.nearest(500).iteration == min(iterations, key=lambda i: abs(i - 500))


def test_snapshot_store_for_run_picks_an_interval():
    assert SnapshotStore.for_run(3000).every == 10
    assert SnapshotStore.for_run(50).every == 1


@pytest.mark.parametrize("side", [8, 500])
def test_detector_handles_any_image_size(side):
    detector = VarianceStopDetector(window=3, patience=2)
    for t in range(6):
        detector.update(t, torch.rand(1, 3, side, side))
    assert len(detector.variances) == 4


def test_evaluate_case_reports_peak_and_suggestion(smooth_image):
    from dip_gui.cli.evaluate_stopping import centre_crop, evaluate_case

    clean = centre_crop(smooth_image(40, 40), 32)
    result = evaluate_case(clean, "test", "denoise", "noise", 25, iterations=30)
    assert 1 <= result.peak_iteration <= 30
    assert result.peak_psnr >= result.suggested_psnr and result.gap >= 0
    assert result.detector == "output variance"
    restored = evaluate_case(centre_crop(smooth_image(64, 64), 64), "test", "restore", "drop", 0.5, iterations=10)
    assert restored.detector == "held-out pixels"  # the run the window and ``run`` would make: with a probe


@pytest.mark.slow
def test_evaluate_stopping_takes_a_preset_and_a_subset_of_cases(tmp_path, smooth_image):
    import argparse
    import json

    import pytest

    from dip_gui.cli.evaluate_stopping import evaluate_command
    from dip_gui.core.errors import InvalidParameterError
    from dip_gui.core.imaging import save_image

    save_image(tmp_path / "p.png", smooth_image(40, 40))
    args = argparse.Namespace(photos=[str(tmp_path / "p.png")], size=32, iters=50, json=str(tmp_path / "r.json"),
                              preset="balanced", cases="noise15,noise25")
    assert evaluate_command(args) == 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert [r["case"] for r in report] == ["denoise noise 15", "denoise noise 25"]
    assert all(len(r["curve"]) == 2 and r["curve"][-1] == pytest.approx(r["final_psnr"], abs=1e-3) for r in report)
    assert max(report[0]["curve"]) <= report[0]["peak_psnr"] + 1e-3
    with pytest.raises(InvalidParameterError, match="no such case"):
        evaluate_command(argparse.Namespace(**{**vars(args), "cases": "noise30"}))


class _SettlingSession:
    """Stands in for a Session: outputs settle until iteration 150, then wander (like overfitting)."""

    device = torch.device("cpu")
    total_iterations = 400
    # no learning-rate warm-up: watched from the first iteration
    preset = SimpleNamespace(warmup=0, input_kind="noise", base=None, variance_stop=True)

    def validation_values(self) -> int:
        return 0  # holds no pixels back: the variance detector

    def __init__(self) -> None:
        self._rng = torch.Generator().manual_seed(0)
        self._base = torch.rand(1, 3, 40, 40, generator=self._rng)
        self.last_output = None

    def advance(self, t: int) -> None:
        amplitude = abs(t - 150) / 150 + 0.05
        self.last_output = self._base + amplitude * 0.1 * torch.randn(self._base.shape, generator=self._rng)

    def result_tensor(self) -> torch.Tensor:
        return self.last_output.clamp(0, 1)

    def to_image(self, result: torch.Tensor) -> np.ndarray:
        return result[0].permute(1, 2, 0).numpy()


def test_batched_read_back_gives_the_same_suggestion_snapshots_and_image():
    """The GPU mode (iterations queued on the device, read back 7 at a time) decides exactly as the
    per-iteration mode; only the announcement may come up to 6 iterations later."""
    session = _SettlingSession()
    at_once, batched = RunMonitor(session, readback_every=1), RunMonitor(session, readback_every=7)
    announced = {}
    for t in range(1, 401):
        session.advance(t)
        for name, monitor in (("at_once", at_once), ("batched", batched)):
            if monitor.observe(t) is not None:
                announced[name] = t
    batched.flush()
    assert at_once.suggestion is not None and at_once.suggestion == batched.suggestion
    assert 0 <= announced["batched"] - announced["at_once"] < 7
    assert batched.detector.variances == at_once.detector.variances
    assert [s.iteration for s in batched.store.snapshots] == [s.iteration for s in at_once.store.snapshots]
    for ours, theirs in zip(batched.store.snapshots, at_once.store.snapshots):
        np.testing.assert_array_equal(ours.image, theirs.image)
    np.testing.assert_array_equal(batched.suggested_image(), at_once.suggested_image())


def test_suggested_image_stays_at_the_suggestion_after_a_later_minimum():
    session = _SettlingSession()
    monitor = RunMonitor(session, snapshots=False)
    for t in range(1, 301):
        session.advance(t)
        monitor.observe(t)
    suggestion = monitor.suggestion
    assert suggestion is not None
    kept = monitor.suggested_image().copy()
    session._base = torch.full_like(session._base, 0.5)  # from now on every output is the same:
    for t in range(301, 341):  # the variance falls to a new minimum
        session.last_output = session._base.clone()
        monitor.observe(t)
    assert monitor.detector.best_iteration > suggestion.iteration
    np.testing.assert_array_equal(monitor.suggested_image(), kept)


def test_a_saved_monitor_includes_the_iterations_still_queued():
    session = _SettlingSession()
    monitor = RunMonitor(session, readback_every=10)
    for t in range(1, 4):
        session.advance(t)
        monitor.observe(t)
    assert monitor.store.snapshots == []  # queued, not yet read back
    state = monitor.state_dict()
    assert state["store"]["iterations"] == [1, 2, 3]


def test_a_preset_that_ends_at_its_schedule_gets_no_variance_suggestion(smooth_image):
    """JPEG's output variance settles both before and after its best (docs/stopping.md): its
    detector still draws the curve but suggests nothing, and a resumed run keeps that."""
    from dip_gui.core.problem.presets import get_preset
    from dip_gui.core.problem.tasks import make_problem
    from dip_gui.core.session.session import Session
    from dip_gui.core.stopping.detectors import VarianceStopDetector, detector_for, detector_from_state

    jpeg = get_preset("jpeg", "fast")
    assert not jpeg.variance_stop and get_preset("denoise", "fast").variance_stop
    detector = detector_for(Session(make_problem("jpeg", smooth_image(32, 32)), jpeg, device="cpu"), 300)
    assert isinstance(detector, VarianceStopDetector) and not detector.suggests
    detector = detector_from_state(detector.state_dict())
    rng = np.random.default_rng(0)
    for iteration in range(1, 301):  # still outputs: the variance is lowest early and never falls again
        spread = 0.001 if iteration < 60 else 0.05
        assert detector.update(iteration, torch.from_numpy(rng.normal(0.5, spread, (1, 3, 8, 8)).astype("float32"))) is None
    assert detector.suggestion is None and len(detector.history) > 200
