"""Tasks turn a photo and options into a Problem: observation, operator, output size, mask, guide.

Every task is the same optimisation with a different forward operator A; the differences live
here, as data, so the Session has one code path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from dip_gui.core.errors import InvalidParameterError, MaskError
from dip_gui.core.problem.choices import Task
from dip_gui.core.problem.degradations import SR_FACTORS, Identity, MaskOperator, check_blur, sr_downsampler

#: Human names of the tasks, for menus and messages.
TASK_LABELS = {
    "denoise": "Denoise",
    "jpeg": "Remove JPEG artefacts",
    "sr": "Super-resolution",
    "inpaint": "Inpaint (fill painted holes)",
    "restore": "Restore missing pixels",
    "flash": "Flash / no-flash",
}


@dataclass
class Problem:
    """What to fit. Arrays are numpy HxWxC float32 in [0, 1]; ``mask`` HxW with 1 = known."""

    task: Task
    observed: np.ndarray
    out_size: tuple[int, int]
    channels: int
    operator: nn.Module
    mask: np.ndarray | None = None
    guide: np.ndarray | None = None
    reference: np.ndarray | None = None
    keep_known: bool = True
    scale: int | None = None
    #: Inpainting of small holes: (top, left, height, width) of the optimised region in ``full``,
    #: the whole observed photo into which the region's result is pasted back.
    region: tuple[int, int, int, int] | None = None
    full: np.ndarray | None = None
    #: Super-resolution: the camera's Gaussian blur (sigma, pixels of the result) before the
    #: downsampler; 0 for a small photo made the way the operator assumes.
    blur: float = 0.0

    def paste(self, result: np.ndarray) -> np.ndarray:
        """The region's result placed into the full photo (identity without a region)."""
        if self.region is None:
            return result
        top, left, height, width = self.region
        assert self.full is not None  # a region comes with the photo it is pasted into
        full = self.full.copy()  # same channels as the result (grey stays grey until to_image)
        full[top : top + height, left : left + width] = result
        return full

    def to_state(self) -> dict[str, Any]:
        """The problem as tensors and plain values (for a saved session); the operator is rebuilt."""
        arrays = {name: None if getattr(self, name) is None else torch.from_numpy(np.ascontiguousarray(getattr(self, name)))
                  for name in ("observed", "mask", "guide", "reference", "full")}
        return {"task": str(self.task), "out_size": list(self.out_size), "channels": self.channels, "keep_known": self.keep_known,
                "scale": self.scale, "blur": self.blur, "region": None if self.region is None else list(self.region),
                **arrays}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Problem:
        arrays = {name: None if state[name] is None else state[name].numpy()
                  for name in ("observed", "mask", "guide", "reference", "full")}
        task, mask = Task.parse(state["task"], "task"), arrays["mask"]
        blur = float(state.get("blur", 0.0))  # a session saved without one: the downsampler alone
        if task.changes_size:
            operator: nn.Module = sr_downsampler(state["scale"], blur)
        elif mask is not None:
            operator = MaskOperator(torch.from_numpy(mask)[None, None])
        else:
            operator = Identity()
        observed = arrays["observed"]
        if observed is None:
            raise ValueError("the saved problem has no photo")
        top, left, height, width = state["region"] or (0, 0, 0, 0)
        region = None if state["region"] is None else (int(top), int(left), int(height), int(width))
        out_height, out_width = state["out_size"]
        return cls(task, observed, (int(out_height), int(out_width)), state["channels"], operator, mask, arrays["guide"],
                   arrays["reference"], state["keep_known"], state["scale"], region, arrays["full"], blur)

    def observed_pixels(self) -> np.ndarray:
        """The observation in the problem's own channels (a grey photo's one), HxWxC float32, contiguous."""
        return np.ascontiguousarray(self.observed[:, :, : self.channels], dtype=np.float32)

    def observed_tensor(self) -> torch.Tensor:
        return to_tensor(self.observed_pixels())

    def mask_tensor(self) -> torch.Tensor | None:
        return None if self.mask is None else torch.from_numpy(np.ascontiguousarray(self.mask, np.float32))[None, None]


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """HxWxC numpy -> 1xCxHxW float32 tensor."""
    return torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).permute(2, 0, 1)[None].contiguous()


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    """1xCxHxW tensor -> HxWxC float32 numpy (on the CPU)."""
    return tensor.detach()[0].permute(1, 2, 0).float().cpu().numpy()


