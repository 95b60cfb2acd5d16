"""ZSSR, the zero-shot super-resolution baseline DIP Studio's SR is measured against (not shipped).

Shocher, Cohen, Irani, "'Zero-Shot' Super-Resolution using Deep Internal Learning", CVPR 2018: a
small network trained on the one photo, with no training set. The photo and smaller copies of it
(the "fathers") are brought down by the scale with an assumed kernel (the "sons"); an 8-layer,
64-channel network learns to restore each father from its son's upscale, and is then applied to the
photo's own upscale. What this implementation keeps from the paper:

* the network: 8 3x3 convolutions of 64 channels with ReLU between, its output added to the bicubic
  upscale of its input (it learns the residual); L1 loss, Adam at lr 1e-3;
* the fathers: the photo and copies of it scaled down by up to half, the larger drawn more often, each
  in one of the 8 rotations and flips, cropped to at most 128 px;
* the sons: each father brought down by ``downscale`` (default: bicubic with anti-aliasing, the
  paper's assumption when the kernel is not given; pass the true kernel's downscaler for the
  paper's "kernel given" case);
* the output: the median over the 8 rotations and flips, then back-projected onto the photo through
  the same downscaler.

Where it departs: the learning rate drops tenfold at 60% and 85% of a wall-clock budget (the paper
drops it when a linear fit of the loss stops falling), so that it gets the same time as the runs it
is compared with.

    python benchmarks/zssr.py SMALL.png --scale 4 --seconds 60 -o OUT.png
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

Downscale = Callable[[torch.Tensor, int], torch.Tensor]
#: The paper's network: depth and width.
LAYERS, CHANNELS = 8, 64
#: The largest father crop (pixels a side) and the smallest share a father is scaled to.
CROP, SMALLEST_FATHER = 128, 0.5
#: Where the learning rate drops tenfold, as shares of the budget.
DROPS = (0.6, 0.85)
#: Rounds of back-projection of the output onto the photo.
BACK_PROJECTIONS = 8


def bicubic_down(image: torch.Tensor, scale: int) -> torch.Tensor:
    """``image`` (N x C x H x W) brought down ``scale`` x by anti-aliased bicubic interpolation."""
    height, width = image.shape[-2] // scale, image.shape[-1] // scale
    return F.interpolate(image, size=(height, width), mode="bicubic", antialias=True, align_corners=False)


def bicubic_up(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(image, size=size, mode="bicubic", align_corners=False)


class ZSSRNet(nn.Module):
    """8 convolutions, 64 channels, the residual over the upscale it is given."""

    def __init__(self, channels: int = 3) -> None:
        super().__init__()
        widths = [channels] + [CHANNELS] * (LAYERS - 1) + [channels]
        layers: list[nn.Module] = []
        for index, (into, out) in enumerate(itertools.pairwise(widths)):
            layers.append(nn.Conv2d(into, out, 3, padding=1))
            if index < LAYERS - 1:
                layers.append(nn.ReLU(inplace=True))
        self.body = nn.Sequential(*layers)

    def forward(self, upscale: torch.Tensor) -> torch.Tensor:
        return upscale + self.body(upscale)


def dihedral(image: torch.Tensor, index: int) -> torch.Tensor:
    """One of the 8 rotations and flips of ``image`` (index 0-7)."""
    turned = torch.rot90(image, index % 4, dims=(-2, -1))
    return torch.flip(turned, dims=(-1,)) if index >= 4 else turned


def undo_dihedral(image: torch.Tensor, index: int) -> torch.Tensor:
    flipped = torch.flip(image, dims=(-1,)) if index >= 4 else image
    return torch.rot90(flipped, -(index % 4), dims=(-2, -1))


def draw_father(photo: torch.Tensor, scale: int, rng: np.random.Generator) -> torch.Tensor:
    """A training target: the photo or a smaller copy (the larger the more likely), turned or
    flipped, cropped to at most ``CROP`` px a side with sides multiples of ``scale``."""
    share = SMALLEST_FATHER + (1 - SMALLEST_FATHER) * float(np.sqrt(rng.random()))
    height, width = photo.shape[-2:]
    size = (max(scale * 2, round(height * share)), max(scale * 2, round(width * share)))
    father = photo if share > 0.99 else F.interpolate(photo, size=size, mode="bicubic", antialias=True,
                                                      align_corners=False)
    father = dihedral(father, int(rng.integers(8)))
    crop_h = min(CROP, father.shape[-2]) // scale * scale
    crop_w = min(CROP, father.shape[-1]) // scale * scale
    top = int(rng.integers(father.shape[-2] - crop_h + 1))
    left = int(rng.integers(father.shape[-1] - crop_w + 1))
    return father[..., top:top + crop_h, left:left + crop_w].clamp(0, 1)


def learning_rate(elapsed_share: float) -> float:
    return 1e-3 * 0.1 ** sum(elapsed_share >= drop for drop in DROPS)


def train(photo: torch.Tensor, scale: int, seconds: float, downscale: Downscale, seed: int) -> tuple[ZSSRNet, int]:
    """The network trained on ``photo``'s own fathers and sons for ``seconds``; and its step count."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = ZSSRNet(photo.shape[1])
    optimiser = torch.optim.Adam(net.parameters(), lr=learning_rate(0.0))
    started, steps = time.perf_counter(), 0
    while (elapsed := time.perf_counter() - started) < seconds:
        for group in optimiser.param_groups:
            group["lr"] = learning_rate(elapsed / seconds)
        father = draw_father(photo, scale, rng)
        son = downscale(father, scale)
        output = net(bicubic_up(son, tuple(father.shape[-2:])))
        loss = F.l1_loss(output, father)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        steps += 1
    return net, steps


@torch.no_grad()
def apply(net: ZSSRNet, photo: torch.Tensor, scale: int, downscale: Downscale) -> torch.Tensor:
    """The median over the 8 rotations and flips of the network's restoration, back-projected."""
    outputs = []
    for index in range(8):
        turned = dihedral(photo, index)
        size = (turned.shape[-2] * scale, turned.shape[-1] * scale)
        outputs.append(undo_dihedral(net(bicubic_up(turned, size)), index))
    result = torch.stack(outputs).median(dim=0).values
    for _ in range(BACK_PROJECTIONS):
        result = result + bicubic_up(photo - downscale(result, scale), tuple(result.shape[-2:]))
    return result.clamp(0, 1)


def zssr(small: np.ndarray, scale: int, seconds: float, *, downscale: Downscale = bicubic_down,
         seed: int = 0) -> tuple[np.ndarray, int]:
    """``small`` (H x W x C float in 0-1) restored ``scale`` x by ZSSR trained for ``seconds``; and
    the training steps it took."""
    photo = torch.from_numpy(np.ascontiguousarray(small, dtype=np.float32)).permute(2, 0, 1)[None]
    net, steps = train(photo, scale, seconds, downscale, seed)
    return apply(net, photo, scale, downscale)[0].permute(1, 2, 0).numpy(), steps


def main() -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from dip_gui.core.imaging import load_image, save_image

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo")
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args()
    result, steps = zssr(load_image(args.photo).rgb, args.scale, args.seconds)
    save_image(args.output, result)
    print(f"{args.output}: {steps} training steps in {args.seconds:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
