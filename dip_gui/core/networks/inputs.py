"""The fixed network input z: uniform noise, a meshgrid, or a guide image (flash/no-flash)."""

from __future__ import annotations

import torch

from dip_gui.core.named_choice import NamedChoice


class InputKind(NamedChoice):
    """What the network's fixed input z is: noise, a meshgrid, the guide photo (flash/no-flash) or the
    classical estimate (``base``, fast presets)."""

    NOISE = "noise"
    MESHGRID = "meshgrid"
    IMAGE = "image"
    BASE = "base"


#: The inputs ``make_input`` makes; the other two are photos, made where they are known.
INPUT_KINDS = (InputKind.NOISE, InputKind.MESHGRID, InputKind.IMAGE)


def make_input(
    kind: str, depth: int, height: int, width: int, scale: float = 0.1, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Return z as 1 x depth x height x width (CPU float32). ``image`` inputs are built elsewhere."""
    if kind == "noise":
        return torch.rand(1, depth, height, width, generator=generator) * scale
    if kind == "meshgrid":
        if depth != 2:
            raise ValueError("a meshgrid input has exactly 2 channels")
        ys = torch.arange(height, dtype=torch.float32) / max(height - 1, 1)
        xs = torch.arange(width, dtype=torch.float32) / max(width - 1, 1)
        grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
        return torch.stack([grid_x, grid_y])[None]
    raise ValueError(f"unknown input kind {kind!r}; expected one of {INPUT_KINDS}")
