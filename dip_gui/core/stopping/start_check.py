"""Denoising's last judgement: is the network's result better than the classical start it refined?

The fast denoiser's network refines a non-local-means-and-Wiener start, and on some photos it only
makes that start worse (a smooth fundus photo, ``retina``: 0.32 dB under its start at sigma
50 after 20 iterations; docs/stopping.md). Nothing in the run itself can tell: the clean photo is
unknown, and the fit's error against the noisy photo falls either way.

A recorrupted copy can tell (Pang, Zheng, Quan, Ji, "Recorrupted-to-Recorrupted", CVPR 2021). With
Gaussian noise of level sigma in the photo y and a fresh draw z of the same level, the copy
y + a z and the target y - z / a carry noises that are uncorrelated, so independent (both are
Gaussian). The whole denoiser (start and network, same settings, same iterations) run on the copy is
then judged against the target without bias: the target's own noise adds the same constant to
every candidate's squared error. The network's share in the result handed back is the weight of
its change over the start that fits the target best, in [0, 1]:

    result = start + share * (network - start)

Measured on held-out photos at 256 px (docs/stopping.md, "Denoising: the network against its
start"): retina gets its start back at every noise level from 15 to 50, where the network lost
0.06-0.32 dB; the photos the network improves clearly keep all of the gain, and no saved result is
more than 0.08 dB under the best the run passed through. The noise level for the copy is read from
the spectrum of the photo's patches (``photo_traits.estimate_noise_sigma_pca``): a level read too
high (fine texture taken for noise) leans the judgement to the start. It costs a second run of the
same length on the copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

#: The copy's extra noise relative to the photo's (a): the copy is sqrt(1 + a^2) = 1.12x as noisy, the
#: target 1 / a = 2x. A smaller a keeps the copy closer to the photo but the target noisier.
RECORRUPTION = 0.5
#: Seeds the draw of the copy's noise (offset from the run's seed, so every run draws its own).
NOISE_STREAM = 0x5EC0
#: What the metrics and the window call the judgement.
MEASURE = "recorrupted copy"


@dataclass(frozen=True)
class StartCheck:
    """The judgement of one result: the iteration judged and the network's share in what is handed
    back (1: the network's result as it is; 0: the classical start)."""

    iteration: int
    network_share: float

    def to_dict(self) -> dict[str, Any]:
        return {"iteration": self.iteration, "network_share": round(self.network_share, 4), "measure": MEASURE}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> StartCheck | None:
        if not data:
            return None
        return cls(int(data["iteration"]), float(data["network_share"]))

    def describe(self) -> str:
        """What the judgement decided, in a sentence for the user."""
        if self.network_share >= 1.0:
            return "The network's result beats its classical start on a recorrupted copy of the photo: it is kept as it is."
        if self.network_share <= 0.0:
            return ("The network's result is no better than its classical start on a recorrupted copy of the photo: "
                    "the start is handed back.")
        return (f"The result is {self.network_share:.0%} the network's and {1 - self.network_share:.0%} its classical "
                "start: the mix that fits a recorrupted copy of the photo best.")

    def apply(self, start: np.ndarray, result: np.ndarray) -> np.ndarray:
        """The handed-back result: ``start`` + share x (``result`` - ``start``)."""
        if self.network_share >= 1.0:
            return result
        mixed = start + np.float32(self.network_share) * (result - start)
        return np.clip(mixed, 0.0, 1.0).astype(np.float32)


def recorrupted_pair(observed: np.ndarray, sigma: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The copy to denoise (``observed`` + a z) and the target to judge it by (``observed`` - z / a),
    for noise of level ``sigma`` (0-1 scale) in ``observed``; z is drawn with the same level."""
    draw = np.random.default_rng(seed + NOISE_STREAM).standard_normal(observed.shape).astype(np.float32)
    extra = draw * np.float32(sigma)
    copy = observed.astype(np.float32) + np.float32(RECORRUPTION) * extra
    target = observed.astype(np.float32) - extra / np.float32(RECORRUPTION)
    return copy, target


def network_share(start: np.ndarray, result: np.ndarray, target: np.ndarray) -> float:
    """The share s in [0, 1] of ``result``'s change over ``start`` that brings ``start`` + s x change
    closest to ``target`` (least squares). 1 where the result does not differ from the start."""
    change = (result - start).astype(np.float64)
    energy = float(np.sum(change * change))
    if energy <= 1e-12:
        return 1.0
    share = float(np.sum(change * (target.astype(np.float64) - start))) / energy
    return float(np.clip(share, 0.0, 1.0))


__all__ = ["MEASURE", "RECORRUPTION", "StartCheck", "network_share", "recorrupted_pair"]
