"""Load and save photos: float32 RGB in [0, 1] at the edges, every pixel of the file kept.

Pillow reads every format; OpenCV reads and writes 16-bit colour PNG/TIFF, which Pillow would
silently truncate to 8 bits. EXIF orientation is applied on the array so both readers share it.

A result keeps its photo's ICC colour profile and EXIF block (camera, date, copyright): without the
profile a wide-gamut photo (Display P3, Adobe RGB) looks washed out in every colour-managed viewer.
PNG, JPEG, WebP and 8-bit TIFF carry both; a 16-bit PNG gets them as iCCP and eXIf chunks; BMP and
16-bit TIFF (OpenCV's writer) carry neither.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from dip_gui.core import colour
from dip_gui.core.atomic import atomic_target
from dip_gui.core.errors import ImageReadError, ImageWriteError, MaskError
from dip_gui.core.png_chunks import with_png_chunks

#: Refuse images above this many pixels before decoding them (decompression bombs).
MAX_PIXELS = 120_000_000
# Pillow's decompression-bomb check (a warning above its limit, made an error below) starts at 89 MP:
# set to the project's limit, it refuses only what _check_pixel_count would, so camera photos of 90-120
# MP open and larger ones get the limit's own message.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


def _open_phone_photos() -> None:
    """Teach Pillow HEIC/HEIF (phone photos) through pillow-heif, a declared dependency; an install
    without it reads those files as "a format that is not supported"."""
    try:
        from pillow_heif import register_heif_opener
    except ImportError:  # pragma: no cover - an install that skipped it
        return
    register_heif_opener()


_open_phone_photos()
SIXTEEN_BIT_FORMATS = {".png", ".tif", ".tiff"}
#: The file names a folder of photos is read for (a batch): what load_image decodes.
PHOTO_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".heic", ".heif", ".avif", ".bmp", ".gif")
WRITABLE_FORMATS = {".png", ".tif", ".tiff", ".jpg", ".jpeg", ".webp", ".bmp"}
_EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True)
class PhotoMetadata:
    """What a result keeps of its photo's file: the ICC profile and the EXIF block, its orientation
    reset to upright (the pixels are turned on loading)."""

    icc_profile: bytes | None = None
    exif: bytes | None = None

    def profile_for(self, grey: bool) -> bytes | None:
        """The profile if it describes the output's colours (an RGB profile on a grey file, or a CMYK
        one on the RGB pixels decoded from it, would misdescribe them)."""
        if self.icc_profile is None or len(self.icc_profile) < 20:
            return None
        space = self.icc_profile[16:20]
        return self.icc_profile if space == (b"GRAY" if grey else b"RGB ") else None


@dataclass
class LoadedImage:
    """A decoded photo. ``rgb`` is HxWx3 float32 in [0, 1]; ``alpha`` HxW or None; ``frames`` the
    file's frames or pages (only the first is read)."""

    rgb: np.ndarray
    alpha: np.ndarray | None = None
    bit_depth: int = 8
    grey: bool = False
    path: Path | None = None
    metadata: PhotoMetadata | None = None
    frames: int = 1

    def frames_note(self) -> str:
        """A sentence for the user where the file holds more than one frame, else empty."""
        if self.frames <= 1:
            return ""
        return f"{self.path.name if self.path else 'The image'} has {self.frames} frames or pages; only the first is restored."

    @property
    def size(self) -> tuple[int, int]:
        """(height, width)."""
        return self.rgb.shape[0], self.rgb.shape[1]


