"""The fast denoiser's start where the noise varies with brightness and channel."""

import numpy as np

from dip_gui.core.classical.denoise import denoised_start, profiled_start
from dip_gui.core.classical.warm_start import warm_start
from dip_gui.core.metrics import psnr
from dip_gui.core.problem.degradations import add_gaussian_noise
from dip_gui.core.problem.photo_traits import estimate_noise_sigma
from dip_gui.core.problem.tasks import make_problem
from tests.makers import textured_photo


def shadow_and_light(size: int = 128) -> np.ndarray:
    """Fine grain over a dark left half and a bright right half."""
    photo = textured_photo(size) * 0.35
    photo[:, size // 2:] += 0.55
    return photo.astype(np.float32)


def with_noise(clean: np.ndarray, shadows: float, highlights: float, seed: int = 0) -> np.ndarray:
    """Noise of ``shadows`` (0-255) in the dark half, ``highlights`` in the bright half."""
    level = np.where(clean < 0.5, shadows, highlights) / 255
    return np.clip(clean + level * np.random.default_rng(seed).standard_normal(clean.shape), 0, 1).astype(np.float32)


def halves(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    middle = image.shape[1] // 2
    return image[:, :middle], image[:, middle:]


def test_neither_the_shadows_are_smoothed_nor_the_highlights_left_grainy():
    clean = shadow_and_light()
    for shadows, highlights in ((5, 40), (40, 5)):
        noisy = with_noise(clean, shadows, highlights)
        one_level = denoised_start(noisy, estimate_noise_sigma(noisy))
        profiled = profiled_start(noisy)
        for before, after, truth in zip(halves(one_level), halves(profiled), halves(clean)):
            assert psnr(after, truth) > psnr(before, truth) + 0.5, (shadows, highlights)


def test_one_noisy_channel_does_as_well_as_knowing_the_levels():
    clean = textured_photo(128)
    level = np.array([6, 6, 24]) / 255
    noisy = np.clip(clean + level * np.random.default_rng(1).standard_normal(clean.shape), 0, 1).astype(np.float32)
    told = denoised_start(noisy, float(np.sqrt(np.mean(np.square(level)))) * 255)
    quiet = denoised_start(noisy, 6.0)  # a reading of the quiet channels leaves the blue grain
    assert psnr(profiled_start(noisy), clean) > psnr(told, clean) - 0.1
    assert psnr(profiled_start(noisy), clean) > psnr(quiet, clean) + 2


def test_even_noise_loses_nothing_to_the_true_level():
    clean = textured_photo(128)
    for sigma, seed in ((15, 2), (25, 3)):
        noisy = add_gaussian_noise(clean, sigma, seed=seed)
        assert psnr(profiled_start(noisy), clean) > psnr(denoised_start(noisy, sigma), clean) - 0.1, sigma


def test_the_denoisers_start_is_the_profiled_one():
    noisy = with_noise(shadow_and_light(64), 5, 40)
    start = warm_start(make_problem("denoise", noisy), "nlm", 0.0)
    np.testing.assert_allclose(start, np.clip(profiled_start(noisy), 0, 1), atol=1e-6)


def test_values_past_black_are_denoised_not_clipped():
    """The start check's recorrupted copy of a dark photo reaches under 0; its start keeps the copy's
    brightness, as the network fitted to the copy does, instead of lifting the shadows."""
    clean = textured_photo(96) * 0.1
    copy = (clean + 0.2 * np.random.default_rng(5).standard_normal(clean.shape)).astype(np.float32)
    lifted = float(np.mean(np.clip(copy, 0, 1)) - np.mean(clean))  # what clipping would add
    assert lifted > 0.05
    assert abs(float(np.mean(profiled_start(copy)) - np.mean(clean))) < lifted / 5
