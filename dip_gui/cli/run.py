"""The headless ``run`` command: load, check everything, optimise, save, write metrics.

All checks that can fail (files, sizes, output path) happen before the first iteration, so a
mistake costs seconds, not a run. Ctrl+C saves what has been restored so far.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from dip_gui.core.atomic import remove_stale_temporaries, write_json_atomic
from dip_gui.core.errors import DipError, DivergenceError, ImageWriteError, InvalidParameterError
from dip_gui.core.estimate.cost import LONG_RUN_S, cost_warning, estimate_cost
from dip_gui.core.imaging import WRITABLE_FORMATS, LoadedImage, load_image, load_mask, same_file, save_image
from dip_gui.core.metrics import psnr
from dip_gui.core.problem.presets import default_preset_name, get_preset, scaled_for
from dip_gui.core.problem.tasks import make_problem
from dip_gui.core.runtime.device import available_memory_bytes, resolve_device
from dip_gui.core.session.checkpoint import Checkpointer, load_session, photo_facts, restore_monitor, saved_photo
from dip_gui.core.session.session import Session
from dip_gui.core.stopping.monitor import RunMonitor

PROGRESS_EVERY_S = 1.0
#: Iterations timed before a time budget fixes the learning-rate schedule's horizon.
HORIZON_PROBE = 5


def run_command(args: argparse.Namespace) -> int:
    if args.tile:
        from dip_gui.cli.run_tiled import run_tiled_command

        return run_tiled_command(args)
    if args.resume:
        session, state = load_session(args.resume, args.device, args.precision, args.host_memory)
        remove_stale_temporaries(args.resume)  # what the killed run was writing when it died
        photo = _adopt_saved_source(args, session, state)
        check_output(args)
    else:
        if not args.input or not args.task:
            raise InvalidParameterError("give the photo to restore and --task (or --resume a saved session)")
        check_output(args)
        photo = load_image(args.input)
        session, state = _make_session(args, photo), None
    log = progress_printer(args.quiet, lambda: session.iteration <= 1)
    verb = f"resuming at iteration {session.iteration}: " if args.resume else ""
    log(
        f"{verb}{args.task} with preset {session.preset.name}: {session.parameters:,} parameters on {session.device.type}, "
        f"{session.problem.out_size[1]}x{session.problem.out_size[0]} output",
        force=bool(args.resume),
    )
    _announce_cost(session, log, args.max_seconds, args.host_memory)
    monitor = RunMonitor(session, snapshots=bool(args.save_snapshots))
    if state is not None:
        restore_monitor(monitor, state)
    paths = {name: str(Path(getattr(args, name)).resolve()) if getattr(args, name, None) else None
             for name in ("input", "mask", "guide", "reference")}
    checkpoint = Checkpointer(args.checkpoint, args.checkpoint_every, session, monitor,
                              photo_facts(photo, **paths, scale=args.scale))
    history, interrupted = _optimise(args, session, monitor, log, checkpoint)
    monitor.flush()  # iterations still queued for the detector and the snapshots (GPU)
    if monitor.take_new_suggestion() is not None:
        _log_suggestion(monitor, log)
    _checkpoint(checkpoint, log)
    stopped_at = monitor.suggestion.iteration if args.auto_stop and monitor.suggestion else None
    image = monitor.suggested_image() if stopped_at else session.result()
    output = save_result(args, photo, image)
    metrics = _metrics(args, session, history, output, monitor, stopped_at)
    if args.save_snapshots:
        _save_snapshots(Path(args.save_snapshots), monitor, photo, args)
    if args.metrics_json:
        write_json_atomic(Path(args.metrics_json), metrics)
    final = metrics["final"]
    summary = f"saved {output} after {session.iteration} iterations ({session.seconds:.1f} s)"
    if stopped_at:
        summary = f"saved {output}: the result of iteration {stopped_at}, the suggested stop ({session.iteration} run)"
    if "psnr" in final:
        summary += f", PSNR {final['psnr']:.2f} dB"
    log(summary, force=True)
    return 130 if interrupted else 0


def _announce_cost(session: Session, log, budget: float | None, host_memory: str) -> None:
    """Time and memory of the run before it starts; a warning when it is long or may not fit.
    ``host_memory``: the user's setting, which the estimate plans from as the session did."""
    try:
        cost = estimate_cost(session.preset, session.problem.out_size, session.problem.channels, session.device.type,
                             host_memory)
    except (DipError, RuntimeError):
        return
    remaining = session.total_iterations - session.iteration
    log("estimate: " + cost.describe(remaining))
    long_run = math.inf if budget is not None and budget <= LONG_RUN_S else LONG_RUN_S  # a budget bounds the time
    warning = cost_warning(cost, remaining, available_memory_bytes(session.device), long_run)
    if warning:
        log(f"warning: {warning} --max-seconds, a smaller preset or --checkpoint (to resume later) may help", force=True)


