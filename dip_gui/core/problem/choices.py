"""The problem's named choices: the task, and the classical start a preset refines.

What differs between tasks beyond their forward operator (core/problem/tasks.py) is asked of the
task itself (``Task.takes_mask``, ``Task.changes_size``, ``Task.needs_guide``), not spelled out as
string comparisons wherever it matters.
"""

from __future__ import annotations

from dip_gui.core.named_choice import NamedChoice


class Task(NamedChoice):
    DENOISE = "denoise"
    JPEG = "jpeg"
    SR = "sr"
    INPAINT = "inpaint"
    RESTORE = "restore"
    FLASH = "flash"

    @property
    def takes_mask(self) -> bool:
        """The user marks pixels to fill: painted holes (inpaint) or scattered missing pixels (restore)."""
        return self in (Task.INPAINT, Task.RESTORE)

    @property
    def changes_size(self) -> bool:
        """The result is ``scale`` times the photo (super-resolution)."""
        return self is Task.SR

    @property
    def needs_guide(self) -> bool:
        """A second photo (the flash one) is the network's input."""
        return self is Task.FLASH


class Start(NamedChoice):
    """The classical estimates a preset can start from (classical/warm_start.py makes them)."""

    BLUR = "blur"
    NLM = "nlm"
    UPSAMPLE = "upsample"
    FILL = "fill"  # holes of any shape: Telea's or the biharmonic fill, chosen per photo
    NLM_FILL = "nlm_fill"  # non-local means rounds made for missing pixels scattered over the photo

    @property
    def fills_holes(self) -> bool:
        return self in (Start.FILL, Start.NLM_FILL)
