"""Python's cycle collector runs on the GUI thread only, from the application's event loop.

Left automatic, the collector runs in whichever thread allocates when a threshold is crossed: often
the run's worker, which allocates the most. A Qt object caught in a reference cycle is then
destroyed in that thread, and its destructor waits for the interpreter lock while the GUI thread
waits for the worker: the window hangs (seen as a worker stuck in ``QObject::~QObject`` under the
collector, during a checkpoint's ``torch.save``). Inside a Qt destructor on the GUI thread a
collection deadlocks too (a child's destructor waits for a lock its parent's holds). So automatic
collection is off for the application's life, and a timer collects the generations whose thresholds
were crossed, between events.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QCoreApplication, QObject, QTimer

#: How often the GUI thread looks at the collector's counts.
INTERVAL_MS = 500


def install_gui_thread_gc() -> QObject | None:
    """Turn automatic collection off and collect from the application's event loop instead (once
    per application; None without one)."""
    app = QCoreApplication.instance()
    if app is None:
        return None
    existing = app.findChild(QTimer, "gui-thread-gc")
    if existing is not None:
        return existing
    timer = QTimer(app)
    timer.setObjectName("gui-thread-gc")
    timer.timeout.connect(collect_due_generations)
    timer.start(INTERVAL_MS)
    gc.disable()
    return timer


def collect_due_generations() -> int:
    """Collect the oldest generation whose count passed its threshold, as automatic collection
    would; the number of objects found unreachable."""
    counts, thresholds = gc.get_count(), gc.get_threshold()
    due = [generation for generation in range(3) if counts[generation] > thresholds[generation]]
    return gc.collect(due[-1]) if due else 0
