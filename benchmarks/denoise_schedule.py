"""How long the denoising network gains over its non-local-means start, by noise level.

For each photo (centre-cropped to ``--size``) and noise sigma, runs the default denoiser (``fast``,
without the noise-fitted schedule) with each length in ``--lengths`` and prints, as JSON lines: the
noise read from the photo, the PSNR of the first iteration (the start, about), the best PSNR of the
longest run (sampled every 5 iterations) and where, and each length's final PSNR. Its figures pick
the lengths of ``Preset.by_noise`` (docs/stopping.md, "Denoising: the noise sets the schedule").

    python benchmarks/denoise_schedule.py PHOTO... [--size 128] [--sigmas 5,15,25,50] [--lengths 20,40,80,200]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dip_gui.cli.evaluate_stopping import centre_crop, degrade
from dip_gui.core.imaging import load_image
from dip_gui.core.metrics import psnr
from dip_gui.core.problem.photo_traits import estimate_noise_sigma
from dip_gui.core.problem.presets import get_preset
from dip_gui.core.problem.tasks import make_problem
from dip_gui.core.session.session import Session


def final_psnrs(noisy, clean, iterations: int, sampled: bool) -> tuple[float, list[tuple[int, float]]]:
    """The PSNR after ``iterations`` and, if ``sampled``, (iteration, PSNR) every 5 iterations."""
    session = Session(make_problem("denoise", noisy), get_preset("denoise", "fast").with_overrides(iterations=iterations),
                      seed=0, device="cpu")
    session.prepare()
    curve = []
    for iteration in range(1, iterations + 1):
        session.step()
        if iteration == 1 or (sampled and iteration % 5 == 0):
            curve.append((iteration, psnr(session.result(), clean)))
    return psnr(session.result(), clean), curve


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", nargs="+")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--sigmas", default="5,15,25,50")
    parser.add_argument("--lengths", default="20,40,80,200")
    args = parser.parse_args()
    lengths = sorted(int(n) for n in args.lengths.split(","))
    torch.set_num_threads(1)
    for photo in args.photos:
        clean = centre_crop(load_image(photo).rgb, args.size)
        for sigma in (float(s) for s in args.sigmas.split(",")):
            noisy = degrade(clean, "noise", sigma)[0]
            row = {"photo": Path(photo).stem, "size": args.size, "sigma": sigma,
                   "read_sigma": round(estimate_noise_sigma(noisy), 1)}
            for n in lengths:
                final, curve = final_psnrs(noisy, clean, n, sampled=n == lengths[-1])
                row[f"after_{n}"] = round(final, 2)
            best = max(curve, key=lambda point: point[1])
            row.update(first=round(curve[0][1], 2), best=round(best[1], 2), best_at=best[0])
            print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
