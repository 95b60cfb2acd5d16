"""How the inpainting holdout judges the network against the classical fill, checkpoint by checkpoint.

    python benchmarks/holdout_trace.py --data ../shared/data/dip-paper --photo kate --crop 0 --iters 400 \
        --config fast [--threads 2]

Prints, every 50 iterations: iteration, seconds, the network's share of the holes (``w``, the holdout's
least-squares weight), and the PSNR *in the holes* of the network's running average and of the fill
(against the clean photo). The result in the holes is their mix, so a run whose average stays under the
fill shows the fill (docs/presets.md, "At full size under a short budget").

``--tiles 64,128`` adds, every 100 iterations, what a judge with one weight per tile of that many px
would give in the holes (least squares on each tile's hidden pixels, tiles with fewer than 32 hidden
pixels keep the fill, the weights interpolated bilinearly) and its mean weight in the holes, beside
the run's result there (one weight for the photo).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.preset_search import make_preset, make_test_problem
from dip_gui.core.session.session import Session


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=Path("../shared/data/dip-paper"))
    parser.add_argument("--photo", default="kate", choices=("kate", "vase", "library"))
    parser.add_argument("--crop", type=int, default=0, help="centre crop side (0: whole photo)")
    parser.add_argument("--iters", type=int, default=400)
    parser.add_argument("--config", default="fast", help="a benchmarks/preset_search.py config")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tiles", default="", help="tile sizes (px) of a judge by regions, comma-separated")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    folder = args.data / "inpainting"
    job = {"task": "inpaint", "path": folder / f"{args.photo}.png", "mask": folder / f"{args.photo}_mask.png",
           "crop": args.crop, "device": "cpu"}
    problem = make_test_problem(job)
    session = Session(problem, make_preset(args.config, "inpaint"), seed=0, device="cpu")
    truth = torch.from_numpy(problem.reference).permute(2, 0, 1)[None].float()
    holes = torch.from_numpy(problem.mask < 0.5)[None, None].expand_as(truth)

    def hole_psnr(image: torch.Tensor) -> float:
        return float(-10 * torch.log10(((image - truth) ** 2)[holes].mean()))

    start = time.time()
    for iteration in range(1, args.iters + 1):
        session.step()
        if iteration % 50 == 0 or iteration == 1:
            holdout = session.holdout
            print(iteration, round(time.time() - start), f"w={holdout.weight:.3f}",
                  f"avg_holes={hole_psnr(session.average.value):.2f}", f"fill_holes={hole_psnr(holdout.fill):.2f}",
                  f"hidden_px={int(holdout.hidden.sum())}" if holdout.hidden is not None else "no hidden", flush=True)
        if args.tiles and iteration % 100 == 0 and session.holdout.hidden is not None:
            average, holdout = session.average.value, session.holdout
            cells = []
            for tile in map(int, args.tiles.split(",")):
                weights = regional_weights(average, holdout.fill_unseen, truth, holdout.hidden, tile)
                mixed = weights * average + (1 - weights) * holdout.fill
                cells.append(f"t{tile}={hole_psnr(mixed):.2f}({float(weights[holes[:, :1]].mean()):.2f})")
            print(iteration, "by regions:", *cells, f"one weight={hole_psnr(session.result_tensor()):.2f}", flush=True)
    return 0


def regional_weights(average: torch.Tensor, fill: torch.Tensor, observed: torch.Tensor, hidden: torch.Tensor,
                     tile: int, min_pixels: int = 32) -> torch.Tensor:
    """holdout.blend_weight per ``tile`` x ``tile`` block, interpolated to a 1x1xHxW map (the hidden
    pixels are known, so ``observed`` may be the clean photo)."""
    difference = (average - fill) * hidden
    numerator = F.avg_pool2d(((observed - fill) * difference).sum(1, keepdim=True), tile, ceil_mode=True)
    denominator = F.avg_pool2d((difference * difference).sum(1, keepdim=True), tile, ceil_mode=True)
    count = F.avg_pool2d(hidden, tile, ceil_mode=True) * tile * tile
    usable = (denominator > 0) & (count >= min_pixels)
    weights = torch.where(usable, (numerator / denominator.clamp_min(1e-20)).clamp(0, 1), torch.zeros_like(denominator))
    return F.interpolate(weights, size=average.shape[-2:], mode="bilinear", align_corners=False)


if __name__ == "__main__":
    sys.exit(main())
