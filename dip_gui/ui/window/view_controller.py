"""The window's views: the mask (undo, redo, clear, invert, overlay) and how input and result are compared."""

from __future__ import annotations

from enum import Enum

import numpy as np
from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QColor

from dip_gui.ui.window.document import Document
from dip_gui.ui.window.file_controller import MOSTLY_HOLES, PAINT_INVITATION
from dip_gui.ui.window.parts import WindowParts


class Layout(Enum):
    SIDE_BY_SIDE = "side by side"
    SINGLE = "one at a time"  # the input or the result, T flips
    SPLIT = "split"  # the input left of a divider over the result


class ViewController(QObject):
    """``side_action`` and ``split_action``: the checkable *Side by side* and *Split compare* layouts,
    ticked one at a time; with neither one pane shows at a time."""

    def __init__(self, document: Document, parts: WindowParts, side_action: QAction, split_action: QAction) -> None:
        super().__init__(parts.parent)
        self.doc, self.parts, self.side_action, self.split_action = document, parts, side_action, split_action
        self.layout = Layout.SIDE_BY_SIDE
        self._before_split = Layout.SIDE_BY_SIDE
        self.single_shows_input = True
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

    def invite_to_paint(self) -> None:
        """A task that fills marked pixels, chosen with nothing marked yet, says how to mark them."""
        mask = self.input_view.mask_model
        if (self.parts.panel.current_task().takes_mask and self.doc.photo is not None
                and (mask is None or not mask.holes.any())):
            self.parts.status.setText(PAINT_INVITATION)

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
            share = float(mask.holes.mean())
            if share > MOSTLY_HOLES:
                self.parts.status.setText(
                    f"Inverted: {share:.0%} of the photo is now marked to fill, and only the rest is kept. "
                    "Invert again (or Ctrl+Z) to undo.")
        self.input_view.refresh_overlay()

    def _pick_overlay_color(self) -> None:
        color = self.parts.panel.mask_tools.pick_color(self.input_view.overlay_color)
        if color is not None:
            self.input_view.overlay_color = QColor(color)
            self.input_view.refresh_overlay()

    def _overlay_opacity(self, value: int) -> None:
        self.input_view.overlay_opacity = value / 100.0
        self.input_view.refresh_overlay()

    # -- comparing input and result: one layout at a time ---------------------------------------

    def set_layout(self, layout: Layout) -> None:
        """Show ``layout``; its action alone is ticked, the panes are named, the split follows the photo."""
        if layout is Layout.SPLIT and self.layout is not Layout.SPLIT:
            self._before_split = self.layout
        self.layout = layout
        for action, ticked in ((self.side_action, layout is Layout.SIDE_BY_SIDE),
                               (self.split_action, layout is Layout.SPLIT)):
            action.blockSignals(True)
            action.setChecked(ticked)
            action.blockSignals(False)
        single_input = layout is Layout.SINGLE and self.single_shows_input
        self.input_view.setVisible(layout is Layout.SIDE_BY_SIDE or single_input)
        self.result_view.setVisible(not single_input)
        self.refresh_compare()

    def refresh_compare(self) -> None:
        """The split view compares with the photo open now (called when the photo or layout changes)."""
        photo = self.doc.photo
        splitting = self.layout is Layout.SPLIT and photo is not None
        self.result_view.set_compare_image(photo.rgb if splitting and photo is not None else None)
        self.input_view.set_caption("Input")
        self.result_view.set_caption("Input | Result" if splitting else "Result")

    def side_by_side(self, on: bool) -> None:
        """*Side by side* ticked: both panes; unticked: one at a time (T flips it)."""
        self.set_layout(Layout.SIDE_BY_SIDE if on else Layout.SINGLE)

    def toggle_compare(self) -> None:
        """T: one pane at a time, flipping between the input and the result at each press."""
        if self.layout is Layout.SINGLE:
            self.single_shows_input = not self.single_shows_input
        else:
            self.single_shows_input = True
        self.set_layout(Layout.SINGLE)

    def split_compare(self, on: bool) -> None:
        """S: the input left of a divider over the result; S again returns to the layout before it."""
        self.set_layout(Layout.SPLIT if on else self._before_split)
