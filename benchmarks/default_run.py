"""What a user gets from `run` with default settings: the saved result against the best the run
passed through and against its first preview, and (denoising) the network's share in it after the
check against the classical start (docs/stopping.md).

Each photo is centre-cropped, degraded (``--noise`` sigma, ``--jpeg`` quality, ``--scale`` factor
for super-resolution, ``--drop`` share of missing pixels for restoration), and restored by
``python -m dip_gui run`` with no flag but the task (and its scale or mask; the clean crop given as
``--reference``, which only measures). ``--compare NAME=FLAGS`` adds runs with other flags (default:
the defaults and ``--no-auto-stop``). Prints one row per photo and run and writes the rows as JSON.

    python benchmarks/default_run.py PHOTO... [--size 96] [--noise 25 | --jpeg 10 | --scale 4 | --drop 0.5]
        [--compare "short=--iters 300"]... [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dip_gui.cli.evaluate_stopping import centre_crop, degrade
from dip_gui.core.imaging import load_image, save_image


def run_once(degraded: Path, clean: Path, task: str, folder: Path, extra: list[str]) -> dict:
    metrics = folder / "metrics.json"
    command = [sys.executable, "-m", "dip_gui", "run", str(degraded), "-o", str(folder / "out.png"), "--task", task,
               "--reference", str(clean), "--metrics-json", str(metrics), "--quiet", *extra]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)  # the table is the output
    data = json.loads(metrics.read_text())
    scored = [h for h in data["history"] if "psnr" in h]
    # the network's own result at the iteration handed back, before any mix with the start
    network = next(h["psnr"] for h in scored if h["iteration"] == data["final"]["iteration"])
    return {"first": scored[0]["psnr"], "best": data["best"]["psnr"], "best_at": data["best"]["iteration"],
            "saved": data["final"]["psnr"], "saved_at": data["final"]["iteration"], "network": network,
            "iterations": data["iterations"],
            "end": data["end_reason"], "seconds": data["seconds"], "check_seconds": data.get("check_seconds", 0.0),
            "network_share": data.get("start_check", {}).get("network_share")}


def degraded_case(clean: np.ndarray, args: argparse.Namespace, folder: Path) -> tuple[str, np.ndarray, list[str]]:
    """The task, the degraded photo and the flags the task needs (scale, mask)."""
    if args.jpeg:
        return "jpeg", degrade(clean, "jpeg", args.jpeg)[0], []
    if args.scale:
        return "sr", degrade(clean, "downscale", args.scale)[0], ["--scale", str(args.scale)]
    if args.drop:
        damaged, extra = degrade(clean, "drop", args.drop)
        mask_path = folder / "mask.png"
        holes = 1.0 - extra["mask"]
        save_image(mask_path, np.repeat(holes[:, :, None], 3, axis=2))
        return "restore", damaged, ["--mask", str(mask_path)]
    return "denoise", degrade(clean, "noise", args.noise)[0], []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", nargs="+")
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--noise", type=float, default=25.0)
    parser.add_argument("--jpeg", type=int, help="JPEG quality (the jpeg task) instead of noise")
    parser.add_argument("--scale", type=int, choices=(2, 4, 8), help="super-resolution factor instead of noise")
    parser.add_argument("--drop", type=float, help="share of missing pixels (restoration) instead of noise")
    parser.add_argument("--compare", action="append", metavar="NAME=FLAGS",
                        help="a run with these flags (default: 'default=' and 'no-auto-stop=--no-auto-stop')")
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args()
    runs = [item.partition("=")[::2] for item in (args.compare or ["default=", "no-auto-stop=--no-auto-stop"])]
    rows = []
    print("| photo | run | first preview | best (iteration) | saved (iteration) | network's result there | network's share "
          "| end | seconds (check) |")
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for photo in args.photos:
            clean = centre_crop(load_image(photo).rgb, args.size)
            task, degraded, task_flags = degraded_case(clean, args, folder)
            save_image(folder / "clean.png", clean)
            save_image(folder / "degraded.png", degraded)
            for name, flags in runs:
                result = run_once(folder / "degraded.png", folder / "clean.png", task, folder,
                                  task_flags + shlex.split(flags))
                row = {"photo": Path(photo).stem, "run": name, **result}
                rows.append(row)
                share = "-" if row["network_share"] is None else f"{row['network_share']:.2f}"
                print(f"| {row['photo']} | {name} | {row['first']:.2f} | {row['best']:.2f} ({row['best_at']}) "
                      f"| {row['saved']:.2f} ({row['saved_at']}) | {row['network']:.2f} | {share} | {row['end']} "
                      f"| {row['seconds']:.0f} ({row['check_seconds']:.0f}) |", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
