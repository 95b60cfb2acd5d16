"""Classical fills of painted holes, and the choice between them for a photo.

Telea's method (OpenCV) marches into each hole from its border; biharmonic inpainting
(scikit-image) solves for the smoothest surface that meets the known pixels. On thin holes in smooth
areas the biharmonic fill is far better, on large holes in busy texture it overshoots. Measured on
the paper's masks, whole photos (PSNR, dB; Telea / biharmonic): kate's text 40.79 / 43.96, vase's
hole 28.69 / 28.97, library's blobs 20.80 / 17.71. No photo is known in advance, so each fill is
tried on known pixels shaped like the holes (hole_shapes.holdout_mask), hidden from it, and the one
that predicts them better fills the holes.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from dip_gui.core.classical.hole_shapes import holdout_mask
from dip_gui.core.problem.choices import Start

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


FILL_METHODS: dict[str, Callable[[np.ndarray, np.ndarray | None], np.ndarray]] = {
    "telea": telea_fill,
    "biharmonic": biharmonic_fill,
}


def chosen_fill(image: np.ndarray, known: np.ndarray | None) -> str:
    """The name of the fill that best predicts known pixels shaped like the holes of ``known``
    (Telea's where nothing can be judged or the holes are too large for the biharmonic solve)."""
    if known is None or (known < 0.5).sum() > BIHARMONIC_MAX_HOLE_PIXELS:
        return "telea"
    hidden = holdout_mask(known > 0.5)
    if hidden is None:
        return "telea"
    seen = ((known > 0.5) & ~hidden).astype(np.float32)
    errors = {name: float(np.mean((fill(image * seen[:, :, None], seen)[hidden] - image[hidden]) ** 2))
              for name, fill in FILL_METHODS.items()}
    return min(errors, key=lambda name: errors[name])


def fill_choice_mask(known: np.ndarray, seed: int) -> np.ndarray:
    """The known pixels a run with a holdout chooses its fill on: all but those its holdout hides
    (hole_shapes.holdout_mask with the run's seed), so that nothing of the hidden pixels reaches the
    fit, not even through the choice of the fill."""
    hidden = holdout_mask(known > 0.5, seed)
    return known if hidden is None else (known * ~hidden).astype(np.float32)


def run_fill_method(kind: str, image: np.ndarray, known: np.ndarray, seed: int) -> str | None:
    """The method of a ``fill`` start in a run with a holdout, chosen once without the pixels its
    holdout hides; the fill shown and the fill made without the hidden pixels both use it (None for
    the other starts)."""
    return chosen_fill(image, fill_choice_mask(known, seed)) if kind == Start.FILL else None
