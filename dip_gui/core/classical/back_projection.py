"""Super-resolution's result kept consistent with the small photo by back-projection.

``fast`` SR's network draws the detail over a heavily blurred classical upscale, so its own output
starts far under that upscale and passes it only after a few hundred iterations (zebra, 256 px
crop, x4, a 2 px blur: 19.5 against 22.4 dB at the start, passing it near iteration 400).
Back-projecting it (x += up(y - A x), A the downsampler, up bicubic) puts back what the small photo
says about the picture and keeps what it cannot say, the network's detail above its Nyquist
frequency: the result is level with the classical upscale from the first iteration and takes the
network's detail as it comes (same settings: 22.74 dB at iteration 200, where the output itself is at
21.44; docs/presets.md, "Super-resolution").

The correction is kept from one iteration to the next and refined by one round per iteration: the
output average moves little per iteration, so one round keeps up, at the cost of one downsampling
and one upscale of the photo (a few per cent of an iteration of the small network).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

#: Rounds when the correction starts from nothing (the first iteration, a result asked for before
#: it), as many as the classical upscale's own back-projection (warm_start.back_projected_upscale).
START_ROUNDS = 12
#: The share of its correction a run's back-projection forgets per iteration where the operator has a
#: camera blur (``LanczosDownsample.blur``). Undoing a blur is ill-posed: a round per iteration for
#: hundreds of iterations sharpens past the photo wherever the blur is set wider than the camera's.
#: Forgetting a share each time holds the correction to what the last ~20 rounds say (its fixed point
#: is a Tikhonov-regularised one). 256 px crops blurred by a 2.5 px Gaussian before their x4 sampling,
#: 40 s (``python benchmarks/sr_blur_leak.py PHOTO --kernel gauss2.5 --blur B [--leak 0]``, 2-core CPU,
#: 2026-12-08), luma PSNR forgetting 5% / nothing: coffee told 2.5 px 26.70 / 25.64 dB, astronaut
#: told 3 px 23.46 / 18.59; told 2 px, the best of the three tried, 0.05-0.11 dB under (coffee 26.80 / 26.85,
#: astronaut 24.93 / 25.04). Without a blur the downsampler is well-posed and nothing is forgotten.
BLURRED_LEAK = 0.05


class BackProjection:
    """The correction that makes an output explain the observed small photo ``observed`` under
    ``operator`` (the session's downsampler), refined one round per ``update``."""

    def __init__(self, operator: torch.nn.Module, observed: torch.Tensor) -> None:
        self.operator, self.observed = operator, observed
        self.correction: torch.Tensor | None = None
        self.leak = BLURRED_LEAK if getattr(operator, "blur", 0.0) > 0 else 0.0

    def update(self, output: torch.Tensor) -> None:
        """One more round for ``output`` (the run's new average); the first call runs ``START_ROUNDS``.
        Under a camera blur the correction first forgets ``BLURRED_LEAK`` of itself."""
        if self.correction is None:
            self.correction = torch.zeros_like(output)
            rounds = START_ROUNDS
        else:
            rounds = 1
            if self.leak:
                self.correction.mul_(1.0 - self.leak)
        refine(self.correction, self.operator, self.observed, output, rounds)

    def apply(self, output: torch.Tensor) -> torch.Tensor:
        """``output`` with the correction (a full one made for it, not kept, before the first update)."""
        return self.fresh(output) if self.correction is None else output + self.correction

    def fresh(self, output: torch.Tensor) -> torch.Tensor:
        """``output`` with a full correction of its own, leaving the run's untouched (the classical
        start as a result, which the run's correction, made for the network's output, does not fit)."""
        return output + refine(torch.zeros_like(output), self.operator, self.observed, output, START_ROUNDS)


def refine(correction: torch.Tensor, operator: torch.nn.Module, observed: torch.Tensor, output: torch.Tensor,
            rounds: int) -> torch.Tensor:
    """Up to ``rounds`` of x += up(y - A x) for x = output + correction, added to ``correction`` in
    place (``observed`` y: 1xCxhxw; A: ``operator``; up: bicubic to ``output``'s size; x clamped to
    [0, 1] before A). The classical upscale's own back-projection is this too (classical/warm_start.py).

    A round that leaves x explaining y worse is not taken: where A blurs more than the camera did (a
    camera blur set too wide), no x explains the photo's sharpness, and each round would add the same
    unexplained detail again, once per iteration of a run (a striped photo blurred 1.5 px, told 3 px,
    x2: 2.8 dB after 12 rounds, 13.7 with the rounds that do not help left out, 22.7 told 1.5 px). The
    choice is made on the device (``torch.where``), so a GPU run waits for no read-back."""
    size = output.shape[-2:]
    with torch.no_grad():
        residual = observed - operator((output + correction).clamp(0.0, 1.0))
        for _ in range(rounds):
            corrected = correction + F.interpolate(residual, size=size, mode="bicubic", align_corners=False)
            after = observed - operator((output + corrected).clamp(0.0, 1.0))
            better = after.square().sum() <= residual.square().sum()
            correction.copy_(torch.where(better, corrected, correction))
            residual = torch.where(better, after, residual)
    return correction


__all__ = ["START_ROUNDS", "BackProjection", "refine"]
