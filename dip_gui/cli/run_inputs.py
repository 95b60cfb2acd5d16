"""What ``run`` and ``run --tile`` share: the checks before the first iteration, the side inputs,
the preset, the progress printer and the saved result.

Every check that can fail (files, sizes, output path) happens here, before the first iteration,
so a mistake costs seconds, not a run.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Protocol

import numpy as np

from dip_gui.cli.signals import tell
from dip_gui.core.atomic import check_writable, held_alone, lock_path
from dip_gui.core.errors import ImageWriteError, InvalidParameterError, MaskError
from dip_gui.core.imaging import (
    WRITABLE_FORMATS,
    LoadedImage,
    check_srgb_conversion,
    load_image,
    load_mask,
    same_file,
    save_like,
)
from dip_gui.core.problem.choices import Task
from dip_gui.core.problem.presets import Preset, preset_for_photo
from dip_gui.core.runtime.device import resolve_device

PROGRESS_EVERY_S = 1.0


#: Seeds offset per tile and per random stream stay within what torch's and numpy's generators take.
MAX_SEED = 2**62
#: What --resume takes from the saved session, so the command line must not say it again.
DECIDED_BY_SESSION = ("input", "task", "scale", "blur", "preset", "lr", "mask", "guide", "reference")


def check_resume_options(args: argparse.Namespace) -> None:
    """``--resume`` continues the saved run as it was: options that would change it are refused."""
    given = [name for name in DECIDED_BY_SESSION if getattr(args, name, None) is not None]
    if given:
        names = ", ".join("the photo" if name == "input" else f"--{name}" for name in given)
        raise InvalidParameterError(f"--resume takes the photo, task and settings from the saved session; leave out {names}")


@contextmanager
def held_session_files(args: argparse.Namespace) -> Iterator[None]:
    """The session files a run reads and writes (--checkpoint, --resume), held for the run, so a second
    run given the same one is refused before it reads it, instead of writing over the first's."""
    with ExitStack() as held:
        for path in sorted({str(Path(p).resolve()) for p in (args.checkpoint, getattr(args, "resume", None)) if p}):
            try:
                alone = held.enter_context(held_alone(lock_path(path)))
            except OSError:
                continue  # no file can be made there: the checks before the first iteration say why
            if not alone:
                raise InvalidParameterError(f"{path} is used by another run; wait for it to end or choose another file")
        yield


def load_photo(args: argparse.Namespace) -> LoadedImage:
    """The photo to restore; a file of several frames or pages (an animation, a multi-page TIFF) says
    on stderr that only its first is restored."""
    photo = load_image(args.input)
    if photo.frames_note():
        tell(f"note: {photo.frames_note()}")
    if getattr(args, "to_srgb", False):
        try:  # a profile that cannot be read fails here, before the first iteration
            check_srgb_conversion(photo)
        except ImageWriteError as exc:
            raise InvalidParameterError(f"{photo.path.name if photo.path else 'the photo'}: --to-srgb {exc}") from None
    return photo


def check_task_options(args: argparse.Namespace) -> None:
    """Options the task would ignore are a mistake: said, not silently dropped."""
    task = Task.parse(args.task, "task")
    if args.mask and not task.takes_mask:
        raise InvalidParameterError(f"--mask is for inpaint and restore; {task} takes no mask")
    if args.guide and not task.needs_guide:
        raise InvalidParameterError(f"--guide is for flash; {task} takes no second photo")


def check_output(args: argparse.Namespace) -> None:
    if not 1 <= args.quality <= 100:
        raise InvalidParameterError(f"--quality must be from 1 to 100, not {args.quality}")
    if not 0 <= args.seed <= MAX_SEED:
        raise InvalidParameterError(f"--seed must be a whole number from 0 to {MAX_SEED}, not {args.seed}")
    output = Path(args.output)
    if output.suffix.lower() not in WRITABLE_FORMATS:
        raise ImageWriteError(
            f"{output.name}: cannot write '{output.suffix or 'no extension'}' files; use PNG, TIFF, JPEG, WebP or BMP"
        )
    if not output.resolve().parent.is_dir():
        raise ImageWriteError(f"{output.parent}: output folder does not exist")
    _check_writable(output, "the output")
    clash = _option_naming(output, args, ("input", "mask", "guide", "reference"))
    if clash:
        raise ImageWriteError(f"{output.name}: refusing to overwrite the {clash} file; choose another output name")
    if args.checkpoint:
        _check_checkpoint_path(args)
    if args.metrics_json:
        _check_metrics_path(args)
    snapshots = getattr(args, "save_snapshots", None)
    if snapshots:
        _check_snapshot_folder(Path(snapshots))


def _check_writable(path: Path, what: str) -> None:
    """The run's writes are tried before its first iteration (core/atomic.check_writable)."""
    try:
        check_writable(path, suffix=path.suffix or ".tmp")
    except OSError as exc:
        raise ImageWriteError(f"{what} {path} cannot be written: {exc.strerror or exc}") from None


