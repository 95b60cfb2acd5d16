"""Noise that varies with brightness and colour channel, as phones and scanners leave it: the fast
denoiser's start told the photo's one noise level against its start read per channel and brightness
band (``denoise.profiled_start``, the run's start), the default run, and optionally CBM3D, in the
whole photo and in its shadows, midtones and highlights (PSNR dB; docs/quality.md, "Noise that
varies with brightness and channel").

Each photo is centre-cropped to ``--size`` and degraded by each noise ``--kinds``:
- ``phone``: a camera's noise in linear light (photon noise growing with the light plus read
  noise), each channel scaled by a white-balance gain (red 1.8, green 1, blue 1.5), then through the
  sRGB tone curve, which lifts the shadows' read noise: strongest in the shadows and in red;
- ``scanner``: noise growing with the brightness, sigma 3 at black to 30 at white (0-255);
- ``blue``: even in brightness, sigma 7 in red and green and 20 in blue;
- ``even``: Gaussian noise of sigma 25 in every channel (the control).

    python benchmarks/real_noise.py PHOTO... [--size 256] [--kinds phone,scanner,blue,even] [--run]
        [--bm3d] [--json OUT] [--crops DIR]

``--run`` adds ``python -m dip_gui run --task denoise`` with no other flag (the clean crop as
``--reference``, which only measures); ``--bm3d`` adds CBM3D from the ``bm3d`` package (an optional
benchmark extra; its licence forbids shipping it), told the noise's true root-mean-square level.
``--crops DIR`` writes, per photo and noise, the photo's darkest and brightest ``CROP`` px squares
(above and below) through each method, the clean photo last, enlarged 2x.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.default_run import run_once
from dip_gui.cli.evaluate_stopping import centre_crop
from dip_gui.core.classical.denoise import denoised_start, profiled_start
from dip_gui.core.colour import srgb_encode
from dip_gui.core.imaging import load_image, save_image
from dip_gui.core.metrics import psnr
from dip_gui.core.problem.noise_profile import estimate_noise_profile
from dip_gui.core.problem.photo_traits import estimate_noise_sigma

#: Luma bounds of the regions the table splits each photo into.
SHADOWS_BELOW, HIGHLIGHTS_FROM = 0.25, 0.7
#: The side of the squares ``--crops`` shows (px, before the 2x enlargement).
CROP = 64


def srgb_to_linear(image: np.ndarray) -> np.ndarray:
    return np.where(image <= 0.04045, image / 12.92, ((image + 0.055) / 1.055) ** 2.4)


def phone_noise(clean: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Photon (variance 0.004 x light) and read (variance 0.0004) noise in linear light, times each
    channel's white-balance gain, through the sRGB curve; with the noise's level per pixel (sRGB)."""
    linear = srgb_to_linear(clean.astype(np.float64))
    gains = np.array([1.8, 1.0, 1.5])
    noisy = linear + np.sqrt(gains * (0.004 * linear + 0.0004 * gains)) * rng.standard_normal(clean.shape)
    noisy_srgb = srgb_encode(np.clip(noisy, 0.0, 1.0))
    return noisy_srgb, noisy_srgb - srgb_encode(linear)


