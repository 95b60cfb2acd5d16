"""Measure CPU peak memory against the estimate's count, and refit ``memory_estimate.CPU_PEAK_MODEL``.

Each row (task:preset:size) is run four times, each in a fresh process (``python -m dip_gui bench
... --host-memory lean|fast --network pairs|lean --iters 3 --warmup 1 --json``: the growth of the
process's peak resident memory), and counted as the estimate counts it (``count_memory``). It prints
every run's measured peak, the model's figure and their ratio, and with ``--fit`` the least-squares
coefficients (relative error) of ``peak = a x saved + session images + NNPACK workspace + b`` per
setting. The fit: ``--rows fit``; its held-out check: ``--rows held-out``. Run nothing else
meanwhile: the peaks are the machine's, and two processes would share its cores.

    python benchmarks/memory_model.py --rows fit --fit --out benchmarks/results/memory_model_fit_cpu_avx512_2026-11-27.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import numpy as np
import torch

from dip_gui.cli.bench import SR_SCALE
from dip_gui.core.estimate.memory import CPU_PEAK_MODEL, count_memory
from dip_gui.core.problem.presets import get_preset, scaled_for

MB = 2**20
ROWS = {
    "fit": ["denoise:fast:256", "denoise:fast:512", "denoise:fast:1024", "denoise:paper:256", "denoise:paper:384",
            "denoise:paper:448", "denoise:paper:512", "denoise:balanced:256", "denoise:balanced:512",
            "denoise:balanced:768", "inpaint:fast:512", "inpaint:fast:1024", "inpaint:paper:256", "inpaint:paper:384",
            "inpaint:paper:512", "sr:fast:768", "sr:fast:1024", "sr:paper:512", "sr:balanced:512", "restore:fast:512",
            "restore:fast:1024", "jpeg:fast:512"],
    "held-out": ["jpeg:fast:1024", "sr:paper:384", "inpaint:paper:448", "sr:balanced:768", "restore:fast:768",
                 "inpaint:fast:768", "denoise:paper:640", "sr:fast:512", "denoise:fast:768", "denoise:balanced:1024",
                 "inpaint:paper:640"],
}
SETTINGS = [(host, network) for host in ("lean", "fast") for network in ("pairs", "lean")]


def measured_peak_mb(task: str, preset: str, size: int, host: str, network: str) -> float:
    command = [sys.executable, "-m", "dip_gui", "bench", "--task", task, "--preset", preset, "--size", str(size),
               "--iters", "3", "--warmup", "1", "--device", "cpu", "--host-memory", host, "--network", network, "--json"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])["peak_memory_mb"]


def counted(task: str, preset_name: str, size: int, network: str) -> dict:
    preset = scaled_for(get_preset(task, preset_name), SR_SCALE if task == "sr" else None)
    count = count_memory(preset, (size, size), 3, torch.device("cpu"), lean=network == "lean")
    return {"saved_mb": count.saved / MB, "session_images_mb": count.session_images / MB,
            "nnpack_workspace_mb": count.nnpack_workspace / MB,
            **{f"model_{host}_mb": count.peak("cpu", host) / MB for host in ("lean", "fast")}}


def fit(runs: list[dict], host: str) -> tuple[float, float]:
    """(a, b in MB) minimising the relative error of a x saved + images + workspace + b."""
    chosen = [r for r in runs if r["host_memory"] == host]
    peak = np.array([r["peak_mb"] for r in chosen])
    fixed = np.array([r["session_images_mb"] + r["nnpack_workspace_mb"] for r in chosen])
    design = np.c_[[r["saved_mb"] for r in chosen], np.ones(len(chosen))]
    (a, b), *_ = np.linalg.lstsq(design / peak[:, None], (peak - fixed) / peak, rcond=None)
    return float(a), float(b)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="fit", help="'fit', 'held-out' or task:preset:size,...")
    parser.add_argument("--fit", action="store_true", help="print the least-squares coefficients")
    parser.add_argument("--out", help="write every run as JSON here")
    args = parser.parse_args()
    rows = ROWS.get(args.rows) or args.rows.split(",")
    runs = []
    for row in rows:
        task, preset, size = row.split(":")
        for host, network in SETTINGS:
            run = {"task": task, "preset": preset, "size": int(size), "host_memory": host, "network": network,
                   "peak_mb": measured_peak_mb(task, preset, int(size), host, network),
                   **counted(task, preset, int(size), network)}
            run["ratio"] = run[f"model_{host}_mb"] / run["peak_mb"]
            runs.append(run)
            print(f"{row:22s} {host:4s} {network:5s} peak {run['peak_mb']:6.0f} MB  model {run[f'model_{host}_mb']:6.0f} MB"
                  f"  model/peak {run['ratio']:.2f}", flush=True)
    for host in ("lean", "fast"):
        ratios = [r["ratio"] for r in runs if r["host_memory"] == host]
        rms = float(np.sqrt(np.mean((np.array(ratios) - 1) ** 2)))
        print(f"{host}: model/peak {min(ratios):.2f} .. {max(ratios):.2f}, rms error {rms:.3f}; in use: "
              f"a={CPU_PEAK_MODEL[host][0]}, b={CPU_PEAK_MODEL[host][1] / MB:.0f} MB")
        if args.fit:
            a, b = fit(runs, host)
            print(f"  least squares: a={a:.3f}, b={b:.0f} MB")
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(runs, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
