"""What a finished run hands back: one rule for the command line, tiles, batches and the window.

A run that ended at the stop rule's suggestion hands back the result of the suggested iteration (its
kept snapshot), else the session's current result. Where the run judged that result against its
classical start (denoising, x2 super-resolution: ``core/stopping/start_check.py``), the judgement's share of the network
is applied: the start, the network's result, or a mix of the two.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dip_gui.core.session.session import Session
from dip_gui.core.stopping.detectors import StopSuggestion
from dip_gui.core.stopping.monitor import RunMonitor
from dip_gui.core.stopping.start_check import StartCheck


@dataclass
class HandedBack:
    """The result a run hands back, the iteration it is from, and the judgement applied to it."""

    image: np.ndarray
    iteration: int
    #: Where the run stopped at the stop rule's suggestion (the suggested iteration), else None.
    stopped_at: int | None = None
    start_check: StartCheck | None = None


def _suggestion_used(monitor: RunMonitor | None, auto_stop: bool) -> StopSuggestion | None:
    """The stop rule's suggestion where ``auto_stop`` hands back its result, else None."""
    return monitor.suggestion if (auto_stop and monitor is not None) else None


def handed_back_iteration(session: Session, monitor: RunMonitor | None, auto_stop: bool) -> int:
    """The iteration whose result the run hands back (the suggestion's, where ``auto_stop`` used it)."""
    suggestion = _suggestion_used(monitor, auto_stop)
    return session.iteration if suggestion is None else suggestion.iteration


def handed_back(session: Session, monitor: RunMonitor | None, auto_stop: bool, raw: bool = False) -> HandedBack:
    """The run's result: at the suggestion where ``auto_stop`` ended the run there, with the start
    check's share applied where the check judged that iteration (not to the ``raw`` output)."""
    suggestion = _suggestion_used(monitor, auto_stop)
    suggested = None if (suggestion is None or monitor is None) else monitor.suggested_image()
    if suggestion is None or suggested is None:
        handed = HandedBack(session.result(raw=raw), session.iteration)
    else:
        handed = HandedBack(suggested, suggestion.iteration, stopped_at=suggestion.iteration)
    check = session.start_check
    start = None if (check is None or check.iteration != handed.iteration or raw) else session.classical_start()
    if check is not None and start is not None:
        handed.image = check.apply(session.to_image(start), handed.image)
        handed.start_check = check
    return handed


__all__ = ["HandedBack", "handed_back", "handed_back_iteration"]
