"""``batch INPUT... -o OUT_DIR --task TASK``: a folder of photos with the same settings (core/batch).

Exit status: 0 when every photo is restored, 1 when any failed (the report says which and why), 2 for
a mistake in the command, 130 when stopped (Ctrl+C, SIGTERM, SIGHUP); the same command goes on.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from dip_gui.cli.signals import tell
from dip_gui.core.batch.plan import BatchItem, plan_batch
from dip_gui.core.batch.report import REPORT_NAME
from dip_gui.core.batch.runner import BatchSummary, run_batch
from dip_gui.core.batch.settings import BatchSettings
from dip_gui.core.errors import ImageWriteError, InvalidParameterError
from dip_gui.core.problem.presets import TASKS
from dip_gui.core.runtime.device import DEVICE_CHOICES, PRECISION_CHOICES
from dip_gui.core.runtime.host_memory import HOST_MEMORY_CHOICES

EXIT_SOME_FAILED = 1
EXIT_STOPPED = 130
#: How often the progress line is redrawn on a terminal, and printed anew when stderr is a file.
REDRAW_S, LOG_EVERY_S = 0.5, 30.0


def add_batch_parser(commands: argparse._SubParsersAction) -> None:
    batch = commands.add_parser("batch", help="restore every photo of files and folders with the same settings")
    batch.add_argument("inputs", nargs="+", metavar="INPUT", help="photos and folders (read recursively)")
    batch.add_argument("-o", "--output-dir", required=True, metavar="OUT_DIR",
                       help="results go here under each photo's relative path, with batch-report.json")
    batch.add_argument("--task", required=True, choices=[t for t in TASKS if t != "flash"])
    batch.add_argument("--format", default="png", choices=("png", "tif", "jpg", "webp", "bmp"),
                       help="format of the results (PNG and TIFF keep 16 bits where the photo has them)")
    batch.add_argument("--mask-dir", metavar="DIR",
                       help="inpaint/restore: masks under each photo's relative path, named NAME.* or NAME_mask.*")
    batch.add_argument("--mask", help="inpaint/restore: one mask for every photo (white = pixel to fill)")
    batch.add_argument("--mask-white-known", action="store_true", help="the masks use white = known pixel")
    batch.add_argument("--overwrite", action="store_true", help="redo photos whose result exists")
    batch.add_argument("--preset", help="preset name (default: paper on a CUDA GPU, else fast); see `presets`")
    batch.add_argument("--iters", type=int, help="iterations per photo (default: the preset's)")
    batch.add_argument("--lr", type=float, help="learning rate (default: the preset's)")
    batch.add_argument("--scale", type=int, choices=(2, 4, 8), help="super-resolution factor")
    batch.add_argument("--blur", type=float, default=0.0, metavar="PX",
                       help="super-resolution: the camera's extra blur, as for run --blur")
    batch.add_argument("--max-seconds", type=float, help="optimisation time per photo")
    batch.add_argument("--auto-stop", action=argparse.BooleanOptionalAction, default=True,
                       help="each photo ends where the stop detector finds its result best (the default)")
    batch.add_argument("--raw-output", action="store_true", help="inpainting: the network output, known pixels too")
    batch.add_argument("--seed", type=int, default=0)
    batch.add_argument("--quality", type=int, default=95, help="JPEG/WebP quality of the results")
    batch.add_argument("--to-srgb", action="store_true",
                       help="convert each result from its photo's colour profile to sRGB (default: keep the profile)")
    batch.add_argument("--device", default="auto", choices=DEVICE_CHOICES)
    batch.add_argument("--precision", default="auto", choices=PRECISION_CHOICES)
    batch.add_argument("--host-memory", default="auto", choices=HOST_MEMORY_CHOICES)
    batch.add_argument("--checkpoint-every", type=float, default=30.0, metavar="SECONDS",
                       help="save the photo in progress this often, so a killed batch resumes it")
    batch.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                       help="send each photo to a Ray cluster (no address: a local Ray instance); "
                            "pip install 'dip-studio[cluster]'")
    batch.add_argument("--cpus-per-photo", type=int, metavar="N",
                       help="--ray without GPUs: CPU threads per photo (default: a local batch's, up to a node's CPUs; "
                            "the last bit of a CPU result depends on it)")
    batch.add_argument("--gpus-per-photo", type=float, metavar="F",
                       help="--ray: GPUs per photo, a fraction to share one (default: 1 where the cluster has GPUs)")
    batch.add_argument("--quiet", action="store_true", help="no progress line; the last line still says how it went")


def settings_from(args: argparse.Namespace) -> BatchSettings:
    return BatchSettings(task=args.task, preset=args.preset, iterations=args.iters, lr=args.lr, scale=args.scale,
                         blur=args.blur, seed=args.seed, max_seconds=args.max_seconds, auto_stop=args.auto_stop,
                         quality=args.quality,
                         to_srgb=args.to_srgb, mask_white_known=args.mask_white_known, raw_output=args.raw_output,
                         output_format=args.format,
                         device=args.device, precision=args.precision, host_memory=args.host_memory,
                         checkpoint_every=args.checkpoint_every)


def batch_command(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    settings.check()
    if args.mask and args.mask_dir:
        raise InvalidParameterError("give --mask (one for all) or --mask-dir, not both")
    if (args.mask or args.mask_dir) and args.task not in ("inpaint", "restore"):
        raise InvalidParameterError(f"--mask and --mask-dir are for inpaint and restore; {args.task} takes no mask")
    out_dir = Path(args.output_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ImageWriteError(f"{out_dir} is a file; name a folder (it is made if missing)")
    mask_dir = Path(args.mask_dir) if args.mask_dir else None
    if mask_dir is not None and not mask_dir.is_dir():
        raise InvalidParameterError(f"--mask-dir {mask_dir}: no such folder")
    if args.mask and not Path(args.mask).is_file():
        raise InvalidParameterError(f"--mask {args.mask}: no such file")
    items = plan_batch(args.inputs, out_dir, args.format, mask_dir=mask_dir,
                       mask=Path(args.mask) if args.mask else None)
    progress = ProgressBar(len(items), quiet=args.quiet)
    if args.ray:
        from dip_gui.core.batch.cluster import run_on_ray

        summary = run_on_ray(items, settings, out_dir, None if args.ray == "local" else args.ray,
                             overwrite=args.overwrite, events=progress, cpus_per_photo=args.cpus_per_photo,
                             gpus_per_photo=args.gpus_per_photo)
    else:
        summary = run_batch(items, settings, out_dir, overwrite=args.overwrite, events=progress)
    progress.close()
    tell(f"{summary.line()}; report: {out_dir / REPORT_NAME}")
    return exit_status(summary)


def exit_status(summary: BatchSummary) -> int:
    if summary.stopped:
        return EXIT_STOPPED
    return EXIT_SOME_FAILED if summary.failed else 0


class ProgressBar:
    """One line on stderr over the whole batch: photos done, the current photo's progress, time left.
    Redrawn in place on a terminal; printed every ``LOG_EVERY_S`` seconds into a file or pipe."""

    def __init__(self, count: int, quiet: bool = False) -> None:
        self.count, self.quiet = count, quiet
        self.terminal = sys.stderr.isatty()
        self.ended = self.failed = 0
        self.started_at = self.last_ended_at = time.monotonic()
        self.photo_seconds: list[float] = []
        self.current: BatchItem | None = None
        self.photo_started_at = self.last_drawn = 0.0
        self.iteration = self.total = 0

    def batch_started(self, to_restore: int, reused: int) -> None:
        self.count = to_restore
        if reused:
            self._line(f"{reused} of {to_restore + reused} photos already restored (--overwrite redoes them)", always=True)

    def photo_started(self, index: int, item: BatchItem) -> None:
        self.current, self.iteration, self.total = item, 0, 0
        self.photo_started_at = time.monotonic()
        self._draw(force=True)

    def photo_progress(self, iteration: int, total: int) -> None:
        self.iteration, self.total = iteration, total
        self._draw()

    def photo_ended(self, index: int, item: BatchItem, entry: dict[str, object]) -> None:
        self.ended += 1
        now = time.monotonic()
        if entry.get("status") == "done":  # since it started, or (photos run side by side on Ray) since the last one
            self.photo_seconds.append(now - max(self.photo_started_at, self.last_ended_at))
        self.last_ended_at = now
        status = entry.get("status")
        if status == "failed":
            self.failed += 1
            error = str(entry.get("error")).removeprefix(item.relative.name + ": ")  # the path says it
            self._line(f"failed: {item.name}: {error}", always=True)
        self.current = None

    def close(self) -> None:
        if self.terminal and not self.quiet:
            sys.stderr.write("\n")

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        every = REDRAW_S if self.terminal else LOG_EVERY_S
        if self.quiet or (not force and now - self.last_drawn < every):
            return
        self.last_drawn = now
        self._line(self.describe(now))

    def describe(self, now: float) -> str:
        text = f"[{self.ended}/{self.count} photos"
        text += f", {self.failed} failed]" if self.failed else "]"
        if self.current is not None:
            text += f" {self.current.name}"
            if self.total:
                text += f" iter {self.iteration}/{self.total}"
        left = self.seconds_left(now)
        text += f"  {_clock(now - self.started_at)} elapsed"
        if left is not None:
            text += f", about {_clock(left)} left"
        return text

    def seconds_left(self, now: float) -> float | None:
        """The mean time per photo restored so far times the photos to go (none known before the first)."""
        if not self.photo_seconds:
            return None
        mean = sum(self.photo_seconds) / len(self.photo_seconds)
        current = 0.0 if self.current is None else max(mean - (now - self.photo_started_at), 0.0)
        to_go = self.count - self.ended - (self.current is not None)
        return mean * max(to_go, 0) + current

    def _line(self, text: str, always: bool = False) -> None:
        if self.quiet and not always:
            return
        if self.terminal:
            sys.stderr.write("\r\033[K" + text + ("\n" if always else ""))
            sys.stderr.flush()
        else:
            tell(text)


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
