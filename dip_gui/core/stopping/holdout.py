"""Inpainting's and restoration's self-check: known pixels shaped like the holes, hidden from the fit.

Whether the network or the classical fill predicts the holes better depends on the photo and on
the moment: on the paper's text mask (kate) the fill is better for the first ~200 iterations and
the network after; on a large hole (vase) the network is better from the first iterations; on the
library's large blobs the fill stays better for the whole run (docs/presets.md, "Inpainting: the
holdout judges the network against the fill"). Nothing in the holes can be measured, so the run
hides a few known pixels shaped like the holes (the hole mask shifted onto known pixels), fits the
network without them, and compares both predictors there. The result in the holes blends the two
with the weight that would have been best on the hidden pixels. They are known pixels, so the
result keeps their true values anyway. Pixels missing all over the photo (restoration) are judged
by known pixels picked at random, which are as alone among known neighbours as the missing ones.

Where the holes are scattered, a part of the hidden pixels (the probe) stays hidden after the
hand-over, to the end: the error of the result there is a validation curve, which the stop suggestion
follows instead of the output variance (detectors.ValidationStopDetector). There the variance
suggested stopping 1.2 dB under the best; on inpainting masks it makes no early suggestion, and a
probe only cost the fit (docs/stopping.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from dip_gui.core.problem.tasks import to_tensor

#: At most this fraction of the known pixels is hidden: the fit loses them.
MAX_HIDDEN_FRACTION = 0.1
#: Copies of the holes hidden (each shifted elsewhere). Two judged a single blob in more places but
#: cost kate's text 0.4 dB at 3000 iterations by hiding twice as much (docs/presets.md).
COPIES = 1
#: The network's share at which the holdout hands over to it for good.
RELEASE_AT = 0.9
#: Fewer hidden pixels than this tell nothing reliable: no holdout then.
MIN_HIDDEN_PIXELS = 64
#: Holes strewn over the whole photo (missing pixels at random, restoration) leave almost no known
#: pixel ``GAP_TO_HOLES`` away from them: below this fraction of known pixels, the holdout hides
#: known pixels picked at random instead of shifted copies of the holes (30% missing: ~1.5%).
SCATTERED_BELOW = 0.1
#: Keeps the random pick apart from other draws made with the run's seed (see ``_random_pixels``).
RANDOM_PIXELS_STREAM = 0x4F1D
#: The same for the pick of the probe among the hidden shapes.
PROBE_STREAM = 0x9B0E
#: The share of the hidden pixels (whole hidden shapes, picked at random) that stays hidden after the
#: hand-over, as the stop suggestion's validation set (scattered holes only). 2% of the known pixels
#: cost restoration nothing measurable at 512 px, where hiding all 10% to the end costs ~1 dB
#: (docs/stopping.md).
PROBE_SHARE = 0.2
#: Fewer probe pixels than this make too rough a validation curve: no probe then.
MIN_PROBE_PIXELS = 32
#: Hidden pixels keep this distance (px) from the holes, so that a hidden stroke beside a hole does
#: not make one hole twice as wide for the fill it is judged by.
GAP_TO_HOLES = 2


@dataclass
class Holdout:
    """The hidden pixels of one run and what the result in the holes is made of.

    Hiding pixels costs the fit their information, most of all next to the holes. So once the
    network's average predicts them clearly better than the fill (weight ``RELEASE_AT``), the
    holdout hands over for good: the loss sees every known pixel again and the holes show the
    network alone. Where it never does (the fill stays better, e.g. large holes in busy texture),
    the mix stays judged to the end. Without hidden pixels (holes too small to copy) the holes show
    the network's average alone, which starts at the fill and forgets it at the averaging rate.
    Everything stays on the device: no host waits in the loop."""

    known: torch.Tensor  # 1x1xHxW, 1 where the pixel is known
    hidden: torch.Tensor | None  # 1x1xHxW, 1 where a known pixel is hidden from the fit
    fill: torch.Tensor  # 1xCxHxW, the classical fill of the holes (all known pixels used)
    fill_unseen: torch.Tensor  # 1xCxHxW, the same fill made without the hidden pixels (the fill if none)
    released: torch.Tensor  # 0-d bool: handed over to the network for good
    probe: torch.Tensor | None = None  # 1x1xHxW, 1 where a hidden pixel stays hidden to the end
    probe_index: torch.Tensor | None = None  # the probe's flat pixel indices (the validation reads only those)
    last_weight: torch.Tensor | float = 0.0  # the average's share of the result
    #: The average starts at ``fill_unseen`` (it must not hold the hidden pixels' values) and forgets
    #: it at the averaging rate ``ema``: this is what is left of it. The result swaps it for ``fill``,
    #: which is better (it knows every known pixel), so the first results show the full fill.
    seed_share: float = 1.0
    ema: float = 0.0

    @classmethod
    def build(cls, observed: np.ndarray, known: np.ndarray, fill: torch.Tensor,
              make_fill: Callable[[np.ndarray], np.ndarray], seed: int, ema: float = 0.0,
              iteration: int = 0) -> Holdout:
        """For an HxWxC photo, its HxW known-pixel mask (1 = known), its classical fill (1xCxHxW on
        the run's device) and the method that made it (an HxW known mask in, the HxWxC fill out);
        ``ema`` is the output averaging weight, ``iteration`` the run's (a resumed run's average has
        forgotten that much of its start)."""
        hidden = holdout_mask(known > 0.5, seed)
        device = fill.device

        def tensor(mask: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(mask.astype(np.float32))[None, None].to(device)

        unseen = fill
        probe = None
        if hidden is not None:
            seen = ((known > 0.5) & ~hidden).astype(np.float32)
            unseen = to_tensor(make_fill(seen)).to(device)
            probe = probe_mask(hidden, seed) if holes_are_scattered(known > 0.5) else None
        return cls(
            known=tensor(known > 0.5),
            hidden=None if hidden is None else tensor(hidden),
            fill=fill,
            fill_unseen=unseen,
            released=torch.tensor(hidden is None, device=device),
            probe=None if probe is None else tensor(probe),
            probe_index=None if probe is None else torch.from_numpy(np.flatnonzero(probe)).to(device),
            seed_share=ema**iteration if ema else 0.0,
            ema=ema or 0.0,
        )

    def fit_mask(self) -> torch.Tensor:
        """The pixels the loss sees: the known ones, less the hidden ones until the hand-over and the
        probe after it."""
        if self.hidden is None:
            return self.known
        if self.probe is None:
            return self.known - self.hidden * (~self.released).float()
        return self.known - torch.where(self.released, self.probe, self.hidden)

    def validation_error(self, average: torch.Tensor, observed: torch.Tensor) -> torch.Tensor | None:
        """The mean squared error of the result on the probe pixels (a 0-d tensor on the device), or
        None without a probe. The result there is made with the fill that never saw them: the full
        fill holds their true values."""
        if self.probe_index is None:
            return None
        channels = average.shape[1]
        predicted = average.reshape(channels, -1)[:, self.probe_index]
        fill = self.fill_unseen.reshape(channels, -1)[:, self.probe_index]
        truth = observed.reshape(channels, -1)[:, self.probe_index]
        return ((self._mix(predicted, fill) - truth) ** 2).mean()

    @property
    def probe_values(self) -> int:
        """How many values (pixels times channels) the validation error averages; 0 without a probe."""
        return 0 if self.probe_index is None else self.probe_index.numel() * self.fill.shape[1]

    def judge(self, average: torch.Tensor, observed: torch.Tensor) -> None:
        """Weigh the network's average against the fill on the hidden pixels; hand over once it is
        clearly better. (The average starts at the fill made without them: see Session.prepare.)"""
        self.seed_share *= self.ema
        if self.hidden is None:
            self.last_weight = 1.0
            return
        weight = blend_weight(average, self.fill_unseen, observed, self.hidden)
        self.released = self.released | (weight >= RELEASE_AT)
        self.last_weight = torch.where(self.released, torch.ones_like(weight), weight)

    def blend(self, average: torch.Tensor) -> torch.Tensor:
        """The result in the holes: the network's average and the fill mixed by the last judgement
        (what is left in the average of its start counted as the fill)."""
        if self.hidden is not None and self.seed_share > 0:
            average = average + self.seed_share * (self.fill - self.fill_unseen)
        return self._mix(average, self.fill)

    def _mix(self, average: torch.Tensor, fill: torch.Tensor) -> torch.Tensor:
        """The last judgement's mix of the network's average and a fill."""
        return self.last_weight * average + (1.0 - self.last_weight) * fill

    def release(self) -> None:
        """Hand over to the network for good (a resumed run that had)."""
        self.released = torch.ones_like(self.released)
        if self.hidden is not None:
            self.last_weight = 1.0

    def released_now(self) -> bool:
        """Whether the hand-over happened (reads the device: for saving, not for the loop)."""
        return self.hidden is not None and bool(self.released)

    @property
    def weight(self) -> float:
        """The average's share of the last result (reads the device)."""
        return float(self.last_weight)

    @property
    def network_share(self) -> float:
        """The network's share of the last result in the holes: the average's, less what is left in
        it of its start (reads the device)."""
        return self.weight * (1.0 - self.seed_share)


