"""How many torch threads a CPU run beside a GUI should use: measured on the run itself.

The window's worker thread shares the cores with the GUI thread, which paints previews and the
plot. Leaving it one core keeps the event loop prompt and costs nothing for small networks, but a
wide network loses much of its speed. Measured in the window on 2 cores (seconds per iteration with
1 / 2 torch threads, ``python benchmarks/window_loop.py --preset P --size N --threads T``):
``fast`` 256 px 0.29 / 0.33 and 512 px 0.94 / 1.00 (0.97 / 0.71 in another sitting), ``balanced``
256 px 0.58 / 0.60 and 512 px 2.31 / 1.43, ``paper`` 256 px 1.30 / 1.03 (docs/performance.md).
Neither the network's size nor its cost per iteration predicts the winner on a shared machine, so
the run times a few of its own iterations with each count and keeps the faster, preferring the
count that leaves the GUI a core unless the other is clearly quicker.
"""

from __future__ import annotations

import os


class ThreadTrial:
    """Feed it each iteration's seconds (``record``); ``threads`` is the count to run the next with."""

    def __init__(self, cores: int | None = None, warmup: int = 1, timed: int = 2, margin: float = 0.1,
                 measure: bool = True) -> None:
        cores = max(1, cores or os.cpu_count() or 1)
        #: One core left to the GUI first, the choice unless all cores are clearly faster (on 2 cores the
        #: event loop's worst stall fell from 85 to 52 ms with it, docs/performance.md). Without
        #: ``measure`` (a GPU run, where the threads only feed the device) that count is kept untimed.
        self.candidates = [max(1, cores - 1)] + ([cores] if cores > 1 else [])
        self.warmup, self.timed, self.margin = warmup, timed, margin
        self._times: list[list[float]] = [[] for _ in self.candidates]
        self._index, self._seen = 0, 0
        self.chosen: int | None = self.candidates[0] if len(self.candidates) == 1 or not measure else None

    @property
    def decided(self) -> bool:
        return self.chosen is not None

    @property
    def threads(self) -> int:
        return self.chosen if self.chosen is not None else self.candidates[self._index]

    def record(self, seconds: float) -> None:
        """One iteration run with ``threads`` threads took ``seconds`` (its first ones are warm-up)."""
        if self.decided:
            return
        self._seen += 1
        if self._seen > self.warmup:  # the first iterations with a new count set up its thread team
            self._times[self._index].append(seconds)
        if len(self._times[self._index]) < self.timed:
            return
        if self._index + 1 < len(self.candidates):
            self._index, self._seen = self._index + 1, 0
            return
        fewer, more = (min(times) for times in self._times)
        self.chosen = self.candidates[1] if more < fewer * (1 - self.margin) else self.candidates[0]
