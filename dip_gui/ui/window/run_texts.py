"""The run controller's sentences: offers of shorter runs, result sizes, what fills the holes."""

from __future__ import annotations

from dip_gui.core.problem.choices import Task
from dip_gui.core.session.session import Session

#: The long-run question's offer of the same settings for fewer iterations: this prefix and the count.
SHORTER = "iterations:"


def offer_label(name: str, duration: str) -> str:
    if name.startswith(SHORTER):
        return f"Run {int(name.removeprefix(SHORTER)):,} iterations ({duration})"
    return f"Use the {name} preset ({duration})"


def size_note(session: Session) -> str:
    """" The result is 256x256 (x4 of 64x64)." for a run that changes the size, else ""."""
    problem = session.problem
    if not problem.task.changes_size or problem.scale is None:
        return ""
    out_height, out_width = problem.out_size
    height, width = problem.observed.shape[:2]
    return f" The result is {out_width}x{out_height} (x{problem.scale} of {width}x{height})."


def holes_text(network_share: float, task: str | Task) -> str:
    """What fills the holes (or a restoration's missing pixels) where the preset judges the network
    against the classical fill."""
    holes = "missing pixels" if Task(task) is Task.RESTORE else "holes"
    return (f"{holes} filled {network_share:.0%} by the network, {1 - network_share:.0%} by a classical fill "
            "(mixed by how well each predicts pixels hidden from it)")
