"""The judgement of the network's result against its classical start: denoising's on a recorrupted copy,
x2 super-resolution's on the photo's own downscaled copy."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from dip_gui.core.metrics import psnr
from dip_gui.core.problem.degradations import add_gaussian_noise, downscale
from dip_gui.core.problem.presets import get_preset, scaled_for
from dip_gui.core.problem.tasks import make_problem
from dip_gui.core.session.checkpoint import load_session, save_session
from dip_gui.core.session.handed_back import handed_back
from dip_gui.core.session.run_loop import EndReason, RunLoop, check_measure, check_size, judges_start, measure_for
from dip_gui.core.session.session import Session
from dip_gui.core.stopping.start_check import (
    DOWNSCALED,
    RECORRUPTED,
    RECORRUPTION,
    StartCheck,
    downscaled_pair,
    network_share,
    recorrupted_pair,
)
from tests.makers import TINY_NET


def test_the_copy_and_the_target_carry_uncorrelated_noise_of_the_expected_levels():
    clean = np.full((128, 128, 3), 0.5, np.float32)
    sigma = 0.1
    observed = clean + np.random.default_rng(3).normal(0, sigma, clean.shape).astype(np.float32)
    copy, target = recorrupted_pair(observed, sigma, seed=0)
    copy_noise, target_noise = (copy - clean).ravel(), (target - clean).ravel()
    assert np.std(copy_noise) == pytest.approx(sigma * np.sqrt(1 + RECORRUPTION**2), rel=0.02)
    assert np.std(target_noise) == pytest.approx(sigma * np.sqrt(1 + RECORRUPTION**-2), rel=0.02)
    correlation = np.corrcoef(copy_noise, target_noise)[0, 1]
    assert abs(correlation) < 0.02, "the target's noise must not tell the copy's"
    again, _ = recorrupted_pair(observed, sigma, seed=0)
    np.testing.assert_array_equal(copy, again)  # one draw per seed: a resumed run judges the same copy


def test_the_share_is_none_of_a_change_that_fits_the_noise_and_all_of_one_that_removes_the_error():
    rng = np.random.default_rng(0)
    clean = np.linspace(0, 1, 64 * 64 * 3, dtype=np.float32).reshape(64, 64, 3)
    sigma = 0.1
    observed = clean + rng.normal(0, sigma, clean.shape).astype(np.float32)
    copy, target = recorrupted_pair(observed, sigma, seed=1)
    start = clean + rng.normal(0, 0.02, clean.shape).astype(np.float32)  # a good start with its own error
    fits_the_noise = start + 0.5 * (copy - clean)  # the copy's noise, half of it learnt
    assert network_share(start, fits_the_noise, target) < 0.1
    assert network_share(start, clean, target) > 0.9
    assert network_share(start, start, target) == 1.0  # nothing changed: nothing to judge


def test_a_share_mixes_the_start_and_the_result_and_survives_its_dict():
    start, result = np.zeros((2, 2, 3), np.float32), np.ones((2, 2, 3), np.float32)
    np.testing.assert_allclose(StartCheck(5, 0.0).apply(start, result), start)
    np.testing.assert_allclose(StartCheck(5, 1.0).apply(start, result), result)
    np.testing.assert_allclose(StartCheck(5, 0.25).apply(start, result), 0.25)
    check = StartCheck(7, 0.4)
    assert StartCheck.from_dict(check.to_dict()) == check and StartCheck.from_dict(None) is None
    assert "recorrupted" in check.describe() and "40%" in check.describe()
    downscaled = StartCheck(7, 0.0, DOWNSCALED)
    assert StartCheck.from_dict(downscaled.to_dict()) == downscaled
    assert "downscaled copy" in downscaled.describe() and "the start is handed back" in downscaled.describe()
    assert StartCheck.from_dict({"iteration": 3, "network_share": 1.0}).measure == RECORRUPTED  # a file without one


def test_the_downscaled_copy_is_the_photo_brought_down_by_the_run_s_own_downsampler(smooth_image):
    photo = smooth_image(35, 42)
    copy, target = downscaled_pair(photo, 2)
    assert copy.shape == (17, 21, 3) and target.shape == (34, 42, 3)  # an odd side loses its last row
    np.testing.assert_array_equal(copy, downscale(photo, 2))
    np.testing.assert_array_equal(target, photo[:34])


@pytest.fixture
def overfitting_session(smooth_image) -> tuple[Session, np.ndarray]:
    """The fast denoiser (on a tiny network) on a smooth photo under heavy noise, run past its best:
    the network ends under its non-local-means start, as on a smooth fundus photo (docs/stopping.md)."""
    clean = smooth_image(48, 48)
    noisy = add_gaussian_noise(clean, 50, seed=4)
    preset = replace(get_preset("denoise", "fast"), net=TINY_NET, iterations=60, lr=0.05)
    return Session(make_problem("denoise", noisy), preset, seed=0), clean


def test_a_run_that_ends_worse_than_its_start_hands_back_the_start(overfitting_session):
    session, clean = overfitting_session
    assert judges_start(session)
    end = RunLoop(session, auto_stop=True).run()
    assert end.reason is EndReason.DONE and end.check_seconds > 0
    start, network = session.to_image(session.base), session.result()
    assert psnr(network, clean) < psnr(start, clean) - 0.05, "the set-up must overfit for the test to mean anything"
    assert end.start_check is not None and end.start_check.iteration == 60
    assert end.start_check.network_share < 0.5
    handed = handed_back(session, None, auto_stop=True)
    assert handed.start_check == end.start_check
    assert psnr(handed.image, clean) > psnr(network, clean) + 0.03


def test_without_auto_stop_or_when_stopped_during_the_check_the_result_is_unjudged(overfitting_session):
    session, _ = overfitting_session
    session.preset = session.preset.with_overrides(iterations=6)
    RunLoop(session, auto_stop=False).run()
    assert session.start_check is None
    np.testing.assert_array_equal(handed_back(session, None, auto_stop=False).image, session.result())
    calls = []

    def until_the_check(limit=session.iteration + 6 + 1):  # the run's 6 steps and its last look
        calls.append(1)
        return len(calls) <= limit

    end = RunLoop(session, until=session.iteration + 6, auto_stop=True, keep_going=until_the_check).run()
    assert end.reason is EndReason.DONE and end.start_check is None and session.start_check is None


def test_the_judgement_is_kept_in_a_session_file(overfitting_session, tmp_path):
    session, _ = overfitting_session
    session.preset = session.preset.with_overrides(iterations=4)
    RunLoop(session, auto_stop=True).run()
    assert session.start_check is not None
    save_session(tmp_path / "run.dips", session)
    loaded, _ = load_session(tmp_path / "run.dips")
    assert loaded.start_check == session.start_check
    np.testing.assert_allclose(handed_back(loaded, None, auto_stop=True).image,
                               handed_back(session, None, auto_stop=True).image, atol=1e-6)


def test_only_a_photo_whose_noise_reads_grainy_or_more_is_judged(smooth_image):
    clean = smooth_image(48, 48)
    preset = replace(get_preset("denoise", "fast"), net=TINY_NET)
    grainy = Session(make_problem("denoise", add_gaussian_noise(clean, 25, seed=0)), preset)
    faint = Session(make_problem("denoise", add_gaussian_noise(clean, 3, seed=0)), preset)
    assert judges_start(grainy) and not judges_start(faint)
    jpeg = Session(make_problem("jpeg", add_gaussian_noise(clean, 25, seed=0)), preset)
    assert not judges_start(jpeg)  # its artefacts are no Gaussian noise to recorrupt


def _super_resolution(clean: np.ndarray, scale: int = 2, name: str = "fast", noise: float = 25.0, **changes) -> Session:
    """Fast super-resolution (on a tiny network) of ``clean`` brought down ``scale`` x, with noise in
    the small photo for the network to draw past its best (the x2 overshoot of docs/stopping.md)."""
    small = add_gaussian_noise(downscale(clean, scale), noise, seed=2)
    preset = replace(scaled_for(get_preset("sr", name), scale), net=TINY_NET, **changes)
    return Session(make_problem("sr", small, scale=scale), preset, seed=0)


def test_an_x2_super_resolution_that_ends_worse_than_its_start_hands_back_the_start(smooth_image):
    clean = smooth_image(96, 96)
    session = _super_resolution(clean, iterations=60, lr=0.05)
    assert check_measure(session) == DOWNSCALED
    end = RunLoop(session, auto_stop=True).run()
    start, network = session.to_image(session.classical_start()), session.result()
    assert psnr(network, clean) < psnr(start, clean) - 0.1, "the set-up must overfit for the test to mean anything"
    assert end.start_check is not None and end.start_check.measure == DOWNSCALED and end.start_check.iteration == 60
    assert end.start_check.network_share < 0.5
    handed = handed_back(session, None, auto_stop=True)
    assert psnr(handed.image, clean) > psnr(network, clean) + 0.1


def test_super_resolution_s_start_is_its_first_preview_back_projected_onto_the_photo(smooth_image):
    session = _super_resolution(smooth_image(64, 64), noise=0.0, iterations=3)
    RunLoop(session).run()
    session.start_check = StartCheck(3, 0.0, DOWNSCALED)
    handed = handed_back(session, None, auto_stop=True)
    observed = session.problem.observed
    brought_down = downscale(handed.image, 2)
    blurred_upscale_brought_down = downscale(session.to_image(session.base), 2)
    # the start explains the small photo (back-projected), where the blurred upscale it is made from does not
    assert np.abs(brought_down - observed).mean() < 0.25 * np.abs(blurred_upscale_brought_down - observed).mean()


def test_super_resolution_is_judged_at_x2_over_a_classical_start_with_a_copy_large_enough(smooth_image):
    assert judges_start(_super_resolution(smooth_image(64, 64)))
    assert not judges_start(_super_resolution(smooth_image(128, 128), scale=4))  # climbs to the end at x4
    assert not judges_start(_super_resolution(smooth_image(40, 40)))  # a 10 px copy: borders more than picture
    assert not judges_start(_super_resolution(smooth_image(64, 64), name="paper"))  # no classical start


def test_whether_a_run_will_be_judged_is_known_before_it_starts_and_so_is_its_copy_s_size():
    sr, denoise = scaled_for(get_preset("sr", "fast"), 2), get_preset("denoise", "fast")
    assert measure_for(sr, sr.task, 2, (40, 48), None) == DOWNSCALED
    assert measure_for(sr, sr.task, 2, (30, 48), None) is None  # a 15 px copy
    assert measure_for(denoise, denoise.task, None, (40, 48), 25.0) == RECORRUPTED
    assert measure_for(denoise, denoise.task, None, (40, 48), 5.0) is None  # under GRAINY
    assert measure_for(denoise, denoise.task, None, (40, 48), None) is None  # the noise not read
    assert check_size(DOWNSCALED, (41, 48)) == (40, 48)  # the photo, its sides cut to even
    assert check_size(RECORRUPTED, (40, 48)) == (40, 48)


def test_the_target_of_a_clipped_photo_is_the_clean_photo_plus_noise():
    """A dark photo at sigma 50: a quarter and more of its values clipped at black. Judged against
    the lifted photo, the check would favour whatever keeps the lift (docs/stopping.md)."""
    rng = np.random.default_rng(2)
    clean = np.repeat(np.linspace(0.0, 0.3, 256, dtype=np.float32)[None, :, None], 256, axis=0).repeat(3, axis=2)
    sigma = 50 / 255
    observed, again = (np.clip(clean + sigma * rng.standard_normal(clean.shape), 0, 1).astype(np.float32)
                       for _ in range(2))
    read = float(np.std(observed - again) / np.sqrt(2))  # the clipped noise's spread, as a reading sees it
    lifted = float(np.mean(observed - clean))
    assert lifted > 0.03
    copy, target = recorrupted_pair(observed, read, seed=0, estimate=clean)
    assert abs(float(np.mean(target - clean))) < lifted / 10
    unclipped = copy[:, -32:] - observed[:, -32:]  # the copy's own extra noise, at the level under the clip
    assert np.std(unclipped) == pytest.approx(RECORRUPTION * sigma, rel=0.05)
