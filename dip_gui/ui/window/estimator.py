"""The cost estimate off the GUI thread.

An estimate times real forward and backward passes on small canvases: 0.3-1.1 s on a 2-core CPU,
which froze the window after every change of task, preset or photo. It now runs in one pool thread;
the newest request wins (an older one still queued is skipped, an older result is dropped), and
results are kept by what they depend on, so that Start and the long-run question's offers ask for
nothing twice.
"""

from __future__ import annotations

from typing import NamedTuple

from PySide6.QtCore import QObject, QThreadPool, Signal

from dip_gui.core.estimate.cost import CostEstimate, cost_key, with_check
from dip_gui.core.problem.presets import Preset
from dip_gui.core.session.cost_probe import estimate_run_cost


class EstimateRequest(NamedTuple):
    preset: Preset
    size: tuple[int, int]
    channels: int
    device: str
    host_memory: str = "auto"
    #: The result size of the run's check against its start (``run_loop.check_size``), None without one.
    check_size: tuple[int, int] | None = None

    def cost_key(self) -> tuple:
        """``core.estimate.cost_key``: editing the schedule (iterations, lr, ...) costs no new estimate."""
        return (*cost_key(self.preset, self.size, self.channels, self.device, self.host_memory), self.check_size)


class _Relay(QObject):
    """Carries a result from the pool thread to the GUI thread. It has no parent: the pool thread
    holds it, so it outlives an estimator deleted with its window while an estimate runs (the
    estimator's own signal was deleted under the pool thread, which the pool's deletion waits for)."""

    finished = Signal(object, object)


class BackgroundEstimator(QObject):
    """``request`` returns at once; ``ready(request, CostEstimate | Exception)`` follows in the GUI
    thread for the newest request only."""

    ready = Signal(object, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # estimates compete for the same cores: one at a time
        self._newest: EstimateRequest | None = None
        #: Estimates by ``cost_key``: a few per photo (each preset and device tried); written in the pool thread.
        #: Finished estimates by cost_key: a CostEstimate, or the exception that stopped one.
        self._kept: dict[tuple, object] = {}
        self._relay = _Relay()
        self._relay.finished.connect(self._deliver)  # queued: emitted in the pool thread

    def request(self, request: EstimateRequest) -> None:
        self._newest = request
        kept = self._kept.get(request.cost_key())
        if kept is not None:
            self.ready.emit(request, kept)
            return
        relay = self._relay
        self._pool.start(lambda: self._compute(request, relay))

    def result_for(self, request: EstimateRequest) -> CostEstimate:
        """The estimate for ``request``: the kept one, after any estimate in flight, or computed now."""
        self.wait()
        key = request.cost_key()
        if key not in self._kept:
            self._kept[key] = _estimate(request)
        kept = self._kept[key]
        if isinstance(kept, Exception):  # an estimate in flight failed: the caller hears why
            raise kept
        assert isinstance(kept, CostEstimate)
        return kept

    def wait(self) -> None:
        self._pool.waitForDone()

    def _compute(self, request: EstimateRequest, relay: _Relay) -> None:
        if request != self._newest:
            return  # superseded while queued
        key = request.cost_key()
        if key in self._kept:
            relay.finished.emit(request, self._kept[key])  # an estimate finished meanwhile serves this one too
            return
        try:
            result: object = _estimate(request)
            self._kept[key] = result  # set here, not on delivery: result_for may be waiting for it
        except Exception as exc:  # any error, a bug too: shown as "Estimate unavailable", not lost in the pool thread
            result = exc
        relay.finished.emit(request, result)

    def _deliver(self, request: EstimateRequest, result: object) -> None:
        newest = self._newest
        if newest is None:
            return
        if request == newest or (isinstance(result, CostEstimate) and request.cost_key() == newest.cost_key()):
            self.ready.emit(newest, result)  # the newest request's schedule (iterations) for the text


def _estimate(request: EstimateRequest) -> CostEstimate:
    def at(size: tuple[int, int]) -> CostEstimate:
        return estimate_run_cost(request.preset, size, request.channels, request.device, request.host_memory)

    return with_check(at(request.size), request.size, request.check_size, at)
