"""The fill of painted holes is chosen per photo, on known pixels shaped like the holes."""

import numpy as np
import pytest

from dip_gui.core.classical import hole_fills
from dip_gui.core.classical.hole_fills import FILL_METHODS, chosen_fill
from dip_gui.core.classical.hole_shapes import holdout_mask
from dip_gui.core.classical.warm_start import classical_fill
from dip_gui.core.metrics import psnr
from tests.makers import smooth_image


def text_strokes(size: int) -> np.ndarray:
    """Known-pixel mask (1 = known) with thin horizontal and vertical strokes as holes, as text is."""
    known = np.ones((size, size), np.float32)
    for row in range(8, size - 8, 16):
        known[row:row + 2, 6:size - 6] = 0.0
    for column in range(12, size - 12, 24):
        known[4:size - 4, column:column + 2] = 0.0
    return known


def credited(errors: dict[str, float]) -> dict[str, float]:
    """The errors as the choice weighs them: the texture fill's counted ``TEXTURE_CREDIT_DB`` lower."""
    return {name: error * (10 ** (-hole_fills.TEXTURE_CREDIT_DB / 10) if name == "texture" else 1.0)
            for name, error in errors.items()}


def test_on_thin_strokes_over_a_smooth_photo_the_biharmonic_fill_is_chosen_and_is_better():
    photo = smooth_image(96, 96, seed=3)
    known = text_strokes(96)
    observed = photo * known[:, :, None]
    assert chosen_fill(observed, known) == "biharmonic"
    chosen, telea = classical_fill(observed, known, 0.0), FILL_METHODS["telea"](observed, known)
    assert psnr(chosen, photo) > psnr(telea, photo) + 1.0
    assert np.array_equal(chosen[known > 0.5], photo[known > 0.5]), "the known pixels stay exact"


def test_the_choice_is_the_fill_with_the_smaller_error_on_the_hidden_pixels():
    rng = np.random.default_rng(0)
    photo = np.clip(smooth_image(80, 80, seed=1) + rng.normal(0, 0.15, (80, 80, 3)), 0, 1).astype(np.float32)
    known = np.ones((80, 80), np.float32)
    known[20:44, 30:54] = 0.0  # one large hole in a busy texture
    observed = photo * known[:, :, None]
    hidden = holdout_mask(known > 0.5)
    seen = ((known > 0.5) & ~hidden).astype(np.float32)
    errors = credited({name: np.mean((fill(observed * seen[:, :, None], seen)[hidden] - photo[hidden]) ** 2)
                       for name, fill in FILL_METHODS.items()})
    assert chosen_fill(observed, known) == min(errors, key=errors.get)


def test_a_run_chooses_the_fill_that_best_predicts_its_hidden_pixels_and_keeps_that_fill():
    rng = np.random.default_rng(0)
    photo = np.clip(smooth_image(80, 80, seed=1) + rng.normal(0, 0.15, (80, 80, 3)), 0, 1).astype(np.float32)
    known = np.ones((80, 80), np.float32)
    known[20:44, 30:54] = 0.0
    observed = photo * known[:, :, None]
    choice = hole_fills.run_fill_choice("fill", observed, known, seed=2)
    hidden = holdout_mask(known > 0.5, 2)
    seen = ((known > 0.5) & ~hidden).astype(np.float32)
    assert choice is not None and np.array_equal(choice.seen, seen) and choice.made_from(seen)
    errors = credited({name: np.mean((fill(observed * seen[:, :, None], seen)[hidden] - photo[hidden]) ** 2)
                       for name, fill in FILL_METHODS.items()})
    assert choice.method == min(errors, key=errors.get)
    np.testing.assert_array_equal(choice.fill_unseen, FILL_METHODS[choice.method](observed * seen[:, :, None], seen))


def test_only_a_fill_start_with_something_to_hide_has_a_run_choice():
    known = text_strokes(96)
    photo = smooth_image(96, 96, seed=3) * known[:, :, None]
    assert hole_fills.run_fill_choice("nlm_fill", photo, known, seed=0) is None
    assert hole_fills.run_fill_choice("fill", photo, np.ones((96, 96), np.float32), seed=0) is None


@pytest.mark.parametrize("known", [None, np.zeros((32, 32), np.float32)])
def test_nothing_to_judge_or_holes_too_large_keep_teleas_fill(known, monkeypatch):
    photo = smooth_image(32, 32)
    monkeypatch.setattr(hole_fills, "BIHARMONIC_MAX_HOLE_PIXELS", 100)
    assert chosen_fill(photo, known) == "telea"
