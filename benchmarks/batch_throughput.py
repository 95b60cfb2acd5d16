"""Photos per hour of ``batch``: the local batch (one photo at a time, every core on it) and, with
``--ray``, a local Ray instance (one photo per core, ``--cpus-per-photo 1``).

Each photo is centre-cropped to ``--size`` and degraded for the task (sigma 25 noise for denoise,
quality 10 for jpeg, x4 downscale for sr), then the folder is restored with default settings.

    python benchmarks/batch_throughput.py PHOTO... [--task denoise] [--size 256] [--ray] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dip_gui.cli.evaluate_stopping import centre_crop, degrade
from dip_gui.core.imaging import load_image, save_image

DEGRADATION = {"denoise": ("noise", 25.0), "jpeg": ("jpeg", 10.0), "sr": ("downscale", 4.0)}


def make_folder(photos: list[str], task: str, size: int, folder: Path) -> None:
    for index, photo in enumerate(photos):
        clean = centre_crop(load_image(photo).rgb, size)
        kind, amount = DEGRADATION[task]
        degraded, _ = degrade(clean, kind, amount, seed=index)
        save_image(folder / f"{Path(photo).stem}.png", degraded)


def timed_batch(folder: Path, out: Path, task: str, extra: list[str]) -> dict:
    command = [sys.executable, "-m", "dip_gui", "batch", str(folder), "-o", str(out), "--task", task, "--quiet",
               *(["--scale", "4"] if task == "sr" else []), *extra]
    start = time.monotonic()
    subprocess.run(command, check=True)
    seconds = time.monotonic() - start
    report = json.loads((out / "batch-report.json").read_text())
    done = [entry for entry in report["photos"].values() if entry["status"] == "done"]
    return {"photos": len(done), "seconds": round(seconds, 1), "photos_per_hour": round(3600 * len(done) / seconds),
            "iterations": [entry["iterations"] for entry in done]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", nargs="+")
    parser.add_argument("--task", default="denoise", choices=sorted(DEGRADATION))
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--ray", action="store_true", help="also time the batch on a local Ray instance")
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "in"
        folder.mkdir()
        make_folder(args.photos, args.task, args.size, folder)
        ways = [("local", [])] + ([("ray", ["--ray", "--cpus-per-photo", "1"])] if args.ray else [])
        for name, extra in ways:
            row = {"way": name, "task": args.task, "size": args.size, "cores": os.cpu_count(),
                   "machine": platform.processor() or platform.machine(),
                   **timed_batch(folder, Path(tmp) / name, args.task, extra)}
            print(json.dumps(row))
            rows.append(row)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
