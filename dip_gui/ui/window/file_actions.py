"""Window actions that read and write files: saving results and masks, test images, sidecars."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QFileDialog, QInputDialog

from dip_gui.core.errors import DipError
from dip_gui.core.imaging import LoadedImage, load_mask, save_image
from dip_gui.ui.widgets.degrade_dialog import TestImageDialog, make_test_image
from dip_gui.ui.window import files

#: A loaded mask that marks more than this share of the photo to fill is likely the other way round.
MOSTLY_HOLES = 0.5


class FileActionsMixin:
    """Mixed into MainWindow; uses its photo, reference, panel, views, run and show_error."""

    # -- test images ----------------------------------------------------------------------------

    def make_test_image_dialog(self) -> None:
        if self.photo is None:
            self.show_error("open a clean photo first")
            return
        dialog = TestImageDialog(self)
        if dialog.exec():
            self.make_test_image_from(dialog.choice())

    def make_test_image_from(self, choice: tuple[str, float, int]) -> None:
        kind, amount, seed = choice
        clean = self.photo.rgb if self.reference is None else self.reference
        try:
            test = make_test_image(clean, kind, amount, seed)
        except DipError as exc:
            self.show_error(str(exc))
            return
        source = self.photo
        self._set_photo(LoadedImage(test.degraded, path=source.path, grey=source.grey))
        scale = test.scale or 1
        self.reference = clean[: test.degraded.shape[0] * scale, : test.degraded.shape[1] * scale]
        self.panel.select_task(test.task)
        if test.scale:
            self.panel.scale.setCurrentIndex((2, 4, 8).index(test.scale))
        if test.holes is not None:
            self.input_view.enable_mask(True)
            self.input_view.mask.apply(test.holes)
            self.input_view.refresh_overlay()
        self.status.setText(f"Test image: {kind} {amount:g}. The clean photo is the reference: PSNR will be shown.")
        self._update_title()

    # -- saving ---------------------------------------------------------------------------------

    def save_result_dialog(self) -> None:
        image = self.displayed_result()
        if image is None:
            self.show_error("there is no result to save yet")
            return
        suggestion = files.suggested_result_path(
            self.photo.path if self.photo else None,
            self.panel.current_task(),
            self.panel.current_scale(),
            self.settings.value("last_folder", ""),
        )
        path, _ = QFileDialog.getSaveFileName(self, "Save result", str(suggestion), files.SAVE_FILTER)
        if not path:
            return
        quality = 95
        if Path(path).suffix.lower() in (".jpg", ".jpeg", ".webp"):
            quality, ok = QInputDialog.getInt(self, "Quality", "JPEG/WebP quality (1-100):", 95, 1, 100)
            if not ok:
                return
        self.save_result(Path(path), quality)

    def save_result(self, path: Path, quality: int = 95) -> bool:
        image = self.displayed_result()
        photo = self.photo
        try:
            alpha = photo.alpha if photo.alpha is not None and photo.alpha.shape == image.shape[:2] else None
            save_image(
                path,
                image,
                alpha=alpha,
                bit_depth=photo.bit_depth,
                grey=photo.grey,
                quality=quality,
                protected=(photo.path,) if photo.path else (),
            )
            if self.sidecar_action.isChecked():
                files.write_sidecar(path, self._sidecar())
        except DipError as exc:
            self.show_error(str(exc))
            return False
        self.unsaved_result = False
        self.discard_recovery()  # the result is safe on disk
        self.status.setText(f"Saved {path}")
        return True

    def _sidecar(self) -> dict:
        session = self.run.session
        data = self.panel.settings()
        data.update(
            input=str(self.photo.path or "pasted"),
            iteration=session.iteration,
            seconds=round(session.seconds, 2),
            device=session.device.type,
            preset=session.preset.to_dict(),
            seed=session.seed,
        )
        return data

    def save_mask_dialog(self) -> None:
        if self.input_view.mask is None:
            self.show_error("there is no mask to save")
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Save mask (white = fill)", self.settings.value("last_folder", ""), "PNG (*.png)"
        )
        if path:
            try:
                save_image(
                    path, self.input_view.mask.holes.astype(np.float32), protected=(self.photo.path,) if self.photo.path else ()
                )
            except DipError as exc:
                self.show_error(str(exc))

    def load_mask_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Load mask (white = fill)", self.settings.value("last_folder", ""), files.IMAGE_FILTER
        )
        if path and self.photo is not None:
            self.load_mask_file(Path(path))

    def load_mask_file(self, path: Path) -> bool:
        """Paint the holes of a mask file (white = fill) over the photo, as one undoable step."""
        try:
            known = load_mask(path, self.photo.size)
        except DipError as exc:
            self.show_error(str(exc))
            return False
        holes = known < 0.5
        self.input_view.enable_mask(True)
        self.input_view.mask.apply(holes)
        self.input_view.refresh_overlay()
        share = float(holes.mean())
        message = f"Loaded the mask {path.name}: {share:.0%} of the photo to fill."
        if share > MOSTLY_HOLES:  # masks made for the DIP paper's code mark the known pixels white
            message += " If the mask marks the pixels to keep in white, press Invert."
        self.status.setText(message)
        return True

