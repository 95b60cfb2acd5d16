"""Tiles for photos too large for the device: coverage, seamless blending, a real tiled run."""

import itertools

import numpy as np
import pytest

from dip_gui.core.errors import InvalidParameterError
from dip_gui.core.metrics import psnr
from dip_gui.core.problem.degradations import add_gaussian_noise
from dip_gui.core.session.tiles import blend, blend_weight, plan_tiles, run_tiled


@pytest.mark.parametrize(("height", "width", "tile", "overlap"), [(100, 80, 48, 16), (37, 500, 64, 8), (64, 64, 64, 8),
                                                                   (129, 257, 64, 20)])
def test_tiles_cover_the_photo_with_at_least_the_overlap(height, width, tile, overlap):
    tiles = plan_tiles(height, width, tile, overlap)
    covered = np.zeros((height, width), int)
    for piece in tiles:
        assert piece.height <= tile and piece.width <= tile
        covered[piece.window()] += 1
    assert covered.min() >= 1
    tops = sorted({t.top for t in tiles})
    for above, below in itertools.pairwise(tops):
        assert above + tile - below >= overlap  # neighbours share at least the overlap


def test_blend_weights_sum_to_one_and_reassemble_a_photo_exactly(smooth_image):
    photo = smooth_image(100, 80)
    tiles = plan_tiles(100, 80, 48, 16)
    pieces = [photo[t.window()] for t in tiles]
    np.testing.assert_allclose(blend(tiles, pieces, (100, 80), 16), photo, atol=1e-6)
    weight = sum(np.pad(blend_weight(t, (100, 80), 16), ((t.top, 100 - t.top - t.height), (t.left, 80 - t.left - t.width)))
                 for t in tiles)
    assert weight.min() > 0.0


def test_a_difference_between_tiles_is_spread_over_the_overlap_not_a_step():
    tiles = plan_tiles(16, 100, 64, 28)  # two tiles side by side, sharing 28 columns
    left, right = np.zeros((16, 64, 3)), np.ones((16, 64, 3))
    row = blend(tiles, [left, right], (16, 100), 28)[8, :, 0]
    steps = np.diff(row)
    assert row[0] == 0 and row[-1] == 1
    assert steps.min() >= -1e-9 and steps.max() < 0.1  # monotone, no jump larger than 0.1


def test_tile_settings_are_checked():
    with pytest.raises(InvalidParameterError, match="more than twice the overlap"):
        plan_tiles(100, 100, 32, 16)


@pytest.mark.slow
def test_a_tiled_denoise_restores_every_pixel_and_is_as_good_as_one_piece(tiny_preset, smooth_image):
    clean = smooth_image(72, 90)
    noisy = add_gaussian_noise(clean, 25, seed=1)
    preset = tiny_preset.with_overrides(iterations=60)
    tiled = run_tiled("denoise", noisy, preset, tile=48, overlap=16, device="cpu")
    whole = run_tiled("denoise", noisy, preset, tile=200, overlap=16, device="cpu")  # one tile
    assert tiled.shape == clean.shape and np.isfinite(tiled).all()
    assert psnr(tiled, clean) > psnr(noisy, clean) + 2
    assert psnr(tiled, clean) > psnr(whole, clean) - 1.0


def test_tiled_super_resolution_is_k_times_larger(tiny_preset, smooth_image):
    small = smooth_image(30, 40)
    result = run_tiled("sr", small, tiny_preset.with_overrides(iterations=2, task="sr"), tile=24, overlap=8, scale=2,
                       device="cpu")
    assert result.shape == (60, 80, 3)


def test_each_tile_stops_at_its_own_suggestion_unless_asked_to_run_on(tiny_preset, smooth_image, monkeypatch):
    """Each tile's run has a detector of its own; the detector here suggests at a set iteration (9 in
    the first tile, 14 in the second), so the test does not hang on where a real one fires, which
    moves with the last bits of the CPU's arithmetic."""
    from dip_gui.core.stopping import detectors

    stops = itertools.cycle((9, 14))

    class SuggestsAt(detectors.VarianceStopDetector):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.stop_at = next(stops)

        def update_small(self, iteration, small):
            super().update_small(iteration, small)
            if iteration == self.stop_at and self.suggests:
                self.suggestion = detectors.StopSuggestion(iteration, 0.0, self.window, self.patience)
                return self.suggestion
            return None

    monkeypatch.setattr(detectors.VarianceStopDetector, "for_run",
                        classmethod(lambda cls, n, start=0, suggests=True: SuggestsAt(3, 4, start, suggests)))
    noisy = add_gaussian_noise(smooth_image(32, 56), 25, seed=2)
    preset = tiny_preset.with_overrides(iterations=30)
    for auto_stop, expected in ((True, {0: 9, 1: 14}), (False, {0: 30, 1: 30})):
        last: dict[int, int] = {}

        def progress(index, count, session, last=last):
            last[index] = session.iteration

        result = run_tiled("denoise", noisy, preset, tile=32, overlap=8, auto_stop=auto_stop, progress=progress)
        assert result.shape == noisy.shape
        assert last == expected


def test_ctrl_c_in_a_tile_keeps_the_tiles_done_and_the_photo_elsewhere(smooth_image, tiny_preset):
    from dip_gui.core.session.tiles import TilesInterrupted

    noisy = add_gaussian_noise(smooth_image(32, 96), 25, seed=2)
    preset = tiny_preset.with_overrides(iterations=6)
    tiles = plan_tiles(32, 96, 40, 8)
    assert len(tiles) == 3

    def progress(index, count, session):
        if index == 1 and session.iteration == 3:
            raise KeyboardInterrupt  # between two steps of the second tile

    with pytest.raises(TilesInterrupted) as stopped:
        run_tiled("denoise", noisy, preset, tile=40, overlap=8, progress=progress, auto_stop=False)
    assert (stopped.value.reached, stopped.value.total) == (2, 3)
    image = stopped.value.image
    assert image.shape == noisy.shape
    untouched = slice(tiles[1].window()[1].stop, None)  # the last tile past its overlap with the second
    np.testing.assert_allclose(image[:, untouched], noisy[:, untouched], atol=1e-6)
    assert not np.allclose(image[:, :30], noisy[:, :30])  # the first tile was restored