def scanner_noise(clean: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    noise = (3 + 27 * clean) / 255 * rng.standard_normal(clean.shape)
    return clean + noise, noise


def blue_noise(clean: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    noise = np.array([7, 7, 20]) / 255 * rng.standard_normal(clean.shape)
    return clean + noise, noise


def even_noise(clean: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    noise = 25 / 255 * rng.standard_normal(clean.shape)
    return clean + noise, noise


KINDS: dict[str, Callable[[np.ndarray, np.random.Generator], tuple[np.ndarray, np.ndarray]]] = {
    "phone": phone_noise, "scanner": scanner_noise, "blue": blue_noise, "even": even_noise}


def regions(clean: np.ndarray) -> dict[str, np.ndarray]:
    luma = clean.mean(axis=2)
    return {"all": np.ones_like(luma, bool), "shadows": luma < SHADOWS_BELOW,
            "midtones": (luma >= SHADOWS_BELOW) & (luma < HIGHLIGHTS_FROM), "highlights": luma >= HIGHLIGHTS_FROM}


def scores(result: np.ndarray, clean: np.ndarray) -> dict[str, float | None]:
    """PSNR in each region (None where it holds under 2% of the photo)."""
    return {name: (float(psnr(result[inside], clean[inside])) if inside.mean() >= 0.02 else None)
            for name, inside in regions(clean).items()}


def crop_grid(images: list[np.ndarray], clean: np.ndarray) -> np.ndarray:
    """The darkest and the brightest CROP px square of ``clean`` (by mean luma) in each image, one
    column per image, white gaps between, enlarged 2x (nearest neighbour, so the grain shows)."""
    luma = cv2.blur(clean.mean(axis=2).astype(np.float32), (CROP, CROP))
    half = CROP // 2
    inner = luma[half:luma.shape[0] - half + 1, half:luma.shape[1] - half + 1]  # squares inside the photo
    corners = [np.unravel_index(int(pick(inner)), inner.shape) for pick in (np.argmin, np.argmax)]
    gap = np.ones((CROP, 4, 3), np.float32)
    rows = [np.concatenate([part for image in images
                            for part in (image[top:top + CROP, left:left + CROP], gap)][:-1], axis=1)
            for top, left in corners]
    grid = np.concatenate([rows[0], np.ones((4, rows[0].shape[1], 3), np.float32), rows[1]], axis=0)
    return np.repeat(np.repeat(np.clip(grid, 0, 1), 2, axis=0), 2, axis=1)


def cbm3d(noisy: np.ndarray, sigma: float) -> np.ndarray:
    import bm3d  # optional benchmark extra

    return np.clip(bm3d.bm3d_rgb(noisy, sigma), 0.0, 1.0)


def one_case(clean: np.ndarray, name: str, kind: str, args: argparse.Namespace, folder: Path) -> dict:
    noisy, noise = KINDS[kind](clean, np.random.default_rng(0))
    noisy = np.clip(noisy, 0.0, 1.0).astype(np.float32)
    results = {"noisy": noisy, "one level": denoised_start(noisy, estimate_noise_sigma(noisy))}
    began = time.perf_counter()
    results["profiled"] = profiled_start(noisy)
    row: dict = {"kind": kind, "profiled_seconds": time.perf_counter() - began,
                 "read": estimate_noise_profile(noisy).describe()}
    if args.bm3d:
        results["CBM3D"] = cbm3d(noisy, float(np.sqrt(np.mean(np.square(noise)))))
    if args.run:
        save_image(folder / "clean.png", clean)
        save_image(folder / "noisy.png", noisy)
        row["run"] = run_once(folder / "noisy.png", folder / "clean.png", "denoise", folder, [])
        results["default run"] = load_image(folder / "out.png").rgb
    row["scores"] = {name: scores(np.clip(image, 0, 1), clean) for name, image in results.items()}
    if args.crops:
        args.crops.mkdir(parents=True, exist_ok=True)
        save_image(args.crops / f"{name}_{kind}.png", crop_grid([*results.values(), clean], clean))
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", nargs="+")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--run", action="store_true", help="add the default run")
    parser.add_argument("--bm3d", action="store_true", help="add CBM3D (pip install bm3d)")
    parser.add_argument("--json", help="write the rows here")
    parser.add_argument("--crops", type=Path, help="write each case's darkest and brightest squares here")
    args = parser.parse_args()
    rows = []
    print("| photo | noise | method | whole | shadows | midtones | highlights |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for photo in args.photos:
            clean = centre_crop(load_image(photo).rgb, args.size)
            for kind in args.kinds.split(","):
                row = {"photo": Path(photo).stem, **one_case(clean, Path(photo).stem, kind, args, Path(tmp))}
                rows.append(row)
                for method, by_region in row["scores"].items():
                    cells = " | ".join("-" if value is None else f"{value:.2f}" for value in by_region.values())
                    print(f"| {row['photo']} | {kind} | {method} | {cells} |", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