def _log_suggestion(monitor: RunMonitor, log) -> None:
    suggestion = monitor.suggestion
    log(f"suggested stop: iteration {suggestion.iteration} ({suggestion.reason})", force=True)


def _checkpoint(checkpoint: Checkpointer, log) -> None:
    problem = checkpoint.save()
    if problem is not None:  # the run goes on: losing a checkpoint must not lose the run
        log(f"warning: could not write the checkpoint {checkpoint.path}: {problem}", force=True)


def _adopt_saved_source(args: argparse.Namespace, session: Session, state: dict) -> LoadedImage:
    """Fill the run's settings from a saved session; ``--iters`` sets a new total."""
    source = state.get("source") or {}
    for name in ("input", "mask", "guide", "reference"):
        setattr(args, name, source.get(name))
    args.task, args.scale, args.seed = session.problem.task, source.get("scale"), session.seed
    if args.iters is not None:
        if args.iters < session.iteration:
            raise InvalidParameterError(f"--iters {args.iters} is below the {session.iteration} iterations already run")
        session.preset = session.preset.with_overrides(iterations=args.iters)
        session.preset.validate()
    return saved_photo(session, source)


def check_output(args: argparse.Namespace) -> None:
    output = Path(args.output)
    if output.suffix.lower() not in WRITABLE_FORMATS:
        raise ImageWriteError(
            f"{output.name}: cannot write '{output.suffix or 'no extension'}' files; use PNG, TIFF, JPEG, WebP or BMP"
        )
    if not output.resolve().parent.is_dir():
        raise ImageWriteError(f"{output.parent}: output folder does not exist")
    for name in ("input", "mask", "guide", "reference"):
        other = getattr(args, name, None)
        if other and same_file(output, Path(other)):
            raise ImageWriteError(f"{output.name}: refusing to overwrite the {name} file; choose another output name")
    if args.checkpoint:
        _check_checkpoint_path(args)
    if args.metrics_json and Path(args.metrics_json).resolve() in {Path(p).resolve() for p in (args.input, args.output) if p}:
        raise ImageWriteError("--metrics-json must not name the input or output image")


def _check_checkpoint_path(args: argparse.Namespace) -> None:
    checkpoint = Path(args.checkpoint)
    if not checkpoint.resolve().parent.is_dir():
        raise ImageWriteError(f"{checkpoint.parent}: checkpoint folder does not exist")
    for name in ("input", "mask", "guide", "reference", "output", "metrics_json"):
        other = getattr(args, name, None)
        if other and same_file(checkpoint, Path(other)):
            raise ImageWriteError(f"--checkpoint must not name the {name.replace('_', ' ')} file")
    if not args.checkpoint_every >= 0:
        raise InvalidParameterError(f"--checkpoint-every must be 0 or more seconds, not {args.checkpoint_every}")


def _make_session(args: argparse.Namespace, photo: LoadedImage) -> Session:
    mask, guide, reference = load_side_inputs(args, photo)
    problem = make_problem(
        args.task,
        photo.rgb,
        grey=photo.grey,
        scale=args.scale,
        mask=mask,
        guide=guide,
        reference=reference,
        keep_known=not args.raw_output,
    )
    return Session(problem, preset_for(args), seed=args.seed, device=args.device,
                   precision=args.precision, host_memory=args.host_memory)


def load_side_inputs(args: argparse.Namespace, photo: LoadedImage) -> tuple:
    """The mask (1 = known), flash photo and clean reference named on the command line (or None)."""
    mask = guide = reference = None
    if args.mask:
        mask = load_mask(args.mask, photo.size, white_is_hole=not args.mask_white_known)
    if args.guide:
        guide = load_image(args.guide).rgb
    if args.reference:
        reference = _fit_reference(load_image(args.reference).rgb, photo, args)
    return mask, guide, reference


def preset_for(args: argparse.Namespace):
    """The run's preset: named or the device's default, scaled for SR, with command-line overrides.
    A ``--max-seconds`` budget does not change it: since session 17 no task's ``balanced`` gets further
    than its ``fast`` in the same time (SR's was the last, docs/presets.md)."""
    device = resolve_device(args.device).type
    preset = scaled_for(get_preset(args.task, args.preset or default_preset_name(args.task, device)), args.scale)
    preset = preset.with_overrides(iterations=args.iters, lr=args.lr)
    preset.validate()
    if args.max_seconds is not None and not (args.max_seconds > 0 and math.isfinite(args.max_seconds)):
        raise InvalidParameterError(f"--max-seconds must be a positive number of seconds, not {args.max_seconds}")
    return preset


