"""PSNR against wall time: each preset of a task beside the classical peers, as a PNG plot, with a
before/after strip of the photo.

The photo is centre-cropped and degraded for the task (sigma 25 noise, JPEG quality 10, x4 Lanczos
downscale, half the pixels dropped, or the paper's mask for inpainting). Each preset runs through
the command line for ``--seconds`` of optimisation without the stop rule, and its curve is the PSNR
of every iteration against the wall time a user waits (the classical start included). The default
run (no flag but the task and ``--max-seconds`` of ``--default-cap``; the stop rule ends it) is one
marker, what a user gets. The peers are
markers at their own time: CBM3D (``pip install bm3d``; its licence forbids shipping it), OpenCV's
non-local means and inpainting methods, scikit-image's wavelet and total-variation denoisers and
biharmonic inpainting, bicubic and Lanczos upscaling. PSNR is of RGB.

    python benchmarks/psnr_time.py --data ../shared/data/dip-paper --task denoise --photo denoising/F16_GT.png
        [--size 256] [--seconds 60] [--presets fast,balanced,paper] [--out-dir docs/plots] [--json OUT]
    python benchmarks/psnr_time.py --replot OUT   # the plot again from the JSON, without running anything

Writes OUT_DIR/TASK_psnr_time.png, OUT_DIR/TASK_before_after.png and the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dip_gui.cli.evaluate_stopping import centre_crop
from dip_gui.core.imaging import load_image, load_mask, save_image, to_uint8
from dip_gui.core.metrics import psnr
from dip_gui.core.problem import degradations as deg

PRESETS = {"denoise": "fast,balanced,paper", "jpeg": "fast,paper", "sr": "fast,balanced,paper",
           "inpaint": "fast,paper", "restore": "fast,paper"}


def degrade(task: str, clean: np.ndarray, photo: Path, size: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The degraded photo and, for mask tasks, the mask (1 = known)."""
    if task == "denoise":
        return deg.add_gaussian_noise(clean, 25, seed=1), None
    if task == "jpeg":
        return deg.jpeg_compress(clean, 10), None
    if task == "sr":
        return deg.downscale(clean, 4), None
    if task == "restore":
        known = deg.random_known_mask(clean.shape[:2], 0.5, seed=0)
        return clean * known[:, :, None], known
    paper_mask = photo.with_name(f"{photo.stem}_mask.png")
    known = load_mask(paper_mask, load_image(photo).size, white_is_hole=False)
    known = centre_crop(known[:, :, None], size)[:, :, 0]
    return clean * known[:, :, None], known


def run_preset(task: str, degraded: Path, clean: Path, mask: Path | None, folder: Path, extra: list[str]) -> dict:
    """One run through the command line; its curve as (wall seconds, PSNR) per iteration."""
    metrics = folder / "metrics.json"
    output = folder / "out.png"
    command = [sys.executable, "-m", "dip_gui", "run", str(degraded), "-o", str(output), "--task", task,
               "--reference", str(clean), "--metrics-json", str(metrics), "--quiet", *extra]
    if task == "sr":
        command += ["--scale", "4"]
    if mask is not None:
        command += ["--mask", str(mask)]
    subprocess.run(command, check=True)
    data = json.loads(metrics.read_text())
    start = data.get("start_seconds", 0.0)
    curve = [(start + h["seconds"], h["psnr"]) for h in data["history"] if h.get("psnr") is not None]
    return {"preset": data["preset"], "iterations": data["iterations"], "start_seconds": start, "curve": curve,
            "final_psnr": data["final"]["psnr"], "final_seconds": start + data["seconds"],
            "result": load_image(output).rgb}


