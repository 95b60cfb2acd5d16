"""--to-srgb: a wide-gamut photo's result converted to sRGB, exact in 16 bits, and tagged sRGB."""

import io

import numpy as np
import pytest
from PIL import Image, ImageCms

from dip_gui.core.colour import describes_srgb, srgb_profile, to_srgb
from dip_gui.core.imaging import LoadedImage, PhotoMetadata, load_image, save_like
from tests.makers import adobe_rgb_profile


def lcms_to_srgb(pixels: np.ndarray, profile: bytes) -> np.ndarray:
    """LittleCMS's own 8-bit conversion, the reference."""
    transform = ImageCms.buildTransform(ImageCms.getOpenProfile(io.BytesIO(profile)),
                                        ImageCms.createProfile("sRGB"), "RGB", "RGB")
    return np.asarray(ImageCms.applyTransform(Image.fromarray(pixels), transform), np.float32) / 255.0


def test_a_wide_gamut_photo_is_converted_as_littlecms_converts_it():
    pixels = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    converted = to_srgb(pixels.astype(np.float32) / 255.0, adobe_rgb_profile())
    assert np.abs(converted - lcms_to_srgb(pixels, adobe_rgb_profile())).max() < 1.0 / 255.0  # its 8-bit rounding
    assert np.abs(converted - pixels / 255.0).max() > 30 / 255.0  # the colours did move
    assert describes_srgb(srgb_profile()) and not describes_srgb(adobe_rgb_profile())


def test_sixteen_bit_results_keep_their_precision():
    ramp = np.linspace(0.2, 0.21, 1000, dtype=np.float32)  # a gentle 16-bit gradient: 0.01 over 1000 pixels
    image = np.stack([ramp, ramp * 0.9, ramp * 1.1], axis=-1)[None]
    converted = to_srgb(image, adobe_rgb_profile())
    levels = np.unique(np.round(converted[0, :, 1] * 65535))
    assert len(levels) > 300  # a conversion through 8 bits would leave 3 or 4


@pytest.mark.parametrize(("name", "bit_depth"), [("out.png", 8), ("out.png", 16), ("out.jpg", 8), ("out.tif", 16)])
def test_a_result_saved_in_srgb_is_tagged_srgb_and_keeps_its_exif(tmp_path, name, bit_depth):
    exif = Image.Exif()
    exif[0x8298] = "(c) A. Photographer"
    metadata = PhotoMetadata(icc_profile=adobe_rgb_profile(), exif=exif.tobytes())
    pixels = np.random.default_rng(1).random((20, 24, 3)).astype(np.float32)
    photo = LoadedImage(pixels, bit_depth=bit_depth, metadata=metadata)
    path = save_like(tmp_path / name, pixels, photo, to_srgb=True)
    written = load_image(path)
    if name != "out.tif":  # 16-bit TIFF is written by OpenCV, which keeps no metadata
        assert written.metadata is not None and written.metadata.icc_profile == srgb_profile()
        assert b"A. Photographer" in written.metadata.exif
    tolerance = 1.5 / 255 if name.endswith(".png") or name.endswith(".tif") else 0.1
    assert np.abs(written.rgb - to_srgb(pixels, adobe_rgb_profile())).mean() < tolerance


def test_a_photo_in_srgb_or_without_a_profile_is_left_as_it_is(tmp_path):
    pixels = np.random.default_rng(2).random((8, 8, 3)).astype(np.float32)
    for metadata in (None, PhotoMetadata(icc_profile=srgb_profile())):
        path = save_like(tmp_path / "same.png", pixels, LoadedImage(pixels, metadata=metadata), to_srgb=True)
        assert np.abs(load_image(path).rgb - pixels).max() <= 0.5 / 255 + 1e-6
