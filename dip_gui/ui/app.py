"""QApplication set-up: excepthook (PySide6 swallows exceptions in slots), settings, main window."""

from __future__ import annotations

import logging
import os
import sys
import threading
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dip_gui.ui.window.main_window import MainWindow

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")  # before pyqtgraph is imported

import torch  # noqa: F401  -- torch before Qt: on Windows the DLL load order matters
from PySide6.QtCore import QSettings
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from dip_gui.core.samples import application_icon_path
from dip_gui.ui.system_libraries import warn_about_missing_libraries

log = logging.getLogger("dip_gui")


def install_excepthook(window_getter) -> None:
    """Log every uncaught exception and show it in a dialog instead of losing it."""

    def hook(kind, value, tb) -> None:
        text = "".join(traceback.format_exception(kind, value, tb))
        log.error(text)
        if sys.__stderr__ is not None:  # none under pythonw
            sys.__stderr__.write(text)
        window = window_getter()
        if window is not None:
            window.parts.show_error(text)

    sys.excepthook = hook


def _import_lazy_torch_parts() -> None:
    """Torch's optimisers import torch._dynamo the first time one is built: ~3 s on the 2-core
    development CPU, which froze the window at the first Start. Done on a side thread at launch."""
    import torch._dynamo  # noqa: F401


def preload_in_background() -> threading.Thread:
    thread = threading.Thread(target=_import_lazy_torch_parts, name="dip-preload", daemon=True)
    thread.start()
    return thread


def application_icon() -> QIcon:
    """The icon shipped in the package (an empty icon where the package was installed without it)."""
    path = application_icon_path()
    return QIcon(str(path)) if path.is_file() else QIcon()


def make_main_window(photo: str | None = None, settings: QSettings | None = None) -> MainWindow:
    """The window on ``photo`` (a bad file gets its error dialog and an empty window), or on the
    bundled sample."""
    from dip_gui.ui.window.main_window import MainWindow

    window = MainWindow(settings=settings, open_sample=photo is None)
    if photo is not None:
        window.files.open_path(Path(photo))
    return window


def run_app(photo: str | None = None) -> int:
    if not QApplication.instance():
        warn_about_missing_libraries()
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)  # the window's own: a QGuiApplication has no widgets
    app.setApplicationName("DIP Studio")
    app.setOrganizationName("DIPStudio")
    app.setDesktopFileName("dip-studio")  # the menu entry of ``install-desktop``: docks group the window under it
    app.setWindowIcon(application_icon())
    window = make_main_window(photo)
    install_excepthook(lambda: window)
    window.show()
    preload_in_background()
    window.sessions.offer_recovery()  # the last run's recovery copy is still there: the app died mid-run
    return app.exec()
