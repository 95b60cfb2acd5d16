"""``python -m dip_gui evaluate-stopping``: how close the suggested stop comes to the PSNR peak.

Each case degrades a clean crop (noise at sigma 15/25/50, JPEG, x4 downscale, 50% missing
pixels), runs the task's default preset long enough to pass the PSNR peak, and compares the PSNR
at the detector's suggestion (found without the clean image) with the run's peak.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dip_gui.core.errors import DipError, InvalidParameterError
from dip_gui.core.imaging import load_image
from dip_gui.core.problem import degradations as deg
from dip_gui.core.problem.presets import get_preset, scaled_for
from dip_gui.core.problem.tasks import make_problem
from dip_gui.core.samples import sample_photos
from dip_gui.core.session.run_loop import RunLoop
from dip_gui.core.session.session import Session
from dip_gui.core.stopping.monitor import RunMonitor

CASES = (("denoise", "noise", 15), ("denoise", "noise", 25), ("denoise", "noise", 50), ("jpeg", "jpeg", 10),
         ("sr", "downscale", 4), ("restore", "drop", 0.5))
CURVE_EVERY = 25


@dataclass
class CaseResult:
    photo: str
    case: str
    peak_psnr: float
    peak_iteration: int
    suggested_iteration: int | None
    suggested_psnr: float
    final_psnr: float = float("nan")
    #: PSNR every ``CURVE_EVERY`` iterations (for the JSON report)
    curve: list[float] = field(default_factory=list, repr=False)
    detector: str = "output variance"  # the measure the run's stop detector follows

    @property
    def gap(self) -> float:
        return self.peak_psnr - self.suggested_psnr


def degrade(clean: np.ndarray, kind: str, amount: float, seed: int = 0) -> tuple[np.ndarray, dict]:
    if kind == "noise":
        return deg.add_gaussian_noise(clean, amount, seed), {}
    if kind == "jpeg":
        return deg.jpeg_compress(clean, int(amount)), {}
    if kind == "downscale":
        return deg.downscale(clean, int(amount)), {"scale": int(amount)}
    known = deg.random_known_mask(clean.shape[:2], amount, seed)
    return clean * known[:, :, None], {"mask": known}


def evaluate_case(clean: np.ndarray, photo: str, task: str, kind: str, amount: float, iterations: int,
                  preset_name: str | None = None) -> CaseResult:
    """Run ``task`` (its default preset unless ``preset_name``) on the degraded crop past its peak."""
    observed, extra = degrade(clean, kind, amount)
    preset = scaled_for(get_preset(task, preset_name), extra.get("scale")).with_overrides(iterations=iterations)
    session = Session(make_problem(task, observed, reference=clean, **extra), preset, seed=0, device="auto")
    monitor = RunMonitor(session, snapshots=False)  # the detector the window and ``run`` use
    psnrs = np.asarray([step.result.psnr for step in RunLoop(session, monitor, until=iterations).steps()])
    peak = int(np.argmax(psnrs))
    suggested = monitor.suggestion.iteration if monitor.suggestion else None
    chosen = suggested or len(psnrs)  # no suggestion: the user gets the last iteration
    return CaseResult(photo, f"{task} {kind} {amount:g}", float(psnrs[peak]), peak + 1, suggested,
                      float(psnrs[chosen - 1]),
                      float(psnrs[-1]), [round(float(p), 3) for p in psnrs[CURVE_EVERY - 1 :: CURVE_EVERY]],
                      detector=monitor.detector.kind)


def centre_crop(image: np.ndarray, size: int) -> np.ndarray:
    top, left = max(0, (image.shape[0] - size) // 2), max(0, (image.shape[1] - size) // 2)
    return np.ascontiguousarray(image[top : top + size, left : left + size])


def evaluate_command(args: argparse.Namespace) -> int:
    photos = [Path(p) for p in args.photos] or sample_photos()
    cases = [case for case in CASES if not args.cases or _case_name(case) in args.cases.split(",")]
    if not cases:
        raise InvalidParameterError(f"no such case in {args.cases!r}; cases: {', '.join(map(_case_name, CASES))}")
    results = []
    for photo in photos:
        clean = centre_crop(load_image(photo).rgb, args.size)
        for task, kind, amount in cases:
            try:
                result = evaluate_case(clean, photo.stem, task, kind, amount, args.iters, args.preset)
            except DipError as exc:
                print(f"| {photo.stem} | {task} {kind} {amount:g} | failed: {exc} |", flush=True)
                continue
            results.append(result)
            print(_row(result), flush=True)
    gaps = np.array([r.gap for r in results])
    print(f"\nmean gap {gaps.mean():.2f} dB, worst {gaps.max():.2f} dB over {len(results)} cases "
          f"(targets: mean <= 0.5, worst <= 1.5)")
    if args.json:
        Path(args.json).write_text(json.dumps([{**r.__dict__, "gap": r.gap} for r in results], indent=1))
    return 0


def _case_name(case: tuple) -> str:
    """``noise25``, ``jpeg10``, ``downscale4``, ``drop0.5``: how ``--cases`` names a case."""
    return f"{case[1]}{case[2]:g}"


def _row(r: CaseResult) -> str:
    at = "not fired" if r.suggested_iteration is None else str(r.suggested_iteration)
    return (f"| {r.photo} | {r.case} | {r.detector} | {r.peak_psnr:.2f} @ {r.peak_iteration} "
            f"| {r.suggested_psnr:.2f} @ {at} | {r.gap:.2f} |")
