"""Classical fills of painted holes, and the choice between them for a photo.

Telea's method (OpenCV) marches into each hole from its border; biharmonic inpainting
(scikit-image) solves for the smoothest surface that meets the known pixels; frequency-selective
reconstruction (frequency_fill.py) carries the texture around a hole into it. On thin holes in
smooth areas the biharmonic fill is far better than Telea's, on large holes in busy texture it
overshoots. Measured on the paper's masks, whole photos (PSNR, dB; Telea / biharmonic): kate's text
40.79 / 43.96, vase's hole 28.69 / 28.97, library's blobs 20.80 / 17.71; on painted strokes, blobs
and text over held-out photos the texture fill leads on every stroke and text mask, a smooth fill on
large blobs (docs/quality.md, "Painted holes").
No photo is known in advance, so each fill is tried on known pixels shaped like the holes
(hole_shapes.holdout_mask), hidden from it, and the one that predicts them best fills the holes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from dip_gui.core.classical.frequency_fill import frequency_fill, fsr_available
from dip_gui.core.classical.hole_shapes import holdout_mask
from dip_gui.core.problem.choices import Start

#: The texture fill's error on the hidden pixels is counted this much (dB) lower when fills are
#: compared. The holes beside the hidden copies take known pixels from its blocks there, so its error
#: reads high, and where the fills are that close, by eye it is the plausible one. On 36 painted masks
#: over twelve held-out 512 px photos the choice takes the best fill in the holes 25 times with the
#: credit and 24 without, 0.52 dB under the best on average against 0.59 (docs/presets.md, "Inpainting").
TEXTURE_CREDIT_DB = 0.5

#: Above this many hole pixels the biharmonic fill is not tried: its sparse solve grows with the
#: holes (0.6 s for library's 59,000 hole pixels on the 2-core development CPU).
BIHARMONIC_MAX_HOLE_PIXELS = 400_000


def telea_fill(image: np.ndarray, known: np.ndarray | None) -> np.ndarray:
    """Fill holes with OpenCV's Telea method (8-bit inside; the known pixels stay exact)."""
    if known is None:
        return image
    holes = (known < 0.5).astype(np.uint8)
    eight = (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
    filled = cv2.inpaint(eight, holes, 3, cv2.INPAINT_TELEA).astype(np.float32) / 255.0
    filled = filled.reshape(image.shape)
    return np.where(known[:, :, None] > 0.5, image, filled)


def biharmonic_fill(image: np.ndarray, known: np.ndarray | None) -> np.ndarray:
    """Fill holes with the smoothest (biharmonic) surface through the known pixels (scikit-image)."""
    if known is None:
        return image
    from skimage.restoration import inpaint_biharmonic  # imported when used: it loads scipy

    filled = inpaint_biharmonic(image.astype(np.float64), known < 0.5, channel_axis=-1).astype(np.float32)
    return np.where(known[:, :, None] > 0.5, image, np.clip(filled, 0.0, 1.0).reshape(image.shape))


def texture_fill(image: np.ndarray, known: np.ndarray | None) -> np.ndarray:
    """Fill holes by frequency-selective reconstruction (frequency_fill.py), the chroma of a colour
    photo by the smooth fill that suits the holes' size."""
    if known is None:
        return image
    return frequency_fill(image, known, _smooth_fill)


def _smooth_fill(image: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Biharmonic where the holes allow it, else Telea's in each channel (any channel count)."""
    if (known < 0.5).sum() <= BIHARMONIC_MAX_HOLE_PIXELS:
        return biharmonic_fill(image, known)
    return np.dstack([telea_fill(image[:, :, c:c + 1], known) for c in range(image.shape[2])])


FILL_METHODS: dict[str, Callable[[np.ndarray, np.ndarray | None], np.ndarray]] = {
    "telea": telea_fill,
    "biharmonic": biharmonic_fill,
}
if fsr_available():  # OpenCV's contrib modules (a dependency; a plain OpenCV installed over it lacks them)
    FILL_METHODS["texture"] = texture_fill


def chosen_fill(image: np.ndarray, known: np.ndarray | None) -> str:
    """The name of the fill that best predicts known pixels shaped like the holes of ``known``
    (Telea's where nothing can be judged; the biharmonic fill is not tried where the holes are too
    large for its solve)."""
    choice = None if known is None else fill_choice(image, known, seed=0)
    return "telea" if choice is None else choice.method


def _least_error(fills: dict[str, np.ndarray], image: np.ndarray, hidden: np.ndarray) -> str:
    """The name of the fill closest to ``image`` on the ``hidden`` pixels (``TEXTURE_CREDIT_DB`` given)."""
    credit = {"texture": 10 ** (-TEXTURE_CREDIT_DB / 10)}
    errors = {name: credit.get(name, 1.0) * float(np.mean((filled[hidden] - image[hidden]) ** 2))
              for name, filled in fills.items()}
    return min(errors, key=lambda name: errors[name])


def _candidates(known: np.ndarray) -> list[str]:
    """The fills tried for holes ``known`` < 0.5: all but the biharmonic where its solve is too large."""
    too_large = (known < 0.5).sum() > BIHARMONIC_MAX_HOLE_PIXELS
    return [name for name in FILL_METHODS if not (too_large and name == "biharmonic")]


@dataclass(frozen=True)
class FillChoice:
    """The fill of one run with a holdout: its method, and that method's fill made without the pixels
    the holdout hides (``seen``: the known pixels less those), which the holdout judges the network
    against and the fit starts from."""

    method: str
    seen: np.ndarray  # HxW float32, 1 where a pixel is known and not hidden
    fill_unseen: np.ndarray  # HxWxC, the method's fill made from ``seen`` alone (not blurred)

    def made_from(self, known: np.ndarray | None) -> bool:
        return known is not None and np.array_equal(known, self.seen)


def run_fill_choice(kind: str, image: np.ndarray, known: np.ndarray, seed: int) -> FillChoice | None:
    """The fill of a ``fill`` start in a run with a holdout (None for the other starts, and where the
    holdout hides nothing): ``fill_choice`` with the run's seed, the holdout's own hidden pixels. The
    holdout then judges that same fill, so the choice costs no fill of its own; a texture fill of a
    512 px photo takes seconds. The choice leans the holdout towards the fill (it is the best of its
    methods on the hidden pixels), the safe side: the network has to beat the best fill there to take
    over."""
    return fill_choice(image, known, seed) if kind == Start.FILL else None


def fill_choice(image: np.ndarray, known: np.ndarray, seed: int) -> FillChoice | None:
    """Each method fills the holes of ``known`` and the known pixels shaped like them that
    hole_shapes.holdout_mask hides with ``seed``; the one that predicts those best, with its fill
    (None where nothing can be hidden)."""
    hidden = holdout_mask(known > 0.5, seed)
    if hidden is None:
        return None
    seen = ((known > 0.5) & ~hidden).astype(np.float32)
    observed = image * seen[:, :, None]
    fills = {name: FILL_METHODS[name](observed, seen) for name in _candidates(seen)}
    method = _least_error(fills, image, hidden)
    return FillChoice(method, seen, fills[method])
