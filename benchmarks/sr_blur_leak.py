"""One super-resolution run told a camera blur, with the back-projection's forgetting as shipped or
set by hand: its first preview, its PSNR along the way and at the end (docs/quality.md, "Super-
resolution when the blur is not the app's"; ``back_projection.BLURRED_LEAK``).

The photo is centre-cropped to ``--size``, brought down by ``--kernel`` (the kernels of
benchmarks/sr_kernels.py) and restored by the default preset told ``--blur`` for ``--seconds`` of
optimisation. ``--leak`` replaces ``BLURRED_LEAK`` (0: the correction forgets nothing).

    python benchmarks/sr_blur_leak.py PHOTO --kernel gauss2.5 --blur 2.5 [--leak 0] [--seconds 40]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sr_kernels import small_photo

from dip_gui.cli.evaluate_stopping import centre_crop
from dip_gui.core.classical import back_projection
from dip_gui.core.imaging import load_image
from dip_gui.core.metrics import psnr_y
from dip_gui.core.problem.presets import preset_for_photo
from dip_gui.core.problem.tasks import make_problem, to_numpy
from dip_gui.core.session.session import Session

#: Iterations whose PSNR is printed on the way.
MARKS = (50, 100, 200)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--scale", type=int, default=4, choices=(2, 4, 8))
    parser.add_argument("--kernel", default="gauss2.5")
    parser.add_argument("--blur", type=float, required=True)
    parser.add_argument("--leak", type=float, help=f"default: BLURRED_LEAK ({back_projection.BLURRED_LEAK})")
    parser.add_argument("--seconds", type=float, default=40.0)
    args = parser.parse_args()
    if args.leak is not None:
        back_projection.BLURRED_LEAK = args.leak  # read when the session builds its back-projection
    clean = centre_crop(load_image(args.photo).rgb, args.size // args.scale * args.scale)
    small = small_photo(clean, args.kernel, args.scale)
    preset = preset_for_photo("sr", None, "cpu", small, scale=args.scale)
    session = Session(make_problem("sr", small, scale=args.scale, blur=args.blur), preset, seed=0, device="cpu")

    def measured() -> float:
        return psnr_y(np.clip(to_numpy(session.result_tensor()), 0, 1), clean, args.scale)

    session.prepare()
    session.step()
    line = [f"first preview {measured():.2f}"]
    while session.seconds < args.seconds and session.iteration < preset.iterations:
        session.step()
        if session.iteration in MARKS:
            line.append(f"@{session.iteration} {measured():.2f}")
    line.append(f"end @{session.iteration} {measured():.2f}")
    leak = back_projection.BLURRED_LEAK
    print(f"{Path(args.photo).stem} {args.kernel} told {args.blur:g} px, leak {leak:g}: " + ", ".join(line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
