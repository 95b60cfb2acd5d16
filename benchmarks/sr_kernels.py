"""Super-resolution of photos whose blur is not the one the app assumes: bicubic, DIP Studio's default
and ZSSR (benchmarks/zssr.py) side by side, in luma PSNR (docs/quality.md).

Each photo is centre-cropped to ``--size`` and brought down ``--scale`` x by each kernel in
``--kernels``, saved in 8 bits (the small photo every method gets):

* ``lanczos``: the app's own downsampler (the kernel DIP Studio assumes: the known-kernel case);
* ``bicubic``: anti-aliased bicubic (what most image tools do; ZSSR's assumption);
* ``gaussS``: a Gaussian of width S (large-photo pixels), then every ``scale``-th pixel, as an optical
  blur does (the sampling lands half a pixel off the centre of each block);
* ``motion``: a 9 px line at 30 degrees (a slight shake), then ``gauss1.5``;
* ``bicubic+jpeg``: ``bicubic``, then saved as JPEG at quality 75.

Then each is restored by bicubic interpolation, by ``python -m dip_gui run --task sr --scale S
--max-seconds T`` (everything else default), by ZSSR trained for the same T seconds with sons made by
bicubic (its assumption without a kernel estimate), and by the same ``run`` told the camera blur
(``--blur``) that an ideal pick from the first preview would choose: the one of ``BLUR_CHOICES``
whose classical start (the first preview) is closest to the clean photo. Border of ``scale`` px
left out of the PSNR.

    python benchmarks/sr_kernels.py PHOTO... [--size 256] [--scale 4] [--seconds 60]
        [--kernels lanczos,bicubic,gauss1.5,gauss2.5,motion,bicubic+jpeg] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from zssr import bicubic_down, bicubic_up, zssr

from dip_gui.cli.evaluate_stopping import centre_crop
from dip_gui.core.classical.warm_start import back_projected_upscale
from dip_gui.core.imaging import load_image, save_image
from dip_gui.core.metrics import psnr_y
from dip_gui.core.problem.degradations import MAX_BLUR_PER_SCALE, downscale, jpeg_compress
from dip_gui.core.problem.tasks import make_problem, to_numpy, to_tensor

KERNELS = "lanczos,bicubic,gauss1.5,gauss2.5,motion,bicubic+jpeg"
#: The camera blurs (pixels of the result) the pick from the first preview chooses between.
BLUR_CHOICES = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0)
#: The slight shake: a line this long (large-photo pixels) at this angle.
MOTION_LENGTH, MOTION_DEGREES = 9, 30.0
JPEG_QUALITY = 75


def to_array(tensor: torch.Tensor) -> np.ndarray:
    return np.clip(to_numpy(tensor), 0, 1)


def motion_kernel(length: int = MOTION_LENGTH, degrees: float = MOTION_DEGREES) -> np.ndarray:
    kernel = np.zeros((length, length), np.float32)
    centre, angle = (length - 1) / 2, np.deg2rad(degrees)
    for t in np.linspace(-centre, centre, 4 * length):
        kernel[round(centre - t * np.sin(angle)), round(centre + t * np.cos(angle))] = 1.0
    return kernel / kernel.sum()


def blurred_and_sampled(clean: np.ndarray, scale: int, sigma: float, motion: bool = False) -> np.ndarray:
    image = cv2.filter2D(clean, -1, motion_kernel(), borderType=cv2.BORDER_REFLECT) if motion else clean
    image = cv2.GaussianBlur(image, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    offset = scale // 2
    return np.ascontiguousarray(image[offset::scale, offset::scale])


def small_photo(clean: np.ndarray, kernel: str, scale: int) -> np.ndarray:
    """``clean`` brought down by ``kernel`` (named in the module's docstring), in 8 bits."""
    if kernel == "lanczos":
        small = downscale(clean, scale)
    elif kernel.startswith("bicubic"):
        small = to_array(bicubic_down(to_tensor(clean), scale))
        if kernel.endswith("+jpeg"):
            small = jpeg_compress(small, JPEG_QUALITY)
    elif kernel == "motion":
        small = blurred_and_sampled(clean, scale, 1.5, motion=True)
    elif kernel.startswith("gauss"):
        small = blurred_and_sampled(clean, scale, float(kernel[len("gauss"):]))
    else:
        raise SystemExit(f"no kernel {kernel!r}; kernels: {KERNELS}")
    return np.round(np.clip(small, 0, 1) * 255).astype(np.float32) / 255


def picked_blur(small: np.ndarray, scale: int, truth: np.ndarray) -> float:
    """The camera blur whose classical start (the run's first preview) is closest to ``truth``."""
    choices = [blur for blur in BLUR_CHOICES if blur <= MAX_BLUR_PER_SCALE * scale]
    starts = {blur: back_projected_upscale(small, make_problem("sr", small, scale=scale, blur=blur)) for blur in choices}
    return max(choices, key=lambda blur: psnr_y(np.clip(starts[blur], 0, 1), truth, scale))


def dip_run(small_path: Path, scale: int, seconds: float, folder: Path, blur: float = 0.0) -> np.ndarray:
    out = folder / "dip.png"
    subprocess.run([sys.executable, "-m", "dip_gui", "run", str(small_path), "-o", str(out), "--task", "sr",
                    "--scale", str(scale), "--max-seconds", str(seconds), "--quiet",
                    *(["--blur", str(blur)] if blur else [])], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return load_image(out).rgb


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", nargs="+")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--scale", type=int, default=4, choices=(2, 4, 8))
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--kernels", default=KERNELS)
    parser.add_argument("--json")
    args = parser.parse_args()
    rows = []
    print("| photo | kernel | bicubic | ZSSR | DIP Studio | blur picked | DIP Studio told it |\n"
          "|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for photo in args.photos:
            clean = centre_crop(load_image(photo).rgb, args.size // args.scale * args.scale)
            for kernel in args.kernels.split(","):
                small = small_photo(clean, kernel, args.scale)
                save_image(folder / "small.png", small)
                small = load_image(folder / "small.png").rgb
                height, width = small.shape[0] * args.scale, small.shape[1] * args.scale
                truth = clean[:height, :width]
                bicubic = to_array(bicubic_up(to_tensor(small), (height, width)))
                ours = dip_run(folder / "small.png", args.scale, args.seconds, folder)
                blur = picked_blur(small, args.scale, truth)
                told = dip_run(folder / "small.png", args.scale, args.seconds, folder, blur) if blur else ours
                theirs, steps = zssr(small, args.scale, args.seconds)
                row = {"photo": Path(photo).stem, "kernel": kernel, "zssr_steps": steps, "blur": blur,
                       **{name: psnr_y(result, truth, args.scale)
                          for name, result in (("bicubic", bicubic), ("zssr", theirs), ("dip", ours), ("dip_told", told))}}
                rows.append(row)
                print(f"| {row['photo']} | {kernel} | {row['bicubic']:.2f} | {row['zssr']:.2f} | {row['dip']:.2f} "
                      f"| {blur:g} | {row['dip_told']:.2f} |", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"size": args.size, "scale": args.scale, "seconds": args.seconds,
                                               "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
