"""The window's files: opening photos (dialog, drop, paste, recent), test images, saving results and masks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QFileDialog, QInputDialog

from dip_gui.core.errors import DipError
from dip_gui.core.imaging import LoadedImage, in_srgb, load_image, load_mask, save_image
from dip_gui.core.problem.photo_traits import PhotoTraits
from dip_gui.core.problem.presets import GRAINY
from dip_gui.ui.widgets.degrade_dialog import TestImageDialog, make_test_image
from dip_gui.ui.widgets.qimage import qimage_to_array
from dip_gui.ui.window import files
from dip_gui.ui.window.current_run import CurrentRun
from dip_gui.ui.window.document import Document
from dip_gui.ui.window.parts import WindowParts
from dip_gui.ui.window.run_controller import RunController
from dip_gui.ui.window.timeline_controller import TimelineController

#: A loaded mask that marks more than this share of the photo to fill is likely the other way round.
MOSTLY_HOLES = 0.5
#: What a task that fills marked pixels needs first.
PAINT_INVITATION = ("Paint over what to fill: the left button paints, the right erases, [ and ] size the brush; "
                    "or load a mask. Then press Start (Ctrl+Return).")


class FileController(QObject):
    """Reads photos and masks into the document and writes results, masks and sidecars."""

    photo_changed = Signal()  # a new photo is the document's (title, recent files, estimate follow)
    photo_set = Signal()  # the views show a new photo (opened, pasted, a test image or a session's)

    def __init__(self, document: Document, parts: WindowParts, run: CurrentRun, runs: RunController,
                 timeline: TimelineController, sidecar_action: QAction, srgb_action: QAction) -> None:
        super().__init__(parts.parent)
        self.doc, self.parts, self.run, self.runs, self.timeline = document, parts, run, runs, timeline
        self.panel, self.settings, self.sidecar_action = parts.panel, parts.settings, sidecar_action
        self.srgb_action = srgb_action  # checked: results are converted from the photo's profile to sRGB
        #: Asks whether an unsaved result may go (the window's question, with Save); set by the window.
        self.confirm_discard: Callable[[], bool] = lambda: True

    # -- opening --------------------------------------------------------------------------------

    def open_dialog(self) -> None:
        folder = files.last_folder(self.settings)
        path, _ = QFileDialog.getOpenFileName(self.parts.parent, "Open photo", folder, files.IMAGE_FILTER)
        if path:
            self.open_path(Path(path))

    def may_discard_result(self) -> bool:
        """Whether the shown result may go: saved, or the user says so (Save among the answers)."""
        return not self.doc.work_to_lose or self.confirm_discard()

    def open_path(self, path: Path) -> bool:
        if not self.may_discard_result():
            return False
        try:
            photo = load_image(path)
        except DipError as exc:
            self.parts.show_error(str(exc))
            return False
        self.set_photo(photo)
        files.remember_file(self.settings, Path(path))
        self.photo_changed.emit()
        return True

    def paste_image(self) -> None:
        if not self.may_discard_result():
            return
        image = QGuiApplication.clipboard().image()
        if image.isNull():
            self.parts.show_error("the clipboard holds no image")
            return
        self.set_photo(LoadedImage(qimage_to_array(image)))
        self.photo_changed.emit()

    def set_photo(self, photo: LoadedImage) -> None:
        """Make ``photo`` the document's (a run going is stopped first); views and plot start afresh."""
        self.runs.stop_and_wait()
        self.run.forget()
        self.doc.set_photo(photo)
        traits = PhotoTraits.read(photo.rgb, noise_shape=True)
        self.panel.set_photo_traits(traits)
        self.parts.input_view.set_image(photo.rgb)
        self.parts.input_view.mask_model = None
        self.parts.result_view.set_image(None)
        self.parts.plot.clear()
        self.parts.timeline.set_store(None)  # no snapshot of the last photo to show or save
        self.parts.progress_bar.setRange(0, 1)
        self.parts.progress_bar.reset()
        self.photo_set.emit()
        name = photo.path.name if photo.path is not None else "the pasted image"
        height, width = photo.size
        noise = traits.noise_note(from_sigma=GRAINY)  # where it shortens denoising's schedule
        notes = "".join(f" {note}" for note in (traits.jpeg_note(), noise, photo.frames_note()) if note)
        next_step = PAINT_INVITATION if self.panel.current_task().takes_mask else "Choose a task and press Start (Ctrl+Return)."
        self.parts.status.setText(f"Opened {name} ({width}x{height}).{notes} {next_step}")

    def choose_guide(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.parts.parent, "Flash photo", files.last_folder(self.settings),
                                              files.IMAGE_FILTER)
        if path:
            try:
                self.doc.guide = load_image(path).rgb
                self.panel.guide_label.setText(Path(path).name)
            except DipError as exc:
                self.parts.show_error(str(exc))

    # -- test images ----------------------------------------------------------------------------

    def make_test_image_dialog(self) -> None:
        if self.doc.photo is None:
            self.parts.show_error("open a clean photo first")
            return
        dialog = TestImageDialog(self.parts.parent)
        if dialog.exec():
            self.make_test_image_from(dialog.choice())

    def make_test_image_from(self, choice: tuple[str, float, int]) -> None:
        if not self.may_discard_result():
            return
        kind, amount, seed = choice
        source = self.doc.require_photo()
        clean = source.rgb if self.doc.reference is None else self.doc.reference
        try:
            test = make_test_image(clean, kind, amount, seed)
        except DipError as exc:
            self.parts.show_error(str(exc))
            return
        self.set_photo(LoadedImage(test.degraded, path=source.path, grey=source.grey))
        self.doc.test_image = {"clean_photo": str(source.path or "pasted"), "degradation": kind, "amount": amount,
                               "seed": seed}
        scale = test.scale or 1
        self.doc.reference = clean[: test.degraded.shape[0] * scale, : test.degraded.shape[1] * scale]
        self.panel.select_task(test.task)
        if test.scale:
            self.panel.scale.setCurrentIndex((2, 4, 8).index(test.scale))
        if test.holes is not None:
            self.parts.input_view.start_mask().apply(test.holes)
            self.parts.input_view.refresh_overlay()
        self.parts.status.setText(f"Test image: {kind} {amount:g}. The clean photo is the reference: PSNR will be shown.")
        self.photo_changed.emit()

    # -- saving ---------------------------------------------------------------------------------

    def save_result_dialog(self) -> bool:
        """Ask where and save there; whether the result was saved."""
        image = self.timeline.displayed_result()
        if image is None:
            self.parts.show_error("there is no result to save yet")
            return False
        suggestion = files.suggested_result_path(
            self.doc.photo.path if self.doc.photo else None,
            self.panel.current_task(),
            self.panel.current_scale(),
            files.last_folder(self.settings),
        )
        path, _ = QFileDialog.getSaveFileName(self.parts.parent, "Save result", str(suggestion), files.SAVE_FILTER)
        if not path:
            return False
        quality = 95
        if Path(path).suffix.lower() in (".jpg", ".jpeg", ".webp"):
            quality, ok = QInputDialog.getInt(self.parts.parent, "Quality", "JPEG/WebP quality (1-100):", 95, 1, 100)
            if not ok:
                return False
        return self.save_result(Path(path), quality)

    def save_result(self, path: Path, quality: int = 95) -> bool:
        image = self.timeline.displayed_result()
        if image is None:
            self.parts.show_error("there is no result to save yet")
            return False
        photo = self.doc.require_photo()
        try:
            alpha = photo.alpha if photo.alpha is not None and photo.alpha.shape == image.shape[:2] else None
            metadata = photo.metadata
            if self.srgb_action.isChecked():
                image, metadata = in_srgb(image, photo)
            save_image(
                path,
                image,
                alpha=alpha,
                bit_depth=photo.bit_depth,
                grey=photo.grey,
                quality=quality,
                protected=(photo.path,) if photo.path else (),
                metadata=metadata,
            )
            if self.sidecar_action.isChecked():
                files.write_sidecar(path, self._sidecar(path))
        except DipError as exc:
            self.parts.show_error(str(exc))
            return False
        self.doc.unsaved_result = False
        self.run.discard_recovery()  # the result is safe on disk
        self.parts.status.setText(f"Saved {path}")
        return True

    def _sidecar(self, result_path: Path) -> dict[str, Any]:
        """What reproduces the saved result: the input (or how the test image was made), the mask
        (saved beside the result), the settings, and the iteration of the image saved."""
        session = self.run.require_session()
        photo = self.doc.require_photo()
        data = self.panel.settings()
        if self.doc.test_image is not None:
            data["test_image"] = self.doc.test_image
        else:
            data["input"] = str(photo.path or "pasted")
        mask = self.parts.input_view.mask_model
        if self.panel.current_task().takes_mask and mask is not None:
            mask_path = files.mask_path_for(result_path)
            save_image(mask_path, mask.holes.astype(np.float32), protected=(photo.path or "", result_path))
            data["mask"] = {"file": mask_path.name, "white": "fill"}
        data.update(
            iteration=self.timeline.displayed_iteration(),
            seconds=round(session.seconds, 2),
            device=session.device.type,
            preset=session.preset.to_dict(),
            seed=session.seed,
        )
        finished = self.run.finished_result()
        if self.parts.timeline.selected is None and finished is not None and finished.start_check is not None:
            data["start_check"] = finished.start_check.to_dict()  # the run's result is this mix of the network's and the start
        return data

    def save_mask_dialog(self) -> None:
        if self.parts.input_view.mask_model is None:
            self.parts.show_error("there is no mask to save")
            return
        path, _ = QFileDialog.getSaveFileName(
            self.parts.parent, "Save mask (white = fill)", files.last_folder(self.settings), "PNG (*.png)"
        )
        if path:
            try:
                protected = (self.doc.photo.path,) if self.doc.photo is not None and self.doc.photo.path else ()
                save_image(path, self.parts.input_view.mask_model.holes.astype(np.float32), protected=protected)
            except DipError as exc:
                self.parts.show_error(str(exc))

    def load_mask_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.parts.parent, "Load mask (white = fill)", files.last_folder(self.settings), files.IMAGE_FILTER
        )
        if path and self.doc.photo is not None:
            self.load_mask_file(Path(path))

    def load_mask_file(self, path: Path) -> bool:
        """Paint the holes of a mask file (white = fill) over the photo, as one undoable step."""
        try:
            known = load_mask(path, self.doc.require_photo().size)
        except DipError as exc:
            self.parts.show_error(str(exc))
            return False
        holes = known < 0.5
        self.parts.input_view.start_mask().apply(holes)
        self.parts.input_view.refresh_overlay()
        share = float(holes.mean())
        message = f"Loaded the mask {path.name}: {share:.0%} of the photo to fill."
        if share > MOSTLY_HOLES:  # masks made for the DIP paper's code mark the known pixels white
            message += " If the mask marks the pixels to keep in white, press Invert."
        self.parts.status.setText(message)
        return True

