import os

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageOps

from dip_gui.core.errors import ImageReadError, ImageWriteError
from dip_gui.core.imaging import load_image, load_mask, save_image


def gradient_rgb(h=12, w=20) -> np.ndarray:
    ys, xs = np.mgrid[0:h, 0:w]
    return np.stack([xs * 255 // max(w - 1, 1), ys * 255 // max(h - 1, 1), (xs + ys) % 256], axis=2).astype(np.uint8)


@pytest.mark.parametrize("ext", ["png", "jpg", "tiff", "webp", "bmp", "gif"])
def test_formats_load_as_float_rgb(tmp_path, ext):
    path = tmp_path / f"a.{ext}"
    Image.fromarray(gradient_rgb()).save(path)
    image = load_image(path)
    assert image.rgb.shape == (12, 20, 3) and image.rgb.dtype == np.float32
    assert image.rgb.min() >= 0.0 and image.rgb.max() <= 1.0


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow(tmp_path, orientation):
    path = tmp_path / "rot.jpg"
    im = Image.fromarray(gradient_rgb())
    exif = im.getexif()
    exif[0x0112] = orientation
    im.save(path, exif=exif, quality=100)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"), np.float32) / 255
    np.testing.assert_allclose(load_image(path).rgb, expected, atol=1e-6)


def test_grey_palette_cmyk_and_alpha(tmp_path):
    Image.fromarray(gradient_rgb()[:, :, 0]).save(tmp_path / "grey.png")
    grey = load_image(tmp_path / "grey.png")
    assert grey.grey and np.array_equal(grey.rgb[..., 0], grey.rgb[..., 2])
    Image.fromarray(gradient_rgb()).convert("P").save(tmp_path / "pal.png")
    assert load_image(tmp_path / "pal.png").rgb.shape == (12, 20, 3)
    Image.fromarray(gradient_rgb()).convert("CMYK").save(tmp_path / "cmyk.jpg")
    assert load_image(tmp_path / "cmyk.jpg").rgb.shape == (12, 20, 3)
    rgba = np.dstack([gradient_rgb(), np.full((12, 20), 128, np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "alpha.png")
    loaded = load_image(tmp_path / "alpha.png")
    assert loaded.alpha is not None and loaded.alpha[0, 0] == pytest.approx(128 / 255)
    save_image(tmp_path / "alpha_out.png", loaded.rgb, alpha=loaded.alpha)
    assert Image.open(tmp_path / "alpha_out.png").mode == "RGBA"


def test_gif_first_frame(tmp_path):
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    rgb = load_image(tmp_path / "anim.gif").rgb
    assert rgb[0, 0, 0] > 0.9 and rgb[0, 0, 2] < 0.1


def test_sixteen_bit_colour_and_grey_keep_precision(tmp_path):
    data = (np.arange(16 * 16 * 3).reshape(16, 16, 3) * 85 % 65536).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "c16.png"), data[:, :, ::-1])
    image = load_image(tmp_path / "c16.png")
    assert image.bit_depth == 16
    np.testing.assert_allclose(image.rgb * 65535, data, atol=0.02)
    save_image(tmp_path / "c16_out.png", image.rgb, bit_depth=16)
    back = cv2.imread(str(tmp_path / "c16_out.png"), cv2.IMREAD_UNCHANGED)[:, :, ::-1]
    np.testing.assert_array_equal(back, data)
    grey = (np.arange(256).reshape(16, 16) * 257).astype(np.uint16)
    Image.fromarray(grey).save(tmp_path / "g16.png")
    g = load_image(tmp_path / "g16.png")
    assert g.bit_depth == 16 and g.grey


def test_broken_files_raise_one_line_errors(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("hello")
    Image.fromarray(gradient_rgb()).save(tmp_path / "ok.png")
    (tmp_path / "cut.png").write_bytes((tmp_path / "ok.png").read_bytes()[:50])
    for name, pattern in [("missing.png", "no such file"), ("empty.png", "empty"), ("text.png", "not an image"),
                          ("cut.png", "cannot decode")]:
        with pytest.raises(ImageReadError, match=pattern) as exc:
            load_image(tmp_path / name)
        assert "\n" not in str(exc.value)
    with pytest.raises(ImageReadError, match="not a file"):
        load_image(tmp_path)


def _png_claiming(path, width: int, height: int) -> None:
    """A PNG whose header claims ``width`` x ``height`` pixels, with almost no data: size checks run on
    the header, before any pixel is decoded."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 16))
                     + chunk(b"IEND", b""))


def test_decompression_bomb_header_is_refused(tmp_path):
    # A PNG whose header claims 100000 x 100000 pixels: refused before decoding.
    _png_claiming(tmp_path / "bomb.png", 100_000, 100_000)
    with pytest.raises(ImageReadError, match=r"too large|limit"):
        load_image(tmp_path / "bomb.png")


def test_save_never_overwrites_a_protected_file_and_is_atomic(tmp_path):
    src = tmp_path / "in.png"
    Image.fromarray(gradient_rgb()).save(src)
    before = src.read_bytes()
    with pytest.raises(ImageWriteError, match="overwrite"):
        save_image(src, np.zeros((4, 4, 3), np.float32), protected=(src,))
    assert src.read_bytes() == before
    save_image(tmp_path / "o.png", np.full((4, 4, 3), np.nan, np.float32))  # NaN never reaches a file
    assert load_image(tmp_path / "o.png").rgb.max() == 0
    assert sorted(os.listdir(tmp_path)) == ["in.png", "o.png"]  # no temporary left behind


def test_mask_conventions(tmp_path):
    holes = np.zeros((6, 6), np.float32)
    holes[2:4, 2:4] = 1
    save_image(tmp_path / "m.png", holes)
    known = load_mask(tmp_path / "m.png", (6, 6))
    assert known[2, 2] == 0 and known[0, 0] == 1
    assert load_mask(tmp_path / "m.png", (6, 6), white_is_hole=False)[2, 2] == 1


@settings(max_examples=25, deadline=None)
@given(st.binary(min_size=0, max_size=300))
def test_random_bytes_never_crash_the_loader(tmp_path_factory, payload):
    path = tmp_path_factory.mktemp("fuzz") / "x.png"
    path.write_bytes(payload)
    try:
        image = load_image(path)
    except ImageReadError as exc:
        assert "\n" not in str(exc)
    else:
        assert image.rgb.ndim == 3


def test_photos_up_to_the_120_megapixel_limit_are_not_refused_as_bombs(tmp_path):
    """Pillow's own bomb check starts at 89 MP; the project's limit is 120 MP, with its own message."""
    from dip_gui.core.imaging import ImageReadError, load_image

    camera = tmp_path / "camera.png"
    _png_claiming(camera, 12000, 8500)  # 102 MP: a medium-format camera's photo
    with pytest.raises(ImageReadError) as exc:
        load_image(camera)  # the header is all there is: it cannot be decoded, but it is not refused for its size
    assert "too large" not in str(exc.value) and "bomb" not in str(exc.value).lower()

    huge = tmp_path / "huge.png"
    _png_claiming(huge, 15000, 10000)  # 150 MP
    with pytest.raises(ImageReadError, match="120 MP limit"):
        load_image(huge)
