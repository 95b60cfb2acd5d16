"""The headless ``run`` command: load, check everything (cli/run_inputs.py), run the loop, save, write metrics.

The run is the core's ``RunLoop``: it ends on its budget, the stop rule (``--auto-stop``), Ctrl+C or
a divergence, and each of those saves what has been restored so far.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from dip_gui.cli.run_inputs import (
    Log,
    check_output,
    check_resume_options,
    check_task_options,
    held_session_files,
    load_photo,
    load_side_inputs,
    preset_for,
    progress_printer,
    save_result,
)
from dip_gui.core.atomic import remove_stale_temporaries, write_json_atomic
from dip_gui.core.errors import DipError, InvalidParameterError
from dip_gui.core.estimate.cost import LONG_RUN_S, CostEstimate, cost_warning, with_check
from dip_gui.core.imaging import LoadedImage, load_image, save_image, three_channels
from dip_gui.core.metrics import psnr
from dip_gui.core.problem.tasks import make_problem
from dip_gui.core.runtime.device import available_memory_bytes
from dip_gui.core.session.checkpoint import Checkpointer, load_session, photo_facts, restore_monitor, saved_photo
from dip_gui.core.session.cost_probe import estimate_run_cost
from dip_gui.core.session.handed_back import HandedBack, handed_back
from dip_gui.core.session.run_loop import EndReason, RunEnd, RunLoop, check_measure, check_size
from dip_gui.core.session.session import Session, StepResult
from dip_gui.core.stopping.monitor import RunMonitor


def run_command(args: argparse.Namespace) -> int:
    """One photo restored; the session files it reads and writes are held for the run, so a second
    run given the same one is refused before it reads it, instead of writing over the first's."""
    with held_session_files(args):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    if args.resume:
        check_resume_options(args)
        session, state = load_session(args.resume, args.device, args.precision, args.host_memory)
        remove_stale_temporaries(args.resume)  # what the killed run was writing when it died
        photo = _adopt_saved_source(args, session, state)
        check_output(args)
    else:
        if not args.input or not args.task:
            raise InvalidParameterError("give the photo to restore and --task (or --resume a saved session)")
        check_task_options(args)
        check_output(args)
        photo = load_photo(args)
        session, state = _make_session(args, photo), None
    log = progress_printer(args.quiet, lambda: session.iteration <= 1)
    verb = f"resuming at iteration {session.iteration}: " if args.resume else ""
    log(
        f"{verb}{args.task} with preset {session.preset.name}: {session.parameters:,} parameters on {session.device.type}, "
        f"{session.problem.out_size[1]}x{session.problem.out_size[0]} output",
        force=bool(args.resume),
    )
    _announce_cost(session, log, args.max_seconds, args.host_memory, args.auto_stop)
    monitor = RunMonitor(session, snapshots=bool(args.save_snapshots))
    if state is not None:
        restore_monitor(monitor, state)
    paths = {name: str(Path(getattr(args, name)).resolve()) if getattr(args, name, None) else None
             for name in ("input", "mask", "guide", "reference")}
    checkpoint = Checkpointer(args.checkpoint, args.checkpoint_every, session, monitor,
                              photo_facts(photo, **paths, scale=args.scale))
    history, end = _optimise(args, session, monitor, log, checkpoint)
    result = handed_back(session, monitor, args.auto_stop)
    stopped_at = result.stopped_at
    output = save_result(args, photo, result.image)
    metrics = _metrics(args, session, history, output, monitor, result, end)
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
    return 130 if end.reason is EndReason.INTERRUPTED else 0


def _announce_cost(session: Session, log: Log, budget: float | None, host_memory: str, auto_stop: bool) -> None:
    """Time and memory of the run before it starts, and of its check against its start where
    ``auto_stop`` ends it with one; a warning when it is long or may not fit. ``host_memory``: the
    user's setting, which the estimate plans from as the session did."""
    problem, preset = session.problem, session.preset
    measure = check_measure(session) if auto_stop else None
    photo_size = (problem.observed.shape[0], problem.observed.shape[1])
    copy_size = None if measure is None else check_size(measure, photo_size)

    def estimate(size: tuple[int, int]) -> CostEstimate:
        return estimate_run_cost(preset, size, problem.channels, session.device.type, host_memory)

    try:
        cost = with_check(estimate(problem.out_size), problem.out_size, copy_size, estimate)
    except (DipError, RuntimeError):
        return
    remaining = session.total_iterations - session.iteration
    log("estimate: " + cost.describe(remaining))
    long_run = math.inf if budget is not None and budget <= LONG_RUN_S else LONG_RUN_S  # a budget bounds the time
    warning = cost_warning(cost, remaining, available_memory_bytes(session.device), long_run)
    if warning:
        log(f"warning: {warning} --max-seconds, a smaller preset or --checkpoint (to resume later) may help", force=True)


