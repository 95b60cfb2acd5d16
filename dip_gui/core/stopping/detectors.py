"""When to stop, found without the clean image: two detectors behind one interface.

* ``VarianceStopDetector`` (ES-WMV: Wang, Li, Zhuang, Chen, Liang, Sun, "Early Stopping for Deep
  Image Prior", TMLR 2023): the variance of the last W raw outputs falls while the network fits the
  image and rises once it starts fitting noise; the suggested stop is where that variance reached
  its minimum, declared once no new minimum came for ``patience`` iterations. Outputs are compared
  on a small copy (at most ``DETECTOR_SIDE`` pixels a side), so it costs little time and memory.
* ``ValidationStopDetector``: where the run hides known pixels from the whole fit (the holdout's
  probe, inpainting and restoration), the result's error there is a validation curve, and the stop
  goes to its minimum. A warm-started run moves little at first, so the output variance is lowest
  at the very start although the result keeps improving for hundreds of iterations: the variance
  suggested iteration 40 on a restoration whose best came at 382 (docs/stopping.md).

Both take one small CPU tensor per iteration through ``update_small`` (the run monitor batches the
read-back on a GPU) and make one ``StopSuggestion``.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F

from dip_gui.core.networks import InputKind
from dip_gui.core.problem.choices import Start
from dip_gui.core.problem.presets import Preset

DETECTOR_SIDE = 96
#: A validation error must rise this many standard errors above its minimum to count as a rise: a
#: few hundred probe pixels wander by several percent without any overfitting (docs/stopping.md).
SIGNIFICANT_RISE = 2.0
#: ... and by more than this mean squared error (a tenth of a grey level of 255): on a photo the run
#: predicts exactly (an error of 1e-14) any wiggle is a relative rise, and none is worth a stop.
INVISIBLE_RISE = (0.1 / 255) ** 2

VARIANCE = "output variance"
VALIDATION = "held-out pixels"


@dataclass
class StopSuggestion:
    iteration: int
    score: float  # the detector's measure at that iteration (lower is better)
    window: int
    patience: int
    measure: str = VARIANCE  # what the score is: VARIANCE or VALIDATION

    def to_dict(self) -> dict[str, Any]:
        return {"iteration": self.iteration, "measure": self.measure, "score": self.score, "window": self.window,
                "patience": self.patience}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> StopSuggestion:
        """Also reads suggestions saved before there were two measures (``variance`` only)."""
        score = state["score"] if "score" in state else state["variance"]
        return cls(state["iteration"], score, state["window"], state["patience"], state.get("measure", VARIANCE))

    @property
    def reason(self) -> str:
        """Why this iteration, in words for the user."""
        if self.measure == VALIDATION:
            return "the pixels held back to check the result were predicted best there"
        return "the output stopped settling there"


def _suggestion_state(suggestion: StopSuggestion | None) -> dict[str, Any] | None:
    return None if suggestion is None else suggestion.to_dict()


def _suggestion_from(state: dict[str, Any] | None) -> StopSuggestion | None:
    return None if state is None else StopSuggestion.from_dict(state)


class WatchedRun(Protocol):
    """What a stop detector reads of a run (a ``Session``; the stopping layer sits below it)."""

    last_output: torch.Tensor | None
    preset: Preset

    def validation_error(self) -> torch.Tensor | None: ...

    def validation_values(self) -> int: ...


class StopDetector(Protocol):
    """A rule that finds, without the clean photo, the iteration a run should have stopped at.

    Each iteration the run monitor takes the detector's ``signal`` from the run (a small device
    tensor, read back in batches on a GPU) and feeds it to ``update_small``, which returns the
    suggestion once, when it is made."""

    kind: str  # the measure it follows, in words: VARIANCE or VALIDATION
    window: int
    patience: int
    best_iteration: int
    suggestion: StopSuggestion | None

    def signal(self, run: WatchedRun) -> torch.Tensor: ...

    def update_small(self, iteration: int, small: torch.Tensor) -> StopSuggestion | None: ...

    @property
    def history(self) -> list[tuple[int, float]]: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


def patience_for(iterations: int) -> int:
    """Iterations without a new best before the suggestion is made (the paper's 1000 at 3000-10000)."""
    return int(np.clip(iterations // 6, 100, 1000))


class VarianceStopDetector:
    """Windowed moving variance of the network output; ``update`` once per iteration."""

    kind = VARIANCE

    def __init__(self, window: int = 50, patience: int = 200, start: int = 0, suggests: bool = True) -> None:
        self.window, self.patience = window, patience
        #: False: the variance is drawn for the user but never suggests a stop (``Preset.variance_stop``).
        self.suggests = suggests
        #: Iterations up to this one are not watched: the learning-rate warm-up of a warm-started
        #: preset keeps the output still on purpose, which says nothing about the fit. Watched, its
        #: stillness was the lowest variance of a whole SR run (F16 at 512 px: the stop suggested at
        #: iteration 50, 0.3 dB under the run's best at 635, where the variance fell below it again).
        self.start = start
        self._recent: deque[torch.Tensor] = deque(maxlen=window)
        self._sum: torch.Tensor | None = None
        self._sum_sq: torch.Tensor | None = None
        self.best_variance = float("inf")
        self.best_iteration = 0
        self.variances: list[tuple[int, float]] = []
        self.suggestion: StopSuggestion | None = None

    @classmethod
    def for_run(cls, iterations: int, start: int = 0, suggests: bool = True) -> VarianceStopDetector:
        """Window and patience scaled to the run length (the paper's 100 / 1000 at 3000-10000); the
        iterations up to ``start`` (the preset's learning-rate warm-up) are not watched."""
        return cls(window=int(np.clip(iterations // 30, 20, 100)), patience=patience_for(iterations), start=start,
                   suggests=suggests)

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to carry on after a resume (tensors and plain values only)."""
        return {"kind": self.kind, "window": self.window, "patience": self.patience, "start": self.start,
                "suggests": self.suggests,
                "recent": list(self._recent),
                "sum": self._sum, "sum_sq": self._sum_sq, "best_variance": self.best_variance,
                "best_iteration": self.best_iteration, "variances": self.variances,
                "suggestion": _suggestion_state(self.suggestion)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.window, self.patience = state["window"], state["patience"]
        self.start = state.get("start", 0)  # absent from older files, which watched from the first iteration
        self.suggests = state.get("suggests", True)
        self._recent = deque(state["recent"], maxlen=self.window)
        self._sum, self._sum_sq = state["sum"], state["sum_sq"]
        self.best_variance, self.best_iteration = state["best_variance"], state["best_iteration"]
        self.variances = [tuple(v) for v in state["variances"]]
        self.suggestion = _suggestion_from(state["suggestion"])

    @property
    def history(self) -> list[tuple[int, float]]:
        """(iteration, variance) for every iteration with a full window."""
        return self.variances

    def signal(self, session: WatchedRun) -> torch.Tensor:
        """What ``update_small`` takes, still on the session's device: the shrunk raw output (asked for
        after a good step, so there is one)."""
        assert session.last_output is not None
        return shrink_for_detector(session.last_output)

    def update(self, iteration: int, output: torch.Tensor) -> StopSuggestion | None:
        """Feed the raw output (1 x C x H x W); returns the suggestion the first time it is made."""
        return self.update_small(iteration, shrink_for_detector(output).cpu())

    def update_small(self, iteration: int, small: torch.Tensor) -> StopSuggestion | None:
        """``update`` with the output already shrunk (``shrink_for_detector``) and on the CPU."""
        if self.start and iteration <= self.start:
            return None
        small = small.double()
        if len(self._recent) == self.window and self._sum is not None and self._sum_sq is not None:  # a full window
            old = self._recent[0]
            self._sum -= old
            self._sum_sq -= old * old
        self._recent.append(small)
        self._sum = small.clone() if self._sum is None else self._sum + small
        self._sum_sq = small * small if self._sum_sq is None else self._sum_sq + small * small
        if len(self._recent) < self.window:
            return None
        mean = self._sum / self.window
        variance = float((self._sum_sq / self.window - mean * mean).clamp_min(0).mean())
        self.variances.append((iteration, variance))
        if variance < self.best_variance:
            self.best_variance, self.best_iteration = variance, iteration
        elif self.suggests and self.suggestion is None and iteration - self.best_iteration >= self.patience:
            self.suggestion = StopSuggestion(self.best_iteration, self.best_variance, self.window, self.patience)
            return self.suggestion
        return None


class ValidationStopDetector:
    """The result's error on pixels hidden from the fit; ``update_small`` once per iteration.

    The suggestion goes to the iteration of the lowest error once no lower one came for ``patience``
    iterations *and* the error has risen clearly above it: ``SIGNIFICANT_RISE`` standard errors of a
    mean of ``values`` squared errors (sqrt(2 / values) relative, for Gaussian errors). A flat curve
    that only wanders makes no suggestion: the run's end is then as good, and stopping early on a
    wander cost up to 2.6 dB in the measurements."""

    kind = VALIDATION
    window = 1

    def __init__(self, patience: int, values: int) -> None:
        self.patience, self.values = patience, max(int(values), 1)
        self.best_error = float("inf")
        self.best_iteration = 0
        self.errors: list[tuple[int, float]] = []
        self.suggestion: StopSuggestion | None = None

    @classmethod
    def for_run(cls, iterations: int, values: int) -> ValidationStopDetector:
        return cls(patience_for(iterations), values)

    @property
    def rise(self) -> float:
        """The relative rise above the lowest error that counts (``SIGNIFICANT_RISE`` standard errors)."""
        return SIGNIFICANT_RISE * math.sqrt(2.0 / self.values)

    def state_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "patience": self.patience, "values": self.values, "best_error": self.best_error,
                "best_iteration": self.best_iteration, "errors": self.errors,
                "suggestion": _suggestion_state(self.suggestion)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.patience, self.values = state["patience"], state["values"]
        self.best_error, self.best_iteration = state["best_error"], state["best_iteration"]
        self.errors = [tuple(e) for e in state["errors"]]
        self.suggestion = _suggestion_from(state["suggestion"])

    @property
    def history(self) -> list[tuple[int, float]]:
        """(iteration, validation error) for every iteration."""
        return self.errors

    def signal(self, session: WatchedRun) -> torch.Tensor:
        """What ``update_small`` takes, still on the session's device: the validation error (this
        detector is made only for runs that hold pixels back, after a step)."""
        error = session.validation_error()
        assert error is not None
        return error.detach().reshape(())

    def update_small(self, iteration: int, error: torch.Tensor) -> StopSuggestion | None:
        value = float(error)
        self.errors.append((iteration, value))
        if value < self.best_error:
            self.best_error, self.best_iteration = value, iteration
        elif (self.suggestion is None and iteration - self.best_iteration >= self.patience
              and value > self.best_error * (1.0 + self.rise) + INVISIBLE_RISE):
            self.suggestion = StopSuggestion(self.best_iteration, self.best_error, self.window, self.patience,
                                             VALIDATION)
            return self.suggestion
        return None


def detector_for(session: WatchedRun, iterations: int) -> StopDetector:
    """The validation detector where the (prepared) session hides pixels from the whole fit, else ES-WMV."""
    values = session.validation_values()
    if values:
        return ValidationStopDetector.for_run(iterations, values)
    preset = session.preset
    return VarianceStopDetector.for_run(iterations, start=unwatched_warm_up(preset), suggests=preset.variance_stop)


def unwatched_warm_up(preset: Preset) -> int:
    """The iterations the variance detector leaves alone: the learning-rate warm-up of a preset whose
    start is not yet a result, one that draws from noise over a blurred start (SR ``fast``;
    restoration ``fast`` where it holds no probe for the validation detector) or refines a light blur
    (JPEG ``fast``). There the still output of the warm-up has the lowest variance of the run: JPEG
    q10 at 96 px stopped at iteration 20 for 23.20 dB where the run passed 23.62 at 120
    (docs/stopping.md). A preset whose input is its classical estimate may be best before it moves
    (denoising at sigma 50 peaks at iteration 15; watching from iteration 31 moved its suggestion
    from 40 to 71 and the gap from 0.04 to 0.15 dB), so it is watched from the start."""
    draws_or_smooths = preset.input_kind is InputKind.NOISE or preset.base is Start.BLUR
    return preset.warmup if draws_or_smooths else 0


def detector_from_state(state: dict[str, Any]) -> StopDetector:
    """A detector as saved (files from before the validation detector hold a variance one)."""
    detector: StopDetector
    if state.get("kind") == VALIDATION:
        detector = ValidationStopDetector(state["patience"], state["values"])
    else:
        detector = VarianceStopDetector(state["window"], state["patience"])
    detector.load_state_dict(state)
    return detector


def shrink_for_detector(output: torch.Tensor) -> torch.Tensor:
    """The detector's small float32 copy of an output, on the output's device (no host copy)."""
    output = output.detach()
    height, width = output.shape[-2:]
    factor = max(1, int(np.ceil(max(height, width) / DETECTOR_SIDE)))
    small = F.avg_pool2d(output, factor, ceil_mode=True) if factor > 1 else output
    return small.float()
