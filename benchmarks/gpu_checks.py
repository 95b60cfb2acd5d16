"""GPU checks for one short lease: CUDA graphs, the estimates against measured runs, smoke runs.

    python benchmarks/gpu_checks.py --out DIR [--budget-s 330] [--parts smoke,replay,agreement,eager,previews,rows] [--tiny]

Each part writes ``DIR/gpu_checks.json`` as soon as a row is measured, so a run cut short still
reports, and stops starting rows when the budget is spent. Parts:
  * ``smoke``: the command line on CUDA (``only``: which runs; the full list covers checkpoint and
    resume, tiles, inpainting, SR in bf16 and restoration);
  * ``experiment``: ``Session.step()`` against the whole iteration recorded by hand as a CUDA graph
    (cuda_graphs.py): what launch overhead cost before the session replayed its pass;
  * ``replay``: the session's pass replayed from a CUDA graph against launched from Python,
    alternated in one process (core/runtime/cuda_graph.py);
  * ``agreement``: the same runs with and without the graph, PSNR along the way;
  * ``eager``: the paper's denoising network, plain eager fp32 NCHW against our path (gpu.py);
  * ``previews``: loop throughput with previews at 10 per second against the bare loop;
  * ``rows``: tasks x presets x sizes, each with seconds per iteration, peak allocated and reserved
    GPU memory after the warm-up, and what the estimate (core/estimate/cost.py, core/estimate/memory.py)
    said before the start.
``--tiny`` runs every part at toy sizes on any device (the CPU check before a lease). Results on an
H200: benchmarks/results/gpu_checks_rows_h200_2026-11-27.json (the pass replayed from CUDA graphs) and
gpu_checks_graph_experiment_h200_2026-11-27.json (its ``experiment`` rows measure the graphs against passes
launched from Python).
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cuda_graphs
import gpu

from dip_gui.cli.bench import SR_SCALE, make_session, preview_cost
from dip_gui.core.estimate.cost import estimate_cost
from dip_gui.core.estimate.memory import count_memory
from dip_gui.core.imaging import save_image
from dip_gui.core.problem.degradations import random_known_mask
from dip_gui.core.problem.presets import get_preset, scaled_for
from dip_gui.core.problem.tasks import make_problem
from dip_gui.core.session.cost_probe import synthetic_photo
from dip_gui.core.session.session import Session

MB = 2**20
#: (task, preset, size, precision, CUDA graphs): the memory and time estimates against measured runs.
ROWS = [*((task, preset, size, "tf32", True)
          for task, preset, sizes in (("denoise", "paper", (256, 512, 1024, 1536)), ("denoise", "balanced", (512, 1024)),
                                      ("denoise", "fast", (256, 512, 1024)), ("sr", "paper", (512, 1024)),
                                      ("sr", "fast", (512,)), ("inpaint", "paper", (512, 1024)), ("inpaint", "fast", (512,)),
                                      ("restore", "fast", (512,)))
          for size in sizes),
        ("denoise", "paper", 512, "bf16", True), ("denoise", "paper", 1024, "bf16", True),
        ("denoise", "paper", 512, "tf32", False), ("denoise", "paper", 1024, "tf32", False),
        ("denoise", "fast", 1024, "tf32", False), ("denoise", "fast", 2048, "tf32", True)]
#: (task, preset, size, precision): the pass replayed from a CUDA graph against launched from Python.
REPLAY = [("denoise", "fast", 256, "tf32"), ("denoise", "fast", 512, "tf32"), ("denoise", "fast", 1024, "tf32"),
          ("denoise", "balanced", 512, "tf32"), ("denoise", "paper", 256, "tf32"), ("denoise", "paper", 512, "tf32"),
          ("denoise", "paper", 1024, "tf32"), ("denoise", "paper", 512, "bf16"), ("sr", "fast", 512, "tf32"),
          ("sr", "paper", 512, "tf32"), ("inpaint", "paper", 512, "tf32"), ("restore", "fast", 512, "tf32")]


class Report:
    def __init__(self, out: Path, budget_s: float) -> None:
        self.path, self.deadline, self.data = out / "gpu_checks.json", time.monotonic() + budget_s, {}
        out.mkdir(parents=True, exist_ok=True)

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def add(self, part: str, row: dict) -> None:
        self.data.setdefault(part, []).append(row)
        print(part, json.dumps(row), flush=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1))
        tmp.replace(self.path)


def environment(report: Report, device: str) -> None:
    row = {"torch": torch.__version__, "device": device}
    if device == "cuda":
        row.update(name=torch.cuda.get_device_name(), cudnn=torch.backends.cudnn.version(),
                   memory_gb=round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1))
    report.add("environment", row)


def smoke(report: Report, device: str, tiny: bool, only: tuple[str, ...] = ("sr_bf16",)) -> None:
    """The command line end to end on the device: exit status and the file it wrote."""
    work = Path(tempfile.mkdtemp())
    size = 96 if tiny else 600
    save_image(work / "photo.png", synthetic_photo(size))
    mask = np.zeros((size, size), np.float32)
    mask[size // 3: size // 3 + 12, size // 4: size // 2] = 1.0
    save_image(work / "mask.png", np.repeat(mask[..., None], 3, axis=2))
    base = [sys.executable, "-m", "dip_gui", "run", "--device", device, "--quiet"]
    photo, mask_file = str(work / "photo.png"), str(work / "mask.png")
    runs = {
        "denoise_checkpoint": [photo, "--task", "denoise", "--preset", "fast", "--iters", "30",
                               "--checkpoint", str(work / "ck.dips")],
        "denoise_resume": ["--resume", str(work / "ck.dips"), "--iters", "60"],
        "denoise_tiles_paper": [photo, "--task", "denoise", "--preset", "paper", "--iters", "20", "--tile", "256"],
        "inpaint_region": [photo, "--task", "inpaint", "--mask", mask_file, "--iters", "40"],
        "sr_bf16": [photo, "--task", "sr", "--scale", "2", "--preset", "fast", "--iters", "20",
                    *(["--precision", "bf16"] if device == "cuda" else [])],
        "restore": [photo, "--task", "restore", "--mask", mask_file, "--iters", "40"],
    }
    runs = {name: options for name, options in runs.items() if name in only}
    for name, options in runs.items():
        output = work / f"{name}.png"
        start = time.perf_counter()
        done = subprocess.run([*base, *options, "-o", str(output)], capture_output=True, text=True)
        report.add("smoke", {"run": name, "rc": done.returncode, "wrote": output.exists(),
                             "seconds": round(time.perf_counter() - start, 1), "stderr": done.stderr[-800:]})


def rows(report: Report, device: str, tiny: bool) -> None:
    plan = [("denoise", "fast", 64, "fp32", True), ("inpaint", "paper", 64, "fp32", True)] if tiny else ROWS
    for task, preset_name, size, precision, graphs in plan:
        if report.left() < 20:
            report.add("rows", {"skipped_from": [task, preset_name, size, precision]})
            return
        try:
            report.add("rows", _row(task, preset_name, size, precision, graphs, device, tiny))
        except Exception as exc:  # a failure is a result too: the other rows still run
            report.add("rows", {"task": task, "preset": preset_name, "size": size, "precision": precision,
                                "error": repr(exc)[:300]})
        gc.collect()
        if device == "cuda":
            torch.cuda.empty_cache()


def _row(task: str, preset_name: str, size: int, precision: str, graphs: bool, device: str, tiny: bool) -> dict:
    preset = scaled_for(get_preset(task, preset_name), SR_SCALE if task == "sr" else None)
    dev = torch.device(device)
    start = time.perf_counter()
    estimate = estimate_cost(preset, (size, size), 3, device)
    estimate_s = time.perf_counter() - start
    count = count_memory(preset, (size, size), 3, dev)
    cuda = device == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
    session = make_session(task, preset_name, size, device, precision if cuda else "auto", cuda_graphs=graphs)
    start = time.perf_counter()
    session.prepare()
    prepare_s = time.perf_counter() - start
    warmup, iters = (1, 2) if tiny else (5, 15)
    gpu._time_steps(session, 1)
    if cuda:
        setup_peak = torch.cuda.max_memory_allocated() - before
    gpu._time_steps(session, warmup - 1)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    seconds = gpu._time_steps(session, iters)
    row = {"task": task, "preset": preset_name, "size": size, "precision": session.precision,
           "cuda_graph": session.replayed is not None and session.replayed.replaying,
           "prepare_s": round(prepare_s, 2), "seconds_per_iter": round(seconds, 5),
           "estimated_seconds": round(estimate.seconds_per_iteration, 5),
           "estimate_took_s": round(estimate_s, 3), "estimated_mb": round(estimate.memory_bytes / MB, 1),
           "saved_mb": round(count.saved / MB, 1), "images_mb": round(count.session_images / MB, 1),
           "parameters_mb": round(count.parameters / MB, 1), "parameters": session.parameters}
    if cuda:
        row.update(peak_allocated_mb=round((torch.cuda.max_memory_allocated() - before) / MB, 1),
                   peak_reserved_mb=round(torch.cuda.max_memory_reserved() / MB, 1),
                   first_iteration_peak_mb=round(setup_peak / MB, 1))
    del session
    return row


def eager(report: Report, device: str, tiny: bool) -> None:
    for size in (64,) if tiny else (256, 512):
        row = gpu.eager_row(None, device, size, "tf32" if device == "cuda" else "fp32", 3 if tiny else 20)
        report.add("eager", {key: round(value, 5) if isinstance(value, float) else value for key, value in row.items()})


def previews(report: Report, device: str, tiny: bool) -> None:
    for preset_name in ("paper", "fast"):
        size, iters = (64, 3) if tiny else (512, 20)
        row = preview_cost("denoise", preset_name, size, iters, 2 if tiny else 5, device, 10.0)
        report.add("previews", {"preset": preset_name, "size": size, **row})


def replay(report: Report, device: str, tiny: bool) -> None:
    """The pass replayed from a CUDA graph against launched from Python, alternated in one process."""
    for task, preset_name, size, precision in [("denoise", "fast", 64, "fp32")] if tiny else REPLAY:
        if report.left() < 15:
            report.add("replay", {"skipped_from": [task, preset_name, size, precision]})
            return
        try:
            sessions = {graphs: make_session(task, preset_name, size, device, precision if device == "cuda" else "auto",
                                             cuda_graphs=graphs) for graphs in (True, False)}
            times: dict[bool, list[float]] = {True: [], False: []}
            for session in sessions.values():
                gpu._time_steps(session, 4)
            for _ in range(2):
                for graphs, session in sessions.items():
                    times[graphs].append(gpu._time_steps(session, 3 if tiny else 20))
            on, off = min(times[True]), min(times[False])
            replayed = sessions[True].replayed
            report.add("replay", {"task": task, "preset": preset_name, "size": size, "precision": precision,
                                  "graph_seconds": round(on, 5), "launched_seconds": round(off, 5),
                                  "speedup": round(off / on, 2), "replaying": bool(replayed and replayed.replaying),
                                  "failure": replayed.failure if replayed else None})
        except Exception as exc:  # a failure is a result too: the other rows still run
            report.add("replay", {"task": task, "preset": preset_name, "size": size, "error": repr(exc)[:400]})
        sessions = None
        gc.collect()
        if device == "cuda":
            torch.cuda.empty_cache()


def agreement(report: Report, device: str, tiny: bool) -> None:
    """The same runs with and without graphs: PSNR against the clean photo along the way."""
    size, iterations = (48, 20) if tiny else (256, 400)
    clean = synthetic_photo(size, seed=5)
    noisy = np.clip(clean + np.random.default_rng(1).normal(0, 25 / 255, clean.shape), 0, 1).astype(np.float32)
    known = random_known_mask((size, size), 0.5, seed=2)
    cases = {"denoise paper": ("denoise", "paper", noisy, {}), "denoise fast": ("denoise", "fast", noisy, {}),
             "restore fast": ("restore", "fast", clean * known[:, :, None], {"mask": known}),
             "sr fast": ("sr", "fast", clean[::2, ::2], {"scale": 2})}
    for name, (task, preset_name, observed, extra) in cases.items():
        if report.left() < 15:
            return
        row: dict = {"case": name, "iterations": iterations}
        for graphs in (True, False):
            preset = get_preset(task, preset_name).with_overrides(iterations=iterations)
            session = Session(make_problem(task, observed, reference=clean, **extra), preset, seed=0, device=device,
                              cuda_graphs=graphs)
            curve = [session.step().psnr for _ in range(iterations)]
            key = "graph" if graphs else "launched"
            row[key] = [round(curve[i], 3) for i in (0, iterations // 4, iterations // 2, iterations - 1)]
            if graphs and session.replayed is not None:
                row["replaying"], row["failure"] = session.replayed.replaying, session.replayed.failure
        report.add("agreement", row)


PARTS = {"smoke": smoke, "experiment": cuda_graphs.graph_rows, "replay": replay, "agreement": agreement, "rows": rows,
         "eager": eager, "previews": previews}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--budget-s", type=float, default=330.0)
    parser.add_argument("--parts", default="smoke,replay,agreement,eager,previews,rows")
    parser.add_argument("--tiny", action="store_true")
    args = parser.parse_args()
    report = Report(args.out, args.budget_s)
    environment(report, args.device)
    for part in args.parts.split(","):
        if report.left() < 10:
            report.add("skipped", {"part": part})
            continue
        start = time.perf_counter()
        try:
            PARTS[part](report, args.device, args.tiny)
        except Exception as exc:  # a failure is a result too: the other rows still run
            report.add("errors", {"part": part, "error": repr(exc)[:500]})
        report.add("timing", {"part": part, "seconds": round(time.perf_counter() - start, 1)})


if __name__ == "__main__":
    main()