def _log_suggestion(monitor: RunMonitor, log: Log) -> None:
    suggestion = monitor.suggestion
    if suggestion is None:
        return
    log(f"suggested stop: iteration {suggestion.iteration} ({suggestion.reason})", force=True)


def _log_checkpoint_problem(checkpoint: Checkpointer, problem: str, log: Log) -> None:
    """The run goes on: losing a checkpoint must not lose the run."""
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
        blur=args.blur or 0.0,
    )
    return Session(problem, preset_for(args, photo), seed=args.seed, device=args.device,
                   precision=args.precision, host_memory=args.host_memory)


def _optimise(args: argparse.Namespace, session: Session, monitor: RunMonitor, log: Log,
              checkpoint: Checkpointer) -> tuple[list[dict], RunEnd]:
    """Drive the run loop, logging progress, suggestions, checkpoint problems and how it ended."""
    history: list[dict] = []
    loop = RunLoop(session, monitor, budget_s=args.max_seconds, auto_stop=args.auto_stop, checkpoint=checkpoint,
                   announce=lambda message: log(message, force=not args.quiet))
    try:
        for step in loop.steps():
            history.append(_record(step.result))
            log(_progress_line(session, step.result, args.max_seconds))
            if step.checkpoint_problem is not None:
                _log_checkpoint_problem(checkpoint, step.checkpoint_problem, log)
            if step.suggestion is not None:
                _log_suggestion(monitor, log)
    except KeyboardInterrupt:  # between steps (while logging): the loop ends the run as it does during one
        loop.interrupt()
    end = loop.outcome
    if end.late_suggestion is not None:
        _log_suggestion(monitor, log)
    if end.checkpoint_problem is not None:
        _log_checkpoint_problem(checkpoint, end.checkpoint_problem, log)
    if end.check_problem is not None:
        log(f"warning: the result could not be checked against its start: {end.check_problem}", force=True)
    elif end.start_check is not None:
        log(end.start_check.describe(), force=not args.quiet)
    if end.reason is EndReason.INTERRUPTED:
        log(f"interrupted at iteration {session.iteration}; saving the result so far", force=True)
    elif end.reason is EndReason.DIVERGED:
        log(f"warning: {end.message}", force=True)
    return history, end


def _record(result: StepResult) -> dict:
    record = {"iteration": result.iteration, "loss": result.loss, "seconds": round(result.seconds, 4)}
    if result.psnr is not None:
        record["psnr"] = result.psnr
    return record


def _progress_line(session: Session, result, budget: float | None) -> str:
    rate = session.iteration / max(session.seconds, 1e-9)
    line = f"iter {result.iteration}/{session.total_iterations}  loss {result.loss:.5f}  {rate:.2f} it/s  {result.seconds:.0f} s"
    if budget is not None:
        line += f"/{budget:.0f} s"
    if result.psnr is not None:
        line += f"  PSNR {result.psnr:.2f} dB"
    return line


def _metrics(args: argparse.Namespace, session: Session, history: list[dict], output: Path, monitor: RunMonitor,
             result: HandedBack, end: RunEnd) -> dict:
    final: dict = {"iteration": result.iteration, "loss": session.last_loss}
    metrics = {
        "task": args.task,
        "preset": session.preset.name,
        "scale": args.scale,
        "blur": session.problem.blur,
        "seed": args.seed,
        "device": session.device.type,
        "parameters": session.parameters,
        "iterations": session.iteration,
        "seconds": round(session.seconds, 3),
        "start_seconds": round(end.start_seconds, 3),
        "check_seconds": round(end.check_seconds, 3),
        "end_reason": end.reason.value,
        "history": history,
        "final": final,
    }
    if monitor.suggestion is not None:
        metrics["stop_suggestion"] = monitor.suggestion.to_dict()
    if result.start_check is not None:
        metrics["start_check"] = result.start_check.to_dict()
    if getattr(session, "stopped_early", None):
        metrics["stopped_early"] = session.stopped_early
    if session.problem.reference is not None:
        saved = load_image(output).rgb  # the PSNR of the file as written, quantisation included
        final["psnr"] = psnr(saved, three_channels(session.problem.reference))
        scored = [h for h in history if "psnr" in h]
        if scored:
            best = max(scored, key=lambda h: h["psnr"])
            metrics["best"] = {"iteration": best["iteration"], "psnr": best["psnr"]}
    return _finite(metrics)


def _save_snapshots(folder: Path, monitor: RunMonitor, photo: LoadedImage, args: argparse.Namespace) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    protected = tuple(p for p in (args.input, args.mask, args.guide, args.reference) if p)
    for snapshot in [] if monitor.store is None else monitor.store.snapshots:
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
