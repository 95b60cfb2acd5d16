"""Quality under fixed wall-clock budgets, through the real command line, on the paper's images.

    python benchmarks/quality.py --data ../shared/data/dip-paper --out docs/quality.md
    python benchmarks/quality.py --only denoise   # one section, printed (docs/quality.md left alone)
    python benchmarks/quality.py --only inpaint --write   # ... and its table in docs/quality.md updated

Only the tables are rewritten: the notes under them (what changed, when, why) are kept.

Cases (the product's promises on a 2-core CPU):
  * denoise, sigma 25, 40 s: default preset vs the paper recipe for the same 40 s, and vs the noisy input;
  * x4 super-resolution, 120 s: default preset vs bicubic, luma PSNR;
  * 50% randomly missing pixels, 120 s: default preset vs OpenCV's Telea inpainting;
  * inpainting the paper's three masks, 120 s: default preset vs the paper recipe for the same 120 s
    and vs Telea's, the biharmonic and the texture fill (PSNR of the whole photo; the known pixels are exact in all).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from dip_gui.core.classical.hole_fills import biharmonic_fill, telea_fill, texture_fill
from dip_gui.core.imaging import load_image, save_image
from dip_gui.core.metrics import psnr, psnr_y

DENOISE = ("denoising/F16_GT.png", "restoration/barbara.png", "sr/zebra_GT.png", "inpainting/library.png")
SR = ("sr/zebra_GT.png", "denoising/F16_GT.png")
RESTORE = ("restoration/barbara.png", "restoration/kate.png")
#: The paper's masks (NAME_mask.png, white = known) and the paper's settings for each.
INPAINT = {"inpainting/kate.png": "paper", "inpainting/vase.png": "paper-large-holes",
           "inpainting/library.png": "paper-library"}


def cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "dip_gui", *args], check=True, capture_output=True, text=True)


def run(noisy: Path, out: Path, task: str, seconds: float, reference: Path, *extra: str) -> dict:
    metrics = out.with_suffix(".json")
    cli("run", str(noisy), "-o", str(out), "--task", task, "--max-seconds", str(seconds), "--reference", str(reference),
        "--metrics-json", str(metrics), "--quiet", *extra)
    return json.loads(metrics.read_text())


def denoise_rows(data: Path, work: Path) -> list[str]:
    rows = ["| photo | size | noisy | paper recipe, 40 s | default, 40 s (iterations) | gain over noisy |",
            "|---|---|---|---|---|---|"]
    for name in DENOISE:
        clean = data / name
        noisy = work / f"{clean.stem}_noisy.png"
        cli("degrade", str(clean), "-o", str(noisy), "--noise", "25", "--seed", "1")
        noisy_psnr = psnr(load_image(noisy).rgb, load_image(clean).rgb)
        paper = run(noisy, work / f"{clean.stem}_paper.png", "denoise", 40, clean, "--preset", "paper")
        fast = run(noisy, work / f"{clean.stem}_fast.png", "denoise", 40, clean)
        size = "x".join(map(str, load_image(clean).size[::-1]))
        rows.append(f"| {clean.stem} | {size} | {noisy_psnr:.2f} | {paper['final']['psnr']:.2f} ({paper['iterations']}) | "
                    f"{fast['final']['psnr']:.2f} ({fast['iterations']}) | {fast['final']['psnr'] - noisy_psnr:+.2f} dB |")
        print(rows[-1], flush=True)
    return rows


def sr_rows(data: Path, work: Path) -> list[str]:
    rows = ["| photo | output | bicubic (Y) | default, 120 s (Y) | iterations |", "|---|---|---|---|---|"]
    for name in SR:
        clean = data / name
        low = work / f"{clean.stem}_lr4.png"
        cli("degrade", str(clean), "-o", str(low), "--downscale", "4")
        metrics = run(low, work / f"{clean.stem}_sr4.png", "sr", 120, clean, "--scale", "4")
        lr = load_image(low).rgb
        height, width = lr.shape[0] * 4, lr.shape[1] * 4
        truth = load_image(clean).rgb[:height, :width]
        bicubic = cv2.resize(lr, (width, height), interpolation=cv2.INTER_CUBIC)
        result = load_image(work / f"{clean.stem}_sr4.png").rgb
        rows.append(f"| {clean.stem} | {width}x{height} | {psnr_y(bicubic, truth):.2f} | {psnr_y(result, truth):.2f} | "
                    f"{metrics['iterations']} |")
        print(rows[-1], flush=True)
    return rows


def restore_rows(data: Path, work: Path) -> list[str]:
    rows = ["| photo | Telea | default, 120 s | iterations |", "|---|---|---|---|"]
    for name in RESTORE:
        clean = data / name
        dropped = work / f"{clean.stem}_drop.png"
        cli("degrade", str(clean), "-o", str(dropped), "--drop", "0.5", "--seed", "2")
        mask = work / f"{clean.stem}_drop_mask.png"
        metrics = run(dropped, work / f"{clean.stem}_restored.png", "restore", 120, clean, "--mask", str(mask))
        holes = load_image(mask).rgb[:, :, 0] > 0.5
        truth = load_image(clean).rgb
        classical = psnr(filled(telea_fill, load_image(dropped).rgb, holes), truth)
        rows.append(f"| {clean.stem} | {classical:.2f} | {metrics['final']['psnr']:.2f} | {metrics['iterations']} |")
        print(rows[-1], flush=True)
    return rows


def filled(fill: Callable[[np.ndarray, np.ndarray], np.ndarray], observed: np.ndarray, holes: np.ndarray) -> np.ndarray:
    """``observed`` (HxWx3, 0-1) with ``holes`` (HxW, 1 = missing) filled by one of the product's fills
    (classical/hole_fills.py: Telea's, the biharmonic or the texture fill)."""
    return fill(observed, (~holes.astype(bool)).astype(np.float32))


def inpaint_rows(data: Path, work: Path) -> list[str]:
    rows = ["| photo | size | holes | Telea | biharmonic | texture | paper recipe, 120 s (iterations) "
            "| default, 120 s (iterations) |",
            "|---|---|---|---|---|---|---|---|"]
    for name, paper_preset in INPAINT.items():
        clean = data / name
        mask = clean.with_name(f"{clean.stem}_mask.png")
        truth = load_image(clean).rgb
        holes = load_image(mask).rgb[:, :, 0] < 0.5
        holed = work / f"{clean.stem}_holed.png"
        save_image(holed, np.where(holes[:, :, None], 0.0, truth))  # nothing of the truth left in the holes
        results = [run(holed, work / f"{clean.stem}_{preset}.png", "inpaint", 120, clean, "--mask", str(mask),
                       "--mask-white-known", "--preset", preset) for preset in (paper_preset, "fast")]
        size = "x".join(map(str, truth.shape[1::-1]))
        cells = [f"{m['final']['psnr']:.2f} ({m['iterations']})" for m in results]
        fills = " | ".join(f"{psnr(filled(fill, truth, holes), truth):.2f}"
                           for fill in (telea_fill, biharmonic_fill, texture_fill))
        rows.append(f"| {clean.stem} | {size} | {holes.mean():.0%} | {fills} | {cells[0]} | {cells[1]} |")
        print(rows[-1], flush=True)
    return rows


HEADER = ["# Quality under wall-clock budgets", "",
          "Made by `python benchmarks/quality.py --data ../shared/data/dip-paper --out docs/quality.md` "
          "on the development machine (2-core CPU, no GPU).", ""]


def update_tables(document: str, measured: list[tuple[str, list[str]]]) -> str:
    """``document`` with each measured section's table replaced by its new rows, the notes written
    under the tables left as they are (a section not there yet is added at the end)."""
    lines = document.splitlines() or list(HEADER)
    for title, rows in measured:
        heading = f"## {title}"
        if heading not in lines:
            lines += ["", heading, "", *rows]
            continue
        start = lines.index(heading) + 1
        while start < len(lines) and not lines[start].strip():
            start += 1
        end = start
        while end < len(lines) and lines[end].startswith("|"):
            end += 1
        lines[start:end] = [*rows, ""] if end == start else rows  # no table yet: one before the notes
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=Path("../shared/data/dip-paper"))
    parser.add_argument("--out", type=Path, default=Path("docs/quality.md"))
    parser.add_argument("--only", choices=("denoise", "sr", "restore", "inpaint"),
                        help="measure one section and print its rows (the file is left alone unless --write)")
    parser.add_argument("--write", action="store_true", help="with --only: also update that section's table")
    args = parser.parse_args()
    sections = {"denoise": ("Denoising, sigma 25, 40 s budget (PSNR dB; iterations in brackets)", denoise_rows),
                "sr": ("x4 super-resolution, 120 s budget (luma PSNR dB)", sr_rows),
                "restore": ("50% randomly missing pixels, 120 s budget (PSNR dB)", restore_rows),
                "inpaint": ("Inpainting the paper's masks, 120 s budget (PSNR dB of the whole photo)", inpaint_rows)}
    chosen = {args.only: sections[args.only]} if args.only else sections
    with tempfile.TemporaryDirectory() as tmp:
        measured = [(title, rows(args.data, Path(tmp))) for title, rows in chosen.values()]  # each prints its rows
    if args.only and not args.write:
        return 0
    document = args.out.read_text() if args.out.exists() else ""
    partial = args.out.with_suffix(".tmp")
    partial.write_text(update_tables(document, measured))
    partial.replace(args.out)  # the notes under the tables are kept; a failed run leaves the file as it was
    return 0


if __name__ == "__main__":
    sys.exit(main())
