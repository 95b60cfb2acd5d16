"""Command line: ``python -m dip_gui {gui,run,batch,degrade,evaluate-stopping,presets,bench}``.

Errors a user can cause print one line on stderr and exit with status 2, leaving no output file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import NoReturn

from dip_gui import __version__
from dip_gui.cli.batch import add_batch_parser
from dip_gui.cli.signals import tell, termination_as_interrupt
from dip_gui.core.errors import DipError, ImageWriteError, InvalidParameterError
from dip_gui.core.problem.presets import TASKS
from dip_gui.core.runtime.device import DEVICE_CHOICES, PRECISION_CHOICES
from dip_gui.core.runtime.host_memory import HOST_MEMORY_CHOICES

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse prints its usage block on a mistake; a command-line user gets one line instead."""

    def error(self, message: str) -> NoReturn:
        hint = ""
        if "expected one argument" in message:
            hint = " (a negative number is written --option=-1)"
        self.exit(EXIT_USER_ERROR, f"error: {message}{hint}; see {self.prog} --help\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(prog="python -m dip_gui", description="DIP Studio: Deep Image Prior photo restoration.")
    parser.add_argument("--version", action="version", version=f"DIP Studio {__version__}")
    commands = parser.add_subparsers(dest="command", parser_class=OneLineErrorParser)

    gui = commands.add_parser("gui", help="open the window (the default)")
    gui.add_argument("photo", nargs="?", help="photo to open")

    run = commands.add_parser("run", help="restore a photo headless")
    run.add_argument("input", nargs="?", help="the degraded photo (for flash: the no-flash photo); not with --resume")
    run.add_argument("-o", "--output", required=True, help="where to write the result (PNG, TIFF, JPEG, WebP, BMP)")
    run.add_argument("--task", choices=TASKS, help="required unless --resume")
    run.add_argument("--preset", help="preset name (default: paper on a CUDA GPU, else fast); see `presets`")
    run.add_argument("--iters", type=int, help="number of iterations (default: the preset's)")
    run.add_argument("--lr", type=float, help="learning rate (default: the preset's)")
    run.add_argument("--max-seconds", type=float, help="stop after this much optimisation time and save")
    run.add_argument("--scale", type=int, choices=(2, 4, 8), help="super-resolution factor")
    run.add_argument("--blur", type=float, metavar="PX",
                     help="super-resolution: how much more the camera blurred the small photo than the app's "
                          "downsampler assumes, as a Gaussian's sigma in pixels of the result (default 0; see "
                          "docs/quality.md for choosing it)")
    run.add_argument("--mask", help="mask file for inpaint/restore: white = pixel to fill")
    run.add_argument("--mask-white-known", action="store_true", help="the mask uses the paper's convention: white = known pixel")
    run.add_argument(
        "--raw-output", action="store_true", help="inpainting: save the network output instead of keeping known pixels"
    )
    run.add_argument("--guide", help="flash/no-flash: the flash photo (network input)")
    run.add_argument("--reference", help="clean photo: adds PSNR to the progress and metrics")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--device", default="auto", choices=DEVICE_CHOICES)
    run.add_argument("--precision", default="auto", choices=PRECISION_CHOICES,
                     help="arithmetic (auto: TF32 on CUDA, fp32 elsewhere; bf16 on CUDA only)")
    run.add_argument("--host-memory", default="auto", choices=HOST_MEMORY_CHOICES,
                     help="CPU: keep freed memory for reuse (fast: quicker iterations, ~1.5x the memory; auto: fast "
                          "when the extra is under 1 GB)")
    run.add_argument("--metrics-json", help="write iteration history and final figures here")
    run.add_argument("--quality", type=int, default=95, help="JPEG/WebP quality of the output")
    run.add_argument("--to-srgb", action="store_true",
                     help="convert the result from the photo's colour profile (Display P3, Adobe RGB...) to sRGB, "
                          "for places that ignore profiles; by default the result keeps the photo's profile")
    run.add_argument("--quiet", action="store_true", help="no progress on stderr")
    run.add_argument("--auto-stop", action=argparse.BooleanOptionalAction, default=True,
                     help="end the run where the stop detector finds the result best and save that result (the "
                          "default); --no-auto-stop runs every iteration and saves the last")
    run.add_argument("--save-snapshots", metavar="DIR", help="write the run's kept snapshots into this folder")
    run.add_argument("--checkpoint", metavar="FILE.dips",
                     help="save the whole run here every --checkpoint-every seconds and at the end (resume with --resume)")
    run.add_argument("--checkpoint-every", type=float, default=60.0, metavar="SECONDS")
    run.add_argument("--tile", type=int, metavar="N",
                     help="restore a photo too large for the device as overlapping tiles of at most N px, blended")
    run.add_argument("--tile-overlap", type=int, default=48, metavar="PX", help="overlap of neighbouring tiles")
    run.add_argument("--resume", metavar="FILE.dips",
                     help="continue a saved session (photo, task and settings come from the file; --iters sets a new total)")

    add_batch_parser(commands)

    degrade = commands.add_parser("degrade", help="make test data with ground truth from a clean photo")
    degrade.add_argument("clean")
    degrade.add_argument("-o", "--output", required=True)
    degrade.add_argument("--noise", type=float, help="Gaussian noise sigma on the 0-255 scale")
    degrade.add_argument("--downscale", type=int, choices=(2, 4, 8), help="Lanczos downscale factor")
    degrade.add_argument("--blur", type=float, default=0.0, metavar="PX",
                         help="with --downscale: a Gaussian blur of this sigma (pixels of the clean photo) first")
    degrade.add_argument("--drop", type=float, help="fraction of pixels to drop (also writes OUTPUT_mask.png, white = missing)")
    degrade.add_argument("--jpeg", type=int, help="JPEG quality (1-100)")
    degrade.add_argument("--seed", type=int, default=0)

    evaluate = commands.add_parser("evaluate-stopping", help="measure the stop suggestion against the PSNR peak")
    evaluate.add_argument("photos", nargs="*", help="clean photos (default: the bundled samples)")
    evaluate.add_argument("--size", type=int, default=128, help="centre crop side in pixels")
    evaluate.add_argument("--iters", type=int, default=2000, help="iterations per case (past the peak)")
    evaluate.add_argument("--json", help="write per-case figures here")
    evaluate.add_argument("--preset", help="preset of every case's task (default: the task's default)")
    evaluate.add_argument("--cases", help="comma-separated: noise15,noise25,noise50,jpeg10,downscale4,drop0.5 (default: all)")

    desktop = commands.add_parser("install-desktop", help="add DIP Studio and its icon to this user's applications menu")
    desktop.add_argument("--uninstall", action="store_true", help="remove the menu entry and icon instead")

    presets = commands.add_parser("presets", help="list the presets of every task")
    presets.add_argument("--json", action="store_true")

    bench = commands.add_parser("bench", help="time whole iterations (see docs/performance.md)")
    bench.add_argument("--task", choices=TASKS)
    bench.add_argument("--preset")
    bench.add_argument("--size", type=int, help="photo side in pixels (output side for sr)")
    bench.add_argument("--iters", type=int, default=10)
    bench.add_argument("--warmup", type=int, default=2)
    bench.add_argument("--device", default="auto", choices=DEVICE_CHOICES)
    bench.add_argument("--precision", default="auto", choices=PRECISION_CHOICES)
    bench.add_argument("--host-memory", default="auto", choices=HOST_MEMORY_CHOICES)
    bench.add_argument("--network", default="auto", choices=("auto", "pairs", "lean"),
                       help="CPU: the network with batch norm and activation as separate layers (pairs) or fused, "
                            "keeping only their outputs (lean); auto: as a run would choose")
    bench.add_argument("--cuda-graphs", default="on", choices=("on", "off"),
                       help="CUDA: replay each iteration's forward and backward pass from a recorded graph (on, as a "
                            "run does) or launch it from Python (off)")
    bench.add_argument("--rounds", type=int, default=3,
                       help="alternating rounds of --compare-eager and --preview-rate (the median is reported)")
    bench.add_argument("--side", choices=("eager", "ours"), help=argparse.SUPPRESS)  # one side of --compare-eager
    bench.add_argument("--compare-eager", action="store_true",
                       help="also time the plain eager network (every convolution an nn.Conv2d) in the same run and "
                            "print the speed-up")
    bench.add_argument("--preview-rate", type=float, metavar="HZ",
                       help="measure the loop with previews at this rate (plus stop detector and snapshots) against "
                            "the bare loop")
    bench.add_argument("--json", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = args.command or "gui"
    try:
        if command == "gui":
            from dip_gui.ui.app import run_app

            return run_app(getattr(args, "photo", None))
        with termination_as_interrupt():
            return _command(args, command)
    except DipError as exc:
        tell(f"error: {exc}")
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        tell("interrupted")
        return EXIT_INTERRUPTED


def _command(args: argparse.Namespace, command: str) -> int:
    """Run one command-line command (not the window)."""
    if command == "run" and args.tile:
        from dip_gui.cli.run_tiled import run_tiled_command

        return run_tiled_command(args)
    if command == "run":
        from dip_gui.cli.run import run_command

        return run_command(args)
    if command == "batch":
        from dip_gui.cli.batch import batch_command

        return batch_command(args)
    if command == "degrade":
        return degrade_command(args)
    if command == "evaluate-stopping":
        from dip_gui.cli.evaluate_stopping import evaluate_command

        return evaluate_command(args)
    if command == "presets":
        return presets_command(args)
    if command == "install-desktop":
        from dip_gui.cli.desktop import install_desktop_command

        return install_desktop_command(args)
    if command == "bench":
        from dip_gui.cli.bench import bench_command

        return bench_command(args)
    return 0


def degrade_command(args: argparse.Namespace) -> int:
    """Write a degraded copy of a clean photo (and the mask for --drop)."""
    from dip_gui.core.imaging import load_image, save_image
    from dip_gui.core.problem import degradations as deg

    if not any(v is not None for v in (args.noise, args.downscale, args.drop, args.jpeg)):
        raise InvalidParameterError("say how to degrade: --noise, --downscale, --drop and/or --jpeg")
    output = Path(args.output)
    mask_path = output.with_name(f"{output.stem}_mask.png") if args.drop is not None else None
    for target in (output, mask_path):
        if target is not None and target.exists() and target.resolve() == Path(args.clean).resolve():
            raise ImageWriteError(f"{target.name}: refusing to overwrite the input file")
    clean = load_image(args.clean)
    image = clean.rgb[:, :, :1] if clean.grey else clean.rgb  # a grey photo gets grey noise, once
    if args.blur and not args.downscale:
        raise InvalidParameterError("--blur blurs before --downscale: give both")
    if args.downscale:
        image = deg.downscale(image, args.downscale, args.blur)
    if args.noise is not None:
        image = deg.add_gaussian_noise(image, args.noise, seed=args.seed)
    jpeg_direct = args.jpeg is not None and output.suffix.lower() in {".jpg", ".jpeg"}
    if args.jpeg is not None and not jpeg_direct:
        image = deg.jpeg_compress(image, args.jpeg)
    known = None
    if args.drop is not None:
        known = deg.random_known_mask(image.shape[:2], args.drop, seed=args.seed)
        image = image * known[:, :, None]
    protected = (args.clean,)
    if mask_path is not None and known is not None:
        save_image(mask_path, 1.0 - known, protected=protected)
    save_image(output, image, grey=clean.grey, quality=args.jpeg if jpeg_direct else 95, protected=protected)
    print(f"wrote {output}" + (f" and {mask_path} (white = missing)" if mask_path else ""), file=sys.stderr)
    return 0


def presets_command(args: argparse.Namespace) -> int:
    """List every preset with its hyper-parameters and its network's parameter count."""
    from dip_gui.core.networks import SkipNet, count_parameters
    from dip_gui.core.problem.presets import PRESETS

    rows = []
    for preset in PRESETS:
        row = preset.to_dict()
        row["parameters"] = count_parameters(SkipNet(preset.net, preset.network_input_depth(), 3))
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'task':8s} {'preset':18s} {'params':>10s} {'iters':>6s} {'lr':>7s}  description")
    for row in rows:
        counts = f"{row['parameters']:>10,d} {row['iterations']:>6d} {row['lr']:>7.4g}"
        print(f"{row['task']:8s} {row['name']:18s} {counts}  {row['description']}")
    return 0