def make_problem(
    task: str | Task,
    image: np.ndarray,
    *,
    grey: bool = False,
    scale: int | None = None,
    mask: np.ndarray | None = None,
    guide: np.ndarray | None = None,
    reference: np.ndarray | None = None,
    keep_known: bool = True,
    blur: float = 0.0,
) -> Problem:
    """Build the Problem for ``task`` from the observed photo (HxWx3 float32 in [0, 1]); ``blur``:
    super-resolution's camera blur (``Problem.blur``)."""
    task = Task.parse(task, "task")
    if not task.changes_size:
        check_blur(blur, None)
    height, width = image.shape[:2]
    channels = 1 if grey else 3
    observed = image[:, :, :1] if grey else image
    out_size = (height, width)
    operator: nn.Module = Identity()
    if task.changes_size:
        if scale not in SR_FACTORS:
            raise InvalidParameterError(f"super-resolution needs --scale 2, 4 or 8 (got {scale})")
        out_size = (height * scale, width * scale)
        operator = sr_downsampler(scale, blur)
    elif task.takes_mask:
        mask = _check_mask(mask, (height, width))
        region = hole_region(mask) if task is Task.INPAINT else None
        if region is not None:
            if reference is not None:
                reference = _check_reference(reference, (height, width), channels)
            return _region_problem(task, observed, channels, mask, region, reference, keep_known)
        operator = MaskOperator(torch.from_numpy(mask)[None, None])
    elif task.needs_guide:
        guide = _check_guide(guide, (height, width))
    if reference is not None:
        reference = _check_reference(reference, out_size, channels)
    return Problem(
        task,
        np.ascontiguousarray(observed),
        out_size,
        channels,
        operator,
        mask if task.takes_mask else None,
        guide,
        reference,
        keep_known,
        scale if task.changes_size else None,
        blur=float(blur),
    )


#: Context kept around the holes: several receptive fields of the networks (~100 px each).
REGION_CONTEXT = 160
#: Optimise a region only when it saves at least this share of the pixels.
REGION_MAX_SHARE = 0.6


def hole_region(known: np.ndarray, context: int = REGION_CONTEXT) -> tuple[int, int, int, int] | None:
    """Bounding box of the holes plus context, or None when it would cover most of the photo."""
    rows, cols = np.nonzero(known < 0.5)
    height, width = known.shape
    margin = max(context, (max(np.ptp(rows), np.ptp(cols)) + 1) // 2)
    top, bottom = max(0, rows.min() - margin), min(height, rows.max() + 1 + margin)
    left, right = max(0, cols.min() - margin), min(width, cols.max() + 1 + margin)
    if (bottom - top) * (right - left) > REGION_MAX_SHARE * height * width:
        return None
    return int(top), int(left), int(bottom - top), int(right - left)


def _region_problem(task: Task, observed: np.ndarray, channels: int, mask: np.ndarray,
                    region: tuple[int, int, int, int], reference: np.ndarray | None, keep_known: bool) -> Problem:
    top, left, height, width = region
    window = (slice(top, top + height), slice(left, left + width))
    crop_mask = np.ascontiguousarray(mask[window])
    crop_reference = None if reference is None else np.ascontiguousarray(reference[window][:, :, :channels])
    return Problem(task, np.ascontiguousarray(observed[window]), (height, width), channels,
                   MaskOperator(torch.from_numpy(crop_mask)[None, None]), crop_mask, None, crop_reference, keep_known,
                   None, region, np.ascontiguousarray(observed))


def _check_mask(mask: np.ndarray | None, size: tuple[int, int]) -> np.ndarray:
    if mask is None:
        raise MaskError("this task needs a mask: paint the holes, or give --mask FILE (white = fill)")
    if mask.shape[:2] != size:
        raise MaskError(f"mask is {mask.shape[1]}x{mask.shape[0]} but the photo is {size[1]}x{size[0]}")
    known = float(mask.mean())
    if known >= 1.0:
        raise MaskError("the mask marks no pixel to fill: paint the holes white")
    if known <= 0.0:
        raise MaskError("the mask covers the whole photo: nothing is left to learn from")
    return np.ascontiguousarray(mask, dtype=np.float32)


def _check_guide(guide: np.ndarray | None, size: tuple[int, int]) -> np.ndarray:
    if guide is None:
        raise InvalidParameterError("flash/no-flash needs the flash photo too (--guide FILE)")
    if guide.shape[:2] != size:
        raise InvalidParameterError(
            f"the flash photo is {guide.shape[1]}x{guide.shape[0]} but the no-flash photo is {size[1]}x{size[0]}"
        )
    return guide


def _check_reference(reference: np.ndarray, size: tuple[int, int], channels: int) -> np.ndarray:
    if reference.shape[:2] != size:
        raise InvalidParameterError(
            f"the reference is {reference.shape[1]}x{reference.shape[0]} but the result will be {size[1]}x{size[0]}"
        )
    return reference[:, :, :channels]
