"""``batch-report.json``: every photo of a batch with its status, rewritten atomically as the batch goes.

A photo's ``status`` is ``pending`` (not reached yet), ``running``, ``done`` (its result is written),
``failed`` (``error`` says why, in one line) or ``interrupted`` (stopped with its checkpoint kept;
the next batch resumes it). A finished photo records ``iterations``, ``seconds``, ``end_reason``
(as the ``run`` command's metrics: ``auto-stopped``, ``done``, ``budget``, ``diverged``),
``stopped_at`` (the iteration whose result was saved, when the stop rule chose it) and ``preset``.
Each entry holds the ``recipe`` it was restored with (the top-level one is the batch's; a photo of
the window's queue may have its own).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dip_gui.core.atomic import write_json_atomic
from dip_gui.core.batch.plan import BatchItem
from dip_gui.core.batch.settings import BatchSettings
from dip_gui.core.errors import InvalidParameterError

REPORT_NAME = "batch-report.json"
VERSION = 1
STATUSES = ("pending", "running", "done", "failed", "interrupted")


class BatchReport:
    """The report of the batch in ``out_dir``; ``write`` puts it on disk (atomically). ``photos`` by
    the photo's relative path; each entry's ``output`` is relative to ``out_dir``."""

    def __init__(self, out_dir: Path, settings: BatchSettings, photos: dict[str, dict[str, Any]] | None = None) -> None:
        self.path = out_dir / REPORT_NAME
        self.settings = settings
        self.photos: dict[str, dict[str, Any]] = dict(photos or {})

    @classmethod
    def open(cls, out_dir: Path, settings: BatchSettings, items: Sequence[BatchItem], overwrite: bool) -> BatchReport:
        """The folder's report for a batch of ``items`` with ``settings``. A photo of the batch whose
        result the folder holds from other settings is refused (its result would be replaced) unless
        ``overwrite``."""
        earlier = cls._read(out_dir / REPORT_NAME)
        report = cls(out_dir, settings, None if earlier is None else earlier.get("photos"))
        if not overwrite:
            report._refuse_other_recipes(items)
        return report

    def _refuse_other_recipes(self, items: Sequence[BatchItem]) -> None:
        for item in items:
            entry = self.photos.get(item.name) or {}
            recipe = item.settings_within(self.settings).recipe()
            if entry.get("status") == "done" and item.output.is_file() and entry.get("recipe") != recipe:
                earlier = entry.get("recipe") or {}
                differing = sorted(name for name, value in recipe.items() if earlier.get(name) != value)
                raise InvalidParameterError(
                    f"{self.path.parent} holds {item.name} restored with other settings ({', '.join(differing)}); "
                    "give another output folder, or --overwrite to redo its photos with these")

    @staticmethod
    def _read(path: Path) -> dict[str, Any] | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise InvalidParameterError(f"{path}: cannot read the batch report ({exc}); move it away to start over") from None
        return data if isinstance(data, dict) and data.get("version") == VERSION else None

    def status(self, item: BatchItem) -> str | None:
        entry = self.photos.get(item.name)
        return None if entry is None else entry.get("status")

    def record(self, item: BatchItem, status: str, *, write: bool = True, **facts: Any) -> None:
        """Set a photo's status and facts (replacing the facts of an earlier attempt) and write the report."""
        self.photos[item.name] = {"input": str(item.source), "output": str(item.output.relative_to(self.path.parent)),
                                  "mask": None if item.mask is None else str(item.mask), "status": status,
                                  "error": None, "recipe": item.settings_within(self.settings).recipe(), **facts}
        if write:
            self.write()

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for entry in self.photos.values():
            counts[entry["status"]] = counts.get(entry["status"], 0) + 1
        return counts

    def write(self) -> None:
        write_json_atomic(self.path, {
            "version": VERSION, "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "recipe": self.settings.recipe(),
            "settings": self.settings.to_dict(), "counts": self.counts(),
            "photos": dict(sorted(self.photos.items())),
        })
