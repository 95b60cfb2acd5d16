"""Help > About: the version and what it runs on, for a bug report."""

from __future__ import annotations

import platform

import torch
from PySide6 import __version__ as pyside_version
from PySide6.QtWidgets import QMessageBox, QWidget

from dip_gui import __version__
from dip_gui.core.runtime.device import available_devices


def about_text() -> str:
    """The About box's text (rich text): version, devices, and the versions a bug report needs."""
    devices = ", ".join(name for name in available_devices() if name != "auto")
    return (
        f"<h3>DIP Studio {__version__}</h3>"
        "<p>Deep Image Prior photo restoration: a network fitted to one photo restores it without "
        "training data (Ulyanov, Vedaldi, Lempitsky, CVPR 2018).</p>"
        f"<p>Devices: {devices}<br>PyTorch {torch.__version__}, PySide6 {pyside_version}, "
        f"Python {platform.python_version()} on {platform.system()} {platform.machine()}</p>"
    )


def show_about(parent: QWidget) -> None:
    QMessageBox.about(parent, "About DIP Studio", about_text())