def holdout_mask(known: np.ndarray, seed: int = 0) -> np.ndarray | None:
    """Known pixels shaped like the holes (HxW bool), or None where no useful set fits.

    The holes, shifted by about their own size in the directions that land most of them on known
    pixels (``COPIES`` of them), keep their shapes (thin strokes stay thin strokes, a blob stays a
    blob), so the fill's and the network's errors there resemble their errors in the holes. Whole
    shifted components are dropped at random (seeded) until at most ``MAX_HIDDEN_FRACTION`` of the
    known pixels are hidden. Holes strewn over the whole photo get a random sample of known pixels
    instead (``SCATTERED_BELOW``).
    """
    known = known.astype(bool)
    holes = ~known
    if not holes.any() or not known.any():
        return None
    apart = _apart_from_holes(known)
    if _few_apart(apart, known):
        return _random_pixels(known, seed)
    shifted = _shifted_copies(holes, apart)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(shifted.astype(np.uint8), connectivity=8)
    budget = MAX_HIDDEN_FRACTION * known.sum()
    order = np.random.default_rng(seed).permutation(np.arange(1, count))
    keep, total = [], 0
    for label in order:
        area = int(stats[label, cv2.CC_STAT_AREA])
        if total + area <= budget:
            keep.append(label)
            total += area
    if total < MIN_HIDDEN_PIXELS:
        return None
    return np.isin(labels, keep)


