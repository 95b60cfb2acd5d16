"""Project exceptions: errors a user can cause, with messages a person understands.

The CLI prints ``str(error)`` as one line and exits non-zero; the window shows it in a dialog.
Anything that is not a ``DipError`` is a bug and keeps its traceback.
"""


class DipError(Exception):
    """Base class of every error the user can cause and fix."""


class ImageReadError(DipError):
    """A file could not be read as an image (missing, empty, truncated, unsupported, too large)."""


class ImageWriteError(DipError):
    """An output file could not be written, or would overwrite an input."""


class InvalidParameterError(DipError):
    """A setting is out of range or does not fit the task (scale 3, negative iterations, ...)."""


class MaskError(DipError):
    """A mask does not fit its photo (wrong size, empty, nothing known)."""


class DeviceError(DipError):
    """The compute device failed or ran out of memory."""


class DivergenceError(DipError):
    """The optimisation kept diverging after repeated backtracking."""
