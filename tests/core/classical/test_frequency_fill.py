"""Painted holes over texture are filled with texture (frequency-selective reconstruction)."""

import numpy as np
import pytest

from dip_gui.core.classical import frequency_fill, hole_fills
from dip_gui.core.classical.frequency_fill import strip_cuts
from dip_gui.core.classical.hole_fills import FILL_METHODS, chosen_fill, texture_fill
from dip_gui.core.classical.warm_start import classical_fill
from dip_gui.core.metrics import psnr
from tests.makers import smooth_image, striped_photo

pytestmark = pytest.mark.skipif("texture" not in FILL_METHODS, reason="OpenCV without its contrib modules")


def woven_photo(size: int = 96, channels: int = 3) -> np.ndarray:
    """Smooth colour under a fine two-way weave: a texture no smooth fill can carry into a hole."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    weave = 0.25 * np.sin(2 * np.pi * xs / 7) * np.sin(2 * np.pi * ys / 9)
    photo = smooth_image(size, size, seed=2) * 0.5 + 0.25 + weave[:, :, None]
    return np.clip(photo[:, :, :channels], 0, 1).astype(np.float32)


def blob_holes(size: int = 96) -> np.ndarray:
    """Known-pixel mask (1 = known) with two painted blobs."""
    ys, xs = np.mgrid[0:size, 0:size]
    holes = ((ys - 30) ** 2 + (xs - 34) ** 2 < 8**2) | ((ys - 66) ** 2 / 4 + (xs - 60) ** 2 < 6**2)
    return (~holes).astype(np.float32)


@pytest.mark.parametrize("channels", [3, 1])
def test_a_hole_in_a_weave_is_filled_with_the_weave_far_better_than_by_the_smooth_fills(channels):
    photo = woven_photo(channels=channels)
    known = blob_holes()
    observed = photo * known[:, :, None]
    holes = known < 0.5
    texture = texture_fill(observed, known)
    for smooth in ("telea", "biharmonic"):
        other = FILL_METHODS[smooth](observed, known)
        assert psnr(texture[holes], photo[holes]) > psnr(other[holes], photo[holes]) + 3.0, smooth
    assert np.array_equal(texture[~holes], photo[~holes]), "the known pixels stay exact"
    assert texture.dtype == np.float32 and texture.shape == photo.shape


def test_the_choice_takes_the_texture_fill_for_a_weave_and_the_start_keeps_it_sharp():
    photo = woven_photo()
    known = blob_holes()
    observed = photo * known[:, :, None]
    assert chosen_fill(observed, known) == "texture"
    np.testing.assert_array_equal(classical_fill(observed, known, 2.0), texture_fill(observed, known))


def test_the_texture_fill_is_kept_where_a_smooth_fill_predicts_the_hidden_pixels_only_slightly_better(monkeypatch):
    photo = woven_photo()
    known = blob_holes()
    observed = photo * known[:, :, None]

    def close_second(image, mask):  # 0.3 dB nearer the photo than the texture fill wherever it fills
        return photo + (texture_fill(image, mask) - photo) * 10 ** (-0.3 / 20)

    monkeypatch.setitem(FILL_METHODS, "biharmonic", close_second)
    assert chosen_fill(observed, known) == "texture"
    monkeypatch.setattr(hole_fills, "TEXTURE_CREDIT_DB", 0.0)
    assert chosen_fill(observed, known) == "biharmonic"


def test_thin_strokes_over_smooth_shading_still_get_a_smooth_fill():
    photo = smooth_image(96, 96, seed=3)
    known = np.ones((96, 96), np.float32)
    for row in range(8, 88, 16):
        known[row:row + 2, 6:90] = 0.0
    assert chosen_fill(photo * known[:, :, None], known) != "texture"


def test_strips_filled_in_parallel_match_one_piece_where_the_holes_are_apart(monkeypatch):
    photo = striped_photo(128)
    known = np.ones((128, 128), np.float32)
    known[10:20, 30:50] = 0.0
    known[100:112, 60:80] = 0.0
    observed = photo * known[:, :, None]
    monkeypatch.setattr(frequency_fill, "MIN_STRIP_HOLES", 1)
    monkeypatch.setattr(frequency_fill.os, "cpu_count", lambda: 2)
    in_strips = texture_fill(observed, known)
    monkeypatch.setattr(frequency_fill.os, "cpu_count", lambda: 1)
    whole = texture_fill(observed, known)
    assert np.abs(in_strips - whole).max() < 4 / 255  # FSR's block grid starts at each strip's top


def test_strips_are_cut_between_holes_and_balance_the_hole_pixels():
    holes = np.zeros((200, 50), bool)
    holes[20:40, 10:20] = True
    holes[150:170, 10:20] = True
    cuts = strip_cuts(holes, 2)
    assert cuts[0] == 0 and cuts[-1] == 200 and len(cuts) == 3
    assert not holes[cuts[1]].any() and 40 <= cuts[1] <= 150
    assert strip_cuts(holes, 1) == [0, 200]


@pytest.mark.parametrize("known", [np.ones((16, 16), np.float32), np.zeros((16, 16), np.float32)])
def test_nothing_or_everything_missing_leaves_the_photo_as_it_is(known):
    photo = smooth_image(16, 16)
    np.testing.assert_array_equal(texture_fill(photo, known), photo)
    np.testing.assert_array_equal(texture_fill(photo, None), photo)


def test_a_tiny_photo_with_one_hole_is_filled_near_its_surroundings():
    photo = smooth_image(12, 12)
    known = np.ones((12, 12), np.float32)
    known[5:7, 5:7] = 0.0
    filled = texture_fill(photo * known[:, :, None], known)
    assert np.abs(filled[5:7, 5:7] - photo[5:7, 5:7]).max() < 0.1
