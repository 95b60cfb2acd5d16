"""Python's cycle collector runs on the GUI thread only, while a window is open.

Left automatic, the collector runs in whichever thread allocates when a threshold is crossed: often
the run's worker, which allocates the most. A Qt object caught in a reference cycle is then
destroyed in that thread, and its destructor waits for the interpreter lock while the GUI thread
waits for the worker: the window hangs (seen as a worker stuck in ``QObject::~QObject`` under the
collector, during a checkpoint's ``torch.save``). So automatic collection is off while a collector
lives, and a timer on the GUI thread collects the generations whose thresholds were crossed.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

#: How often the GUI thread looks at the collector's counts.
INTERVAL_MS = 500


class GuiThreadGarbageCollector(QObject):
    """Turns automatic collection off for as long as any instance lives."""

    alive = 0

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        GuiThreadGarbageCollector.alive += 1
        gc.disable()
        self._timer = QTimer(self)
        self._timer.timeout.connect(collect_due_generations)
        self._timer.start(INTERVAL_MS)
        self.destroyed.connect(_one_fewer)


def collect_due_generations() -> int:
    """Collect the oldest generation whose count passed its threshold, as automatic collection
    would; the number of objects found unreachable."""
    counts, thresholds = gc.get_count(), gc.get_threshold()
    due = [generation for generation in range(3) if counts[generation] > thresholds[generation]]
    return gc.collect(due[-1]) if due else 0


def _one_fewer() -> None:
    GuiThreadGarbageCollector.alive -= 1
    if GuiThreadGarbageCollector.alive <= 0:
        GuiThreadGarbageCollector.alive = 0
        gc.enable()
