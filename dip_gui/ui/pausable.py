"""Pause and resume of a worker thread, asked from the GUI thread."""

from __future__ import annotations

import threading


class Pausable:
    """For a worker that waits on ``_running`` (a set ``threading.Event``, made in its ``__init__``)
    before each step: ``pause`` holds it there, ``resume`` lets it go on."""

    _running: threading.Event

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()
