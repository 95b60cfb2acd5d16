"""The Wiener pass in sliding DCT blocks that follows non-local means in the fast denoiser's start."""

import numpy as np

from dip_gui.core.classical import wiener
from dip_gui.core.classical.denoise import denoised_start, non_local_means
from dip_gui.core.metrics import psnr
from dip_gui.core.problem.degradations import add_gaussian_noise
from dip_gui.core.problem.photo_traits import estimate_noise_sigma
from tests.makers import striped_photo


def test_the_dct_matrix_is_orthonormal():
    matrix = wiener.dct_matrix(8)
    np.testing.assert_allclose(matrix @ matrix.T, np.eye(8), atol=1e-12)


def test_the_wiener_pass_beats_its_non_local_means_pilot():
    for sigma in (10, 25, 50):
        clean = striped_photo(80)
        noisy = add_gaussian_noise(clean, sigma, seed=sigma)
        level = estimate_noise_sigma(noisy)
        pilot = non_local_means(noisy, level)
        start = denoised_start(noisy, level)
        assert start.shape == clean.shape and start.dtype == np.float32
        assert psnr(np.clip(start, 0, 1), clean) > psnr(np.clip(pilot, 0, 1), clean) + 0.3, sigma


def test_a_perfect_pilot_keeps_the_picture_and_drops_the_noise():
    """With the clean picture as pilot every coefficient is weighed as the ideal Wiener filter does."""
    clean = striped_photo(64)[:, :, 0].astype(np.float64)
    noisy = add_gaussian_noise(clean[:, :, None], 25, seed=1)[:, :, 0]
    filtered = wiener.wiener_channel(noisy, clean, 25 / 255)
    assert psnr(filtered, clean) > psnr(noisy, clean) + 8


def test_bands_odd_sizes_and_tiny_channels(monkeypatch):
    rng = np.random.default_rng(0)
    noisy, pilot = rng.random((37, 29)), rng.random((37, 29))
    whole = wiener.wiener_channel(noisy, pilot, 0.1)
    monkeypatch.setattr(wiener, "BAND_ROWS", 3)  # many bands: the same sum
    np.testing.assert_allclose(wiener.wiener_channel(noisy, pilot, 0.1), whole, atol=1e-5)
    assert whole.shape == (37, 29) and np.isfinite(whole).all()
    small = rng.random((5, 40))
    np.testing.assert_array_equal(wiener.wiener_channel(small, small * 0.5, 0.1), small * 0.5)
    np.testing.assert_array_equal(wiener.wiener_channel(noisy, pilot, 0.0), pilot)  # no noise: the pilot


def test_grey_photos_get_the_wiener_pass_too():
    clean = striped_photo(64)[:, :, :1]
    noisy = add_gaussian_noise(clean, 25, seed=2)
    level = estimate_noise_sigma(noisy)
    start = denoised_start(noisy, level)
    assert start.shape == clean.shape
    assert psnr(start, clean) > psnr(non_local_means(noisy, level), clean)
