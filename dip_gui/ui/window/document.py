"""What the window works on, and the window's one state.

Every controller reads the photo and the state here and changes them only through ``Document``, so
that the window's actions (enabled or not, what Start does, whether closing asks) follow from one
value instead of flags spread over the controllers.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from dip_gui.core.imaging import LoadedImage


class WindowState(Enum):
    NO_PHOTO = "no photo"
    PHOTO = "photo"  # a photo, no run yet
    PREPARING = "preparing"  # a run computes its classical start
    RUNNING = "running"
    PAUSED = "paused"
    STOPPING = "stopping"  # asked to stop; the step in progress ends first
    FINISHED = "finished"  # a run ended; its result is shown

    @property
    def busy(self) -> bool:
        """A run owns the session: settings are locked and a new photo or session stops it first."""
        return self in (WindowState.PREPARING, WindowState.RUNNING, WindowState.PAUSED, WindowState.STOPPING)


class Document(QObject):
    """The photo, its clean reference and flash guide, whether the result is saved, and the state."""

    state_changed = Signal(object)  # WindowState

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.photo: LoadedImage | None = None
        #: The clean photo of a test image (PSNR is plotted against it), else None.
        self.reference: np.ndarray | None = None
        #: Flash/no-flash: the flash photo, the network's input.
        self.guide: np.ndarray | None = None
        #: A result exists that has not been saved (closing or opening another photo asks first).
        self.unsaved_result = False
        #: How a test image was made (its clean file, degradation, amount and seed), for the sidecar.
        self.test_image: dict[str, Any] | None = None
        self._state = WindowState.NO_PHOTO

    @property
    def state(self) -> WindowState:
        return self._state

    def set_state(self, state: WindowState) -> None:
        if state is not self._state:
            self._state = state
            self.state_changed.emit(state)

    @property
    def work_to_lose(self) -> bool:
        """A result not saved, or a run going (its result is not saved either, even before a preview)."""
        return self.unsaved_result or self._state.busy

    def require_photo(self) -> LoadedImage:
        """The photo, for actions that only run with one (their callers check ``photo`` first)."""
        if self.photo is None:
            raise RuntimeError("no photo is open")
        return self.photo

    def set_photo(self, photo: LoadedImage) -> None:
        """A new photo: no reference, guide or result yet."""
        self.photo, self.reference, self.guide = photo, None, None
        self.unsaved_result, self.test_image = False, None
        self.set_state(WindowState.PHOTO)
