"""The Wiener pass over groups of similar blocks (BM3D's second step) in the fast denoiser's start."""

import numpy as np

from dip_gui.core.classical import denoise as denoiser
from dip_gui.core.classical import grouped_wiener
from dip_gui.core.classical.wiener import wiener_channel
from dip_gui.core.metrics import psnr
from dip_gui.core.problem.degradations import add_gaussian_noise
from dip_gui.core.problem.photo_traits import estimate_noise_sigma
from tests.makers import striped_photo


def test_each_reference_block_is_grouped_with_itself_and_its_repeats():
    period = 4  # a corner block has (12 / 4 + 1)^2 = 16 exact repeats within the search radius
    pattern = np.random.default_rng(0).random((period, period)).astype(np.float32)
    plane = np.tile(pattern, (12, 12))  # 48 x 48, repeating every 4 px both ways
    rows, cols = grouped_wiener.matched_blocks(plane)
    grid = grouped_wiener._reference_grid(48)
    assert rows.shape == cols.shape == (grid.size**2, grouped_wiener.GROUP)
    ref_rows, ref_cols = np.meshgrid(grid, grid, indexing="ij")
    same = (rows == ref_rows.reshape(-1, 1)) & (cols == ref_cols.reshape(-1, 1))
    assert same.any(axis=1).all()  # itself, at distance 0
    # every match is an exact repeat: shifted by whole periods
    assert ((rows - ref_rows.reshape(-1, 1)) % period == 0).all() and ((cols - ref_cols.reshape(-1, 1)) % period == 0).all()
    assert (rows >= 0).all() and (rows <= 40).all() and (cols >= 0).all() and (cols <= 40).all()


def test_each_group_holds_the_most_similar_blocks_in_reach():
    """Against a brute-force search: the GROUP blocks of smallest squared distance within RADIUS (the
    search keeps each group's worst slot up to date rather than looking for it at every offset)."""
    plane = np.random.default_rng(3).random((40, 36)).astype(np.float32)
    rows, cols = grouped_wiener.matched_blocks(plane)
    grid_rows, grid_cols = np.meshgrid(grouped_wiener._reference_grid(40), grouped_wiener._reference_grid(36),
                                       indexing="ij")
    block, radius = 8, grouped_wiener.RADIUS

    def distance(y, x, v, u):
        return float(np.square(plane[y:y + block, x:x + block].astype(np.float64)
                               - plane[v:v + block, u:u + block]).sum())

    for index, (y, x) in enumerate(zip(grid_rows.ravel(), grid_cols.ravel())):
        every = sorted(distance(y, x, v, u) for v in range(max(0, y - radius), min(40 - block, y + radius) + 1)
                       for u in range(max(0, x - radius), min(36 - block, x + radius) + 1))
        chosen = sorted(distance(y, x, v, u) for v, u in zip(rows[index], cols[index]))
        np.testing.assert_allclose(chosen, every[:grouped_wiener.GROUP], rtol=1e-4, atol=1e-6)


def _start_planes(sigma: float, seed: int):
    clean = striped_photo(72)
    noisy = add_gaussian_noise(clean, sigma, seed=seed)
    level = estimate_noise_sigma(noisy)
    noisy_planes = denoiser._opponent_planes(noisy)
    pilot_planes = denoiser._opponent_planes(denoiser.non_local_means(noisy, level))
    pilot = [wiener_channel(n, p, level / 255) for n, p in zip(noisy_planes, pilot_planes)]
    return clean, noisy, noisy_planes, pilot, level


def test_the_grouped_pass_beats_its_pilot():
    for sigma, seed in ((15, 1), (25, 2), (50, 3)):
        clean, noisy, noisy_planes, pilot, level = _start_planes(sigma, seed)
        grouped = grouped_wiener.grouped_wiener(noisy_planes, pilot, [level / 255] * 3)
        before = denoiser._from_opponent_planes(pilot, noisy.shape)
        after = denoiser._from_opponent_planes(grouped, noisy.shape)
        assert psnr(np.clip(after, 0, 1), clean) > psnr(np.clip(before, 0, 1), clean) + 0.2, sigma


def test_chunks_add_up_to_the_whole(monkeypatch):
    _, _, noisy_planes, pilot, level = _start_planes(25, 4)
    whole = grouped_wiener.grouped_wiener(noisy_planes, pilot, [level / 255] * 3)
    monkeypatch.setattr(grouped_wiener, "CHUNK", 37)
    chunked = grouped_wiener.grouped_wiener(noisy_planes, pilot, [level / 255] * 3)
    for a, b in zip(whole, chunked):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_tiny_or_clean_planes_come_back_as_the_pilot():
    rng = np.random.default_rng(0)
    small, guide = [rng.random((12, 40))], [rng.random((12, 40))]
    assert grouped_wiener.grouped_wiener(small, guide, [0.1]) is guide
    big = [rng.random((40, 40))]
    assert grouped_wiener.grouped_wiener(big, big, [0.0]) is big


def test_large_photos_skip_the_grouped_pass(monkeypatch):
    _, noisy, _, pilot, level = _start_planes(25, 5)
    monkeypatch.setattr(denoiser, "MAX_PIXELS", 72 * 72 - 1)
    expected = denoiser._from_opponent_planes(pilot, noisy.shape)
    np.testing.assert_allclose(denoiser.denoised_start(noisy, level), expected, atol=1e-6)