def _fit_reference(reference: np.ndarray, photo: LoadedImage, args: argparse.Namespace) -> np.ndarray:
    """SR references may be up to scale-1 pixels larger (degrade cuts to a multiple): crop them."""
    if args.task == "sr" and args.scale:
        height, width = photo.size[0] * args.scale, photo.size[1] * args.scale
        if 0 <= reference.shape[0] - height < args.scale and 0 <= reference.shape[1] - width < args.scale:
            return reference[:height, :width]
    return reference


def _optimise(args: argparse.Namespace, session: Session, monitor: RunMonitor, log,
              checkpoint: Checkpointer) -> tuple[list[dict], bool]:
    history: list[dict] = []
    budget = args.max_seconds
    try:
        while session.iteration < session.total_iterations:
            if budget is not None and session.seconds >= budget:
                break
            result = session.step()
            record = {"iteration": result.iteration, "loss": result.loss, "seconds": round(result.seconds, 4)}
            if result.psnr is not None:
                record["psnr"] = result.psnr
            history.append(record)
            if budget is not None and session.iteration == HORIZON_PROBE:
                session.set_horizon(int(budget / (session.seconds / HORIZON_PROBE)))
            log(_progress_line(session, result, budget))
            if checkpoint.due():
                _checkpoint(checkpoint, log)
            if monitor.observe(result.iteration) is not None:
                _log_suggestion(monitor, log)
                if args.auto_stop:
                    break
    except KeyboardInterrupt:
        log(f"interrupted at iteration {session.iteration}; saving the result so far", force=True)
        return history, True
    except DivergenceError as exc:  # keep the last good result rather than losing the run
        log(f"warning: {exc}", force=True)
        session.stopped_early = "diverged"
    return history, False


def _progress_line(session: Session, result, budget: float | None) -> str:
    rate = session.iteration / max(session.seconds, 1e-9)
    line = f"iter {result.iteration}/{session.total_iterations}  loss {result.loss:.5f}  {rate:.2f} it/s  {result.seconds:.0f} s"
    if budget is not None:
        line += f"/{budget:.0f} s"
    if result.psnr is not None:
        line += f"  PSNR {result.psnr:.2f} dB"
    return line


def progress_printer(quiet: bool, always=lambda: False):
    """A logger to stderr: at most one progress line a second (or when ``always()``); forced lines always."""
    last = [0.0]

    def log(message: str, force: bool = False) -> None:
        now = time.monotonic()
        if quiet and not force:
            return
        if force or now - last[0] >= PROGRESS_EVERY_S or always():
            last[0] = now
            print(message, file=sys.stderr, flush=True)

    return log


def save_result(args: argparse.Namespace, photo: LoadedImage, image: np.ndarray) -> Path:
    """Write the result like the input (bit depth, grey, alpha resized to the output), never over an input."""
    alpha = photo.alpha
    if alpha is not None and alpha.shape != image.shape[:2]:
        alpha = cv2.resize(alpha, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_CUBIC)
    protected = tuple(p for p in (args.input, args.mask, args.guide, args.reference) if p)
    return save_image(
        args.output, image, alpha=alpha, bit_depth=photo.bit_depth, grey=photo.grey, quality=args.quality, protected=protected
    )


def _metrics(args: argparse.Namespace, session: Session, history: list[dict], output: Path, monitor: RunMonitor,
             stopped_at: int | None) -> dict:
    final: dict = {"iteration": stopped_at or session.iteration, "loss": session.last_loss}
    metrics = {
        "task": args.task,
        "preset": session.preset.name,
        "scale": args.scale,
        "seed": args.seed,
        "device": session.device.type,
        "parameters": session.parameters,
        "iterations": session.iteration,
        "seconds": round(session.seconds, 3),
        "history": history,
        "final": final,
    }
    if monitor.suggestion is not None:
        metrics["stop_suggestion"] = monitor.suggestion.to_dict()
    if getattr(session, "stopped_early", None):
        metrics["stopped_early"] = session.stopped_early
    if session.problem.reference is not None:
        saved = load_image(output).rgb  # the PSNR of the file as written, quantisation included
        reference = session.problem.reference
        if reference.shape[2] == 1:
            reference = np.repeat(reference, 3, axis=2)
        final["psnr"] = psnr(saved, reference)
        scored = [h for h in history if "psnr" in h]
        if scored:
            best = max(scored, key=lambda h: h["psnr"])
            metrics["best"] = {"iteration": best["iteration"], "psnr": best["psnr"]}
    return _finite(metrics)


def _save_snapshots(folder: Path, monitor: RunMonitor, photo: LoadedImage, args: argparse.Namespace) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    protected = tuple(p for p in (args.input, args.mask, args.guide, args.reference) if p)
    for snapshot in monitor.store.snapshots:
        save_image(folder / f"snapshot_{snapshot.iteration:06d}.png", snapshot.image.astype(np.float32) / 255.0,
                   grey=photo.grey, protected=protected)


def _finite(value):
    """JSON has no NaN/inf: replace them by null so every reader can parse the file."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
