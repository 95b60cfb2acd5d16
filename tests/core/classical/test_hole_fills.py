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
    errors = {name: np.mean((fill(observed * seen[:, :, None], seen)[hidden] - photo[hidden]) ** 2)
              for name, fill in FILL_METHODS.items()}
    assert chosen_fill(observed, known) == min(errors, key=errors.get)


def test_the_fill_without_hidden_pixels_is_made_by_the_method_chosen_for_the_run(monkeypatch):
    photo = smooth_image(96, 96, seed=3)
    known = text_strokes(96)
    seen = known.copy()
    seen[40:60, 40:60] = 0.0
    method = hole_fills.run_fill_method("fill", photo * known[:, :, None], known, seed=0)
    asked = []
    real = hole_fills.chosen_fill
    monkeypatch.setattr(hole_fills, "chosen_fill", lambda image, mask: asked.append(mask) or real(image, mask))
    from dip_gui.core.classical import warm_start

    monkeypatch.setattr(warm_start, "chosen_fill", hole_fills.chosen_fill)
    filled = classical_fill(photo * seen[:, :, None], seen, 0.0, method)
    assert asked == [], "the run's method is used, not chosen again"
    np.testing.assert_array_equal(filled, FILL_METHODS[method](photo * seen[:, :, None], seen))


def test_a_run_chooses_its_fill_without_the_pixels_its_holdout_hides():
    known = text_strokes(96)
    choice = hole_fills.fill_choice_mask(known, seed=0)
    hidden = holdout_mask(known > 0.5, 0)
    assert hidden is not None and not choice[hidden].any() and np.array_equal(choice[~hidden], known[~hidden])


@pytest.mark.parametrize("known", [None, np.zeros((32, 32), np.float32)])
def test_nothing_to_judge_or_holes_too_large_keep_teleas_fill(known, monkeypatch):
    photo = smooth_image(32, 32)
    monkeypatch.setattr(hole_fills, "BIHARMONIC_MAX_HOLE_PIXELS", 100)
    assert chosen_fill(photo, known) == "telea"
