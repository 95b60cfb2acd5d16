import numpy as np
import pytest
import torch

from dip_gui.core.timeline import SnapshotStore, VarianceStopDetector


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


def test_evaluate_case_reports_peak_and_suggestion():
    from dip_gui.core.evaluate_stopping import centre_crop, evaluate_case
    from tests.conftest import smooth_image

    clean = centre_crop(smooth_image(40, 40), 32)
    result = evaluate_case(clean, "test", "denoise", "noise", 25, iterations=30)
    assert 1 <= result.peak_iteration <= 30
    assert result.peak_psnr >= result.suggested_psnr and result.gap >= 0
