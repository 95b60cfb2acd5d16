"""File dialogs, suggested names, recent files and the JSON sidecar (GUI side of saving)."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QSettings

from dip_gui.core.atomic import write_json_atomic
from dip_gui.core.imaging import PHOTO_SUFFIXES
from dip_gui.core.problem.choices import Task
from dip_gui.core.samples import is_bundled_sample

IMAGE_FILTER = f"Images ({' '.join('*' + suffix for suffix in PHOTO_SUFFIXES)});;All files (*)"
SAVE_FILTER = "PNG (*.png);;TIFF (*.tif *.tiff);;JPEG (*.jpg *.jpeg);;WebP (*.webp)"
MAX_RECENT = 10
TASK_SUFFIX = {
    "denoise": "denoised",
    "jpeg": "dejpeg",
    "sr": "sr",
    "inpaint": "inpainted",
    "restore": "restored",
    "flash": "flash",
}
def suggested_result_path(photo: Path | None, task: str, scale: int | None, folder: str) -> Path:
    """``photo_denoised.png`` beside the input (``photo_sr4.png`` for SR); never the input itself. A
    pasted image's result, and a bundled sample's (whose folder is inside the installed package), go to
    ``folder`` (the last one used) or the home folder."""
    suffix = TASK_SUFFIX.get(task, task) + (str(scale) if Task(task).changes_size and scale else "")
    if photo is None:
        return Path(folder or Path.home()) / f"pasted_{suffix}.png"
    if is_bundled_sample(photo):
        return Path(folder or Path.home()) / f"{photo.stem}_{suffix}.png"
    return photo.with_name(f"{photo.stem}_{suffix}.png")


def mask_path_for(result_path: Path) -> Path:
    """Where the sidecar's mask goes: ``photo_inpainted_mask.png`` beside ``photo_inpainted.png`` (the
    name a batch's ``--mask-dir`` matches)."""
    return result_path.with_name(f"{result_path.stem}_mask.png")


def write_sidecar(result_path: Path, settings: dict) -> Path:
    """Settings beside the result: ``photo_denoised.png.json``."""
    path = result_path.with_name(result_path.name + ".json")
    write_json_atomic(path, json.loads(json.dumps(settings, default=str)))
    return path


def last_folder(settings: QSettings) -> str:
    """The folder the user last opened a file in ("" at first: the dialogs' own default)."""
    return str(settings.value("last_folder", "") or "")


def recent_files(settings: QSettings) -> list[str]:
    value = settings.value("recent_files", [])
    names = [value] if isinstance(value, str) else list(value) if isinstance(value, list) else []
    return [str(v) for v in names if Path(str(v)).exists()]


def remember_file(settings: QSettings, path: Path) -> None:
    files = [str(path)] + [f for f in recent_files(settings) if f != str(path)]
    settings.setValue("recent_files", files[:MAX_RECENT])
    settings.setValue("last_folder", str(path.parent))
