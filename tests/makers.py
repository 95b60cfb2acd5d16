"""Test inputs made in code (photos, a tiny network), so no test depends on files outside the repository."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import cv2
import numpy as np
import torch

from dip_gui.core.networks import SkipSpec

#: A network small enough for a test to run hundreds of iterations in a second.
TINY_NET = SkipSpec(channels_down=(8, 8, 8), channels_up=(8, 8, 8), channels_skip=(2, 2, 2))


def smooth_image(height: int = 32, width: int = 32, seed: int = 0) -> np.ndarray:
    """A photo-like test image: smooth gradients and a few soft shapes, HxWx3 float32."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.stack([xs / max(width - 1, 1), ys / max(height - 1, 1), 0.5 + 0.0 * xs], axis=2)
    for _ in range(3):
        cy, cx, r = rng.uniform(0, height), rng.uniform(0, width), rng.uniform(4, 10)
        blob = np.exp(-((ys - cy) ** 2 + (xs - cx) ** 2) / (2 * r * r))
        image += blob[:, :, None] * rng.uniform(-0.4, 0.4, size=3)
    return np.clip(image, 0.0, 1.0).astype(np.float32)


def striped_photo(size: int = 96) -> np.ndarray:
    """Smooth shading under sharp, repeating stripes: the edges a blur destroys and NLM keeps."""
    stripes = ((np.arange(size) // 4) % 2).astype(np.float32)[None, :, None] * 0.4
    return np.clip(smooth_image(size, size) * 0.6 + stripes, 0, 1).astype(np.float32)


def textured_photo(size: int = 96, seed: int = 0) -> np.ndarray:
    """Fine random grain (1-2 px, nothing repeats) over smooth shading: the detail a denoiser told
    too strong a noise level smooths away, where non-local means cannot lean on repeats."""
    rng = np.random.default_rng(seed)
    grain = cv2.GaussianBlur(rng.standard_normal((size, size)).astype(np.float32), (0, 0), 1.2)
    grain = grain / grain.std() * 0.12
    return np.clip(smooth_image(size, size) * 0.5 + grain[:, :, None] + 0.25, 0, 1).astype(np.float32)


@contextlib.contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Torch runs with ``count`` threads inside (as a process started with OMP_NUM_THREADS=count):
    the last bit of a CPU result depends on it."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def adobe_rgb_profile() -> bytes:
    """An ICC v2 matrix/TRC profile with Adobe RGB (1998)'s primaries and gamma: a wide-gamut photo's
    profile, made here so the tests need no profile file of the system's."""
    import struct

    def s15(value: float) -> bytes:
        return struct.pack(">i", round(value * 65536))

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ \0\0\0\0" + s15(x) + s15(y) + s15(z)

    text = b"Adobe RGB test"
    desc = b"desc\0\0\0\0" + struct.pack(">I", len(text) + 1) + text + b"\0" + bytes(4 + 4 + 2 + 1 + 67)
    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, 563) + b"\0\0"  # gamma 563/256 = 2.2
    tags = [(b"desc", desc), (b"wtpt", xyz(0.9642, 1.0, 0.8249)), (b"rXYZ", xyz(0.6097, 0.3111, 0.0195)),
            (b"gXYZ", xyz(0.2053, 0.6257, 0.0609)), (b"bXYZ", xyz(0.1492, 0.0632, 0.7446)),
            (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve), (b"cprt", b"text\0\0\0\0public domain\0\0\0")]
    offset = 128 + 4 + 12 * len(tags)
    table, data = struct.pack(">I", len(tags)), b""
    for signature, payload in tags:
        payload += bytes(-len(payload) % 4)
        table += signature + struct.pack(">II", offset + len(data), len(payload))
        data += payload
    size = offset + len(data)
    header = (struct.pack(">I", size) + b"lcms" + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ "
              + struct.pack(">6H", 2026, 1, 1, 0, 0, 0) + b"acsp" + bytes(24) + struct.pack(">I", 0)
              + s15(0.9642) + s15(1.0) + s15(0.8249) + bytes(4) + bytes(44))
    assert len(header) == 128
    return header + table + data
