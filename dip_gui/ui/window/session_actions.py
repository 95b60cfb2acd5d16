"""Window actions for whole sessions: File > Save session / Open session, and crash recovery.

While a run goes, the worker keeps a recovery copy of the session (``RECOVERY_EVERY_S``, and when
the run ends). A normal close or a saved result removes it; if it is still there at the next start,
the app died with work unsaved and offers to resume it.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch
from PySide6.QtCore import QStandardPaths, Slot
from PySide6.QtWidgets import QFileDialog, QMessageBox

from dip_gui.core.errors import DipError
from dip_gui.core.problem.tasks import TASK_LABELS
from dip_gui.core.session.checkpoint import SUFFIX, load_session, photo_facts, read_session_file, saved_photo
from dip_gui.core.session.session import StepResult

SESSION_FILTER = f"DIP Studio sessions (*{SUFFIX})"
RECOVERY_NAME = "last-run" + SUFFIX


def recovery_path() -> Path:
    """Where the running session's recovery copy lives (``DIP_STUDIO_RECOVERY_DIR`` overrides it)."""
    folder = os.environ.get("DIP_STUDIO_RECOVERY_DIR")
    if not folder:
        base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
        folder = str(Path(base) / "recovery")
    return Path(folder) / RECOVERY_NAME


class SessionActionsMixin:
    """Mixed into MainWindow; uses its photo, panel, views, run, plot, status and dialogs."""

    def run_source(self) -> dict:
        """What a saved session needs besides the Session: the photo's file facts and the full mask."""
        known = None
        if self.panel.current_task() in ("inpaint", "restore") and self.input_view.mask is not None:
            known = torch.from_numpy((~self.input_view.mask.holes).astype(np.float32))
        return photo_facts(self.photo, scale=self.panel.current_scale(), known=known,
                           preset_name=self.panel.preset.currentData())

    # -- save / open ----------------------------------------------------------------------------

    def save_session_dialog(self) -> None:
        if self.run.session is None:
            self.show_error("there is no run to save yet: start one first")
            return
        stem = self.photo.path.stem if self.photo is not None and self.photo.path else "session"
        folder = Path(self.settings.value("last_folder", "") or ".")
        path, _ = QFileDialog.getSaveFileName(self, "Save session", str(folder / f"{stem}{SUFFIX}"), SESSION_FILTER)
        if path:
            self.save_session(Path(path) if Path(path).suffix else Path(path + SUFFIX))

    def save_session(self, path: Path) -> None:
        try:
            self.run.save_session(path)
        except (DipError, OSError) as exc:
            self.show_error(f"could not save the session: {exc}")

    @Slot(str)
    def _on_session_saved(self, path: str) -> None:
        if Path(path) != self.run.recovery_path:
            self.status.setText(f"Session saved to {path}")

    def open_session_dialog(self) -> None:
        folder = self.settings.value("last_folder", "")
        path, _ = QFileDialog.getOpenFileName(self, "Open session", folder, SESSION_FILTER)
        if path:
            self.open_session(Path(path))

    def open_session(self, path: Path) -> bool:
        """Load a saved session into the window and carry on running it."""
        self.stop_run_and_wait()
        try:
            session, state = load_session(path, self.panel.device.currentText())
        except DipError as exc:
            self.show_error(str(exc))
            return False
        source = state.get("source") or {}
        self._show_session_inputs(session, source)
        self.run.continue_session(session, state, source)
        self._run_started(session)
        past = [StepResult(int(i), loss, 0.0, None if math.isnan(value) else value) for i, loss, value in self.run.worker.history]
        self.plot.add_results(past)  # the curve so far, not only from here on
        self.status.setText(f"Resumed at iteration {session.iteration} of {session.total_iterations}.")
        return True

    def _show_session_inputs(self, session, source: dict) -> None:
        problem = session.problem
        self._set_photo(saved_photo(session, source))
        self.panel.select_task(problem.task)
        if source.get("scale"):
            self.panel.scale.setCurrentIndex(self.panel.scale.findData(source["scale"]))
        if source.get("preset_name"):
            self.panel.preset.setCurrentIndex(max(0, self.panel.preset.findData(source["preset_name"])))
        known = source.get("known")
        if known is not None:
            self.input_view.enable_mask(True)
            self.input_view.mask.apply(known.numpy() < 0.5)
            self.input_view.refresh_overlay()
        if problem.reference is not None and problem.region is None:
            reference = problem.reference
            self.reference = np.repeat(reference, 3, axis=2) if reference.shape[2] == 1 else reference

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
            self.discard_recovery()  # unreadable: nothing to offer
            return False
        name = Path((state.get("source") or {}).get("input") or "a pasted image").name
        question = (f"DIP Studio closed during a run: {TASK_LABELS.get(problem['task'], problem['task'])} of {name}, "
                    f"iteration {saved['iteration']} of {total}.\n\nResume it?")
        buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Discard
        if QMessageBox.question(self, "Resume the interrupted run?", question, buttons) == QMessageBox.StandardButton.Yes:
            return self.open_session(path)
        self.discard_recovery()
        return False

    def discard_recovery(self) -> None:
        """The work is safe (saved, or the user closed normally): drop the recovery copy."""
        path = self.run.recovery_path
        if path is not None and path.exists() and not self.run.running:
            path.unlink(missing_ok=True)
