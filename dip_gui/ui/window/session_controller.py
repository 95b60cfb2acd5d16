"""Window actions for whole sessions: File > Save session / Open session, and crash recovery.

While a run goes, the worker keeps a recovery copy of the session (``RECOVERY_EVERY_S``, and when
the run ends). A normal close or a saved result removes it; if it is still there at the next start,
the app died with work unsaved and offers to resume it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QStandardPaths, Slot
from PySide6.QtWidgets import QFileDialog, QMessageBox

from dip_gui.core.errors import DipError
from dip_gui.core.imaging import three_channels
from dip_gui.core.problem.tasks import TASK_LABELS
from dip_gui.core.session.checkpoint import SUFFIX, load_session, read_session_file, saved_photo
from dip_gui.core.session.session import Session
from dip_gui.ui.window import files
from dip_gui.ui.window.current_run import CurrentRun
from dip_gui.ui.window.document import Document
from dip_gui.ui.window.file_controller import FileController
from dip_gui.ui.window.parts import WindowParts
from dip_gui.ui.window.run_controller import RunController

SESSION_FILTER = f"DIP Studio sessions (*{SUFFIX})"
RECOVERY_NAME = "last-run" + SUFFIX


def recovery_path() -> Path:
    """Where the running session's recovery copy lives (``DIP_STUDIO_RECOVERY_DIR`` overrides it)."""
    folder = os.environ.get("DIP_STUDIO_RECOVERY_DIR")
    if not folder:
        base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
        folder = str(Path(base) / "recovery")
    return Path(folder) / RECOVERY_NAME


class SessionController(QObject):
    """Whole runs in files: save and open sessions, and the recovery copy after a crash."""

    def __init__(self, document: Document, parts: WindowParts, run: CurrentRun, runs: RunController,
                 opener: FileController) -> None:
        super().__init__(parts.parent)
        self.doc, self.parts, self.run, self.runs, self.opener = document, parts, run, runs, opener
        self.panel, self.settings = parts.panel, parts.settings
        run.saved.connect(self._on_session_saved)

    # -- save / open ----------------------------------------------------------------------------

    def save_session_dialog(self) -> None:
        if self.run.session is None:
            self.parts.show_error("there is no run to save yet: start one first")
            return
        stem = self.doc.photo.path.stem if self.doc.photo is not None and self.doc.photo.path else "session"
        folder = Path(files.last_folder(self.settings) or ".")
        path, _ = QFileDialog.getSaveFileName(self.parts.parent, "Save session", str(folder / f"{stem}{SUFFIX}"), SESSION_FILTER)
        if path:
            self.save_session(Path(path) if Path(path).suffix else Path(path + SUFFIX))

    def save_session(self, path: Path) -> None:
        try:
            self.run.save_session(path)
        except (DipError, OSError) as exc:
            self.parts.show_error(f"could not save the session: {exc}")

    @Slot(str)
    def _on_session_saved(self, path: str) -> None:
        if Path(path) != self.run.recovery_path:
            self.parts.announce(f"Session saved to {path}")

    def open_session_dialog(self) -> None:
        folder = files.last_folder(self.settings)
        path, _ = QFileDialog.getOpenFileName(self.parts.parent, "Open session", folder, SESSION_FILTER)
        if path:
            self.open_session(Path(path))

    def open_session(self, path: Path, run: bool = False) -> bool:
        """Load a saved session into the window: shown to look at first (Continue runs it on), or
        running at once with ``run`` (a run cut short, which the user asked to resume)."""
        if not self.opener.may_discard_result():
            return False
        self.runs.stop_and_wait()
        try:
            session, state = load_session(path, self.panel.device.currentText())
        except DipError as exc:
            self.parts.show_error(str(exc))
            return False
        source = state.get("source") or {}
        self._show_session_inputs(session, source)
        if not run:
            self.run.load(session, state, source)
            self.runs.show_loaded(session)
            return True
        self.run.continue_session(session, state, source)
        self.runs.show_started(session)  # with the curve so far, not only from here on
        self.parts.status.setText(f"Resumed at iteration {session.iteration} of {session.total_iterations}.")
        return True

    def _show_session_inputs(self, session: Session, source: dict[str, Any]) -> None:
        problem = session.problem
        self.opener.set_photo(saved_photo(session, source))
        self.panel.select_task(problem.task)
        if source.get("scale"):
            self.panel.scale.setCurrentIndex(self.panel.scale.findData(source["scale"]))
        self.panel.blur.setValue(problem.blur)
        if source.get("preset_name"):
            self.panel.preset.setCurrentIndex(max(0, self.panel.preset.findData(source["preset_name"])))
        known = source.get("known")
        if known is not None:
            self.parts.input_view.start_mask().apply(known.numpy() < 0.5)
            self.parts.input_view.refresh_overlay()
        if problem.reference is not None and problem.region is None:
            self.doc.reference = three_channels(problem.reference)

    # -- crash recovery -------------------------------------------------------------------------

    def offer_recovery(self) -> bool:
        """At start: if the last run's recovery copy is still there, offer to resume it."""
        path = self.run.recovery_path
        if path is None or not path.exists():
            return False
        try:
            state = read_session_file(path)
            saved, problem = state["session"], state["problem"]
            total = state["preset"]["iterations"]
        except (DipError, KeyError, TypeError):
            self.run.discard_recovery()  # unreadable: nothing to offer
            return False
        name = Path((state.get("source") or {}).get("input") or "a pasted image").name
        task = TASK_LABELS.get(problem["task"], problem["task"])
        question = (f"DIP Studio closed during a run: {task} of {name}, "
                    f"iteration {saved['iteration']} of {total}.\n\nResume it?")
        buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Discard
        answer = QMessageBox.question(self.parts.parent, "Resume the interrupted run?", question, buttons)
        if answer == QMessageBox.StandardButton.Yes:
            return self.open_session(path, run=True)
        self.run.discard_recovery()
        return False
