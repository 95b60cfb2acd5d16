from dataclasses import replace

import numpy as np
import pytest

from dip_gui.core.problem.degradations import add_gaussian_noise, jpeg_compress
from dip_gui.core.problem.photo_traits import PhotoTraits, estimate_noise_sigma, estimate_noise_sigma_pca
from dip_gui.core.problem.presets import GRAINY, NOISY, STRONG_COMPRESSION, fitted_for, get_preset
from tests.core.problem.test_jpeg_quality import sample


def test_the_traits_read_a_photos_noise_and_its_jpeg_quality():
    clean = sample()
    quiet, noisy = PhotoTraits.read(clean), PhotoTraits.read(add_gaussian_noise(clean, 30, seed=1))
    assert quiet.noise_sigma < 8 and quiet.jpeg_quality is None and quiet.jpeg_note() == ""
    assert 24 < noisy.noise_sigma < 34
    compressed = PhotoTraits.read(jpeg_compress(clean, 10))
    assert compressed.jpeg_quality in (9, 10, 11) and "quality about" in compressed.jpeg_note()


@pytest.mark.parametrize(("sigma", "iterations"), [(None, 1200), (3.0, 1200), (GRAINY, 40), (15.0, 40),
                                                   (NOISY, 20), (45.0, 20)])
def test_denoising_runs_shorter_the_noisier_the_photo(sigma, iterations):
    """The network gains over its start for fewer iterations the heavier the noise (docs/stopping.md)."""
    preset = get_preset("denoise", "fast")
    assert fitted_for(preset, None, PhotoTraits(noise_sigma=sigma)).iterations == iterations
    assert fitted_for(preset).iterations == preset.iterations  # nothing read of the photo


def test_noise_changes_no_other_tasks_schedule_and_compression_none_of_denoisings():
    heavy = PhotoTraits(noise_sigma=45.0)
    for task in ("jpeg", "sr", "restore", "inpaint"):
        preset = get_preset(task, "fast")
        assert fitted_for(preset, None, heavy) == preset
    denoise = get_preset("denoise", "fast")
    assert fitted_for(denoise, None, PhotoTraits(jpeg_quality=STRONG_COMPRESSION - 5)) == denoise
    jpeg = get_preset("jpeg", "fast")
    both = fitted_for(jpeg, None, replace(heavy, jpeg_quality=10))
    assert (both.iterations, both.lr) == (150, 0.02)


@pytest.mark.parametrize("sigma", [5, 10, 20])
def test_the_patch_spectrum_reads_the_noise_under_fine_texture_that_the_wavelet_band_takes_for_noise(sigma):
    """Fine diagonal ripples fill the finest diagonal wavelet band; in patch space they take two
    directions of 49, and the rest still reads the noise alone."""
    rows, cols = np.mgrid[0:96, 0:96]
    ripples = (0.5 + 0.25 * np.sin(2 * np.pi * (rows + cols) / 3.3))[:, :, None].repeat(3, axis=2).astype(np.float32)
    noisy = add_gaussian_noise(ripples, sigma, seed=2)
    assert estimate_noise_sigma_pca(noisy) == pytest.approx(sigma, rel=0.1)
    assert estimate_noise_sigma(noisy) > 5 * sigma
    tiny = add_gaussian_noise(ripples[:5, :5], sigma, seed=2)  # under one patch: the wavelet reading
    assert estimate_noise_sigma_pca(tiny) == estimate_noise_sigma(tiny)


def test_the_noise_note_says_where_the_noise_is_strongest():
    from tests.core.problem.test_noise_profile import noisy, ramp

    clean = ramp()
    shadowy = PhotoTraits.read(noisy(clean, (30 - 24 * clean) / 255), noise_shape=True)
    assert shadowy.noise_note(from_sigma=GRAINY).endswith("It is strongest in the shadows.")
    even = PhotoTraits.read(noisy(clean, np.float32(20 / 255)), noise_shape=True)
    assert even.noise_shape == "" and even.noise_note(from_sigma=GRAINY).endswith("(0-255).")
    assert PhotoTraits(noise_sigma=5.0, noise_shape="It is strongest in the shadows.").noise_note(GRAINY) == ""