def peers(task: str, degraded: np.ndarray, known: np.ndarray | None, clean: np.ndarray) -> dict[str, Callable]:
    """The classical methods a user could reach for instead, each a function of nothing."""
    found: dict[str, Callable] = {}
    u8 = to_uint8(degraded)
    if task in ("denoise", "jpeg"):
        try:
            import bm3d

            sigma = (25 if task == "denoise" else 10) / 255  # JPEG: its blocks treated as noise of sigma 10
            grey = bool(np.allclose(degraded[..., 0], degraded[..., 1]) and np.allclose(degraded[..., 0], degraded[..., 2]))
            if grey:  # the colour transform of CBM3D divides by the colour spread, which a grey photo lacks
                found["BM3D"] = lambda: np.repeat(np.atleast_3d(bm3d.bm3d(degraded[..., 0], sigma_psd=sigma)), 3, axis=2)
            else:
                found["CBM3D"] = lambda: bm3d.bm3d_rgb(degraded, sigma_psd=sigma)
        except ImportError:
            pass
        found["OpenCV NL-means"] = lambda: cv2.fastNlMeansDenoisingColored(u8, None, 15, 15, 7, 21) / 255.0
        try:
            from skimage.restoration import denoise_tv_chambolle, denoise_wavelet

            found["wavelet (skimage)"] = lambda: denoise_wavelet(degraded, channel_axis=-1, rescale_sigma=True)
            found["TV (skimage)"] = lambda: denoise_tv_chambolle(degraded, weight=0.08, channel_axis=-1)
        except ImportError:
            pass
    elif task == "sr":
        size = (clean.shape[1], clean.shape[0])
        found["bicubic"] = lambda: cv2.resize(degraded, size, interpolation=cv2.INTER_CUBIC)
        found["Lanczos"] = lambda: cv2.resize(degraded, size, interpolation=cv2.INTER_LANCZOS4)
    else:
        assert known is not None
        holes = ((known < 0.5) * 255).astype(np.uint8)
        found["OpenCV Telea"] = lambda: cv2.inpaint(u8, holes, 3, cv2.INPAINT_TELEA) / 255.0
        found["OpenCV Navier-Stokes"] = lambda: cv2.inpaint(u8, holes, 3, cv2.INPAINT_NS) / 255.0
        try:
            from skimage.restoration import inpaint_biharmonic

            found["biharmonic (skimage)"] = lambda: inpaint_biharmonic(degraded, known < 0.5, channel_axis=-1)
        except ImportError:
            pass
    return found


def timed_peers(task: str, degraded: np.ndarray, known: np.ndarray | None, clean: np.ndarray) -> list[dict]:
    rows = []
    for name, method in peers(task, degraded, known, clean).items():
        start = time.perf_counter()
        result = np.asarray(method(), dtype=np.float32).reshape(clean.shape)
        if not np.isfinite(result).all():
            print(f"{name}: non-finite output, left out", file=sys.stderr)
            continue
        rows.append({"peer": name, "seconds": time.perf_counter() - start, "psnr": psnr(np.clip(result, 0, 1), clean)})
    return rows


