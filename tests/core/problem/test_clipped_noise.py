"""Gaussian noise clipped at black and white: its moments and the level under the clip."""

import numpy as np
import pytest

from dip_gui.core.problem.clipped_noise import clipped_moments, clipping_lift, underlying_sigma


@pytest.mark.parametrize(("clean", "sigma"), [(0.0, 0.1), (0.05, 0.2), (0.5, 0.1), (0.95, 0.3), (1.0, 0.05)])
def test_the_moments_are_those_of_clipped_draws(clean, sigma):
    draws = np.clip(clean + sigma * np.random.default_rng(0).standard_normal(400_000), 0, 1)
    mean, variance = clipped_moments(np.array([clean]), sigma)
    assert mean[0] == pytest.approx(draws.mean(), abs=1e-3)
    assert variance[0] == pytest.approx(draws.var(), rel=0.01)


def test_the_clip_lifts_the_shadows_lowers_the_highlights_and_leaves_the_middle():
    lift = clipping_lift(np.array([0.0, 0.5, 1.0]), 50 / 255)
    assert lift[0] == pytest.approx(50 / 255 / np.sqrt(2 * np.pi), rel=1e-4)  # half a normal's mean
    assert abs(lift[1]) < 1e-6 and lift[2] == pytest.approx(-lift[0], rel=1e-4)


def test_the_level_under_the_clip_is_read_back_from_a_dark_photo():
    rng = np.random.default_rng(1)
    clean = rng.uniform(0, 1, 200_000) ** 4  # mostly near black, as a night sky
    sigma = 50 / 255
    first, second = (np.clip(clean + sigma * rng.standard_normal(clean.shape), 0, 1) for _ in range(2))
    read = float(np.std(first - second) / np.sqrt(2))  # the clipped noise's mean spread, without a model
    assert read < 0.8 * sigma  # the clip hides a fifth of the level and more
    assert underlying_sigma(clean, read) == pytest.approx(sigma, rel=0.03)
    middle = np.full(1000, 0.5)
    assert underlying_sigma(middle, 0.05) == pytest.approx(0.05, rel=1e-6)  # nothing clipped: the reading
    assert underlying_sigma(middle, 0.0) == 0.0