def holes_are_scattered(known: np.ndarray) -> bool:
    """Whether the holes are strewn over the whole photo (restoration), leaving fewer than
    ``SCATTERED_BELOW`` of the known pixels ``GAP_TO_HOLES`` away from them."""
    known = known.astype(bool)
    return bool((~known).any() and _few_apart(_apart_from_holes(known), known))


def _apart_from_holes(known: np.ndarray) -> np.ndarray:
    return known & (cv2.distanceTransform(known.astype(np.uint8), cv2.DIST_L2, 3) > GAP_TO_HOLES)


def _few_apart(apart: np.ndarray, known: np.ndarray) -> bool:
    """The scattered-holes test: fewer than ``SCATTERED_BELOW`` of the known pixels are apart from holes."""
    return bool(apart.sum() < SCATTERED_BELOW * known.sum())


def probe_mask(hidden: np.ndarray, seed: int = 0) -> np.ndarray | None:
    """About ``PROBE_SHARE`` of the hidden pixels, as whole hidden shapes picked at random (HxW bool),
    or None if that leaves fewer than ``MIN_PROBE_PIXELS``. Whole shapes, because a probe pixel whose
    neighbours are all fitted again is easier to predict than a hole."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(hidden.astype(np.uint8), connectivity=8)
    budget = PROBE_SHARE * hidden.sum()
    order = np.random.default_rng((seed, PROBE_STREAM)).permutation(np.arange(1, count))
    areas = stats[order, cv2.CC_STAT_AREA]
    keep = order[np.cumsum(areas) <= budget]
    if stats[keep, cv2.CC_STAT_AREA].sum() < MIN_PROBE_PIXELS:
        return None
    return np.isin(labels, keep)


def _random_pixels(known: np.ndarray, seed: int) -> np.ndarray | None:
    """``MAX_HIDDEN_FRACTION`` of the known pixels, picked at random, or None if too few. For holes
    strewn over the whole photo (restoration), where a hidden known pixel is as alone among known
    neighbours as a missing pixel is. The draw has a stream of its own: a mask drawn with
    ``np.random.default_rng(seed)`` (degradations.random_known_mask, the same seed as the run's)
    would otherwise be hidden from exactly where it is known."""
    draw = np.random.default_rng((seed, RANDOM_PIXELS_STREAM)).random(known.shape)
    hidden = known & (draw < MAX_HIDDEN_FRACTION)
    return hidden if hidden.sum() >= MIN_HIDDEN_PIXELS else None


def _shifted_copies(holes: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """The holes moved (with wrap-around) to where each copy adds the most allowed pixels, cut to those."""
    size = _typical_hole_size(holes)
    steps = [factor * size for factor in (1, 2, 3)]
    candidates = [np.roll(holes, (dy, dx), axis=(0, 1)) & allowed
                  for step in steps for dy, dx in ((step, 0), (0, step), (step, step), (-step, step))]
    union = np.zeros_like(holes)
    for _ in range(COPIES):
        gains = [int((moved & ~union).sum()) for moved in candidates]
        best = int(np.argmax(gains))
        if gains[best] == 0:
            break
        union |= candidates.pop(best)
    return union


def _typical_hole_size(holes: np.ndarray) -> int:
    """About twice the width of the holes (pixels): the shift that clears a hole of itself."""
    distance = cv2.distanceTransform(holes.astype(np.uint8), cv2.DIST_L2, 3)
    return max(4, int(2 * np.percentile(distance[holes], 90)) + 2)


def blend_weight(average: torch.Tensor, fill: torch.Tensor, observed: torch.Tensor,
                 hidden: torch.Tensor) -> torch.Tensor:
    """The weight w in [0, 1] for which ``w * average + (1 - w) * fill`` best predicts the hidden pixels.

    Least squares over the hidden pixels: w = <y - f, a - f> / |a - f|^2, clipped; 0 (the fill) where
    the two agree there. A 0-d tensor on their device: reading it would wait for the device, which
    the loop does only at preview time."""
    difference = (average - fill) * hidden
    denominator = (difference * difference).sum()
    numerator = ((observed - fill) * difference).sum()
    weight = numerator / denominator.clamp_min(torch.finfo(denominator.dtype).tiny)
    return torch.where(denominator > 0, weight.clamp(0.0, 1.0), torch.zeros_like(weight))


__all__ = ["COPIES", "MAX_HIDDEN_FRACTION", "PROBE_SHARE", "RELEASE_AT", "Holdout", "blend_weight", "holdout_mask",
           "probe_mask"]
