"""Presets: the hyper-parameters of every task, as data.

``paper`` presets reproduce the authors' notebooks (network, input, jitter, learning rate,
iterations, output averaging). ``fast`` presets were chosen by measurement on a 2-core CPU for the
best result within a minute or two (docs/presets.md has the evidence). The default of each task is
its first preset.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from enum import Enum
from typing import Any

import numpy as np

from dip_gui.core.errors import InvalidParameterError
from dip_gui.core.networks import InputKind, SkipSpec
from dip_gui.core.problem.choices import Start, Task
from dip_gui.core.problem.photo_traits import PhotoTraits

#: Adam moves each weight by about lr per step: beyond 1 nothing is learnt (and float32 overflows).
MAX_LR = 1.0
TASKS = tuple(Task)
#: The classical estimates a preset can start from (classical/warm_start.py makes them).
BASES = tuple(Start)
#: The starts that fill holes: painted holes of any shape (Telea's or the biharmonic fill, chosen per
#: photo: classical/hole_fills.py) and non-local means rounds made for missing pixels scattered over
#: the photo (restoration).
FILLS = tuple(start for start in Start if start.fills_holes)


#: A JPEG saved below this quality (read from its pixels: core/problem/jpeg_quality.py) gets its
#: preset's ``strong_compression`` settings.
STRONG_COMPRESSION = 20


#: Noise levels (sigma on the 0-255 scale, as read from a photo) at which denoising's schedule shortens.
NOISY, GRAINY = 20.0, 10.0


@dataclass(frozen=True)
class Override:
    """Settings a preset changes for one kind of photo: an SR scale, strong JPEG compression, heavy
    noise (None: the preset's own)."""

    iterations: int | None = None
    lr: float | None = None
    reg_noise_std: float | None = None
    base_sigma: float | None = None

    def changes(self) -> dict[str, Any]:
        return {name: value for name, value in asdict(self).items() if value is not None}


@dataclass(frozen=True)
class Preset:
    """Everything a Session needs besides the photo. ``ema`` is the output averaging weight."""

    task: Task
    name: str
    description: str
    net: SkipSpec
    input_kind: InputKind = InputKind.NOISE
    input_depth: int = 32
    input_scale: float = 0.1
    reg_noise_std: float = 1.0 / 30.0
    lr: float = 0.01
    iterations: int = 3000
    ema: float | None = 0.99
    lr_floor: float = 1.0  # final LR as a fraction of ``lr`` (cosine decay); 1.0 keeps it constant
    #: Linear LR warm-up over this many iterations: Adam's first steps move every weight by ~lr,
    #: which throws a warm-started output far from its start (and trips the divergence guard).
    warmup: int = 0
    #: Warm start: the network fits a residual over a classical estimate (see tasks.warm_start).
    #: None = the paper's plain DIP, output = sigmoid(f(z)).
    base: Start | None = None
    base_sigma: float = 1.5
    #: Blur more when the photo is noisier than sigma 30 (estimated from it; warm_start.adapted_blur_sigma).
    adapt_blur: bool = False
    #: Output = base + f(z) with f's last layer starting at zero (so a run starts at the base).
    residual: bool = False
    #: The output average starts at the classical estimate (noise-input presets): the first previews
    #: show it, and the network's output takes over as the average forgets it (weight ema^n).
    average_from_base: bool = False
    #: Inpainting: hide known pixels shaped like the holes from the fit and fill the holes with the
    #: network's average and the classical fill mixed by how well each predicts them (core/stopping/holdout.py).
    #: The average starts at the fill, as with ``average_from_base``.
    holdout: bool = False
    #: Super-resolution: the result is the output average back-projected onto the small photo
    #: (core/classical/back_projection.py), so the network's detail is added to what the photo says.
    back_project: bool = False
    #: The output variance may end the run (``core/stopping/detectors.py``). False where its minimum
    #: misleads and the schedule's end is the stop: JPEG, whose variance settles before the best at
    #: quality 30 and long after it at quality 10 (docs/stopping.md).
    variance_stop: bool = True
    #: Super-resolution: settings that differ at a scale (``scaled_for`` applies them).
    per_scale: dict[int, Override] = field(default_factory=dict, compare=False)
    #: JPEG: settings for a photo saved below quality ``STRONG_COMPRESSION`` (``fitted_for`` applies them).
    strong_compression: Override | None = field(default=None, compare=False)
    #: Denoising: (sigma, settings) for photos at least that noisy (sigma on the 0-255 scale, read from
    #: their pixels), the highest sigma first; ``fitted_for`` applies the first one the photo reaches.
    by_noise: tuple[tuple[float, Override], ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        """Names as written in files and on the command line become the typed choices."""
        object.__setattr__(self, "task", Task.parse(self.task, "task"))
        object.__setattr__(self, "input_kind", InputKind.parse(self.input_kind, "network input"))
        if self.base is not None:
            object.__setattr__(self, "base", Start.parse(self.base, "warm start"))

    def network_input_depth(self, channels: int = 3, guide_channels: int = 3) -> int:
        """Channels of z: the guide photo's, the photo's own for a base input, else input_depth."""
        if self.input_kind is InputKind.IMAGE:
            return guide_channels
        if self.input_kind is InputKind.BASE:
            return channels
        return self.input_depth

    def with_overrides(self, **changes: Any) -> Preset:
        """A copy with some fields changed (e.g. iterations or lr from the command line)."""
        unknown = set(changes) - set(self.__dataclass_fields__)
        if unknown:
            raise InvalidParameterError(f"unknown preset settings: {', '.join(sorted(unknown))}")
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def validate(self) -> None:
        if self.iterations <= 0:
            raise InvalidParameterError(f"iterations must be positive, not {self.iterations}")
        if not 0 < self.lr <= MAX_LR:
            raise InvalidParameterError(f"learning rate must be above 0 and at most {MAX_LR:g}, not {self.lr}")
        if not (self.reg_noise_std >= 0 and math.isfinite(self.reg_noise_std)):
            raise InvalidParameterError(f"input jitter must be >= 0, not {self.reg_noise_std}")
        if self.ema is not None and not 0.0 <= self.ema < 1.0:
            raise InvalidParameterError(f"output averaging weight must be in [0, 1), not {self.ema}")
        if (self.input_kind is InputKind.BASE or self.residual) and not self.base:
            raise InvalidParameterError(f"a base input or residual needs a warm start (base = {', '.join(BASES)})")
        if self.average_from_base and not (self.base and self.ema):
            raise InvalidParameterError("starting the output average at the classical estimate needs a warm start "
                                        "(base) and output averaging (ema)")
        if self.holdout and not (self.base in FILLS and self.ema):
            raise InvalidParameterError("the holdout weighs the network's average against the classical fill: it "
                                        f"needs a fill (base = {' or '.join(FILLS)}) and output averaging (ema)")
        if self.back_project and not self.task.changes_size:
            raise InvalidParameterError("back-projection onto the small photo is for super-resolution only")
        if not 0.0 < self.lr_floor <= 1.0:
            raise InvalidParameterError(f"lr_floor must be in (0, 1], not {self.lr_floor}")

    def to_dict(self) -> dict[str, Any]:
        """Plain values only (choices as their names): saved sessions and JSON hold this."""
        data = asdict(self)
        data.pop("per_scale", None)
        data.pop("strong_compression", None)
        data.pop("by_noise", None)
        return {key: str(value) if isinstance(value, Enum) else value for key, value in data.items()}


def preset_from_dict(data: dict[str, Any]) -> Preset:
    """The inverse of ``Preset.to_dict`` (lists back to tuples); InvalidParameterError if malformed."""
    try:
        net: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data["net"].items()}
        preset = Preset(**{**data, "net": SkipSpec(**net)})
        preset.net.validate()
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidParameterError(f"the saved settings are not valid: {exc}") from None
    preset.validate()
    return preset


def _skip(down: tuple[int, ...], up: tuple[int, ...] | None = None, skip: int | tuple[int, ...] = 4,
          **kw: Any) -> SkipSpec:
    down = tuple(down)
    return SkipSpec(
        channels_down=down,
        channels_up=tuple(up or down),
        channels_skip=(skip,) * len(down) if isinstance(skip, int) else tuple(skip),
        **kw,
    )


PAPER_NET = _skip((128,) * 5)  # denoise / SR / restoration: 2,217,831 parameters for RGB
PAPER_FLASH_UPSAMPLE = ("nearest", "nearest", "bilinear", "bilinear", "bilinear")

# The fast presets, chosen by measurement on a 2-core CPU (docs/presets.md): a small network whose
# input is a classical estimate and whose output starts at that estimate (a zero-initialised
# residual), so the result is never worse than the start and DIP adds detail as time allows.
FAST_NET = _skip((16, 32, 64, 64, 64), skip=4)
FAST: dict[str, Any] = dict(input_kind=InputKind.BASE, residual=True, ema=0.97, lr_floor=0.2, warmup=30)
#: The same residual with the paper's noise as the input: the network draws the picture instead of
#: reading the start (restoration, where that reaches the paper's peak: docs/presets.md).
FAST_FROM_NOISE: dict[str, Any] = {**FAST, "input_kind": InputKind.NOISE}

# The paper's denoising recipe on a 64-channel network (a quarter of the paper's parameters): per
# iteration its PSNR follows the paper network's closely, at 1/5.5 of the CPU time at 512 px
# (1/2.1 at 256 px). Measured on the paper's photos (docs/presets.md, "balanced"): F16 within 0.2 dB
# of the paper's peak in a fifth of its CPU time; 0.7-2.1 dB short on textured photos at 3000.
BALANCED_NET = _skip((64,) * 5)
# The paper's settings apart from the network, shared by `paper` and `balanced` so the two cannot
# drift apart (tests/core/test_networks.py holds them equal). The paper runs x8 SR longer with more
# jitter (its SR notebook).
PAPER_DENOISE: dict[str, Any] = dict(input_depth=32, reg_noise_std=1 / 30, lr=0.01, iterations=3000, ema=0.99)
PAPER_SR: dict[str, Any] = dict(input_depth=32, reg_noise_std=0.03, lr=0.01, iterations=2000, ema=None,
                per_scale={8: Override(iterations=4000, reg_noise_std=0.05)})

# fmt: off
PRESETS: tuple[Preset, ...] = (
    # -- denoise --------------------------------------------------------------------------------
    # Non-local means as the start: on the paper's four photos at sigma 25 it alone is +1.7 to +3.7
    # dB over a light blur, and above everything a blur-started network reaches (docs/presets.md,
    # "Non-local means").
    # How long the network gains over its start depends on the noise: 200-400 iterations at sigma 5,
    # 40-90 at sigma 15, 15-45 from sigma 25 on, where it then fits the noise (0.2-0.3 dB lost by
    # iteration 80) before the output variance settles. So the noise read from the photo picks the
    # schedule: 40 and 20 iterations end at or above the start on every photo measured but one
    # (docs/stopping.md, "Denoising: the noise sets the schedule").
    Preset(Task.DENOISE, "fast", "Small network refining non-local means: a good result within a minute on a CPU",
           FAST_NET, base=Start.NLM, reg_noise_std=0.05, lr=0.03, iterations=1200,
           by_noise=((NOISY, Override(iterations=20)), (GRAINY, Override(iterations=40))), **FAST),
    Preset(Task.DENOISE, "balanced", "The paper's recipe on a 64-channel network: 5x cheaper on a CPU, for runs of an hour",
           BALANCED_NET, **PAPER_DENOISE),
    Preset(Task.DENOISE, "paper", "The paper's F16 settings: skip 128x5, 3000 iterations", PAPER_NET, **PAPER_DENOISE),
    # -- JPEG artefacts (target = the JPEG itself) -----------------------------------------------
    # The schedule's end is the stop: the gain peaks near iteration 300 at quality 30-40 and at 30-160
    # at quality 5-10, where the network goes on to fit the blocks; 1200 iterations at lr 0.03 fell
    # 0.3-0.5 dB from the peak and the output variance stopped too early or never. So 300 at lr 0.01,
    # and 150 at lr 0.02 below quality 20, read from the pixels (docs/stopping.md, "JPEG").
    Preset(Task.JPEG, "fast", "Small network refining a light blur of the JPEG on a CPU",
           FAST_NET, base=Start.BLUR, base_sigma=0.8, reg_noise_std=0.05, lr=0.01, iterations=300,
           variance_stop=False, strong_compression=Override(iterations=150, lr=0.02), **FAST),
    Preset(Task.JPEG, "paper", "The paper's snail settings: 2400 iterations",
           _skip((8, 16, 32, 64, 128), skip=(0, 0, 0, 4, 4)), input_depth=3, reg_noise_std=1 / 30,
           lr=0.01, iterations=2400, ema=0.99),
    # -- super-resolution (the paper runs x8 longer with more jitter) ------------------------------
    # A residual over the back-projected upscale blurred by 1.5x the scale (px), drawn
    # from noise, and the result back-projected onto the small photo (core/classical/back_projection.py). Over
    # the sharp upscale the data term left the residual nothing to fit (zebra 256 px crop, x4: 22.445
    # dB at the start and after 1000 iterations); over the blurred one the network draws the detail
    # itself, as in the paper, from a start that has the colours right: zebra 23.42 dB at 1500 where
    # the paper's network reaches 23.32 at 2000, F16 (192 px) 26.01 against 25.99, and the result is
    # never under the classical upscale (docs/presets.md, "Super-resolution"). 1.5x the scale was the
    # best, or within the 0.1 dB run-to-run noise of it, of the blurs tried: 0.5-1.5x the scale at x4,
    # 1.1x and 1.5x at x2 and x8. Its result climbs to the end or stays level, and where the output
    # variance's minimum came early it came before the best (rocket 256 px, x2: suggested 127, 0.38 dB
    # under the best at 249), so the schedule's end is its stop, and at x2 the check against the start
    # (docs/stopping.md, "Super-resolution x2: the network against its start").
    Preset(Task.SR, "fast", "Small network drawing detail over a blurred upscale, kept true to the photo",
           FAST_NET, base=Start.UPSAMPLE, base_sigma=6.0, back_project=True, reg_noise_std=0.03, lr=0.01,
           iterations=1500, variance_stop=False, **FAST_FROM_NOISE,
           per_scale={2: Override(base_sigma=3.0), 8: Override(base_sigma=12.0)}),
    # Per iteration it follows the paper network (zebra 256 px crop, x4: 23.31 against 23.32 dB at
    # 2000 iterations, within 0.3 dB of that from iteration 1425) at 0.47x its CPU time at 256 px.
    Preset(Task.SR, "balanced", "The paper's SR recipe on a 64-channel network: 5x cheaper on a CPU at 512 px",
           BALANCED_NET, **PAPER_SR),
    Preset(Task.SR, "paper", "The paper's SR settings: skip 128x5, Lanczos-2 downsampler", PAPER_NET, **PAPER_SR),
    # -- inpainting -----------------------------------------------------------------------------
    # The paper's recipe on the fast network: refining the classical fill gains 0.8 dB on thin
    # holes; drawing the picture from noise gains 5 dB and per
    # iteration keeps up with the paper's network (kate's text mask, 128 px crop: 37.8-38.1 dB at
    # 3000 against the paper's 37.86; docs/presets.md, "Inpainting"). Known pixels shaped like the
    # holes are hidden from the fit to judge the network against the classical fill:
    # the holes show the fill until the network predicts them better (no dark ghosts of the holes
    # in the first previews), and where it never does (library: +0.55 dB at 3000 iterations) the
    # fill stays in the mix.
    Preset(Task.INPAINT, "fast", "The paper's inpainting recipe on a small network, judged against a classical fill",
           FAST_NET, base=Start.FILL, base_sigma=0.8, holdout=True, input_depth=32, reg_noise_std=0.03,
           lr=0.01, iterations=3000, ema=0.99),
    Preset(Task.INPAINT, "paper", "The paper's text-removal settings (kate): skip 128x5 with 128 skips",
           _skip((128,) * 5, skip=128, upsample="nearest"), input_depth=32, reg_noise_std=0.03,
           lr=0.01, iterations=6001, ema=None),
    Preset(Task.INPAINT, "paper-large-holes", "The paper's large-hole settings (vase): hourglass, meshgrid input",
           _skip((128,) * 5, skip=0, upsample="nearest"), input_kind=InputKind.MESHGRID, input_depth=2,
           reg_noise_std=0.03, lr=0.01, iterations=5001, ema=None),
    Preset(Task.INPAINT, "paper-library", "The paper's library settings: six levels, 5x5 filters",
           _skip((16, 32, 64, 128, 128, 128), skip=0, upsample="nearest", filter_down=5, need1x1_up=False),
           input_depth=1, reg_noise_std=0.0, lr=0.01, iterations=3001, ema=None),
    # -- restoration of randomly missing pixels --------------------------------------------------
    # The start is non-local means rounds made for scattered missing pixels (2.3-3.7 dB
    # over Telea's fill on the paper's photos), blurred by 0.8 px so the residual has something to
    # fit; the network draws from noise instead of reading the start, and a holdout of random known
    # pixels judges it against the sharp fill (the first results are that fill). Barbara 128 px
    # crop: peak 33.36 dB at iteration 575, above the paper's 33.23 (at 3900 of its 11000), where
    # the Telea start peaked at 32.86 (docs/presets.md, "Restoration of scattered missing pixels").
    Preset(Task.RESTORE, "fast", "Small network over a non-local means fill of the missing pixels: minutes on a CPU",
           FAST_NET, base=Start.NLM_FILL, base_sigma=0.8, holdout=True, reg_noise_std=0.03, lr=0.01, iterations=1500,
           **FAST_FROM_NOISE),
    Preset(Task.RESTORE, "paper", "The paper's barbara settings: skip 128x5, 11000 iterations at lr 0.001",
           PAPER_NET, input_depth=32, reg_noise_std=0.03, lr=0.001, iterations=11000, ema=None),
    Preset(Task.RESTORE, "paper-sparse", "The paper's settings for 98% missing pixels (kate)",
           _skip((16, 32, 64, 128, 128), skip=0, downsample="avg"), input_depth=32, reg_noise_std=0.0,
           lr=0.01, iterations=1000, ema=None),
    # -- flash / no-flash: the flash photo is the network input ---------------------------------
    Preset(Task.FLASH, "fast", "Small network guided by the flash photo",
           _skip((32, 32, 64, 64, 64), skip=4, upsample=PAPER_FLASH_UPSAMPLE),
           input_kind=InputKind.IMAGE, input_depth=3, reg_noise_std=0.0, lr=0.05, iterations=400, ema=None),
    Preset(Task.FLASH, "paper", "The paper's flash/no-flash settings: 601 iterations at lr 0.1",
           _skip((128,) * 5, skip=4, upsample=PAPER_FLASH_UPSAMPLE),
           input_kind=InputKind.IMAGE, input_depth=3, reg_noise_std=0.0, lr=0.1, iterations=601, ema=None),
)
# fmt: on


def presets_for(task: str) -> list[Preset]:
    """The presets of a task, default first."""
    chosen = Task.parse(task, "task")
    return [p for p in PRESETS if p.task is chosen]


def get_preset(task: str, name: str | None = None) -> Preset:
    """The named preset of a task (its default when ``name`` is None)."""
    options = presets_for(task)
    if name is None:
        return options[0]
    for preset in options:
        if preset.name == name:
            return preset
    names = ", ".join(p.name for p in options)
    raise InvalidParameterError(f"task {task} has no preset {name!r}; choose one of {names}")


def default_preset_name(task: str, device_type: str) -> str:
    """The preset a run gets when none is named: the paper's settings on a CUDA GPU, where they reach
    the paper's quality in about a minute (F16 512 px, sigma 25 on an H200: 32.6 dB in 42 s) while
    ``fast`` spends longer on its classical start on the CPU than on its iterations
    (docs/performance.md, "On a CUDA GPU"); the task's first preset (``fast``) elsewhere."""
    names = [p.name for p in presets_for(task)]
    return "paper" if device_type == "cuda" and "paper" in names else names[0]


def scaled_for(preset: Preset, scale: int | None) -> Preset:
    """Apply per-scale settings of SR presets (the paper runs x8 longer with more jitter)."""
    if scale is None:
        return preset
    override = preset.per_scale.get(scale)
    return preset if override is None else replace(preset, **override.changes())


def fitted_for(preset: Preset, scale: int | None = None, traits: PhotoTraits | None = None) -> Preset:
    """The preset for this photo: per-scale settings for SR; for a JPEG saved below quality
    ``STRONG_COMPRESSION`` the shorter schedule its artefacts call for; for a noisy photo the
    schedule its noise level calls for (``traits`` None: nothing known of the photo)."""
    preset = scaled_for(preset, scale)
    if traits is None:
        return preset
    strong = preset.strong_compression
    if strong is not None and traits.jpeg_quality is not None and traits.jpeg_quality < STRONG_COMPRESSION:
        preset = replace(preset, **strong.changes())
    if traits.noise_sigma is not None:
        reached = [override for sigma, override in preset.by_noise if traits.noise_sigma >= sigma]
        if reached:
            preset = replace(preset, **reached[0].changes())
    return preset


def preset_for_photo(task: str, name: str | None, device_type: str, rgb: np.ndarray, *, scale: int | None = None,
                     iterations: int | None = None, lr: float | None = None) -> Preset:
    """A run's preset: ``name`` or the device's default, fitted to the photo (an SR scale, a JPEG's
    quality and the noise level read from its pixels ``rgb``), with the user's overrides, validated."""
    preset = get_preset(task, name or default_preset_name(task, device_type))
    reads_photo = preset.strong_compression is not None or preset.by_noise
    traits = PhotoTraits.read(rgb) if reads_photo else None
    preset = fitted_for(preset, scale, traits).with_overrides(iterations=iterations, lr=lr)
    preset.validate()
    return preset
