"""PSNR against iterations for candidate presets, several runs at once on one device.

    python benchmarks/preset_search.py --data DIR --out search.json [--device cuda] [--parallel 8]
        [--deadline 400] [--task denoise] [--photos F16_GT,barbara] [--configs NAME,...] [--crop 0]

    # the other tasks' shipped presets, paper against fast (item 3 covers every fast preset):
    python benchmarks/preset_search.py --data DIR --out sr.json --task sr --configs paper,fast

Why: item 3 of the speed issue asks for presets that reach the paper preset's peak PSNR in a small
fraction of its wall time. PSNR against *iterations* does not depend on the device, so the curves
are measured where iterations are cheap (a GPU, runs side by side in separate processes) and turned
into CPU wall time with each network's CPU seconds per iteration (``--cpu-cost`` on this machine).
Each finished run is written to the JSON at once, so a run cut short by ``--deadline`` still reports.
Denoising: sigma 25, seed 1, Session seed 0, as benchmarks/gpu.py and docs/performance.md. Other tasks
(``TASK_PHOTOS``): x4 super-resolution of the Lanczos-downscaled photo (the paper's SR setting),
restoration with 50% of the pixels dropped (seed 0), inpainting with the paper's own masks. For
every task ``paper`` and ``fast`` are the shipped presets; any other config is the task's paper
preset with that config's network and settings (``*_basein``: the task's classical estimate as the
network input), e.g. ``--task sr --configs paper,w64_lr01`` for SR ``balanced`` (docs/presets.md).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import time
from pathlib import Path

PHOTOS = {"F16_GT": "denoising/F16_GT.png", "barbara": "restoration/barbara.png", "zebra_GT": "sr/zebra_GT.png",
          "library": "inpainting/library.png"}
#: task -> photo name -> (photo, mask file or None): the paper's photos for each task
TASK_PHOTOS = {
    "sr": {"zebra_GT": ("sr/zebra_GT.png", None), "F16_GT": ("denoising/F16_GT.png", None)},
    "restore": {"barbara": ("restoration/barbara.png", None), "kate": ("restoration/kate.png", None)},
    "inpaint": {"library": ("inpainting/library.png", "inpainting/library_mask.png"),
                "kate": ("inpainting/kate.png", "inpainting/kate_mask.png"),
                "vase": ("inpainting/vase.png", "inpainting/vase_mask.png")},
}
SR_SCALE, DROP_FRACTION = 4, 0.5  # the SR scale unless --scale says otherwise


def _net(channels: tuple[int, ...], skip: int = 4, up: tuple[int, ...] = ()) -> dict:
    return {"channels_down": channels, "channels_up": up or channels, "channels_skip": (skip,) * len(channels)}


NETS = {"p128": _net((128,) * 5), "w96": _net((96,) * 5), "w64": _net((64,) * 5), "w32": _net((32,) * 5),
        "small": _net((16, 32, 64, 64, 64)),
        # 64 channels except a narrower full-resolution decoder layer (CPU cost only: docs/presets.md)
        "top32": _net((64,) * 5, up=(32, 64, 64, 64, 64)), "top48": _net((64,) * 5, up=(48, 64, 64, 64, 64)),
        "top32w": _net((64, 96, 96, 96, 96), up=(32, 96, 96, 96, 96))}
BLUR_INPUT = {"input_kind": "base", "base": "blur", "base_sigma": 1.0, "adapt_blur": True, "residual": False}
#: the classical estimate as the network's input (not its output's base) for the other tasks
BASE_INPUT = {"input_kind": "base", "residual": False}

#: name -> (network, preset overrides over the task's paper preset)
CONFIGS: dict[str, tuple[str, dict]] = {
    "paper": ("p128", {}),
    "p128_lr02c": ("p128", {"lr": 0.02, "lr_floor": 0.1, "iterations": 1500}),
    "w64_lr01": ("w64", {}),
    "w64_long": ("w64", {"iterations": 6000}),
    "w64_lr02c": ("w64", {"lr": 0.02, "lr_floor": 0.1, "iterations": 2000}),
    "w64_lr03c": ("w64", {"lr": 0.03, "lr_floor": 0.1, "iterations": 1500}),
    "w32_lr01": ("w32", {}),
    "small_lr01": ("small", {}),  # the paper's recipe on the fast network
    "small_lr01_ema": ("small", {"ema": 0.99}),  # ... with the output averaged (inpainting: no averaging)
    # an inpainting candidate: the small network refining the Telea fill (a residual)
    "fill_refine": ("small", {"input_kind": "base", "base": "fill", "base_sigma": 0.8, "residual": True,
                              "reg_noise_std": 0.03, "ema": 0.97, "lr_floor": 0.2, "warmup": 30, "iterations": 1500}),
    # ... and the average starting at the classical fill (what the first previews show)
    "small_lr01_seeded": ("small", {"ema": 0.99, "base": "fill", "base_sigma": 0.0, "average_from_base": True}),
    "small_seeded": ("small", {"ema": 0.99, "base": "fill", "base_sigma": 0.8, "average_from_base": True}),
    "small_seeded_lr01": ("small", {"ema": 0.99, "base": "fill", "base_sigma": 0.8, "average_from_base": True,
                                    "lr": 0.01}),
    # ... and the holes filled by the average and the fill mixed by a holdout (core/stopping/holdout.py)
    "small_holdout": ("small", {"ema": 0.99, "base": "fill", "base_sigma": 0.8, "holdout": True}),
    "small_holdout_lr01": ("small", {"ema": 0.99, "base": "fill", "base_sigma": 0.8, "holdout": True, "lr": 0.01}),
    # restoration: the fill made for scattered missing pixels (warm_start.non_local_means_fill)
    "fast_nlmfill": ("", {"base": "nlm_fill"}),  # blurred by fast's 0.8 px, or the residual never moves
    "fast_nlmfill_b05": ("", {"base": "nlm_fill", "base_sigma": 0.5}),
    "fast_nlmfill_noisein": ("", {"base": "nlm_fill", "input_kind": "noise", "input_depth": 32}),
    "fast_in8": ("", {"input_depth": 8}),  # a narrower noise input (restoration's fast draws from noise)
    "small_holdout_nlmfill": ("small", {"ema": 0.99, "base": "nlm_fill", "base_sigma": 0.0, "holdout": True,
                                        "lr": 0.01}),
    "w96_lr01": ("w96", {}),
    "top32_lr01": ("top32", {}),
    "top48_lr01": ("top48", {}),
    "top32w_lr01": ("top32w", {}),
    "w64_blurin": ("w64", {**BLUR_INPUT, "reg_noise_std": 0.05, "iterations": 2000}),
    "p128_blurin": ("p128", {**BLUR_INPUT, "reg_noise_std": 0.05, "iterations": 2000}),
    "small_blurin": ("small", {**BLUR_INPUT, "reg_noise_std": 0.05, "lr": 0.03, "iterations": 1500}),
    "fast": ("", {}),  # the shipped fast preset as it is
    # "" as the network: the shipped fast preset with these overrides
    "fast_nlm": ("", {"base": "nlm"}),
    # the task's fast preset's classical estimate (non-local means, upscale, fill) as the network's input
    "small_basein": ("small", {**BASE_INPUT, "ema": 0.99}),
    "w64_basein": ("w64", {**BASE_INPUT, "ema": 0.99}),
    # SR `fast`: the blur of the upscale under the residual (the shipped one is 1.5x the
    # scale), and the shipped preset without its back-projection onto the small photo
    "fast_blur2": ("", {"base_sigma": 2.0}),
    "fast_blur3": ("", {"base_sigma": 3.0}),
    "fast_blur45": ("", {"base_sigma": 4.5}),
    "fast_blur6": ("", {"base_sigma": 6.0}),
    "fast_blur9": ("", {"base_sigma": 9.0}),
    "fast_blur12": ("", {"base_sigma": 12.0}),
    "fast_unprojected": ("", {"back_project": False}),
    # inpainting `fast` under a short budget: an average that forgets faster, a faster start
    "fast_ema97": ("", {"ema": 0.97}),
    "fast_lr02": ("", {"lr": 0.02}),
    "fast_lr03w": ("", {"lr": 0.03, "warmup": 30, "lr_floor": 0.2}),
    "fast_fillin": ("", {"input_kind": "base", "residual": False}),  # the blurred fill as the input
}


def make_preset(config: str, task: str = "denoise", sr_scale: int = SR_SCALE):
    from dip_gui.core.networks import SkipSpec
    from dip_gui.core.problem.presets import get_preset, scaled_for

    scale = sr_scale if task == "sr" else None
    if config in ("paper", "fast"):  # the shipped presets
        return scaled_for(get_preset(task, config), scale)
    net_name, overrides = CONFIGS[config]
    if not net_name:
        return scaled_for(get_preset(task, "fast"), scale).with_overrides(**overrides)
    if overrides.get("input_kind") == "base" and "base" not in overrides:  # the task's fast preset's estimate
        overrides = {**overrides, "base": get_preset(task, "fast").base}
    paper = scaled_for(get_preset(task, "paper"), scale)
    return paper.with_overrides(net=SkipSpec(**NETS[net_name]), **overrides)


def run_one(job: dict) -> dict:
    import torch

    from dip_gui.core.session.session import Session

    torch.set_num_threads(job["threads"])
    problem = make_test_problem(job)
    preset = make_preset(job["config"], job["task"], job.get("scale", SR_SCALE))
    if job["iterations"]:
        preset = preset.with_overrides(iterations=job["iterations"])
    session = Session(problem, preset, seed=0, device=job["device"])
    curve, start = [], time.perf_counter()
    for _ in range(preset.iterations):
        step = session.step()
        if step.iteration % job["every"] == 0 or step.iteration == 1:
            curve.append((step.iteration, round(time.perf_counter() - start, 2), round(step.psnr, 3)))
        if time.time() > job["deadline"]:
            break
    best = max(curve, key=lambda point: point[2])
    return {"task": job["task"], "photo": job["photo"], "config": job["config"], "iterations_planned": preset.iterations,
            "iterations_run": session.iteration, "parameters": session.parameters, "peak": best,
            "final_psnr": curve[-1][2], "seconds": round(time.perf_counter() - start, 1), "curve": curve}


def make_test_problem(job: dict):
    """The degraded photo of ``job`` as a Problem that knows the clean one (for PSNR)."""
    from dip_gui.cli.evaluate_stopping import centre_crop, degrade
    from dip_gui.core.imaging import load_image, load_mask
    from dip_gui.core.problem.tasks import make_problem

    clean = load_image(Path(job["path"])).rgb
    task = job["task"]
    if task == "inpaint":  # the paper's masks are white where the pixel is known
        mask = load_mask(job["mask"], clean.shape[:2], white_is_hole=False)
        if job["crop"]:
            clean, mask = centre_crop(clean, job["crop"]), centre_crop(mask, job["crop"])
        return make_problem(task, clean * mask[:, :, None], mask=mask, reference=clean)
    if job["crop"]:
        clean = centre_crop(clean, job["crop"])
    scale = job.get("scale", SR_SCALE)
    kind, amount, seed = {"sr": ("downscale", scale, 0), "restore": ("drop", DROP_FRACTION, 0),
                          "denoise": ("noise", 25, 1)}[task]
    observed, extra = degrade(clean, kind, amount, seed)
    if task == "sr":  # the downscale cuts the sides to a multiple of the scale
        clean = clean[: observed.shape[0] * scale, : observed.shape[1] * scale]
    return make_problem(task, observed, reference=clean, **extra)


def cpu_cost(configs: list[str], size: int, iters: int) -> dict:
    """CPU seconds per iteration of each config's network (one at a time, this process)."""
    from dip_gui.cli.bench import _time_steps
    from dip_gui.core.problem.tasks import make_problem
    from dip_gui.core.session.cost_probe import synthetic_photo
    from dip_gui.core.session.session import Session

    costs = {}
    for config in configs:
        preset = make_preset(config)
        session = Session(make_problem("denoise", synthetic_photo(size)), preset, seed=0, device="cpu")
        _time_steps(session, 1)
        costs[config] = round(_time_steps(session, iters), 4)
        print(config, costs[config], flush=True)
    return costs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    parser.add_argument("--deadline", type=float, default=400.0, help="seconds from the start; runs stop there")
    parser.add_argument("--task", default="denoise", choices=("denoise", *TASK_PHOTOS))
    parser.add_argument("--photos", help="photo names (default: the task's photos)")
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--skip", default="", help="PHOTO:CONFIG pairs already measured elsewhere, comma-separated")
    parser.add_argument("--crop", type=int, default=0, help="centre crop side (0: whole photo)")
    parser.add_argument("--iterations", type=int, default=0, help="override every config's iterations")
    parser.add_argument("--every", type=int, default=25)
    parser.add_argument("--scale", type=int, default=SR_SCALE, choices=(2, 4, 8), help="SR scale")
    parser.add_argument("--cpu-cost", type=int, default=0, metavar="SIZE", help="time each config on this CPU instead")
    args = parser.parse_args()
    configs = args.configs.split(",")
    if args.cpu_cost:
        if args.task != "denoise":
            parser.error("--cpu-cost times denoising configs; for the other tasks: python -m dip_gui bench --task T --preset P")
        args.out.write_text(json.dumps({"size": args.cpu_cost, "seconds_per_iter": cpu_cost(configs, args.cpu_cost, 3)}))
        return
    deadline = time.time() + args.deadline
    photos = {name: (path, None) for name, path in PHOTOS.items()} if args.task == "denoise" else TASK_PHOTOS[args.task]
    names = args.photos.split(",") if args.photos else list(photos)
    jobs = [{"photo": photo, "path": str(args.data / photos[photo][0]), "config": config, "device": args.device,
             "mask": photos[photo][1] and str(args.data / photos[photo][1]), "task": args.task,
             "crop": args.crop, "iterations": args.iterations, "every": args.every, "deadline": deadline,
             "threads": args.threads, "scale": args.scale} for photo in names for config in configs
            if f"{photo}:{config}" not in args.skip.split(",")]
    report: dict = {"runs": [], "jobs": len(jobs)}
    with mp.get_context("spawn").Pool(args.parallel, maxtasksperchild=1) as pool:
        for result in pool.imap_unordered(run_one, jobs):
            report["runs"].append(result)
            print({k: v for k, v in result.items() if k != "curve"}, flush=True)
            tmp = args.out.with_suffix(".tmp")
            tmp.write_text(json.dumps(report))
            tmp.replace(args.out)


if __name__ == "__main__":
    main()
