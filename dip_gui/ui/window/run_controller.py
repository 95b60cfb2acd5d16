"""The window's run control: build the problem, start, progress, previews, the end, the estimate.

The run's life is the window's state (``Document.state``): it is set here when a run starts
(preparing, or running for a session already prepared), on its first progress (running), on pause,
on a stop request (stopping) and when the run's end has been handled (finished).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from PySide6.QtCore import QObject, Qt, QTimer, Slot
from PySide6.QtWidgets import QApplication, QMessageBox

from dip_gui.core.errors import DeviceError, DipError
from dip_gui.core.estimate.cost import LONG_RUN_S, CostEstimate, cost_warning, format_duration
from dip_gui.core.imaging import three_channels
from dip_gui.core.metrics import psnr as image_psnr
from dip_gui.core.problem.choices import Task
from dip_gui.core.problem.presets import Preset, fitted_for, get_preset
from dip_gui.core.problem.tasks import Problem, make_problem
from dip_gui.core.runtime.device import available_memory_bytes, resolve_device
from dip_gui.core.session.checkpoint import photo_facts
from dip_gui.core.session.handed_back import HandedBack
from dip_gui.core.session.run_loop import check_size, measure_for
from dip_gui.core.session.session import Session, StepResult
from dip_gui.ui.window.current_run import CurrentRun
from dip_gui.ui.window.document import Document, WindowState
from dip_gui.ui.window.estimator import BackgroundEstimator, EstimateRequest
from dip_gui.ui.window.parts import WindowParts
from dip_gui.ui.window.run_texts import SHORTER, holes_text, offer_label, size_note
from dip_gui.ui.window.timeline_controller import TimelineController

#: How the status line names each classical start while the worker computes it.
START_NAMES = {"nlm": "non-local means and Wiener filtering", "blur": "a light blur", "fill": "a classical fill of the holes",
               "nlm_fill": "a non-local means fill of the missing pixels", "upsample": "a back-projected upscale"}

#: Presets a long run may switch to, slowest first (a preset is offered only those after it).
QUICKER_PRESETS = ("balanced", "fast")


@contextmanager
def busy_cursor():
    """A wait cursor while the GUI thread waits, restored whatever happens."""
    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        yield
    finally:
        QApplication.restoreOverrideCursor()


class RunController(QObject):
    """Starts and follows runs of the document's photo with the panel's settings."""

    def __init__(self, document: Document, parts: WindowParts, run: CurrentRun, timeline: TimelineController) -> None:
        super().__init__(parts.parent)
        self.doc, self.parts, self.run, self.timeline = document, parts, run, timeline
        self.panel = parts.panel
        self._network_share: float | None = None  # of the holes, from the last preview (holdout presets)
        self._iterations_at_start = -1  # the panel's iterations when the run started (Continue reads a change)
        #: Asks whether an unsaved result may go (the window's question, with Save); set by the window.
        self.confirm_discard: Callable[[], bool] = lambda: True
        self._device_failure: str | None = None
        self.estimate_timer = QTimer(self, singleShot=True, interval=300)
        self.estimate_timer.timeout.connect(self.update_estimate)
        # the automatic stop decides whether the run ends with a check against its start, which the estimate includes
        parts.timeline.auto_stop.toggled.connect(lambda _on: self.estimate_timer.start())
        self.estimator = BackgroundEstimator(parts.parent)
        self.estimator.ready.connect(self.show_estimate)
        run.progress.connect(self._on_progress)
        run.preview.connect(self._on_preview)
        run.ended.connect(self._on_run_ended)
        run.note.connect(self._on_note)
        run.failed.connect(parts.show_error)
        run.device_failed.connect(self._on_device_failed)

    def run_source(self) -> dict[str, Any]:
        """What a saved session needs besides the Session: the photo's file facts and the full mask."""
        photo = self.doc.require_photo()
        known = None
        if self.panel.current_task().takes_mask and self.parts.input_view.mask_model is not None:
            known = torch.from_numpy((~self.parts.input_view.mask_model.holes).astype(np.float32))
        return photo_facts(photo, scale=self.panel.current_scale(), known=known,
                           preset_name=self.panel.preset.currentData())

    def build_problem(self) -> Problem:
        task = self.panel.current_task()
        known = None
        if task.takes_mask:
            holes = self.parts.input_view.mask_model.holes if self.parts.input_view.mask_model is not None else None
            known = None if holes is None else (~holes).astype(np.float32)
        photo = self.doc.require_photo()
        observed = photo.rgb
        if known is not None:
            observed = observed * known[:, :, None]
        return make_problem(
            task,
            observed,
            grey=photo.grey,
            scale=self.panel.current_scale(),
            blur=self.panel.current_blur(),
            mask=known,
            guide=self.doc.guide,
            reference=self._reference_for(task),
        )

    def _reference_for(self, task: Task) -> np.ndarray | None:
        if self.doc.reference is None:
            return None
        scale = self.panel.current_scale() or 1
        height, width = self.doc.require_photo().size
        wanted = (height * scale, width * scale)
        return self.doc.reference if self.doc.reference.shape[:2] == wanted else None

    def stop_and_wait(self) -> None:
        """End the run before the window moves on (another photo or session): the current step or
        classical start cannot be cut short, so this waits for it under a wait cursor."""
        if not self.run.running:
            return
        self.parts.status.setText("Stopping the run…")
        with busy_cursor():
            self.run.shutdown()
        # the run's own end is dropped after a shutdown: the window says it ended here, so that a
        # question answered with Cancel after this (a save dialog closed) leaves a usable window
        self.doc.set_state(WindowState.FINISHED)
        self._show_iterations_done(self.run.require_session())
        self.parts.status.setText(f"Stopped after {self.run.require_session().iteration} iterations.")

    def start(self) -> None:
        if self.doc.state.busy:
            return
        if self.doc.photo is None:
            self.parts.show_error("open a photo first")
            return
        if self.doc.unsaved_result and not self.confirm_discard():
            return  # a new run replaces the result shown
        self.estimate_timer.stop()
        if not self.confirm_cost():
            return
        try:  # quick: the classical start (seconds on a large photo) is made on the worker thread
            problem = self.build_problem()
            preset = self.panel.current_preset()
            session = self.run.start(problem, preset, self.panel.seed.value(), self.panel.device.currentText(),
                                     source=self.run_source(), host_memory=self.panel.current_host_memory())
        except DeviceError as exc:
            self._offer_cpu(str(exc))
            return
        except DipError as exc:
            self.parts.show_error(str(exc))
            return
        self.show_started(session)

    def show_started(self, session: Session) -> None:
        """A run of ``session`` has started (new, or a saved session continued): plot, timeline, status.
        A continued run's curve so far is drawn again."""
        self._iterations_at_start = self.panel.iterations.value()
        self.doc.set_state(_going(session))
        self._network_share = None
        self.parts.plot.clear()
        self.parts.plot.set_total(session.total_iterations)
        history = [] if self.run.worker is None else self.run.worker.history
        if history:
            self.parts.plot.add_results([StepResult(int(i), loss, 0.0, None if math.isnan(value) else value)
                                         for i, loss, value in history])
        self.timeline.run_started()
        if session.prepared:
            self._show_iterations_done(session)
            self.parts.status.setText(f"Running {session.preset.name} on {session.device.type}…")
        else:  # a busy bar until the first iteration: the worker computes the classical start first
            self.parts.progress_bar.setRange(0, 0)
            start = f" ({START_NAMES.get(session.preset.base, session.preset.base)})" if session.preset.base else ""
            self.parts.status.setText(f"Preparing {session.preset.name} on {session.device.type}: computing the start{start}…")

    def _show_iterations_done(self, session: Session) -> None:
        self.parts.progress_bar.setRange(0, session.total_iterations)
        self.parts.progress_bar.setValue(session.iteration)

    @Slot(object)
    def _on_progress(self, results: list[StepResult]) -> None:
        if self.doc.state is WindowState.PREPARING:  # the classical start is made: iterations run
            self.doc.set_state(WindowState.RUNNING)
        self.parts.plot.add_results(results)
        session, last = self.run.require_session(), results[-1]
        if self.parts.progress_bar.maximum() != session.total_iterations:  # the start is made: a real bar again
            self.parts.progress_bar.setRange(0, session.total_iterations)
        self.parts.progress_bar.setValue(last.iteration)
        rate = last.iteration / max(last.seconds, 1e-9)
        left = (session.total_iterations - last.iteration) / max(rate, 1e-9)
        text = (
            f"iteration {last.iteration} / {session.total_iterations}   {rate:.2f} it/s   "
            f"{format_duration(last.seconds)} elapsed   ~{format_duration(left)} left"
        )
        if last.psnr is not None:
            text += f"   PSNR {last.psnr:.2f} dB"
        if self._network_share is not None:
            text += "   " + holes_text(self._network_share, session.problem.task)
        self.parts.status.setText(text + ("   (paused)" if self.run.paused else ""))

    @Slot(object)
    def _on_preview(self, result: StepResult) -> None:
        self.doc.unsaved_result = True
        self._network_share = result.network_share
        if not self.timeline.following_live:
            return  # the user is looking at a snapshot: do not pull the view away
        self.parts.result_view.set_image(result.image, keep_view=not self.parts.result_view._pixmap.pixmap().isNull())

    @Slot(str)
    def _on_note(self, message: str) -> None:
        """The run's iterations are done and it does more (the start check): say so, with a busy bar."""
        self.parts.progress_bar.setRange(0, 0)
        self.parts.status.setText(message[0].upper() + message[1:] + "…")

    @Slot(str)
    def _on_device_failed(self, message: str) -> None:
        self._device_failure = message  # answered once the run's end is handled (see _on_run_ended)

    def _offer_cpu(self, message: str) -> None:
        """The device failed: run on the CPU instead, only if the user agrees (it is slower)."""
        device = self._device_type()
        if device == "cpu":
            self.parts.show_error(message)
            return
        question = f"The {device} device failed: {message}.\n\nRun on the CPU instead? It is slower."
        buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
        if QMessageBox.question(self.parts.parent, "Device failed", question, buttons) == QMessageBox.StandardButton.Yes:
            self.panel.device.setCurrentText("cpu")
            self.start()
        else:
            self.parts.status.setText(message)

    def _device_type(self) -> str:
        """The device the failed run used (or would have used): 'auto' resolved."""
        try:
            return resolve_device(self.panel.device.currentText()).type
        except DipError:
            return self.panel.device.currentText()

    @Slot(str)
    def _on_run_ended(self, reason: str) -> None:
        self.doc.set_state(WindowState.FINISHED)
        failure, self._device_failure = self._device_failure, None
        if reason == "failed" and failure:
            QTimer.singleShot(0, lambda: self._offer_cpu(failure))
        session = self.run.require_session()
        self._show_iterations_done(session)  # the bar is busy still if the run ended while preparing
        handed = self.run.finished_result()
        image = self.run.result() if handed is None else handed.image
        if image is not None and self.timeline.following_live:
            self.parts.result_view.set_image(image, keep_view=True)
            self.doc.unsaved_result = True
        text = f"{reason.capitalize()} after {session.iteration} iterations ({format_duration(session.seconds)})."
        suggestion = None if self.run.monitor is None else self.run.monitor.suggestion
        if reason == "auto-stopped" and suggestion is not None:
            text = (f"Stopped at the suggested iteration {suggestion.iteration} ({suggestion.reason}); its result is "
                    "shown. Run > Continue (Ctrl+Shift+Return) runs on.")
        if reason == "diverged":
            text += " The last good result is kept; a lower learning rate may help."
        check = None if handed is None else handed.start_check
        text += ("" if check is None else " " + check.describe()) + self._psnr_summary(handed) + size_note(session)
        share = session.network_share() if session.prepared else None  # the worker is done: reading is safe
        self.parts.status.setText(text if share is None else f"{text} {holes_text(share, session.problem.task).capitalize()}.")

    def _psnr_summary(self, handed: HandedBack | None = None) -> str:
        """" PSNR 31.20 dB (best 31.84 dB at iteration 20)." for a run with a clean photo, else "" (the
        PSNR of the result shown: ``handed``'s where the start check mixed it with the start)."""
        best = self.parts.plot.best_psnr()
        shown = self.timeline.displayed_iteration()
        psnr = None if shown is None else self.parts.plot.psnr_at(shown)
        reference = self.run.require_session().problem.reference
        if handed is not None and handed.start_check is not None and reference is not None and self.timeline.following_live:
            psnr = image_psnr(handed.image, three_channels(reference))
        if best is None or psnr is None:
            return ""
        return f" PSNR {psnr:.2f} dB (best {best[1]:.2f} dB at iteration {best[0]})."

    def can_continue(self) -> bool:
        """A finished run (or a session opened) has iterations left to run: it stopped at the
        suggestion or was stopped, or the panel's iterations go past where it ended."""
        session = self.run.session
        return (self.doc.state is WindowState.FINISHED and session is not None and self.run.worker is not None
                and session.iteration < self._iterations_wanted(session))

    def _iterations_wanted(self, session: Session) -> int:
        """The run's iterations, or the panel's where the user changed them after the run's start."""
        asked = self.panel.iterations.value()
        return asked if asked != self._iterations_at_start else session.total_iterations

    def continue_run(self) -> None:
        """Run on past the stop, to the run's iterations or those the panel shows now (Run > Continue)."""
        if not self.can_continue():
            return
        session = self.run.run_on(self._iterations_wanted(self.run.require_session()))
        self._iterations_at_start = session.total_iterations
        self.show_started(session)
        self.parts.status.setText(f"Continuing from iteration {session.iteration} to {session.total_iterations}…")

    def show_loaded(self, session: Session) -> None:
        """A saved session opened and shown, not running: its curve so far, its result, and how to go on."""
        self.show_started(session)
        self.doc.set_state(WindowState.FINISHED)
        self._iterations_at_start = session.total_iterations
        self.panel.iterations.setValue(session.total_iterations)
        self._show_iterations_done(session)
        image = self.run.result()
        if image is not None:
            self.parts.result_view.set_image(image)
        self.parts.status.setText(
            f"Opened the session at iteration {session.iteration} of {session.total_iterations}. Run > Continue "
            "(Ctrl+Shift+Return) runs it on; change Iterations first to run more or fewer.")

    def toggle_pause(self) -> None:
        if self.doc.state in (WindowState.RUNNING, WindowState.PREPARING, WindowState.PAUSED):
            self.run.toggle_pause()
            self.doc.set_state(WindowState.PAUSED if self.run.paused else _going(self.run.require_session()))

    def stop(self) -> None:
        """Stop after the step in progress and keep the result (the run's end follows)."""
        if self.doc.state.busy:
            self.run.stop()
            self.doc.set_state(WindowState.STOPPING)

    def confirm_cost(self) -> bool:
        """A run estimated to take very long or more memory than is free asks first: run anyway, switch
        to a quicker preset of the task (each offered with its own estimated time), or cancel."""
        preset, device = self.panel.current_preset(), self.panel.device.currentText()
        try:
            cost = self.estimator.result_for(self._estimate_request(preset))
            warning = cost_warning(cost, preset.iterations, available_memory_bytes(resolve_device(device)), LONG_RUN_S)
        except (DipError, RuntimeError):
            return True  # no estimate: the run itself will say what is wrong
        if warning is None:
            return True
        offers = self._quicker_presets(preset)
        fitting = int(LONG_RUN_S / cost.whole_seconds_per_iteration)  # iterations that fit the long-run mark
        if 1 <= fitting < preset.iterations:
            offers.append((f"{SHORTER}{fitting}", "~" + cost.whole_duration(fitting)))
        choice = self.ask_about_cost(warning, offers)
        if choice.startswith(SHORTER):
            self.panel.iterations.setValue(int(choice.removeprefix(SHORTER)))
        elif choice not in ("run", "cancel"):
            self.panel.preset.setCurrentIndex(self.panel.preset.findData(choice))
        return choice != "cancel"

    def _quicker_presets(self, preset: Preset) -> list[tuple[str, str]]:
        """(name, estimated time) of the task's presets quicker than ``preset``: ``fast``, and for
        denoising and SR ``balanced`` (docs/presets.md: ahead of the paper recipe under any CPU budget)."""
        names = [name for name in QUICKER_PRESETS if self.panel.preset.findData(name) >= 0]
        if preset.name in names:
            names = names[names.index(preset.name) + 1:]
        offers = []
        for name in names:
            quicker = fitted_for(get_preset(self.panel.current_task(), name), self.panel.current_scale(),
                                 self.panel.traits)
            try:
                duration = "~" + self.estimator.result_for(self._estimate_request(quicker)).whole_duration(quicker.iterations)
            except (DipError, RuntimeError):
                duration = "time unknown"
            offers.append((name, duration))
        return offers

    def ask_about_cost(self, warning: str, offers: list[tuple[str, str]]) -> str:
        """The user's answer: 'run', 'cancel', the name of the offered preset chosen, or ``SHORTER``
        and the iterations of the shorter run offered."""
        box = QMessageBox(QMessageBox.Icon.Question, "Long run", warning, parent=self.parts.parent)
        run = box.addButton("Run anyway", QMessageBox.ButtonRole.AcceptRole)
        buttons: dict[object, str] = {
            box.addButton(offer_label(name, duration), QMessageBox.ButtonRole.ActionRole): name
            for name, duration in offers}
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        clicked = box.clickedButton()
        return "run" if clicked is run else buttons.get(clicked, "cancel")

    def update_estimate(self) -> None:
        """Ask for the estimate of the current settings; it arrives in ``show_estimate`` (core/estimate/cost.py
        times real passes on small canvases, 0.3-1.1 s: off the GUI thread, never during a run)."""
        if self.doc.photo is None or self.run.running:
            return
        self.panel.estimate.setText("Estimating the run's time and memory...")
        self.estimator.request(self._estimate_request(self.panel.current_preset()))

    @Slot(object, object)
    def show_estimate(self, request: EstimateRequest, result: object) -> None:
        size = self._result_size_text(request)
        if isinstance(result, CostEstimate):
            self.panel.estimate.setText(size + "Estimate: " + result.describe(request.preset.iterations))
        else:
            self.panel.estimate.setText(f"{size}Estimate unavailable: {result}")

    def _result_size_text(self, request: EstimateRequest) -> str:
        """Super-resolution says the size it makes: "Result 256x256 (from 64x64). "."""
        photo = self.doc.photo
        if photo is None or not request.preset.task.changes_size:
            return ""
        (height, width), (out_height, out_width) = photo.size, request.size
        return f"Result {out_width}x{out_height} (from {width}x{height}). "

    def _estimate_request(self, preset: Preset) -> EstimateRequest:
        """A run of ``preset`` on the open photo with the panel's scale, device and memory setting, and
        the check against its start where the automatic stop ends the run with one."""
        scale = self.panel.current_scale()
        photo = self.doc.require_photo()
        size = (photo.size[0] * (scale or 1), photo.size[1] * (scale or 1))
        traits = self.panel.traits
        measure = measure_for(preset, preset.task, scale, photo.size, None if traits is None else traits.noise_sigma)
        copy = None if (measure is None or not self.run.auto_stop) else check_size(measure, photo.size)
        return EstimateRequest(preset, size, 1 if photo.grey else 3, self.panel.device.currentText(),
                               self.panel.current_host_memory(), copy)


def _going(session: Session) -> WindowState:
    """A run that is not paused: still computing its classical start, or iterating."""
    return WindowState.RUNNING if session.prepared else WindowState.PREPARING
