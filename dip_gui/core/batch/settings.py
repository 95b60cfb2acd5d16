"""The settings every photo of a batch is restored with, and their check before the first photo."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from dip_gui.core.errors import InvalidParameterError
from dip_gui.core.problem.choices import Task
from dip_gui.core.problem.degradations import SR_FACTORS, check_blur
from dip_gui.core.problem.presets import get_preset

#: Settings that do not change a result: a batch run again with other values of these reuses its results.
NOT_IN_RECIPE = ("device", "precision", "host_memory", "checkpoint_every")
MAX_SEED = 2**62


@dataclass(frozen=True)
class BatchSettings:
    """What a single ``run`` is told on its command line, for every photo of the batch. ``preset``
    None: the device's default; ``iterations``/``lr`` None: the preset's."""

    task: str
    preset: str | None = None
    iterations: int | None = None
    lr: float | None = None
    scale: int | None = None
    blur: float = 0.0  # super-resolution: the camera's blur (Problem.blur)
    seed: int = 0
    max_seconds: float | None = None
    auto_stop: bool = True
    quality: int = 95
    to_srgb: bool = False  # convert each result from its photo's colour profile to sRGB
    mask_white_known: bool = False
    raw_output: bool = False
    output_format: str = "png"
    device: str = "auto"
    precision: str = "auto"
    host_memory: str = "auto"
    checkpoint_every: float = 60.0

    def check(self) -> None:
        """InvalidParameterError for any setting no photo could be restored with."""
        task = Task.parse(self.task, "task")
        if task.needs_guide:
            raise InvalidParameterError("flash takes a pair of photos per result; a batch restores single photos")
        if task.changes_size and self.scale not in SR_FACTORS:
            raise InvalidParameterError("super-resolution needs --scale 2, 4 or 8")
        check_blur(self.blur, self.scale if task.changes_size else None)
        if self.preset is not None:
            get_preset(self.task, self.preset)
        if self.iterations is not None and self.iterations < 1:
            raise InvalidParameterError(f"--iters must be 1 or more, not {self.iterations}")
        if self.max_seconds is not None and not (self.max_seconds > 0 and math.isfinite(self.max_seconds)):
            raise InvalidParameterError(f"--max-seconds must be a positive number of seconds, not {self.max_seconds}")
        if not 1 <= self.quality <= 100:
            raise InvalidParameterError(f"--quality must be from 1 to 100, not {self.quality}")
        if not 0 <= self.seed <= MAX_SEED:
            raise InvalidParameterError(f"--seed must be a whole number from 0 to {MAX_SEED}, not {self.seed}")
        if not self.checkpoint_every >= 0:
            raise InvalidParameterError(f"--checkpoint-every must be 0 or more seconds, not {self.checkpoint_every}")

    def recipe(self) -> dict[str, Any]:
        """The settings that decide a result (recorded in the report: a finished photo is reused only
        by a batch with the same recipe). No blur is left out, as a report without one reads."""
        return {name: value for name, value in asdict(self).items()
                if name not in NOT_IN_RECIPE and not (name == "blur" and not value)}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> BatchSettings:
        return cls(**{name: value for name, value in values.items() if name in cls.__dataclass_fields__})
