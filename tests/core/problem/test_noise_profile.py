"""Reading how a photo's noise varies with brightness and colour channel."""

import numpy as np

from dip_gui.core.problem import noise_profile
from dip_gui.core.problem.noise_profile import BANDS, FLOOR, NoiseProfile, estimate_noise_profile
from tests.makers import striped_photo


def ramp(height: int = 192, width: int = 256) -> np.ndarray:
    """Brightness rising from 0.05 to 0.95 across the photo, grey in three channels."""
    row = np.linspace(0.05, 0.95, width, dtype=np.float32)
    return np.repeat(np.repeat(row[None, :, None], height, axis=0), 3, axis=2)


def noisy(clean: np.ndarray, level: np.ndarray, seed: int = 0) -> np.ndarray:
    """``clean`` plus Gaussian noise of ``level`` (0-1 scale, per pixel and channel), clipped."""
    rng = np.random.default_rng(seed)
    return np.clip(clean + level * rng.standard_normal(clean.shape), 0, 1).astype(np.float32)


def test_the_percentile_of_noise_is_where_pure_noise_reads():
    rng = np.random.default_rng(0)
    readings = np.sqrt(np.mean(rng.standard_normal((200_000, noise_profile.BLOCK**2)) ** 2, axis=1))
    assert abs(np.percentile(readings, noise_profile.PERCENTILE) - noise_profile.PERCENTILE_OF_NOISE) < 0.005


def test_noise_growing_with_brightness_is_read_band_by_band():
    clean = ramp()
    profile = estimate_noise_profile(noisy(clean, (4 + 30 * clean) / 255))
    truth = (4 + 30 * NoiseProfile.band_centres()) / 255
    inner = slice(1, BANDS - 1)  # the end bands hold half a band of the ramp and clip
    np.testing.assert_allclose(profile.brightness_shape()[inner], truth[inner], rtol=0.15)
    assert profile.describe() == "It is strongest in the highlights."


def test_noise_strongest_in_the_shadows_and_in_one_channel():
    clean = ramp()
    gains = np.array([1.0, 1.0, 2.2])
    profile = estimate_noise_profile(noisy(clean, (30 - 24 * clean) / 255 * gains))
    scales = profile.channel_scales()
    assert 1.9 < scales[2] / scales[0] < 2.5
    assert profile.describe() == "It is strongest in the shadows and in the blue channel."


def test_even_noise_reads_even_despite_stripes():
    profile = estimate_noise_profile(noisy(striped_photo(192), np.float32(12 / 255), seed=3))
    assert abs(profile.overall() - 12) < 2
    assert profile.describe() == ""


def test_grey_tiny_and_clean_photos():
    grey = estimate_noise_profile(noisy(ramp()[:, :, :1], np.float32(10 / 255))[:, :, 0])
    assert grey.levels.shape == (1, BANDS) and abs(grey.overall() - 10) < 1.5
    tiny = estimate_noise_profile(np.full((5, 5, 3), 0.5, np.float32))
    np.testing.assert_array_equal(tiny.levels, FLOOR)
    clean = estimate_noise_profile(ramp())
    assert clean.levels.max() <= FLOOR * 2


def test_a_clipped_band_never_reads_far_under_the_rest():
    clean = ramp()
    clean[:, clean.shape[1] // 2:] = 1.0  # half the photo blown out: no noise left there
    profile = estimate_noise_profile(noisy(clean, np.float32(20 / 255)))
    assert profile.levels.min() >= profile.levels.max() * noise_profile.MIN_SHARE - 1e-9
