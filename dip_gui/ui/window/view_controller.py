"""The window's views: the mask (undo, redo, clear, invert, overlay) and how input and result are compared."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QColor

from dip_gui.ui.window.document import Document
from dip_gui.ui.window.parts import WindowParts


class ViewController(QObject):
    """``side_action``: the checkable *Side by side* layout; without it one pane shows at a time."""

    def __init__(self, document: Document, parts: WindowParts, side_action: QAction) -> None:
        super().__init__(parts.parent)
        self.doc, self.parts, self.side_action = document, parts, side_action
        self.input_view, self.result_view = parts.input_view, parts.result_view
        tools = parts.panel.mask_tools
        tools.brush_size.valueChanged.connect(self.input_view.set_brush_radius)
        self.input_view.brush_size_changed.connect(tools.brush_size.setValue)
        tools.erase.toggled.connect(lambda on: setattr(self.input_view, "erasing", on))
        tools.clear_button.clicked.connect(lambda: self.mask_op("clear"))
        tools.invert_button.clicked.connect(lambda: self.mask_op("invert"))
        tools.color_button.clicked.connect(self._pick_overlay_color)
        tools.opacity.valueChanged.connect(self._overlay_opacity)

    def show_task(self) -> None:
        """The panel's task or scale changed: paint a mask only where the task takes one, and draw a
        super-resolution input at its result's size."""
        task = self.parts.panel.current_task()
        self.input_view.enable_mask(task.takes_mask and self.doc.photo is not None)
        self.input_view.set_display_scale(float(self.parts.panel.current_scale() or 1))  # a scale for SR only

    def mask_op(self, op: str) -> None:
        mask = self.input_view.mask_model
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
        color = self.parts.panel.mask_tools.pick_color(self.input_view.overlay_color)
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

    def layout_changed(self) -> None:
        side = self.side_action.isChecked()
        self.input_view.setVisible(True)
        self.result_view.setVisible(side)

    def split_compare(self, on: bool) -> None:
        """Input over the result, left of a draggable divider (the input scaled to the result's size)."""
        photo = self.doc.photo
        image = photo.rgb if (on and photo is not None) else None
        if on:
            self.side_action.setChecked(False)
            self.input_view.setVisible(False)
            self.result_view.setVisible(True)
        self.result_view.set_compare_image(image)
