"""How the inpainting holdout judges the network against the classical fill, checkpoint by checkpoint.

    python benchmarks/holdout_trace.py --data ../shared/data/dip-paper --photo kate --crop 0 --iters 400 \
        --config fast [--threads 2]

Prints, every 50 iterations: iteration, seconds, the network's share of the holes (``w``, the holdout's
least-squares weight), and the PSNR *in the holes* of the network's running average and of the fill
(against the clean photo). The result in the holes is their mix, so a run whose average stays under the
fill shows the fill (docs/presets.md, "Inpainting at full size under a short budget").
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.preset_search import make_preset, make_test_problem
from dip_gui.core.session import Session


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=Path("../shared/data/dip-paper"))
    parser.add_argument("--photo", default="kate", choices=("kate", "vase", "library"))
    parser.add_argument("--crop", type=int, default=0, help="centre crop side (0: whole photo)")
    parser.add_argument("--iters", type=int, default=400)
    parser.add_argument("--config", default="fast", help="a benchmarks/preset_search.py config")
    parser.add_argument("--threads", type=int, default=2)
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
