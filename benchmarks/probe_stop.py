"""Experiment: can pixels held back from the fit find the best iteration of JPEG artefact removal
and denoising, where the output variance often never settles?

A random share of the photo's pixels (``--share``, 2% by default) is hidden from the fit (the loss
covers the others); each iteration the result's mean squared error on them, against the degraded
values, feeds the validation detector restoration uses (core/stopping/detectors.py). For independent
noise that error is the true error plus the noise variance, so its minimum is the best iteration;
JPEG's errors are not independent of their neighbours, which is what this measures. The product
is not changed: the hiding is set up here on an ordinary session.

    python benchmarks/probe_stop.py PHOTO... [--size 96] [--jpeg 10 | --noise 25] [--iters 1200]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dip_gui.cli.evaluate_stopping import centre_crop, degrade
from dip_gui.core.imaging import load_image
from dip_gui.core.problem import degradations as deg
from dip_gui.core.problem.presets import get_preset
from dip_gui.core.problem.tasks import make_problem
from dip_gui.core.session.run_loop import RunLoop
from dip_gui.core.session.session import Session
from dip_gui.core.stopping.detectors import ValidationStopDetector
from dip_gui.core.stopping.monitor import RunMonitor


def probe_run(clean: np.ndarray, degraded: np.ndarray, task: str, iterations: int, share: float, seed: int = 0) -> dict:
    """One run with ``share`` of the pixels hidden: PSNR per iteration, and where each detector stops."""
    problem = make_problem(task, degraded, reference=clean, keep_known=False)
    session = Session(problem, get_preset(task).with_overrides(iterations=iterations), seed=seed, device="cpu")
    hidden = np.random.default_rng(seed + 7).random(degraded.shape[:2]) < share
    fit = torch.from_numpy((~hidden).astype(np.float32))[None, None]
    session.operator = deg.MaskOperator(fit)  # the loss covers the pixels not hidden ...
    session.mask, session.known_fraction = fit, float(fit.mean())
    probe = torch.from_numpy(hidden)[None, None].expand_as(session.observed)
    validation = ValidationStopDetector.for_run(iterations, int(probe.sum()))
    variance = RunMonitor(session, snapshots=False)  # ... and the variance detector watches as in a run
    psnrs = []
    for step in RunLoop(session, variance, until=iterations).steps():
        psnrs.append(step.result.psnr)
        error = ((session.result_tensor() - session.observed)[probe] ** 2).mean()
        validation.update_small(step.result.iteration, error)
    best = int(np.argmax(psnrs))
    row = {"first": psnrs[0], "best": psnrs[best], "best_at": best + 1, "last": psnrs[-1]}
    for name, suggestion in (("probe", validation.suggestion), ("variance", variance.suggestion)):
        at = suggestion.iteration if suggestion else len(psnrs)
        row[name] = {"at": at, "psnr": psnrs[at - 1], "fired": suggestion is not None}
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", nargs="+")
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--jpeg", type=int, help="JPEG quality (the jpeg task); else --noise")
    parser.add_argument("--noise", type=float, default=25.0)
    parser.add_argument("--iters", type=int, default=1200)
    parser.add_argument("--share", type=float, default=0.02)
    parser.add_argument("--json")
    args = parser.parse_args()
    task = "jpeg" if args.jpeg else "denoise"
    rows = []
    print("| photo | first | best (it) | held-back pixels stop (it) | output variance stop (it) | last |")
    print("|---|---|---|---|---|---|")
    for photo in args.photos:
        clean = centre_crop(load_image(photo).rgb, args.size)
        degraded, _ = degrade(clean, "jpeg", args.jpeg) if args.jpeg else degrade(clean, "noise", args.noise)
        row = {"photo": Path(photo).stem, **probe_run(clean, degraded, task, args.iters, args.share)}
        rows.append(row)

        def cell(stop: dict) -> str:
            return f"{stop['psnr']:.2f} ({stop['at']}{'' if stop['fired'] else ', not fired'})"

        print(f"| {row['photo']} | {row['first']:.2f} | {row['best']:.2f} ({row['best_at']}) | {cell(row['probe'])} "
              f"| {cell(row['variance'])} | {row['last']:.2f} |", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
