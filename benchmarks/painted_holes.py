"""Painted holes (strokes, blobs, text) filled by the classical methods and by the default inpainting run.

Each photo is centre-cropped to at most ``--size`` px a side and gets three painted masks drawn from a
seed: four brush strokes 10-22 px wide (scaled with the photo), three blobs, three words of text.
Printed per photo and mask: PSNR in the holes (dB) of OpenCV's Telea and Navier-Stokes fills, the
biharmonic fill (scikit-image), the texture fill alone (frequency-selective reconstruction,
classical/frequency_fill.py), and the default run (``python -m dip_gui run --task inpaint`` with
no flag but the mask, the clean crop as ``--reference`` only to measure): its first preview, its
result after ``--seconds``, and the seconds to its first preview (the run's ``start_seconds``).
``--crops DIR`` writes, per case, the holes' region side by side: masked, Telea, biharmonic,
texture alone, the run's result, the clean photo. ``--choice`` adds the fill a run chooses (seed 0)
with the texture fill's credit (hole_fills.TEXTURE_CREDIT_DB) and without it, and ends with how far
each lands under the best of its candidates.

    python benchmarks/painted_holes.py PHOTO... [--size 512] [--seconds 60] [--choice] [--json OUT] [--crops DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dip_gui.cli.evaluate_stopping import centre_crop
from dip_gui.core.classical import hole_fills
from dip_gui.core.classical.hole_fills import biharmonic_fill, run_fill_choice, telea_fill, texture_fill
from dip_gui.core.imaging import load_image, save_image

MASKS = ("strokes", "blobs", "text")


def painted_mask(kind: str, size: tuple[int, int], seed: int) -> np.ndarray:
    """HxW bool, True in the holes: ``kind`` strokes | blobs | text, drawn at random from ``seed``,
    scaled to a 512 px photo's proportions."""
    height, width = size
    scale = min(height, width) / 512
    rng = np.random.default_rng(seed)
    holes = np.zeros((height, width), np.uint8)
    if kind == "strokes":
        for _ in range(4):
            points = [rng.uniform(0.1, 0.9, 2) * (width, height)]
            for _ in range(4):
                points.append(np.clip(points[-1] + rng.uniform(-90, 90, 2) * scale, 10, (width - 10, height - 10)))
            cv2.polylines(holes, [np.array(points, np.int32)], False, 1, max(2, int(rng.uniform(10, 22) * scale)))
    elif kind == "blobs":
        for _ in range(3):
            centre = (int(rng.uniform(0.15, 0.85) * width), int(rng.uniform(0.15, 0.85) * height))
            axes = (int(rng.uniform(18, 40) * scale), int(rng.uniform(18, 40) * scale))
            cv2.ellipse(holes, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    else:
        for line, word in enumerate(("DIP Studio", "2026 copy", "sample")):
            origin = (int(rng.uniform(0.02, 0.3) * width), int((0.25 + 0.3 * line) * height))
            cv2.putText(holes, word, origin, cv2.FONT_HERSHEY_SIMPLEX, 2.0 * scale, 1, max(2, int(7 * scale)))
    return holes.astype(bool)


def navier_stokes_fill(image: np.ndarray, known: np.ndarray) -> np.ndarray:
    eight = (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
    filled = cv2.inpaint(eight, (known < 0.5).astype(np.uint8), 3, cv2.INPAINT_NS).astype(np.float32) / 255
    return np.where(known[:, :, None] > 0.5, image, filled.reshape(image.shape))


FILLS = {"telea": telea_fill, "navier_stokes": navier_stokes_fill, "biharmonic": biharmonic_fill,
         "texture": texture_fill}


def holes_psnr(result: np.ndarray, clean: np.ndarray, holes: np.ndarray) -> float:
    error = float(np.mean((result[holes] - clean[holes]) ** 2))
    return 10 * np.log10(1.0 / max(error, 1e-12))


def default_run(damaged: Path, mask: Path, clean: Path, seconds: float, folder: Path) -> dict:
    out, metrics = folder / "out.png", folder / "metrics.json"
    subprocess.run([sys.executable, "-m", "dip_gui", "run", str(damaged), "-o", str(out), "--task", "inpaint",
                    "--mask", str(mask), "--reference", str(clean), "--metrics-json", str(metrics),
                    "--max-seconds", str(seconds), "--quiet"], check=True)
    data = json.loads(metrics.read_text())
    return {"first_whole": data["history"][0]["psnr"], "iterations": data["final"]["iteration"],
            "start_seconds": data["start_seconds"], "result": load_image(out).rgb}


def choices(damaged: np.ndarray, known: np.ndarray, row: dict) -> dict:
    """The run's fill with and without the texture fill's credit, and how far under the best candidate."""
    credit = hole_fills.TEXTURE_CREDIT_DB
    picks = {}
    for name, value in (("with_credit", credit), ("without_credit", 0.0)):
        hole_fills.TEXTURE_CREDIT_DB = value
        choice = run_fill_choice("fill", damaged, known, 0)
        method = "telea" if choice is None else choice.method
        best = max(row[fill]["psnr"] for fill in hole_fills.FILL_METHODS)
        picks[name] = {"fill": method, "under_best": round(best - row[method]["psnr"], 2)}
    hole_fills.TEXTURE_CREDIT_DB = credit
    return picks


def crop_strip(images: list[np.ndarray], holes: np.ndarray, side: int = 192) -> np.ndarray:
    """The same ``side`` px square of each image, centred on the holes' densest part, side by side."""
    density = cv2.blur(holes.astype(np.float32), (side, side))
    row, column = np.unravel_index(int(np.argmax(density)), holes.shape)
    top = int(np.clip(row - side // 2, 0, holes.shape[0] - side))
    left = int(np.clip(column - side // 2, 0, holes.shape[1] - side))
    gap = np.ones((side, 4, 3), np.float32)
    pieces = [image[top:top + side, left:left + side] for image in images]
    return np.concatenate([part for piece in pieces for part in (piece, gap)][:-1], axis=1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photos", nargs="+", type=Path)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--seconds", type=float, default=60.0, help="the default run's budget (0: no run)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--choice", action="store_true", help="the run's fill with and without the texture credit")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--crops", type=Path)
    args = parser.parse_args()
    rows = []
    for photo in args.photos:
        clean = centre_crop(load_image(photo).rgb, args.size)
        for kind in MASKS:
            holes = painted_mask(kind, clean.shape[:2], args.seed)
            known = (~holes).astype(np.float32)
            damaged = clean * known[:, :, None]
            row: dict = {"photo": photo.name, "size": list(clean.shape[:2]), "mask": kind,
                         "holes_percent": round(100 * float(holes.mean()), 1)}
            fills = {}
            for name, fill in FILLS.items():
                started = time.perf_counter()
                fills[name] = fill(damaged, known)
                row[name] = {"psnr": round(holes_psnr(fills[name], clean, holes), 2),
                             "seconds": round(time.perf_counter() - started, 2)}
            if args.choice:
                row["choice"] = choices(damaged, known, row)
            if args.seconds > 0:
                with tempfile.TemporaryDirectory() as work:
                    folder = Path(work)
                    save_image(folder / "damaged.png", damaged)
                    save_image(folder / "clean.png", clean)
                    save_image(folder / "mask.png", np.repeat(holes[:, :, None].astype(np.float32), 3, axis=2))
                    run = default_run(folder / "damaged.png", folder / "mask.png", folder / "clean.png", args.seconds,
                                      folder)
                # the known pixels are exact in the run's results: the whole photo's error is all in the holes
                first = run["first_whole"] + 10 * np.log10(float(holes.mean()))
                row["run"] = {"first_preview": round(first, 2), "start_seconds": run["start_seconds"],
                              "psnr": round(holes_psnr(run["result"], clean, holes), 2), "seconds": args.seconds,
                              "iterations": run["iterations"]}
                fills["run"] = run["result"]
            if args.crops:
                args.crops.mkdir(parents=True, exist_ok=True)
                shown = [damaged, fills["telea"], fills["biharmonic"], fills["texture"],
                         *([fills["run"]] if "run" in fills else []), clean]
                save_image(args.crops / f"{photo.stem}_{kind}.png", crop_strip(shown, holes))
            rows.append(row)
            summary = " | ".join(f"{name} {row[name]['psnr']:.2f} ({row[name]['seconds']:.1f} s)" for name in FILLS)
            if "run" in row:
                summary += (f" | run: first {row['run']['first_preview']:.2f} after {row['run']['start_seconds']:.1f} s, "
                            f"{row['run']['psnr']:.2f} at {args.seconds:.0f} s ({row['run']['iterations']} it)")
            if "choice" in row:
                summary += " | chosen: " + ", ".join(f"{key} {pick['fill']}" for key, pick in row["choice"].items())
            print(f"{photo.name} {kind} {row['holes_percent']}%: {summary}", flush=True)
    for key in ("with_credit", "without_credit"):
        if rows and "choice" in rows[0]:
            under = [row["choice"][key]["under_best"] for row in rows]
            print(f"choice {key}: the best fill in {sum(u == 0 for u in under)} of {len(under)}, "
                  f"{np.mean(under):.2f} dB under the best on average")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
