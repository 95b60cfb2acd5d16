"""The cost estimate off the GUI thread.

An estimate times real forward and backward passes on small canvases: 0.3-1.1 s on a 2-core CPU,
which froze the window after every change of task, preset or photo. It now runs in one pool thread;
the newest request wins (an older one still queued is skipped, an older result is dropped), and
the last result is kept so that Start asks for nothing twice.
"""

from __future__ import annotations

from typing import NamedTuple

from PySide6.QtCore import QObject, QThreadPool, Signal

from dip_gui.core.errors import DipError
from dip_gui.core.estimate import CostEstimate, estimate_cost
from dip_gui.core.presets import Preset


class EstimateRequest(NamedTuple):
    preset: Preset
    size: tuple[int, int]
    channels: int
    device: str


class BackgroundEstimator(QObject):
    """``request`` returns at once; ``ready(request, CostEstimate | DipError | RuntimeError)`` follows
    in the GUI thread for the newest request only."""

    ready = Signal(object, object)
    _finished = Signal(object, object)  # emitted in the pool thread, delivered in the GUI thread

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # estimates compete for the same cores: one at a time
        self._newest: EstimateRequest | None = None
        self._last: tuple[EstimateRequest, CostEstimate] | None = None
        self._finished.connect(self._deliver)

    def request(self, request: EstimateRequest) -> None:
        self._newest = request
        if self._last is not None and self._last[0] == request:
            self.ready.emit(request, self._last[1])
            return
        self._pool.start(lambda: self._compute(request))

    def result_for(self, request: EstimateRequest) -> CostEstimate:
        """The estimate for ``request``: the kept one, after any estimate in flight, or computed now."""
        self.wait()
        if self._last is not None and self._last[0] == request:
            return self._last[1]
        cost = _estimate(request)
        self._last = (request, cost)
        return cost

    def wait(self) -> None:
        self._pool.waitForDone()

    def _compute(self, request: EstimateRequest) -> None:
        if request != self._newest:
            return  # superseded while queued
        try:
            result: object = _estimate(request)
            self._last = (request, result)  # set here, not on delivery: result_for may be waiting for it
        except (DipError, RuntimeError) as exc:
            result = exc
        self._finished.emit(request, result)

    def _deliver(self, request: EstimateRequest, result: object) -> None:
        if request == self._newest:
            self.ready.emit(request, result)


def _estimate(request: EstimateRequest) -> CostEstimate:
    return estimate_cost(request.preset, request.size, request.channels, request.device)
