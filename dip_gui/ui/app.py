"""QApplication set-up: excepthook (PySide6 swallows exceptions in slots), settings, main window."""

from __future__ import annotations

import logging
import os
import sys
import threading
import traceback
from pathlib import Path

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")  # before pyqtgraph is imported

import torch  # noqa: F401  -- torch before Qt: on Windows the DLL load order matters
from PySide6.QtWidgets import QApplication

log = logging.getLogger("dip_gui")


def install_excepthook(window_getter) -> None:
    """Log every uncaught exception and show it in a dialog instead of losing it."""

    def hook(kind, value, tb) -> None:
        text = "".join(traceback.format_exception(kind, value, tb))
        log.error(text)
        sys.__stderr__.write(text)
        window = window_getter()
        if window is not None:
            window.show_error(text)

    sys.excepthook = hook


def _import_lazy_torch_parts() -> None:
    """Torch's optimisers import torch._dynamo the first time one is built: ~3 s on the 2-core
    development CPU, which froze the window at the first Start. Done on a side thread at launch."""
    import torch._dynamo  # noqa: F401


def preload_in_background() -> threading.Thread:
    thread = threading.Thread(target=_import_lazy_torch_parts, name="dip-preload", daemon=True)
    thread.start()
    return thread


def run_app(photo: str | None = None) -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("DIP Studio")
    app.setOrganizationName("DIPStudio")
    from dip_gui.ui.window.main_window import MainWindow

    window = MainWindow(open_sample=photo is None)
    install_excepthook(lambda: window)
    if photo is not None:
        window.open_path(Path(photo))
    window.show()
    preload_in_background()
    window.sessions.offer_recovery()  # the last run's recovery copy is still there: the app died mid-run
    return app.exec()
