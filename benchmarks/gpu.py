"""GPU figures in one process: speed per precision and memory format, and quality per precision.

    python benchmarks/gpu.py --data DIR --out results.json [--device cuda] [--tiny]

DIR holds the paper's images (denoising/F16_GT.png, restoration/barbara.png, sr/zebra_GT.png,
inpainting/library.png). Three parts, each written to the JSON as soon as it is measured so that a
run cut short still reports:
  * ``speed``: seconds per iteration and peak memory for tasks x presets x sizes x precisions;
  * ``eager``: the paper's denoising network as a plain eager reference (fp32, NCHW, no cuDNN
    autotuning) against our path (TF32 or bf16, channels-last, autotuning), alternated in one run;
  * ``quality``: sigma-25 denoising of the paper's photos, PSNR against iterations and seconds for
    the paper preset (fp32, tf32, bf16 on F16) and the fast preset, to check that reduced precision
    keeps the quality and how soon the fast preset reaches the paper preset's peak.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from dip_gui.cli.bench import _time_steps, make_session, measure
from dip_gui.core.imaging import load_image
from dip_gui.core.problem.degradations import add_gaussian_noise
from dip_gui.core.problem.presets import get_preset
from dip_gui.core.problem.tasks import make_problem
from dip_gui.core.session.session import Session

PHOTOS = ("denoising/F16_GT.png", "restoration/barbara.png", "sr/zebra_GT.png", "inpainting/library.png")


def speed(device: str, tiny: bool, report: dict, save) -> None:
    sizes = (64,) if tiny else (256, 512, 1024)
    rows = report.setdefault("speed", [])
    for task in ("denoise", "inpaint", "sr"):
        for preset in ("paper", "fast"):
            for size in sizes:
                if task != "denoise" and size != sizes[-1 if tiny else 1]:
                    continue  # other tasks at 512 only: the network is what costs
                for precision in ("fp32", "tf32", "bf16") if device == "cuda" else ("fp32",):
                    row = measure(task, preset, size, iters=3 if tiny else 20, warmup=1 if tiny else 5, device=device,
                                  precision=precision)
                    rows.append({"task": task, "preset": preset, "size": size, "precision": precision, **row})
                    print(rows[-1], flush=True)
                    save()


def eager(device: str, tiny: bool, report: dict, save) -> None:
    size, iters = (64, 3) if tiny else (512, 20)
    rows = report.setdefault("eager", [])
    reference = _eager_reference(device, size)
    for precision in ("fp32", "tf32", "bf16") if device == "cuda" else ("fp32",):
        rows.append(eager_row(reference, device, size, precision, iters))
        print(rows[-1], flush=True)
        save()


def _eager_reference(device: str, size: int):
    """The paper's denoising network as the paper's code runs it: fp32, NCHW, launched from Python."""
    reference = make_session("denoise", "paper", size, device, "fp32", plain_network=True, cuda_graphs=False)
    reference.net.to(memory_format=torch.contiguous_format)
    reference.z = reference.z.contiguous()
    return reference


def eager_row(reference, device: str, size: int, precision: str, iters: int) -> dict:
    """The reference against our path in ``precision`` from the same weights, alternated for three
    rounds (medians); ``reference``: ``_eager_reference``'s session (None: a new one)."""
    reference = reference or _eager_reference(device, size)
    ours = make_session("denoise", "paper", size, device, precision)
    ours.net.load_state_dict(reference.net.state_dict())
    times: dict[str, list[float]] = {"eager": [], "ours": []}
    for _ in range(3):
        for name, session, autotune in (("eager", reference, False), ("ours", ours, True)):
            _set_cuda_flags(device, autotune, session.precision == "tf32")
            _time_steps(session, 2)
            times[name].append(_time_steps(session, iters))
    eager_s, ours_s = sorted(times["eager"])[1], sorted(times["ours"])[1]
    return {"size": size, "precision": precision, "eager_seconds_per_iter": eager_s, "seconds_per_iter": ours_s,
            "speedup": eager_s / ours_s}


def _set_cuda_flags(device: str, autotune: bool, tf32: bool) -> None:
    if device == "cuda":
        torch.backends.cudnn.benchmark = autotune
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = tf32


def quality(data: Path, device: str, tiny: bool, report: dict, save) -> None:
    runs = report.setdefault("quality", [])
    plan = [("F16_GT", "paper", p) for p in (("fp32", "tf32", "bf16") if device == "cuda" else ("fp32",))]
    plan += [(Path(name).stem, "fast", "auto") for name in PHOTOS]
    plan += [(Path(name).stem, "paper", "auto") for name in PHOTOS[1:]]
    paths = {Path(name).stem: data / name for name in PHOTOS}
    for stem, preset_name, precision in plan:
        clean = load_image(paths[stem]).rgb
        if tiny:
            clean = clean[:64, :64]
        noisy = add_gaussian_noise(clean, 25, seed=1)
        preset = get_preset("denoise", preset_name)
        if tiny:
            preset = preset.with_overrides(iterations=20)
        session = Session(make_problem("denoise", noisy, reference=clean), preset, seed=0, device=device,
                          precision=precision)
        curve = []
        start = time.perf_counter()
        for _ in range(preset.iterations):
            step = session.step()
            if step.iteration % 25 == 0 or step.iteration == 1:
                curve.append((step.iteration, round(time.perf_counter() - start, 3), round(step.psnr, 3)))
        best = max(curve, key=lambda point: point[2])
        runs.append({"photo": stem, "preset": preset_name, "precision": session.precision, "iterations": preset.iterations,
                     "seconds": round(time.perf_counter() - start, 2), "peak": best, "final_psnr": curve[-1][2],
                     "curve": curve})
        print({k: v for k, v in runs[-1].items() if k != "curve"}, flush=True)
        save()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--tiny", action="store_true", help="seconds-long smoke run of every part")
    parser.add_argument("--parts", default="speed,eager,quality")
    args = parser.parse_args()
    report: dict = {"device": torch.cuda.get_device_name() if args.device == "cuda" else args.device,
                    "torch": torch.__version__}

    def save() -> None:
        tmp = args.out.with_suffix(".tmp")
        tmp.write_text(json.dumps(report))
        tmp.replace(args.out)

    for part in args.parts.split(","):
        if part == "speed":
            speed(args.device, args.tiny, report, save)
        elif part == "eager":
            eager(args.device, args.tiny, report, save)
        elif part == "quality":
            quality(args.data, args.device, args.tiny, report, save)


if __name__ == "__main__":
    main()
