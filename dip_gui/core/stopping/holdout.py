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

from dip_gui.core.classical.hole_shapes import holdout_mask, holes_are_scattered
from dip_gui.core.problem.tasks import to_tensor

#: The network's share at which the holdout hands over to it for good.
RELEASE_AT = 0.9
#: The same for the pick of the probe among the hidden shapes.
PROBE_STREAM = 0x9B0E
#: The share of the hidden pixels (whole hidden shapes, picked at random) that stays hidden after the
#: hand-over, as the stop suggestion's validation set (scattered holes only). 2% of the known pixels
#: cost restoration nothing measurable at 512 px, where hiding all 10% to the end costs ~1 dB
#: (docs/stopping.md).
PROBE_SHARE = 0.2
#: Fewer probe pixels than this make too rough a validation curve: no probe then.
MIN_PROBE_PIXELS = 32


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


__all__ = ["PROBE_SHARE", "RELEASE_AT", "Holdout", "blend_weight", "probe_mask"]
