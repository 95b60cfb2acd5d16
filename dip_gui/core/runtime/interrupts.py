"""Ctrl+C (and the signals treated like it) never cuts a step short.

A step interrupted halfway has drawn its input jitter from the run's generator, or moved some of the
weights, without counting as an iteration: a session saved then resumes to another result than a run
left alone. So while a step runs in the main thread, the first interrupt only marks itself pending
and is raised when the step is complete; a second one raises at once, for a step too slow to wait
for. Without ``interrupt_handler`` installed (the command line installs it) Ctrl+C raises at once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class _Deferral:
    active = False  # a step is running in the main thread
    pending = False  # an interrupt came during it


_deferral = _Deferral()


def interrupt_handler(signum: int, frame: FrameType | None) -> None:
    """A signal handler: KeyboardInterrupt now, or once the running step is complete."""
    if _deferral.active and not _deferral.pending:
        _deferral.pending = True
        return
    raise KeyboardInterrupt


@contextmanager
def whole_step() -> Iterator[None]:
    """Run the block (one step) to its end before an interrupt that came during it is raised."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only
        return
    _deferral.active, _deferral.pending = True, False
    try:
        yield
    finally:
        _deferral.active = False
    if _deferral.pending:
        _deferral.pending = False
        raise KeyboardInterrupt
