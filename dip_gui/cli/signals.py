"""Termination signals end a command-line run the way Ctrl+C does: the result so far is saved and
the checkpoint written. A closed terminal (SIGHUP), ``timeout`` and service managers (SIGTERM) would
otherwise kill the run with nothing kept."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

#: The signals treated as Ctrl+C, where the platform has them.
TERMINATIONS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextmanager
def termination_as_interrupt() -> Iterator[None]:
    """Within it, SIGTERM and SIGHUP raise KeyboardInterrupt in the main thread, as SIGINT does; the
    handlers before it come back after (a test calling ``main`` leaves its runner's as they were)."""
    before = {termination: signal.signal(termination, _interrupt) for termination in TERMINATIONS}
    try:
        yield
    finally:
        for termination, handler in before.items():
            signal.signal(termination, handler)


def tell(message: str) -> None:
    """One line on stderr. A closed stderr (``run ... 2>&1 | head`` after head has gone) is not a
    reason to lose the run: later lines go nowhere and the run goes on."""
    try:
        print(message, file=sys.stderr, flush=True)
    except (BrokenPipeError, ValueError):  # ValueError: written to after it was closed
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - lives for the rest of the process
