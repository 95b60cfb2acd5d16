"""What a user gets from `run` with default settings: the saved result against the best the run
passed through and against its first preview, with and without the default stop at the suggestion.

Each photo is centre-cropped, degraded (``--noise`` sigma, or ``--jpeg`` quality), and restored by
``python -m dip_gui run`` with no flag but the task (the clean crop given as ``--reference``, which
only measures), then again with ``--no-auto-stop``. Prints one row per photo and run and writes the
rows as JSON.

    python benchmarks/default_run.py PHOTO... [--size 96] [--noise 25 | --jpeg 10] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dip_gui.cli.evaluate_stopping import centre_crop, degrade
from dip_gui.core.imaging import load_image, save_image


def run_once(noisy: Path, clean: Path, task: str, folder: Path, extra: list[str]) -> dict:
    metrics = folder / "metrics.json"
    command = [sys.executable, "-m", "dip_gui", "run", str(noisy), "-o", str(folder / "out.png"), "--task", task,
               "--reference", str(clean), "--metrics-json", str(metrics), "--quiet", *extra]
    subprocess.run(command, check=True)
    data = json.loads(metrics.read_text())
    scored = [h for h in data["history"] if "psnr" in h]
    return {"first": scored[0]["psnr"], "best": data["best"]["psnr"], "best_at": data["best"]["iteration"],
            "saved": data["final"]["psnr"], "saved_at": data["final"]["iteration"], "iterations": data["iterations"],
            "end": data["end_reason"], "seconds": data["seconds"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", nargs="+")
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--noise", type=float, default=25.0)
    parser.add_argument("--jpeg", type=int, help="JPEG quality (the jpeg task) instead of noise")
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args()
    task = "jpeg" if args.jpeg else "denoise"
    rows = []
    print("| photo | run | first preview | best (iteration) | saved (iteration) | end | seconds |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for photo in args.photos:
            clean = centre_crop(load_image(photo).rgb, args.size)
            degraded, _ = degrade(clean, "jpeg", args.jpeg) if args.jpeg else degrade(clean, "noise", args.noise)
            save_image(folder / "clean.png", clean)
            save_image(folder / "degraded.png", degraded)
            for name, extra in (("default", []), ("--no-auto-stop", ["--no-auto-stop"])):
                row = {"photo": Path(photo).stem, "run": name, **run_once(folder / "degraded.png", folder / "clean.png",
                                                                           task, folder, extra)}
                rows.append(row)
                print(f"| {row['photo']} | {name} | {row['first']:.2f} | {row['best']:.2f} ({row['best_at']}) "
                      f"| {row['saved']:.2f} ({row['saved_at']}) | {row['end']} | {row['seconds']:.0f} |", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
