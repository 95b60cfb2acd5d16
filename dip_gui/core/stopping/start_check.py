"""A run's last judgement: is the network's result better than the classical start it refined?

The fast denoiser's network refines a non-local-means-and-Wiener start, and on some photos it only
makes that start worse (a smooth fundus photo, ``retina``: 0.26 dB under its start at sigma
50 after 20 iterations; docs/stopping.md). Fast super-resolution's network draws detail over a
blurred upscale back-projected onto the photo, and at x2 on a small photo it draws past its best and
ends under that start (``vase``, 64 px input: 26.01 dB at 1500 iterations, 26.39 at the first
preview). Nothing in the run itself can tell: the clean photo is unknown, and the fit's error
against the observed photo falls either way.

A copy of the photo with a known answer can tell. The same restorer (same preset, same seed, same
number of iterations) runs on the copy, and its result is judged against the copy's answer. The
network's share in the result handed back is the weight of its change over the start that fits that
answer best, in [0, 1], found on the copy and applied to the photo:

    result = start + share * (network - start)

* Denoising: a **recorrupted copy** (Pang, Zheng, Quan, Ji, "Recorrupted-to-Recorrupted", CVPR 2021).
  With Gaussian noise of level sigma in the photo y and a fresh draw z of the same level, the copy
  y + a z and the target y - z / a carry noises that are uncorrelated, so independent (both are
  Gaussian): the judgement is unbiased without the clean photo, the target's own noise adding the
  same constant to every candidate's squared error. Measured on held-out photos at 256 px
  (docs/stopping.md, "Denoising: the network against its start"): the start comes back wherever
  the network ends clearly under it (retina at every noise level from 15 to 50, hubble_deep_field
  and camera at 50: 0.25-0.38 dB regained); the photos the network improves clearly keep all of the
  gain, and no saved result is more than 0.07 dB under the best the run passed through. The noise
  level for the copy is read from the spectrum of the photo's patches
  (``photo_traits.estimate_noise_sigma_pca``): a level read too high (fine texture taken for noise)
  leans the judgement to the start. Noise clipped at black and white reads low and lifts the
  shadows' mean: the copy's noise is drawn at the level under the clip and the target is moved back
  by the lift (``clipped_noise.py``), both read off the run's classical start. Judged against its
  lifted self, a dark photo at sigma 50 (``hubble_deep_field``, ``camera``) keeps a network result
  0.28-0.38 dB under its start; read for the clip, it gets the start back (docs/stopping.md, "Noise
  clipped at black and white"). It costs a second run of the same length on the copy.
* Super-resolution: the photo's own **downscaled copy** (the photo brought down by the run's own
  downsampler, as in zero-shot super-resolution), restored back to the photo's size, is judged
  against the photo itself. The copy has a quarter of the pixels at x2, so the check costs a run of
  the same length on a quarter of the size (docs/stopping.md, "Super-resolution x2: the network
  against its start").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from dip_gui.core.problem.clipped_noise import clipping_lift, underlying_sigma
from dip_gui.core.problem.degradations import downscale

#: The copy's extra noise relative to the photo's (a): the copy is sqrt(1 + a^2) = 1.12x as noisy, the
#: target 1 / a = 2x. A smaller a keeps the copy closer to the photo but the target noisier.
RECORRUPTION = 0.5
#: Seeds the draw of the copy's noise (offset from the run's seed, so every run draws its own).
NOISE_STREAM = 0x5EC0
#: What the metrics call each judgement: denoising's and super-resolution's copy.
RECORRUPTED = "recorrupted copy"
DOWNSCALED = "downscaled copy"
#: How the sentences for the user name each copy.
_COPY_NAMES = {RECORRUPTED: "a recorrupted copy of the photo", DOWNSCALED: "the photo's own downscaled copy"}


@dataclass(frozen=True)
class StartCheck:
    """The judgement of one result: the iteration judged and the network's share in what is handed
    back (1: the network's result as it is; 0: the classical start)."""

    iteration: int
    network_share: float
    #: The copy that judged it: ``RECORRUPTED`` or ``DOWNSCALED``.
    measure: str = RECORRUPTED

    def to_dict(self) -> dict[str, Any]:
        # the share unrounded: a resumed session hands back the very result the first one did
        return {"iteration": self.iteration, "network_share": self.network_share, "measure": self.measure}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> StartCheck | None:
        if not data:
            return None
        measure = data.get("measure", RECORRUPTED)
        return cls(int(data["iteration"]), float(data["network_share"]), measure if measure in _COPY_NAMES else RECORRUPTED)

    def describe(self) -> str:
        """What the judgement decided, in a sentence for the user."""
        copy = _COPY_NAMES[self.measure]
        if self.network_share >= 1.0:
            return f"The network's result beats its classical start on {copy}: it is kept as it is."
        if self.network_share <= 0.0:
            return f"The network's result is no better than its classical start on {copy}: the start is handed back."
        return (f"The result is {self.network_share:.0%} the network's and {1 - self.network_share:.0%} its classical "
                f"start: the mix that fits {copy} best.")

    def apply(self, start: np.ndarray, result: np.ndarray) -> np.ndarray:
        """The handed-back result: ``start`` + share x (``result`` - ``start``)."""
        if self.network_share >= 1.0:
            return result
        mixed = start + np.float32(self.network_share) * (result - start)
        return np.clip(mixed, 0.0, 1.0).astype(np.float32)


def recorrupted_pair(observed: np.ndarray, sigma: float, seed: int,
                     estimate: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The copy to denoise (``observed`` + a z) and the target to judge it by (``observed`` - z / a),
    for noise of level ``sigma`` (0-1 scale, as read) in ``observed``; z is drawn with the same level.

    With ``estimate`` (an estimate of the clean photo: the run's classical start), the noise is taken
    as clipped at black and white: z is drawn at the level under the clip
    (``clipped_noise.underlying_sigma``), and the target is moved by the clip's lift of each pixel's
    mean, so that it is the clean photo plus noise rather than the lifted photo plus noise."""
    level = sigma if estimate is None else underlying_sigma(estimate, sigma)
    draw = np.random.default_rng(seed + NOISE_STREAM).standard_normal(observed.shape).astype(np.float32)
    extra = draw * np.float32(level)
    copy = observed.astype(np.float32) + np.float32(RECORRUPTION) * extra
    target = observed.astype(np.float32) - extra / np.float32(RECORRUPTION)
    if estimate is not None:
        target -= clipping_lift(estimate, level)
    return copy, target


def downscaled_pair(observed: np.ndarray, scale: int, blur: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The copy to restore (``observed`` brought down ``scale`` x by the super-resolution's own
    downsampler, with the run's camera ``blur``) and the target to judge it by (``observed``, its
    sides cut to multiples of ``scale`` as the copy's restoration comes out)."""
    copy = downscale(observed, scale, blur)
    height, width = copy.shape[0] * scale, copy.shape[1] * scale
    return copy, np.ascontiguousarray(observed[:height, :width]).astype(np.float32)


def network_share(start: np.ndarray, result: np.ndarray, target: np.ndarray) -> float:
    """The share s in [0, 1] of ``result``'s change over ``start`` that brings ``start`` + s x change
    closest to ``target`` (least squares). 1 where the result does not differ from the start."""
    change = (result - start).astype(np.float64)
    energy = float(np.sum(change * change))
    if energy <= 1e-12:
        return 1.0
    share = float(np.sum(change * (target.astype(np.float64) - start))) / energy
    return float(np.clip(share, 0.0, 1.0))


__all__ = ["DOWNSCALED", "RECORRUPTED", "RECORRUPTION", "StartCheck", "downscaled_pair", "network_share", "recorrupted_pair"]
