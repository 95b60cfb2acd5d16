"""Termination signals end a command-line run the way Ctrl+C does: the result so far is saved and
the checkpoint written. A closed terminal (SIGHUP), ``timeout`` and service managers (SIGTERM) would
otherwise kill the run with nothing kept. All three wait for the step in progress
(core/runtime/interrupts.py), so that a run resumed from its checkpoint ends bit for bit where an
uninterrupted one does. A signal the process was started ignoring (``nohup``, a shell's background
job) stays ignored."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from dip_gui.core.runtime.interrupts import interrupt_handler

#: Ctrl+C and the signals treated like it, where the platform has them.
TERMINATIONS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


@contextmanager
def termination_as_interrupt() -> Iterator[None]:
    """Within it, SIGINT, SIGTERM and SIGHUP raise KeyboardInterrupt in the main thread once the step
    in progress is complete; the handlers before it come back after (a test calling ``main`` leaves its
    runner's as they were)."""
    before = {termination: signal.getsignal(termination) for termination in TERMINATIONS}
    for termination, handler in before.items():
        if handler is not signal.SIG_IGN:
            signal.signal(termination, interrupt_handler)
    try:
        yield
    finally:
        for termination, handler in before.items():
            if handler is not None:  # None: set from outside Python, cannot be restored
                signal.signal(termination, handler)


def tell(message: str) -> None:
    """One line on stderr. A closed stderr (``run ... 2>&1 | head`` after head has gone) is not a
    reason to lose the run: later lines go nowhere and the run goes on."""
    try:
        print(message, file=sys.stderr, flush=True)
    except (BrokenPipeError, ValueError):  # ValueError: written to after it was closed
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - lives for the rest of the process