def plot(task: str, photo: str, runs: list[dict], default: dict, peer_rows: list[dict], input_psnr: float | None,
         path: Path, cap: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 4.8), dpi=100)
    floor = min([r["psnr"] for r in peer_rows] + ([input_psnr] if input_psnr is not None else []))
    for run in runs:
        seconds, values = zip(*run["curve"])
        label = f"{run['preset']} ({run['iterations']} iterations)"
        if max(values) < floor:
            label += f": under the plot, at most {max(values):.1f} dB"
        axes.plot(seconds, values, label=label, linewidth=1.6)
    axes.plot([default["final_seconds"]], [default["final_psnr"]], marker="*", markersize=14, color="black",
              linestyle="none", label=f"default settings, stops by itself ({default['preset']}, at most {cap:.0f} s)")
    for row, marker in zip(peer_rows, "osD^vP"):
        axes.plot([max(row["seconds"], 0.01)], [row["psnr"]], marker=marker, markersize=8, linestyle="none",
                  label=f"{row['peer']}")
    if input_psnr is not None:
        axes.axhline(input_psnr, color="grey", linestyle=":", label="the degraded photo")
    axes.set_xscale("log")
    axes.set_xlabel("wall time on a 2-core CPU, seconds (classical start included)")
    axes.set_ylabel("PSNR, dB")
    axes.set_title(f"{task}: {photo}")
    axes.grid(True, which="both", alpha=0.3)
    # Below the degraded photo (or the weakest peer) a curve is worse than doing nothing: cut there.
    high = max([v for run in runs for _, v in run["curve"]] + [r["psnr"] for r in peer_rows])
    axes.set_ylim(floor - 1.0, high + 0.5)
    axes.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def before_after(degraded_view: np.ndarray, result: np.ndarray, clean: np.ndarray, path: Path, side: int = 128) -> None:
    """Degraded | the default run's result | the clean photo: a centre crop, each pixel 2x2."""
    side = min(side, *clean.shape[:2])
    panels = [centre_crop(image, side) for image in (degraded_view, result, clean)]
    gap = np.ones((side, 4, 3), np.float32)
    strip = np.concatenate([panels[0], gap, panels[1], gap, panels[2]], axis=1)
    strip = cv2.resize(strip, (strip.shape[1] * 2, strip.shape[0] * 2), interpolation=cv2.INTER_NEAREST)
    save_image(path, strip)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data")
    parser.add_argument("--task", choices=sorted(PRESETS))
    parser.add_argument("--photo", help="path under --data")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--presets")
    parser.add_argument("--default-cap", type=float, default=120.0,
                        help="the default run's --max-seconds (it otherwise runs its preset's iterations)")
    parser.add_argument("--out-dir", default="docs/plots")
    parser.add_argument("--json")
    parser.add_argument("--replot", metavar="JSON", help="draw the plot again from a run's JSON (no runs)")
    args = parser.parse_args()
    if args.replot:
        summary = json.loads(Path(args.replot).read_text())
        Path(args.out_dir).mkdir(parents=True, exist_ok=True)
        plot(summary["task"], f"{Path(summary['photo']).stem}, {summary['size']} px crop", summary["presets"],
             summary["default"], summary["peers"], summary["input_psnr"],
             Path(args.out_dir) / f"{summary['task']}_psnr_time.png", summary.get("default_cap", args.default_cap))
        return
    if not (args.data and args.task and args.photo):
        parser.error("--data, --task and --photo are needed (or --replot)")
    photo = Path(args.data) / args.photo
    clean = centre_crop(load_image(photo).rgb, args.size)
    degraded, known = degrade(args.task, clean, photo, args.size)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clean_path, degraded_path = folder / "clean.png", folder / "degraded.png"
        save_image(clean_path, clean)
        save_image(degraded_path, degraded)
        mask_path = None
        if known is not None:
            mask_path = folder / "mask.png"
            save_image(mask_path, 1.0 - known)  # white = fill
        runs = []
        for name in (args.presets or PRESETS[args.task]).split(","):
            extra = ["--preset", name, "--no-auto-stop", "--max-seconds", str(args.seconds), "--iters", "100000"]
            runs.append(run_preset(args.task, degraded_path, clean_path, mask_path, folder, extra))
        default = run_preset(args.task, degraded_path, clean_path, mask_path, folder,
                             ["--max-seconds", str(args.default_cap)])
        peer_rows = timed_peers(args.task, degraded, known, clean)
    input_psnr = None if args.task == "sr" else psnr(degraded, clean)
    name = Path(args.photo).stem
    plot(args.task, f"{name}, {args.size} px crop", runs, default, peer_rows, input_psnr,
         out_dir / f"{args.task}_psnr_time.png", args.default_cap)
    degraded_view = cv2.resize(degraded, (clean.shape[1], clean.shape[0]), interpolation=cv2.INTER_NEAREST)
    before_after(degraded_view, default["result"], clean, out_dir / f"{args.task}_before_after.png")
    summary = {"task": args.task, "photo": args.photo, "size": args.size, "seconds": args.seconds,
               "default_cap": args.default_cap,
               "machine": platform.processor() or platform.machine(), "input_psnr": input_psnr,
               "presets": [{k: v for k, v in run.items() if k != "result"} for run in runs],
               "default": {k: v for k, v in default.items() if k not in ("result", "curve")}, "peers": peer_rows}
    print(json.dumps({k: v for k, v in summary.items() if k != "presets"}, indent=1))
    for run in summary["presets"]:
        best = max(run["curve"], key=lambda point: point[1])
        print(f"{run['preset']}: best {best[1]:.2f} dB at {best[0]:.1f} s, {run['iterations']} iterations")
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=1) + "\n")


if __name__ == "__main__":
    main()
