"""Which photos a batch restores, where each result goes and which mask goes with it.

The inputs are any mix of files and folders (read recursively). A result keeps its photo's path
relative to the folder it was found in, under the output folder, with the output format's suffix:
``scans/1950/a.jpg`` given as ``scans`` goes to ``OUT/1950/a.png``. Two or more folders each keep
their own name on top (``OUT/scans/1950/a.png``), so that equal names in different folders do not
meet. Photos that would still share a result (``a.jpg`` and ``a.tif`` side by side) keep their old
suffix in the name (``a_jpg.png``, ``a_tif.png``).

A file ``NAME_mask.EXT`` beside a photo ``NAME.*`` is that photo's mask, not a photo to restore
(``degrade --drop`` and the window write masks so), and nothing under the output folder is an input.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from dip_gui.core.batch.settings import BatchSettings
from dip_gui.core.errors import InvalidParameterError
from dip_gui.core.imaging import PHOTO_SUFFIXES, WRITABLE_FORMATS

#: Where a batch keeps its own files inside the output folder (checkpoints of unfinished photos, the lock).
WORK_FOLDER = ".dip-batch"
MASK_SUFFIX = "_mask"


@dataclass(frozen=True)
class BatchItem:
    """One photo of a batch: ``relative`` names it in the report and places its result; ``settings``
    are its own where they differ from the batch's (the window's queue lets a photo keep its own)."""

    source: Path
    relative: Path
    output: Path
    checkpoint: Path
    mask: Path | None = None
    settings: BatchSettings | None = None

    def settings_within(self, batch: BatchSettings) -> BatchSettings:
        """The settings this photo is restored with."""
        return batch if self.settings is None else self.settings

    @property
    def name(self) -> str:
        return self.relative.as_posix()


def plan_batch(inputs: Iterable[str | Path], out_dir: Path, output_format: str = "png", *,
               mask_dir: Path | None = None, mask: Path | None = None) -> list[BatchItem]:
    """The batch's photos in a stable order (by relative path); InvalidParameterError names an input
    that does not exist and says when no photo was found."""
    found = find_photos(inputs, exclude=[out_dir] + ([mask_dir] if mask_dir is not None else []))
    return plan_items(found, out_dir, output_format, mask_dir=mask_dir, mask=mask)


def find_photos(inputs: Iterable[str | Path], exclude: Iterable[Path] = ()) -> list[tuple[Path, Path]]:
    """(file, path relative to the folder it was found in) for every photo in ``inputs``, each file
    once, none under a folder of ``exclude``."""
    found = _found_photos([Path(p) for p in inputs], [folder.resolve() for folder in exclude])
    if not found:
        raise InvalidParameterError("no photos found in the inputs (" + ", ".join(PHOTO_SUFFIXES) + ")")
    return found


def plan_items(found: list[tuple[Path, Path]], out_dir: Path, output_format: str = "png", *,
               mask_dir: Path | None = None, mask: Path | None = None) -> list[BatchItem]:
    """The batch items of photos ``find_photos`` found, their results under ``out_dir``."""
    suffix = "." + output_format.lower().lstrip(".")
    if suffix not in WRITABLE_FORMATS:
        raise InvalidParameterError(f"--format {output_format}: use png, tif, jpg, webp or bmp")
    targets = _result_names(found, suffix)
    items = []
    for (source, relative), target in zip(found, targets):
        items.append(BatchItem(source=source, relative=relative, output=out_dir / target,
                               checkpoint=out_dir / WORK_FOLDER / "checkpoints" / target.with_suffix(".dips"),
                               mask=mask if mask is not None else _matching_mask(source, relative, mask_dir)))
    return sorted(items, key=lambda item: item.name)


def _found_photos(inputs: list[Path], excluded: list[Path]) -> list[tuple[Path, Path]]:
    folders = [p for p in inputs if p.is_dir()]
    seen: set[Path] = set()
    found: list[tuple[Path, Path]] = []
    for given in inputs:
        if not given.exists():
            raise InvalidParameterError(f"{given}: no such file or folder")
        if given.is_dir():
            top = Path(given.resolve().name) if len(folders) > 1 else Path()
            files = [(f, top / f.relative_to(given)) for f in sorted(given.rglob("*")) if _is_photo(f)]
        else:
            files = [(given, Path(given.name))]
        for file, relative in files:
            resolved = file.resolve()
            if resolved in seen or any(_inside(resolved, folder) for folder in excluded) or _is_mask_of_a_sibling(file):
                continue
            seen.add(resolved)
            found.append((file, relative))
    return found


def _is_photo(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in PHOTO_SUFFIXES and not path.name.startswith(".")


def _is_mask_of_a_sibling(path: Path) -> bool:
    if not path.stem.endswith(MASK_SUFFIX):
        return False
    stem = path.stem[: -len(MASK_SUFFIX)]
    return any((path.parent / (stem + suffix)).exists() for suffix in PHOTO_SUFFIXES)


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _result_names(found: list[tuple[Path, Path]], suffix: str) -> list[Path]:
    """Each photo's result path under the output folder; photos that would share one keep their
    own suffix in the name."""
    plain = [relative.with_suffix(suffix) for _, relative in found]
    sharing: dict[Path, int] = defaultdict(int)
    for name in plain:
        sharing[name] += 1
    return [relative.with_name(f"{relative.stem}_{relative.suffix.lstrip('.').lower()}{suffix}")
            if sharing[name] > 1 else name for (_, relative), name in zip(found, plain)]


def _matching_mask(source: Path, relative: Path, mask_dir: Path | None) -> Path | None:
    """The mask of a photo: in ``mask_dir`` under the photo's relative path, named as the photo or
    ``NAME_mask``, with any photo suffix; else ``NAME_mask.*`` beside the photo; else None."""
    places = [(mask_dir / relative).parent] if mask_dir is not None else []
    places.append(source.parent)
    for folder in places:
        stems = (relative.stem, relative.stem + MASK_SUFFIX) if folder != source.parent else (
            source.stem + MASK_SUFFIX,)
        for stem in stems:
            for suffix in PHOTO_SUFFIXES:
                candidate = folder / (stem + suffix)
                if candidate.is_file() and candidate.resolve() != source.resolve():
                    return candidate
    return None