def _check_snapshot_folder(folder: Path) -> None:
    """The snapshots' folder: made now if missing, and written to before the run."""
    if folder.exists() and not folder.is_dir():
        raise ImageWriteError(f"--save-snapshots {folder} is a file; name a folder (it is made if missing)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImageWriteError(f"--save-snapshots {folder} cannot be made: {exc.strerror or exc}") from None
    _check_writable(folder / "snapshot_000000.png", "--save-snapshots: a file in")


def _option_naming(path: Path, args: argparse.Namespace, names: tuple[str, ...]) -> str | None:
    """The first of the options ``names`` that names the same file as ``path``, else None."""
    return next((name for name in names if getattr(args, name, None) and same_file(path, Path(getattr(args, name)))),
                None)


#: The files a run reads (never written) and the other files it writes, by option name.
READ_OPTIONS = ("input", "mask", "guide", "reference", "resume")
WRITTEN_OPTIONS = ("output", "checkpoint")


def _check_metrics_path(args: argparse.Namespace) -> None:
    """The metrics file may not be any file the run reads or writes besides it, and its folder exists."""
    metrics = Path(args.metrics_json)
    if not metrics.resolve().parent.is_dir():
        raise ImageWriteError(f"--metrics-json: the folder {metrics.parent} does not exist")
    _check_writable(metrics, "--metrics-json")  # also refuses a folder of that name
    clash = _option_naming(metrics, args, (*READ_OPTIONS, *WRITTEN_OPTIONS))
    if clash:
        raise ImageWriteError(f"--metrics-json must not name the {clash} file; choose another name")


def _check_checkpoint_path(args: argparse.Namespace) -> None:
    checkpoint = Path(args.checkpoint)
    if not checkpoint.resolve().parent.is_dir():
        raise ImageWriteError(f"{checkpoint.parent}: checkpoint folder does not exist")
    _check_writable(checkpoint, "--checkpoint")
    clash = _option_naming(checkpoint, args, ("input", "mask", "guide", "reference", "output", "metrics_json"))
    if clash:
        raise ImageWriteError(f"--checkpoint must not name the {clash.replace('_', ' ')} file")
    if not args.checkpoint_every >= 0:
        raise InvalidParameterError(f"--checkpoint-every must be 0 or more seconds, not {args.checkpoint_every}")


def load_side_inputs(args: argparse.Namespace, photo: LoadedImage) -> tuple[np.ndarray | None, ...]:
    """The mask (1 = known), flash photo and clean reference named on the command line (or None)."""
    mask = guide = reference = None
    if args.mask:
        mask = load_mask(args.mask, photo.size, white_is_hole=not args.mask_white_known)
        if args.mask_white_known and mask.min() >= 1.0:  # the core's "paint the holes white" would mislead
            raise MaskError(f"{Path(args.mask).name} is all white: with --mask-white-known white marks the known "
                            "pixels and the holes are black")
    if args.guide:
        guide = load_image(args.guide).rgb
    if args.reference:
        reference = _fit_reference(load_image(args.reference).rgb, photo, args)
    return mask, guide, reference


def preset_for(args: argparse.Namespace, photo: LoadedImage) -> Preset:
    """The run's preset: named or the device's default, fitted to the photo (an SR scale, a JPEG's
    quality and the noise level read from its pixels), with command-line overrides. A ``--max-seconds`` budget does not
    change it: no task's ``balanced`` gets further than its ``fast`` in the same time (docs/presets.md)."""
    preset = preset_for_photo(args.task, args.preset, resolve_device(args.device).type, photo.rgb, scale=args.scale,
                              iterations=args.iters, lr=args.lr)
    if args.max_seconds is not None and not (args.max_seconds > 0 and math.isfinite(args.max_seconds)):
        raise InvalidParameterError(f"--max-seconds must be a positive number of seconds, not {args.max_seconds}")
    return preset


def _fit_reference(reference: np.ndarray, photo: LoadedImage, args: argparse.Namespace) -> np.ndarray:
    """SR references may be up to scale-1 pixels larger (degrade cuts to a multiple): crop them."""
    if Task.parse(args.task, "task").changes_size and args.scale:
        height, width = photo.size[0] * args.scale, photo.size[1] * args.scale
        if 0 <= reference.shape[0] - height < args.scale and 0 <= reference.shape[1] - width < args.scale:
            return reference[:height, :width]
    return reference


class Log(Protocol):
    """Prints a progress line (at most one a second) or, with ``force``, a line that must be seen."""

    def __call__(self, message: str, force: bool = False) -> None: ...


def progress_printer(quiet: bool, always: Callable[[], bool] = lambda: False) -> Log:
    """A logger to stderr: at most one progress line a second (or when ``always()``); forced lines always."""
    last = [0.0]

    def log(message: str, force: bool = False) -> None:
        now = time.monotonic()
        if quiet and not force:
            return
        if force or now - last[0] >= PROGRESS_EVERY_S or always():
            last[0] = now
            tell(message)

    return log


def save_result(args: argparse.Namespace, photo: LoadedImage, image: np.ndarray) -> Path:
    """Write the result like the input (bit depth, grey, alpha resized to the output, colour profile and
    EXIF), never over an input."""
    protected = tuple(p for p in (args.input, args.mask, args.guide, args.reference) if p)

    def write(path: Path) -> Path:
        return save_like(path, image, photo, quality=args.quality, protected=protected, to_srgb=args.to_srgb)

    try:
        return write(Path(args.output))
    except ImageWriteError as failure:  # tried before the run, so it failed since: a full disk, a removed folder
        for rescue in _rescue_paths(Path(args.output)):
            try:
                write(rescue)
            except ImageWriteError:
                continue
            raise ImageWriteError(f"{failure}; the result is saved at {rescue} instead") from None
        raise


def _rescue_paths(output: Path) -> list[Path]:
    """Where a result goes when its output fails after the run: beside it under a short name, then
    the working folder, the home folder and the temporary folder."""
    name = f"{output.stem[:60]}-rescued-{time.strftime('%Y%m%d-%H%M%S')}{output.suffix.lower() or '.png'}"
    folders = [output.parent, Path.cwd(), Path.home(), Path(tempfile.gettempdir())]
    return [folder / name for folder in folders]