def load_image(path: str | os.PathLike[str]) -> LoadedImage:
    """Read a photo file; raise ImageReadError with a one-line reason if it cannot be used."""
    path = Path(path)
    _check_readable_file(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                _check_pixel_count(path, im.size)
                im.seek(0)  # GIF / multi-page TIFF: the first frame
                orientation = _orientation(im)
                metadata, frames = _read_metadata(im), int(getattr(im, "n_frames", 1))
                array = _read_sixteen_bit(path) if _may_be_sixteen_bit(path, im) else None
                if array is None:
                    array = _pillow_to_array(im)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageReadError(f"{path.name}: image has more pixels than the {MAX_PIXELS // 1_000_000} MP limit") from None
    except UnidentifiedImageError:
        raise ImageReadError(f"{path.name}: not an image file, or a format that is not supported") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageReadError(f"{path.name}: cannot decode image ({_first_line(exc)})") from None
    loaded = _to_loaded(_apply_orientation(array, orientation), path)
    loaded.metadata, loaded.frames = metadata, frames
    return loaded


def load_mask(path: str | os.PathLike[str], size: tuple[int, int], white_is_hole: bool = True) -> np.ndarray:
    """Read a mask file as float32 HxW with 1 = known pixel, 0 = hole (the core convention).

    Users paint the holes white, so that is the default; ``white_is_hole=False`` reads the
    paper's files, where white marks the known pixels.
    """
    image = load_image(path)
    if image.size != tuple(size):
        raise MaskError(f"{Path(path).name}: mask is {image.size[1]}x{image.size[0]} but the photo is {size[1]}x{size[0]}")
    white = image.rgb.mean(axis=2) > 0.5
    known = ~white if white_is_hole else white
    return known.astype(np.float32)


def save_image(
    path: str | os.PathLike[str],
    rgb: np.ndarray,
    *,
    alpha: np.ndarray | None = None,
    bit_depth: int = 8,
    grey: bool = False,
    quality: int = 95,
    protected: tuple[str | os.PathLike[str], ...] = (),
    metadata: PhotoMetadata | None = None,
) -> Path:
    """Write HxWx3 (or HxW) float data in [0, 1] atomically; never over a ``protected`` file.

    16-bit output is kept for PNG/TIFF; other formats get 8 bits. Alpha is re-attached where the
    format supports it. NaNs never reach the file (they become 0). ``metadata`` (the photo's ICC
    profile and EXIF) goes into every format that holds it.
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in WRITABLE_FORMATS:
        raise ImageWriteError(f"{path.name}: cannot write '{ext or 'no extension'}' files; use PNG, TIFF, JPEG, WebP or BMP")
    for other in protected:
        if other and same_file(path, Path(other)):
            raise ImageWriteError(f"{path.name}: refusing to overwrite an input file; choose another output name")
    if not path.parent.exists():
        raise ImageWriteError(f"{path.parent}: output folder does not exist")
    data = _prepare_channels(rgb, alpha, grey, ext)
    sixteen = bit_depth == 16 and ext in SIXTEEN_BIT_FORMATS
    try:
        with atomic_target(path, suffix=ext) as tmp_name:
            if sixteen:
                _write_sixteen_bit(tmp_name, data, ext, metadata)
            else:
                _write_eight_bit(tmp_name, data, ext, quality, metadata)
    except OSError as exc:
        raise ImageWriteError(f"{path.name}: cannot write ({_first_line(exc)})") from None
    return path


def save_like(path: str | os.PathLike[str], image: np.ndarray, photo: LoadedImage, *, quality: int = 95,
              protected: tuple[str | os.PathLike[str], ...] = (), to_srgb: bool = False) -> Path:
    """Write a result the way its input photo was: bit depth, grey, alpha (resized to the result, which
    super-resolution makes larger), colour profile and EXIF; with ``to_srgb`` its colours converted
    to sRGB and tagged so (core/colour.py)."""
    alpha = photo.alpha
    if alpha is not None and alpha.shape != image.shape[:2]:
        alpha = cv2.resize(alpha, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_CUBIC)
    metadata = photo.metadata
    if to_srgb:
        image, metadata = in_srgb(image, photo)
    return save_image(path, image, alpha=alpha, bit_depth=photo.bit_depth, grey=photo.grey, quality=quality,
                      protected=protected, metadata=metadata)


def check_srgb_conversion(photo: LoadedImage) -> None:
    """ImageWriteError where the photo's result could not be converted to sRGB (its profile cannot be
    read): asked before a run, on one pixel, so that the run is not lost at its save."""
    in_srgb(photo.rgb[:1, :1], photo)


def in_srgb(image: np.ndarray, photo: LoadedImage) -> tuple[np.ndarray, PhotoMetadata | None]:
    """``image`` and the metadata to save it with, converted from the photo's RGB profile to sRGB.
    A photo without a profile (read as sRGB), in sRGB already, or grey is left as it is. ImageWriteError
    where the profile cannot be read."""
    metadata = photo.metadata
    profile = None if metadata is None or photo.grey else metadata.profile_for(grey=False)
    if metadata is None or profile is None or colour.describes_srgb(profile):
        return image, metadata
    try:
        converted = colour.to_srgb(image, profile)
    except ValueError as exc:
        raise ImageWriteError(f"cannot convert to sRGB: {exc}") from None
    return converted, replace(metadata, icc_profile=colour.srgb_profile())


def three_channels(image: np.ndarray) -> np.ndarray:
    """An HxWx1 grey image as HxWx3 (the channel repeated), for comparing and showing it beside colour
    ones; an HxWx3 image as it is."""
    return np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Float [0, 1] -> uint8 with rounding; NaN -> 0."""
    return (np.clip(np.nan_to_num(image, nan=0.0), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


# --- reading helpers -------------------------------------------------------------------------


def _check_readable_file(path: Path) -> None:
    try:
        exists, is_file = path.exists(), path.is_file()
        empty = is_file and path.stat().st_size == 0
    except OSError as exc:  # a name the file system refuses (too long), a folder that cannot be read
        raise ImageReadError(f"{path}: cannot be read ({exc.strerror or _first_line(exc)})") from None
    if not exists:
        raise ImageReadError(f"{path}: no such file")
    if not is_file:
        raise ImageReadError(f"{path}: not a file")
    if empty:
        raise ImageReadError(f"{path.name}: file is empty")


def _check_pixel_count(path: Path, size: tuple[int, int]) -> None:
    width, height = size
    if width <= 0 or height <= 0:
        raise ImageReadError(f"{path.name}: image has no pixels")
    if width * height > MAX_PIXELS:
        raise ImageReadError(
            f"{path.name}: image claims {width}x{height} pixels, more than the {MAX_PIXELS // 1_000_000} MP limit"
        )


def _read_metadata(im: Image.Image) -> PhotoMetadata | None:
    """The file's ICC profile and EXIF (orientation reset to upright), or None where it has neither."""
    profile = im.info.get("icc_profile") or None
    try:
        exif = im.getexif()
        if exif and _EXIF_ORIENTATION in exif:
            exif[_EXIF_ORIENTATION] = 1
        exif_bytes = exif.tobytes() if exif else None
    except Exception:  # a broken EXIF block is dropped, never a reason to refuse the photo
        exif_bytes = None
    if profile is None and exif_bytes is None:
        return None
    return PhotoMetadata(profile if isinstance(profile, bytes) else None, exif_bytes)


def _orientation(im: Image.Image) -> int:
    try:
        return int(im.getexif().get(_EXIF_ORIENTATION, 1))
    except Exception:  # a broken EXIF block must not make the photo unreadable
        return 1


def _may_be_sixteen_bit(path: Path, im: Image.Image) -> bool:
    return path.suffix.lower() in SIXTEEN_BIT_FORMATS and im.mode in {"RGB", "RGBA", "I;16", "I;16B", "I;16L", "I"}


def _read_sixteen_bit(path: Path) -> np.ndarray | None:
    """16-bit colour files via OpenCV (BGR order); None when the file is not 16-bit colour."""
    data = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if data is None or data.dtype != np.uint16 or data.ndim != 3:
        return None
    data = data[:, :, [2, 1, 0, 3]] if data.shape[2] == 4 else data[:, :, ::-1]
    return np.ascontiguousarray(data)


def _pillow_to_array(im: Image.Image) -> np.ndarray:
    """Any Pillow mode -> uint8/uint16/float array HxW, HxWx3 or HxWx4."""
    mode = im.mode
    if mode in {"I;16", "I;16B", "I;16L"}:
        return np.asarray(im.convert("I;16")).astype(np.uint16)
    if mode == "I":
        return np.clip(np.asarray(im), 0, 65535).astype(np.uint16)
    if mode == "F":
        return np.asarray(im).astype(np.float32)
    if mode in {"1", "L"}:
        return np.asarray(im.convert("L"))
    if mode in {"LA", "La", "PA", "RGBA", "RGBa"} or (mode == "P" and "transparency" in im.info):
        return np.asarray(im.convert("RGBA"))
    return np.asarray(im.convert("RGB"))


def _apply_orientation(array: np.ndarray, orientation: int) -> np.ndarray:
    """EXIF orientation 1-8 applied to the array (same result as ImageOps.exif_transpose)."""
    transforms = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.swapaxes(0, 1),
        6: lambda a: np.rot90(a, k=-1),
        7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
        8: lambda a: np.rot90(a, k=1),
    }
    transform = transforms.get(orientation)
    return np.ascontiguousarray(transform(array)) if transform else array


def _to_loaded(array: np.ndarray, path: Path) -> LoadedImage:
    bit_depth = 16 if array.dtype == np.uint16 else 8
    if array.dtype == np.uint16:
        data = array.astype(np.float32) / 65535.0
    elif array.dtype == np.uint8:
        data = array.astype(np.float32) / 255.0
    else:
        data = np.clip(array.astype(np.float32), 0.0, 1.0)
    grey = data.ndim == 2
    if grey:
        data = data[:, :, None]
    alpha = None
    if data.shape[2] == 4:
        data, alpha = data[:, :, :3], np.ascontiguousarray(data[:, :, 3])
    if data.shape[2] == 1:
        data = np.repeat(data, 3, axis=2)
    return LoadedImage(np.ascontiguousarray(data, dtype=np.float32), alpha, bit_depth, grey, path)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# --- writing helpers -------------------------------------------------------------------------


def same_file(a: Path, b: Path) -> bool:
    """True when both paths name one file (existing: by inode; otherwise by resolved path). A name
    the file system refuses (too long) names no existing file."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def _prepare_channels(rgb: np.ndarray, alpha: np.ndarray | None, grey: bool, ext: str) -> np.ndarray:
    data = np.clip(np.nan_to_num(np.asarray(rgb, dtype=np.float32), nan=0.0), 0.0, 1.0)
    if data.ndim == 3 and grey:
        data = data.mean(axis=2)
    keeps_alpha = ext in {".png", ".tif", ".tiff", ".webp"}
    if alpha is not None and keeps_alpha:
        colour = data if data.ndim == 3 else np.repeat(data[:, :, None], 3, axis=2)
        data = np.concatenate([colour, np.clip(alpha, 0, 1)[:, :, None]], axis=2)
    return data


def _write_eight_bit(path: str, data: np.ndarray, ext: str, quality: int, metadata: PhotoMetadata | None) -> None:
    im = Image.fromarray(to_uint8(data))
    options: dict[str, object] = {}
    if ext in {".jpg", ".jpeg"}:
        options = {"quality": int(quality), "subsampling": 0 if quality >= 90 else 2}
    elif ext == ".webp":
        options = {"quality": int(quality)}
    if metadata is not None and ext != ".bmp":
        profile = metadata.profile_for(grey=data.ndim == 2)
        if profile is not None:
            options["icc_profile"] = profile
        if metadata.exif is not None:
            options["exif"] = metadata.exif
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF"}.get(ext, ext[1:].upper())
    im.save(path, format=fmt, **options)


def _write_sixteen_bit(path: str, data: np.ndarray, ext: str, metadata: PhotoMetadata | None) -> None:
    """Encoded by OpenCV in memory, a PNG given the photo's profile and EXIF, then written once."""
    sixteen = (data * 65535.0 + 0.5).astype(np.uint16)
    if sixteen.ndim == 3:
        order = [2, 1, 0, 3] if sixteen.shape[2] == 4 else [2, 1, 0]
        sixteen = np.ascontiguousarray(sixteen[:, :, order])
    encoded, buffer = cv2.imencode(ext, sixteen)
    if not encoded:
        raise OSError("OpenCV could not encode the 16-bit image")
    payload = buffer.tobytes()
    if ext == ".png" and metadata is not None:
        payload = with_png_chunks(payload, metadata.profile_for(grey=data.ndim == 2), metadata.exif)
    Path(path).write_bytes(payload)
