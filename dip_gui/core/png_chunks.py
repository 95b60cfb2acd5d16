"""A colour profile and EXIF put into a PNG that an encoder wrote without them (OpenCV's 16-bit PNGs)."""

from __future__ import annotations

import struct
import zlib


def with_png_chunks(png: bytes, profile: bytes | None, exif: bytes | None) -> bytes:
    """The PNG with the profile (iCCP) and EXIF (eXIf) put right after its header."""
    chunks = b""
    if profile is not None:
        chunks += _png_chunk(b"iCCP", b"ICC profile\0\0" + zlib.compress(profile))
    if exif is not None:
        chunks += _png_chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\0\0") else exif)
    if not chunks:
        return png
    header_end = 8 + 8 + struct.unpack(">I", png[8:12])[0] + 4  # signature, IHDR's length+type, data, CRC
    return png[:header_end] + chunks + png[header_end:]


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
