"""PSNR of the fast denoiser's classical start alone: non-local means, then each Wiener pass, all
told the photo's one noise level; then the start a run makes, the same passes through the
stabilising transform made from the noise read per channel and brightness band (``profiled_start``).

    python benchmarks/denoise_starts.py --data ../shared/data/dip-paper [--sigmas 25,5,15,50]

The paper's four denoising photos (cropped to multiples of 32, as the paper does), Gaussian noise of
each sigma (one generator, seed 1, in photo order), the noise level estimated from the photo as a
run does. Prints one line per photo and sigma (docs/presets.md).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from dip_gui.core.classical import denoise as denoiser
from dip_gui.core.classical.denoise import denoised_start, non_local_means, profiled_start
from dip_gui.core.imaging import load_image
from dip_gui.core.metrics import psnr
from dip_gui.core.problem.photo_traits import estimate_noise_sigma

PHOTOS = ("denoising/F16_GT.png", "restoration/barbara.png", "sr/zebra_GT.png", "inpainting/library.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--sigmas", default="25")
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    for sigma in (float(value) for value in args.sigmas.split(",")):
        for name in PHOTOS:
            clean = load_image(args.data / name).rgb
            clean = clean[: clean.shape[0] // 32 * 32, : clean.shape[1] // 32 * 32]
            noisy = np.clip(clean + rng.normal(0, sigma / 255, clean.shape), 0, 1).astype(np.float32)
            level = estimate_noise_sigma(noisy)
            started = time.perf_counter()
            pilot = non_local_means(noisy, level)
            pilot_seconds = time.perf_counter() - started
            grouped_limit, denoiser.MAX_PIXELS = denoiser.MAX_PIXELS, 0  # the block-by-block pass alone
            blockwise = denoised_start(noisy, level)
            denoiser.MAX_PIXELS = grouped_limit
            started = time.perf_counter()
            start = denoised_start(noisy, level)
            seconds = time.perf_counter() - started
            started = time.perf_counter()
            profiled = profiled_start(noisy)
            profiled_seconds = time.perf_counter() - started
            print(f"sigma {sigma:g} {Path(name).stem:10s} estimated {level:5.1f}  noisy {psnr(noisy, clean):.2f}  "
                  f"non-local means {psnr(np.clip(pilot, 0, 1), clean):.2f} ({pilot_seconds:.2f} s)  "
                  f"+ DCT Wiener {psnr(np.clip(blockwise, 0, 1), clean):.2f}  "
                  f"+ grouped Wiener {psnr(np.clip(start, 0, 1), clean):.2f} ({seconds:.2f} s all three)  "
                  f"read per band {psnr(np.clip(profiled, 0, 1), clean):.2f} ({profiled_seconds:.2f} s)", flush=True)


if __name__ == "__main__":
    main()
