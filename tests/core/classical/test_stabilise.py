"""The variance-stabilising transform made from a noise profile."""

import numpy as np

from dip_gui.core.classical.stabilise import Stabiliser

CENTRES = (np.arange(8) + 0.5) / 8


def test_the_inverse_undoes_the_transform():
    stabiliser = Stabiliser.for_levels(CENTRES, (4 + 30 * CENTRES) / 255)
    values = np.linspace(0, 1, 257, dtype=np.float32).reshape(1, -1, 1)
    assert stabiliser.forward(values).shape == values.shape
    np.testing.assert_allclose(stabiliser.inverse(stabiliser.forward(values)), values, atol=1e-4)
    assert stabiliser.forward(np.float32(0.0)) == 0.0 and abs(stabiliser.forward(np.float32(1.0)) - 1.0) < 1e-6


def test_noise_that_grows_with_brightness_comes_out_even():
    rng = np.random.default_rng(0)
    stabiliser = Stabiliser.for_levels(CENTRES, (4 + 30 * CENTRES) / 255)
    for brightness in (0.2, 0.5, 0.8):
        level = (4 + 30 * brightness) / 255
        samples = brightness + level * rng.standard_normal(100_000)
        assert abs(stabiliser.forward(samples).std() / stabiliser.noise - 1) < 0.05, brightness


def test_even_noise_keeps_the_photo_as_it_is():
    stabiliser = Stabiliser.for_levels(CENTRES, np.full(8, 0.05))
    values = np.linspace(0, 1, 11)
    np.testing.assert_allclose(stabiliser.forward(values), values, atol=1e-6)
    assert abs(stabiliser.noise - 0.05) < 1e-9


def test_values_beyond_black_and_white_go_through_unclipped():
    """A photo given extra noise (the start check's recorrupted copy) holds values under 0 and over
    1: clipping them would lift its shadows and darken its highlights, a bias its start would carry
    and the network fitted to the same values would not."""
    values = np.array([-0.3, -0.05, 1.05, 1.3])
    even = Stabiliser.for_levels(CENTRES, np.full(8, 0.05))
    np.testing.assert_allclose(even.forward(values), values, atol=1e-6)
    growing = Stabiliser.for_levels(CENTRES, (4 + 30 * CENTRES) / 255)
    forward = growing.forward(values)
    assert forward[0] < forward[1] < 0 and 1 < forward[2] < forward[3]
    np.testing.assert_allclose(growing.inverse(forward), values, atol=1e-5)
