"""Results in sRGB on request: a photo's pixels converted from its ICC profile to sRGB.

A result keeps its photo's profile by default (core/imaging.py), which every colour-managed viewer
honours. Where the result goes somewhere that ignores profiles (most web pages, many upload forms),
a Display P3 or Adobe RGB photo looks washed out there; converting to sRGB fixes what it looks like
everywhere, at the cost of the colours outside sRGB (clipped: relative colourimetric intent).

Photos carry matrix/TRC profiles (Display P3, Adobe RGB, ProPhoto, a camera's): those are converted in
floating point from the profile's own tone curves and colorants, so a 16-bit result stays 16-bit
exact. Any other RGB profile goes through LittleCMS (Pillow's ImageCms), which converts 8-bit pixels.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from functools import cache

import numpy as np
from PIL import Image, ImageCms

Curve = Callable[[np.ndarray], np.ndarray]


@cache
def srgb_profile() -> bytes:
    """The sRGB profile written into converted results (LittleCMS's built-in sRGB)."""
    return bytes(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())


def describes_srgb(profile: bytes) -> bool:
    """Whether ``profile`` is an sRGB profile (by its description), so converting changes nothing."""
    try:
        description = ImageCms.getProfileDescription(ImageCms.getOpenProfile(io.BytesIO(profile)))
    except (OSError, ImageCms.PyCMSError):
        return False
    return "srgb" in description.lower().replace(" ", "").replace("-", "")


def check_convertible(profile: bytes) -> None:
    """ValueError, with the reason, where ``profile`` cannot be converted from (checked before a run)."""
    try:
        _lcms_transform(profile)
    except (OSError, ImageCms.PyCMSError) as exc:
        raise ValueError(f"its colour profile cannot be read ({exc})") from None


def to_srgb(image: np.ndarray, profile: bytes) -> np.ndarray:
    """``image`` (HxWx3 float in [0, 1], in ``profile``'s colours) in sRGB. ValueError where the
    profile cannot be read as an RGB profile."""
    check_convertible(profile)
    data = np.clip(np.nan_to_num(image, nan=0.0), 0.0, 1.0).astype(np.float32)
    shaper = _matrix_shaper(profile)
    if shaper is not None:
        curves, to_srgb_linear = shaper
        linear = np.stack([curve(data[..., channel]) for channel, curve in enumerate(curves)], axis=-1)
        converted = np.clip(linear.reshape(-1, 3) @ to_srgb_linear.T, 0.0, 1.0).reshape(data.shape)
        return srgb_encode(converted).astype(np.float32)
    eight = Image.fromarray((data * 255.0 + 0.5).astype(np.uint8), "RGB")
    return np.asarray(ImageCms.applyTransform(eight, _lcms_transform(profile)), dtype=np.float32) / 255.0


@cache
def _lcms_transform(profile: bytes) -> ImageCms.ImageCmsTransform:
    source = ImageCms.getOpenProfile(io.BytesIO(profile))
    target = ImageCms.getOpenProfile(io.BytesIO(srgb_profile()))
    return ImageCms.buildTransform(source, target, "RGB", "RGB", renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)


@cache
def _matrix_shaper(profile: bytes) -> tuple[tuple[Curve, Curve, Curve], np.ndarray] | None:
    """The tone curves of a matrix/TRC profile and the matrix from its linear RGB to linear sRGB
    (both through the D50 connection space), or None for a profile of another kind."""
    opened = ImageCms.getOpenProfile(io.BytesIO(profile)).profile
    if not opened.is_matrix_shaper:
        return None
    try:
        curves = tuple(_tone_curve(profile, tag) for tag in (b"rTRC", b"gTRC", b"bTRC"))
    except (KeyError, ValueError, struct.error):
        return None
    srgb = ImageCms.getOpenProfile(io.BytesIO(srgb_profile())).profile
    try:
        source_to_xyz, srgb_to_xyz = _colorants(opened), _colorants(srgb)
    except ValueError:
        return None
    return (curves[0], curves[1], curves[2]), np.linalg.solve(srgb_to_xyz, source_to_xyz)


def _colorants(profile: ImageCms.core.CmsProfile) -> np.ndarray:
    """Columns: the XYZ (D50) of full red, green and blue. ValueError where the profile lacks one."""
    colorants = (profile.red_colorant, profile.green_colorant, profile.blue_colorant)
    if any(colorant is None for colorant in colorants):
        raise ValueError("a matrix profile without its colorants")
    return np.array([colorant[0] for colorant in colorants if colorant is not None], np.float64).T


def _tag(profile: bytes, signature: bytes) -> bytes:
    count = struct.unpack(">I", profile[128:132])[0]
    for index in range(count):
        entry = profile[132 + 12 * index : 144 + 12 * index]
        if entry[:4] == signature:
            offset, size = struct.unpack(">II", entry[4:12])
            return profile[offset : offset + size]
    raise KeyError(signature)


def _tone_curve(profile: bytes, signature: bytes) -> Curve:
    """Encoded value -> linear light, from a ``curv`` (gamma or table) or ``para`` tag."""
    data = _tag(profile, signature)
    kind = data[:4]
    if kind == b"curv":
        count = struct.unpack(">I", data[8:12])[0]
        if count == 0:
            return lambda x: x
        if count == 1:
            gamma = struct.unpack(">H", data[12:14])[0] / 256.0
            return lambda x: np.power(x, gamma)
        table = np.array(struct.unpack(f">{count}H", data[12 : 12 + 2 * count]), np.float32) / 65535.0
        points = np.linspace(0.0, 1.0, count, dtype=np.float32)
        return lambda x: np.interp(x, points, table).astype(np.float32)
    if kind == b"para":
        function = struct.unpack(">H", data[8:10])[0]
        counts = {0: 1, 1: 3, 2: 4, 3: 5, 4: 7}
        if function not in counts:
            raise ValueError(f"parametric curve type {function}")
        params = [value / 65536.0 for value in struct.unpack(f">{counts[function]}i", data[12 : 12 + 4 * counts[function]])]
        return _parametric(function, params)
    raise ValueError(f"tone curve of type {kind!r}")


def _parametric(function: int, params: list[float]) -> Curve:
    """ICC parametric curves (ICC.1:2010 table 65): a power segment above a break, a line or a constant below."""
    g, a, b, c, d, e, f = (params + [0.0] * 7)[:7]
    if function == 0:
        return lambda x: np.power(x, g)
    if function in (1, 2):
        offset = c if function == 2 else 0.0
        start = -b / a
        return lambda x: np.where(x >= start, np.power(np.maximum(a * x + b, 0.0), g) + offset, offset)
    if function == 3:
        return lambda x: np.where(x >= d, np.power(np.maximum(a * x + b, 0.0), g), c * x)
    return lambda x: np.where(x >= d, np.power(np.maximum(a * x + b, 0.0), g) + e, c * x + f)


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    """Linear light (0-1) through the sRGB transfer curve."""
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * np.power(linear, 1 / 2.4) - 0.055)
