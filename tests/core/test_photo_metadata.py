"""A result keeps its photo's colour profile and EXIF; a multi-frame file says it is one."""

from functools import cache

import numpy as np
import pytest
from PIL import Image, ImageCms

from dip_gui.core.imaging import load_image, save_image

ORIENTATION, MAKE, COPYRIGHT = 0x0112, 0x010F, 0x8298


@cache
def wide_gamut_profile() -> bytes:
    """An RGB profile that is not sRGB (viewers would show the pixels differently without it); made
    once, as a profile made again carries another creation time."""
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    data = bytearray(profile.tobytes())
    data[-8:] = b"DIPTEST!"  # distinct bytes: the test compares profiles byte for byte
    return bytes(data)


@pytest.fixture
def camera_jpeg(tmp_path):
    """A portrait phone photo: an RGB profile, camera and copyright EXIF, orientation 6 (turn right)."""
    exif = Image.Exif()
    exif[MAKE], exif[COPYRIGHT], exif[ORIENTATION] = "PhoneCo", "(c) A. Photographer", 6
    pixels = np.random.default_rng(0).integers(0, 255, (24, 40, 3), dtype=np.uint8)
    path = tmp_path / "phone.jpg"
    Image.fromarray(pixels).save(path, quality=95, icc_profile=wide_gamut_profile(), exif=exif.tobytes())
    return path


@pytest.mark.parametrize(("name", "bit_depth"), [("out.png", 8), ("out.jpg", 8), ("out.webp", 8), ("out.tif", 8),
                                                 ("out16.png", 16)])
def test_the_result_keeps_the_profile_and_exif_upright(camera_jpeg, tmp_path, name, bit_depth):
    photo = load_image(camera_jpeg)
    assert photo.size == (40, 24)  # turned upright on loading
    out = save_image(tmp_path / name, photo.rgb, bit_depth=bit_depth, metadata=photo.metadata)
    with Image.open(out) as written:
        assert written.info.get("icc_profile") == wide_gamut_profile()
        exif = written.getexif()
        assert exif[MAKE] == "PhoneCo" and exif[COPYRIGHT] == "(c) A. Photographer"
        assert exif.get(ORIENTATION, 1) == 1  # the pixels are upright: turning them again would be wrong
    again = load_image(out)
    assert again.size == (40, 24)
    if bit_depth == 16:
        assert again.bit_depth == 16


def test_a_grey_result_drops_an_rgb_profile_and_bmp_carries_nothing(camera_jpeg, tmp_path):
    photo = load_image(camera_jpeg)
    grey = save_image(tmp_path / "grey.png", photo.rgb, grey=True, metadata=photo.metadata)
    with Image.open(grey) as written:
        assert "icc_profile" not in written.info and written.getexif()[MAKE] == "PhoneCo"
    bmp = save_image(tmp_path / "plain.bmp", photo.rgb, metadata=photo.metadata)
    assert load_image(bmp).size == (40, 24)


def test_a_photo_without_metadata_has_none_and_one_frame(tmp_path):
    path = tmp_path / "plain.png"
    Image.new("RGB", (8, 8)).save(path)
    photo = load_image(path)
    assert photo.metadata is None and photo.frames == 1 and photo.frames_note() == ""


def test_an_animation_says_only_its_first_frame_is_restored(tmp_path):
    path = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (8, 8), colour) for colour in ("red", "green", "blue")]
    frames[0].save(path, save_all=True, append_images=frames[1:])
    photo = load_image(path)
    assert photo.frames == 3
    assert photo.frames_note() == "anim.gif has 3 frames or pages; only the first is restored."


def test_a_phone_photo_in_heic_opens_with_its_exif(tmp_path):
    exif = Image.Exif()
    exif[MAKE] = "PhoneCo"
    ramp = np.linspace(0, 255, 48)[None, :, None] * np.array([1.0, 0.6, 0.3])
    pixels = np.broadcast_to(ramp, (32, 48, 3)).astype(np.uint8)
    path = tmp_path / "IMG_0001.HEIC"
    Image.fromarray(pixels).save(path, format="HEIF", quality=95, exif=exif.tobytes())
    photo = load_image(path)
    assert photo.size == (32, 48) and photo.bit_depth == 8
    assert np.abs(photo.rgb * 255 - pixels).mean() < 4  # lossy, but the same picture
    out = save_image(tmp_path / "out.png", photo.rgb, metadata=photo.metadata)
    with Image.open(out) as written:
        assert written.getexif()[MAKE] == "PhoneCo"
