import numpy as np

from dip_gui.core.classical.denoise import OPPONENT, non_local_means
from dip_gui.core.classical.warm_start import warm_start
from dip_gui.core.metrics import psnr
from dip_gui.core.problem.degradations import add_gaussian_noise, random_known_mask
from dip_gui.core.problem.photo_traits import estimate_noise_sigma
from dip_gui.core.problem.tasks import make_problem
from tests.makers import striped_photo


def test_the_opponent_transform_keeps_the_noise_level_in_every_channel():
    np.testing.assert_allclose(OPPONENT @ OPPONENT.T, np.eye(3), atol=1e-12)


def test_non_local_means_beats_the_blur_and_the_input_at_light_and_heavy_noise():
    clean = striped_photo()
    for sigma in (5, 25):
        noisy = add_gaussian_noise(clean, sigma, seed=3)
        problem = make_problem("denoise", noisy, reference=clean)
        nlm, blur = warm_start(problem, "nlm", 1.0), warm_start(problem, "blur", 1.0)
        assert nlm.shape == clean.shape and nlm.dtype == np.float32
        assert psnr(nlm, clean) > psnr(blur, clean) + 1.0, sigma
        assert psnr(nlm, clean) > psnr(noisy, clean) + 1.0, sigma  # the blur is worse than sigma-5 noise


def test_non_local_means_on_grey_and_flat_photos():
    clean = striped_photo()[:, :, :1]
    noisy = add_gaussian_noise(clean, 25, seed=4)
    grey = non_local_means(noisy, estimate_noise_sigma(noisy))
    assert grey.shape == clean.shape
    assert psnr(grey, clean) > psnr(noisy, clean) + 3.0
    flat = np.full((16, 16, 3), 0.25, np.float32)
    np.testing.assert_allclose(non_local_means(flat, 25.0), flat, atol=1e-6)  # nothing to stretch or smooth


def test_a_preset_naming_an_unknown_warm_start_is_refused_up_front():
    import pytest

    from dip_gui.core.errors import InvalidParameterError
    from dip_gui.core.problem.presets import get_preset, preset_from_dict

    data = get_preset("denoise", "fast").to_dict()
    with pytest.raises(InvalidParameterError, match="unknown warm start 'median'"):
        preset_from_dict({**data, "base": "median"})
    assert preset_from_dict({**data, "base": "nlm"}).base == "nlm"


def test_the_fast_denoiser_starts_from_non_local_means():
    from dip_gui.core.problem.presets import get_preset
    from dip_gui.core.session.session import Session

    clean = striped_photo(64)
    noisy = add_gaussian_noise(clean, 25, seed=5)
    problem = make_problem("denoise", noisy, reference=clean)
    session = Session(problem, get_preset("denoise", "fast"), device="cpu")
    blur = warm_start(problem, "blur", 1.0)
    assert psnr(session.base, session.reference) > psnr(blur, clean) + 3.0
    assert session.step().iteration == 1  # and the network runs over it


def test_the_scattered_pixel_fill_beats_telea_and_keeps_the_known_pixels():
    """Half the pixels missing at random from a striped photo: non-local means rounds find the
    stripes elsewhere in the photo, which Telea's fill from the nearest neighbours smears."""
    from dip_gui.core.classical.warm_start import classical_fill, non_local_means_fill

    clean = striped_photo()
    known = random_known_mask(clean.shape[:2], 0.5, seed=1)
    observed = clean * known[:, :, None]
    filled = non_local_means_fill(observed, known)
    assert filled.shape == clean.shape and filled.dtype == np.float32
    np.testing.assert_array_equal(filled[known > 0.5], observed[known > 0.5])
    assert psnr(filled, clean) > psnr(classical_fill(observed, known, 0.0), clean) + 1.5
    grey = non_local_means_fill(observed[:, :, :1], known)
    assert grey.shape == (*clean.shape[:2], 1) and psnr(grey, clean[:, :, :1]) > 20


def test_the_scattered_pixel_fill_falls_back_to_telea_inside_a_large_hole(smooth_image):
    """Where no known pixel is near (a 20 px hole), spreading the neighbours has nothing to spread."""
    from dip_gui.core.classical.warm_start import non_local_means_fill

    clean = smooth_image(64, 64, seed=2)
    known = np.ones((64, 64), np.float32)
    known[20:40, 20:40] = 0
    filled = non_local_means_fill(clean * known[:, :, None], known)
    assert np.isfinite(filled).all() and filled.min() >= 0 and filled.max() <= 1
    assert np.abs(filled[20:40, 20:40] - clean[20:40, 20:40]).mean() < 0.1  # smooth shading: close


def test_the_fast_restorer_starts_from_the_scattered_pixel_fill():
    from dip_gui.core.classical.warm_start import non_local_means_fill
    from dip_gui.core.problem.presets import get_preset
    from dip_gui.core.session.session import Session

    clean = striped_photo(64)
    known = random_known_mask(clean.shape[:2], 0.5, seed=3)
    problem = make_problem("restore", clean * known[:, :, None], mask=known, reference=clean)
    session = Session(problem, get_preset("restore", "fast"), device="cpu")
    np.testing.assert_allclose(session.result(), non_local_means_fill(problem.observed, known), atol=1e-6)
    assert session.holdout is not None and session.holdout.hidden is not None  # judged on hidden known pixels
