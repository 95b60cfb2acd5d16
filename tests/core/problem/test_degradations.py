import numpy as np
import pytest
import torch

from dip_gui.core.errors import InvalidParameterError
from dip_gui.core.networks.lanczos import lanczos_kernel
from dip_gui.core.problem.degradations import (
    add_gaussian_noise,
    downscale,
    jpeg_compress,
    random_known_mask,
    sr_downsampler,
)


@pytest.mark.parametrize("factor", [2, 4, 8])
def test_lanczos_kernel_is_normalised_symmetric_and_4f_wide(factor):
    kernel = lanczos_kernel(factor)
    assert kernel.shape == (4 * factor, 4 * factor)
    assert kernel.sum() == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(kernel, kernel[::-1, ::-1], atol=1e-7)
    assert kernel.max() == kernel[2 * factor - 1, 2 * factor - 1]  # peak at the centre (phase 0.5)


@pytest.mark.parametrize("factor", [2, 4, 8])
def test_downsampler_keeps_a_constant_image_constant_and_divides_size(factor):
    op = sr_downsampler(factor)
    x = torch.full((1, 3, 8 * factor, 5 * factor), 0.37)
    y = op(x)
    assert y.shape == (1, 3, 8, 5)
    torch.testing.assert_close(y, torch.full_like(y, 0.37), atol=1e-5, rtol=0)


def test_downsampler_rejects_scale_three():
    with pytest.raises(InvalidParameterError, match="2, 4, 8"):
        sr_downsampler(3)


def test_downscale_cuts_to_a_multiple(image32):
    low = downscale(image32[:30, :31], 4)
    assert low.shape == (7, 7, 3)


def test_noise_has_the_asked_sigma():
    flat = np.full((200, 200, 3), 0.5, np.float32)
    noisy = add_gaussian_noise(flat, 25, seed=3)
    assert np.std(noisy - flat) * 255 == pytest.approx(25, rel=0.03)


def test_random_mask_drops_the_asked_fraction():
    mask = random_known_mask((100, 100), 0.5, seed=1)
    assert set(np.unique(mask)) == {0.0, 1.0}
    assert mask.mean() == pytest.approx(0.5, abs=0.03)


def test_jpeg_roundtrip_changes_the_image_but_keeps_its_shape(image32):
    out = jpeg_compress(image32, 10)
    assert out.shape == image32.shape and np.abs(out - image32).mean() > 0.001


@pytest.mark.parametrize("factor", [2, 4])
def test_a_camera_blur_widens_the_kernel_and_keeps_it_centred_and_normalised(factor):
    plain, blurred = lanczos_kernel(factor), lanczos_kernel(factor, blur=1.5)
    np.testing.assert_array_equal(lanczos_kernel(factor, blur=0.0), plain)  # no blur: the paper's kernel exactly
    assert blurred.shape[0] > plain.shape[0] and (blurred.shape[0] - factor) % 2 == 0
    assert blurred.sum() == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(blurred, blurred[::-1, ::-1], atol=1e-7)
    assert blurred.max() < plain.max()  # the blur spreads the weight


def test_the_blurred_downsampler_is_a_gaussian_blur_then_the_plain_one(image32):
    import cv2

    sigma, factor = 1.5, 2
    blurred_first = cv2.GaussianBlur(image32, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
    expected = downscale(blurred_first, factor)
    got = downscale(image32, factor, blur=sigma)
    inner = slice(3, -3)  # the borders pad differently
    np.testing.assert_allclose(got[inner, inner], expected[inner, inner], atol=2e-3)
    assert np.abs(got - downscale(image32, factor)).max() > 0.01


def test_a_negative_or_huge_blur_is_refused():
    for blur in (-0.5, 100.0):
        with pytest.raises(InvalidParameterError, match="blur"):
            sr_downsampler(2, blur)
