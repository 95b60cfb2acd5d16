"""``run --tile N``: a photo too large for the device, restored as overlapping tiles (core/session/tiles.py)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from dip_gui.cli.run_inputs import (
    check_output,
    check_task_options,
    held_session_files,
    load_photo,
    load_side_inputs,
    preset_for,
    progress_printer,
    save_result,
)
from dip_gui.core.atomic import write_json_atomic
from dip_gui.core.errors import InvalidParameterError
from dip_gui.core.imaging import load_image, three_channels
from dip_gui.core.metrics import psnr
from dip_gui.core.session.tiles import TilesInterrupted, plan_tiles, run_tiled

#: Options that follow one session through a run; a tiled run is many sessions (its --checkpoint holds
#: the tiles done and the tile in progress, and the same command again continues from it).
NOT_WITH_TILES = ("resume", "save_snapshots", "raw_output")


def run_tiled_command(args: argparse.Namespace) -> int:
    with held_session_files(args):
        return _run_tiled(args)


def _run_tiled(args: argparse.Namespace) -> int:
    for name in NOT_WITH_TILES:
        if getattr(args, name, None):
            raise InvalidParameterError(f"--{name.replace('_', '-')} does not work with --tile")
    if not args.input or not args.task:
        raise InvalidParameterError("give the photo to restore and --task")
    check_task_options(args)
    check_output(args)
    photo = load_photo(args)
    mask, guide, reference = load_side_inputs(args, photo)
    preset = preset_for(args, photo)
    tiles = plan_tiles(photo.size[0], photo.size[1], args.tile, args.tile_overlap)
    log = progress_printer(args.quiet)
    log(f"{args.task} with preset {preset.name} in {len(tiles)} tiles of up to {args.tile} px "
        f"({args.tile_overlap} px overlap), {preset.iterations} iterations each", force=True)
    start = time.monotonic()

    def progress(index: int, count: int, session) -> None:
        log(f"tile {index + 1}/{count}  iter {session.iteration}/{session.total_iterations}  loss {session.last_loss:.5f}")

    interrupted: TilesInterrupted | None = None
    try:
        image = run_tiled(args.task, photo.rgb, preset, tile=args.tile, overlap=args.tile_overlap, seed=args.seed,
                          device=args.device, grey=photo.grey, scale=args.scale, blur=args.blur or 0.0, mask=mask, guide=guide,
                          max_seconds=args.max_seconds, auto_stop=args.auto_stop, progress=progress,
                          checkpoint=args.checkpoint, checkpoint_every=args.checkpoint_every)
    except TilesInterrupted as stop:  # the tiles done are kept
        interrupted, image = stop, stop.image
        log(f"{stop}; saving the finished tiles (the photo as it was where no tile ran)", force=True)
    output = save_result(args, photo, image)
    metrics: dict = {"task": args.task, "preset": preset.name, "tiles": len(tiles), "tile": args.tile,
                     "tile_overlap": args.tile_overlap, "iterations_per_tile": preset.iterations,
                     "seconds": round(time.monotonic() - start, 3), "final": {},
                     "end_reason": "interrupted" if interrupted else "done",
                     "tiles_reached": interrupted.reached if interrupted else len(tiles)}
    if reference is not None:
        metrics["final"]["psnr"] = psnr(load_image(output).rgb, three_channels(reference))
    if args.metrics_json:
        write_json_atomic(Path(args.metrics_json), metrics)
    log(f"saved {output} ({len(tiles)} tiles, {metrics['seconds']:.1f} s)", force=True)
    return 130 if interrupted else 0
