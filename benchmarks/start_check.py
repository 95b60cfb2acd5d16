"""The start check at any noise level and with either noise reading: what share of the network's
change it keeps, against the share the clean photo would choose.

Each photo is centre-cropped, given Gaussian noise of ``--noise`` sigma and denoised by the default
preset with the automatic stop (as `run` does). The result handed back before any check is then
judged on a recorrupted copy (``run_loop.network_share_on_copy``) with the noise read by the wavelet
estimator and by the patch-spectrum one, also where the run itself would not judge it (a read
sigma under 10). The "oracle" share is the least-squares share against the clean photo.
``--unclipped`` adds the patch-spectrum reading judged as if nothing were clipped at black and white:
the copy's noise drawn at the level read and the target not moved back by the clip's lift
(``clipped_noise.py``; the run draws it as the other columns do).

    python benchmarks/start_check.py PHOTO... [--size 256] [--noise 5] [--unclipped] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dip_gui.cli.evaluate_stopping import centre_crop, degrade
from dip_gui.core.imaging import load_image
from dip_gui.core.metrics import psnr
from dip_gui.core.problem.clipped_noise import underlying_sigma
from dip_gui.core.problem.photo_traits import estimate_noise_sigma, estimate_noise_sigma_pca
from dip_gui.core.problem.presets import preset_for_photo
from dip_gui.core.problem.tasks import make_problem
from dip_gui.core.session.handed_back import handed_back
from dip_gui.core.session.run_loop import RunLoop, judges_start, network_share_on_copy
from dip_gui.core.session.session import Session
from dip_gui.core.stopping.monitor import RunMonitor
from dip_gui.core.stopping.start_check import StartCheck, network_share, recorrupted_pair


def judged(photo: str, size: int, sigma: float, unclipped: bool = False) -> dict:
    clean = centre_crop(load_image(photo).rgb, size)
    noisy = degrade(clean, "noise", sigma)[0]
    noisy = (np.round(noisy * 255) / 255).astype(np.float32)  # as the photo file holds it
    session = Session(make_problem("denoise", noisy), preset_for_photo("denoise", None, "cpu", noisy), seed=0)
    monitor = RunMonitor(session, snapshots=False)
    RunLoop(session, monitor, auto_stop=True).run()  # judged by the run itself from a read sigma of 10
    session.start_check = None  # the network's own result, before any check
    result = handed_back(session, monitor, auto_stop=True)
    start = session.to_image(session.base)
    row = {"photo": Path(photo).stem, "sigma": sigma, "iteration": result.iteration, "judged_by_the_run": judges_start(session),
           "start": psnr(start, clean), "network": psnr(result.image, clean),
           "oracle_share": network_share(start, result.image, clean)}
    patches = estimate_noise_sigma_pca(noisy)
    readings = [("wavelet", estimate_noise_sigma(noisy), start), ("patches", patches, start)]
    if unclipped:
        readings.append(("unclipped", patches, None))
    row["under_the_clip"] = underlying_sigma(start, patches / 255) * 255
    row["clipped_values"] = float(np.mean((noisy <= 0) | (noisy >= 1)))
    for name, read, estimate in readings:
        copy, target = recorrupted_pair(noisy, read / 255, session.seed, estimate)  # as judging_pair draws it
        share = network_share_on_copy(session, result.iteration, copy, target)
        assert share is not None  # nothing asks the check to stop
        row[f"{name}_sigma"], row[f"{name}_share"] = read, share
        row[f"{name}_psnr"] = psnr(StartCheck(result.iteration, share).apply(start, result.image), clean)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", nargs="+")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--noise", type=float, default=5.0)
    parser.add_argument("--unclipped", action="store_true", help="add the reading judged as if nothing were clipped")
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args()
    extra = " | clipped values, level under the clip | unclipped: share, PSNR" if args.unclipped else ""
    print("| photo | sigma | iteration | start | network | oracle share | wavelet: read, share, PSNR "
          f"| patches: read, share, PSNR | judged by the run{extra} |")
    print("|---" * (11 if args.unclipped else 9) + "|")
    rows = []
    for photo in args.photos:
        row = judged(photo, args.size, args.noise, args.unclipped)
        rows.append(row)
        extra = (f" | {row['clipped_values']:.0%}, {row['under_the_clip']:.1f} "
                 f"| {row['unclipped_share']:.2f}, {row['unclipped_psnr']:.2f}") if args.unclipped else ""
        print(f"| {row['photo']} | {row['sigma']:g} | {row['iteration']} | {row['start']:.2f} | {row['network']:.2f} "
              f"| {row['oracle_share']:.2f} | {row['wavelet_sigma']:.1f}, {row['wavelet_share']:.2f}, {row['wavelet_psnr']:.2f} "
              f"| {row['patches_sigma']:.1f}, {row['patches_share']:.2f}, {row['patches_psnr']:.2f} "
              f"| {'yes' if row['judged_by_the_run'] else 'no'}{extra} |", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
