"""Window actions on the views and the mask: undo/redo, clear, invert, overlay, compare toggle."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor


class ViewActionsMixin:
    """Mixed into MainWindow; uses its input_view, result_view, panel and side_action."""

    def _mask_op(self, op: str) -> None:
        mask = self.input_view.mask
        if mask is None:
            return
        if op == "undo":
            mask.undo()
        elif op == "redo":
            mask.redo()
        elif op == "clear":
            mask.apply(np.zeros_like(mask.holes))
        elif op == "invert":
            mask.apply(~mask.holes)
        self.input_view.refresh_overlay()

    def _pick_overlay_color(self) -> None:
        color = self.panel.mask_tools.pick_color(self.input_view.overlay_color)
        if color is not None:
            self.input_view.overlay_color = QColor(color)
            self.input_view.refresh_overlay()

    def _overlay_opacity(self, value: int) -> None:
        self.input_view.overlay_opacity = value / 100.0
        self.input_view.refresh_overlay()

    def toggle_compare(self) -> None:
        """One key flips between the input and the result (side by side off), or swaps their sides."""
        if self.side_action.isChecked():
            self.side_action.setChecked(False)
        showing_result = self.result_view.isVisible()
        self.result_view.setVisible(not showing_result)
        self.input_view.setVisible(showing_result)

    def _layout_changed(self) -> None:
        side = self.side_action.isChecked()
        self.input_view.setVisible(True)
        self.result_view.setVisible(side)


    def split_compare(self, on: bool) -> None:
        """Input over the result, left of a draggable divider (the input scaled to the result's size)."""
        image = self.photo.rgb if (on and self.photo is not None) else None
        if on:
            self.side_action.setChecked(False)
            self.input_view.setVisible(False)
            self.result_view.setVisible(True)
        self.result_view.set_compare_image(image)
