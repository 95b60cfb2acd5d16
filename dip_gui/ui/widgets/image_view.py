"""Zoomable image view with mask painting (brush, eraser, undo/redo, overlay, cursor outline).

The mask lives here as a boolean numpy array, True = hole (what the user paints); the window
converts it to the core's convention (1 = known) once, when a run starts.
"""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPen, QPixmap, QWheelEvent
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsLineItem,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsView,
    QLabel,
)

from dip_gui.ui.widgets.qimage import array_to_qimage, mask_overlay

ZOOM_STEP = 1.25
#: The pane's name and zoom, in its top-left corner over the photo.
CAPTION_STYLE = "background: rgba(0, 0, 0, 150); color: white; padding: 2px 6px; border-radius: 3px;"
#: [ and ] scale the brush by about this much, and by at least a pixel, so a small brush changes too.
BRUSH_STEP = 1.25


def brush_step(radius: float, smaller: bool) -> float:
    """The next whole-pixel brush radius down or up from ``radius``."""
    if smaller:
        return float(max(1, min(round(radius) - 1, round(radius / BRUSH_STEP))))
    return float(max(round(radius) + 1, round(radius * BRUSH_STEP)))
MAX_UNDO = 50


class MaskModel:
    """The painted holes plus an undo/redo history of whole-mask copies (one per stroke)."""

    def __init__(self, height: int, width: int) -> None:
        self.holes = np.zeros((height, width), bool)
        self._undo: list[np.ndarray] = []
        self._redo: list[np.ndarray] = []

    def begin_stroke(self) -> None:
        self._undo.append(self.holes.copy())
        del self._undo[:-MAX_UNDO]
        self._redo.clear()

    def paint(self, start: tuple[float, float], end: tuple[float, float], radius: float, erase: bool) -> None:
        """A round-capped line from start to end (x, y in pixels)."""
        layer = np.zeros(self.holes.shape, np.uint8)
        p0 = (round(start[0]), round(start[1]))
        p1 = (round(end[0]), round(end[1]))
        thickness = max(1, round(2 * radius))
        cv2.line(layer, p0, p1, 1, thickness=thickness, lineType=cv2.LINE_8)
        cv2.circle(layer, p1, max(0, round(radius)), 1, thickness=-1)
        if erase:
            self.holes &= layer == 0
        else:
            self.holes |= layer > 0

    def apply(self, holes: np.ndarray) -> None:
        """Replace the mask as one undoable step (clear, invert, load)."""
        self.begin_stroke()
        self.holes = holes.astype(bool).copy()

    def undo(self) -> bool:
        if not self._undo:
            return False
        self._redo.append(self.holes)
        self.holes = self._undo.pop()
        return True

    def redo(self) -> bool:
        if not self._redo:
            return False
        self._undo.append(self.holes)
        self.holes = self._redo.pop()
        return True


class ImageCanvas(QGraphicsView):
    """Shows one image; optionally lets the user paint a mask over it."""

    view_changed = Signal()  # zoom or scroll changed (for synchronised views)
    mask_changed = Signal()
    brush_size_changed = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setBackgroundBrush(QColor(40, 40, 40))
        self.setMouseTracking(True)
        self._pixmap = QGraphicsPixmapItem()
        self._pixmap.setTransformationMode(Qt.TransformationMode.FastTransformation)
        self._overlay = QGraphicsPixmapItem()
        self._cursor = QGraphicsEllipseItem()
        self._cursor.setPen(QPen(QColor(255, 255, 255), 0, Qt.PenStyle.DashLine))
        self._cursor.setVisible(False)
        for z, item in enumerate((self._pixmap, self._overlay, self._cursor)):
            item.setZValue(z)
            self.scene().addItem(item)
        self.mask_model: MaskModel | None = None
        self.painting_enabled = False
        self.erasing = False
        self.brush_radius = 12.0
        self.overlay_color = QColor(255, 40, 40)
        self.overlay_opacity = 0.5
        self._last_point: QPointF | None = None
        self._panning = False
        self._space_down = False
        self._pan_origin = QPointF()
        self._auto_fit = True  # keep fitting on resize until the user zooms
        self._display_scale = 1.0
        self._build_compare()
        self._caption_name = ""
        # a child of the view, not of its viewport: the viewport's children scroll with the photo
        self.caption = QLabel(self)
        self.caption.setStyleSheet(CAPTION_STYLE)
        self.caption.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.caption.hide()
        self.horizontalScrollBar().valueChanged.connect(self.view_changed)
        self.verticalScrollBar().valueChanged.connect(self.view_changed)
        self.view_changed.connect(self._show_caption)

    # -- caption --------------------------------------------------------------------------------

    def set_caption(self, name: str) -> None:
        """Name the pane (\"Input\", \"Result\"); its zoom is shown beside the name."""
        self._caption_name = name
        self._show_caption()

    def caption_text(self) -> str:
        return self._caption_name

    def _show_caption(self) -> None:
        if not self._caption_name:
            self.caption.hide()
            return
        zoom = "" if self._pixmap.pixmap().isNull() else f" · {self.zoom_factor() * self._display_scale:.0%}"
        self.caption.setText(self._caption_name + zoom)
        self.caption.adjustSize()
        self.caption.move(self.viewport().x() + 6, self.viewport().y() + 6)
        self.caption.show()
        self.caption.raise_()

    # -- image and mask -------------------------------------------------------------------------

    def set_image(self, image: np.ndarray | None, keep_view: bool = False) -> None:
        """Show ``image``; None empties the pane (no scroll range or divider left of the last one)."""
        if image is None:
            self._pixmap.setPixmap(QPixmap())
            self._set_scene_rect()
            self._layout_compare()
            self.fit()
            return
        first = self._pixmap.pixmap().isNull() or self._pixmap.pixmap().size().toTuple() != (image.shape[1], image.shape[0])
        self._pixmap.setPixmap(QPixmap.fromImage(array_to_qimage(image)))
        self._set_scene_rect()
        if first:
            self._layout_compare()
        if first and not keep_view:
            self.fit()
        self._show_caption()

    def set_display_scale(self, scale: float) -> None:
        """Draw each image pixel as ``scale`` x ``scale`` (nearest neighbour). A super-resolution
        input is shown at its result's size, so that the synchronised views, which share zoom and
        scroll, show the same part of the photo (at 1 the input was a quarter of the result at x4)."""
        if self.painting_enabled and scale != 1.0:
            raise ValueError("the mask is painted in image pixels: no display scale while painting")
        if scale == self._display_scale:
            return
        self._display_scale = scale
        self._pixmap.setScale(scale)
        self._set_scene_rect()
        if self._auto_fit:
            self.fit()

    def _set_scene_rect(self) -> None:
        size = self._pixmap.pixmap().size()
        if size.isEmpty() and self.comparing:  # no result yet: the compared photo alone
            size = self._compare.pixmap().size()
        self.scene().setSceneRect(QRectF(0, 0, size.width() * self._display_scale, size.height() * self._display_scale))

    def start_mask(self) -> MaskModel:
        """Turn painting on and return the mask (made empty if there was none of the image's size)."""
        self.enable_mask(True)
        assert self.mask_model is not None
        return self.mask_model

    def enable_mask(self, enabled: bool) -> None:
        """Turn painting on (creating an empty mask of the image's size if needed)."""
        if enabled:
            self.set_display_scale(1.0)
        self.painting_enabled = enabled
        size = self._pixmap.pixmap().size()
        if enabled and (self.mask_model is None or self.mask_model.holes.shape != (size.height(), size.width())):
            self.mask_model = MaskModel(size.height(), size.width())
        self._overlay.setVisible(enabled)
        self.refresh_overlay()

    def refresh_overlay(self) -> None:
        if self.mask_model is not None:
            overlay = mask_overlay(self.mask_model.holes, self.overlay_color, self.overlay_opacity)
            self._overlay.setPixmap(QPixmap.fromImage(overlay))
        self.mask_changed.emit()

    def set_brush_radius(self, radius: float) -> None:
        self.brush_radius = float(min(max(radius, 1.0), 500.0))
        self.brush_size_changed.emit(int(self.brush_radius))
        self._update_cursor(self._cursor.rect().center() if self._cursor.isVisible() else None)

    # -- split compare: another image left of a draggable divider --------------------------------

    def _build_compare(self) -> None:
        self._clip = QGraphicsRectItem()
        self._clip.setFlag(QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape, True)
        self._clip.setPen(QPen(Qt.PenStyle.NoPen))
        self._compare = QGraphicsPixmapItem(self._clip)
        self._divider = QGraphicsLineItem()
        pen = QPen(QColor(255, 255, 255), 2)
        pen.setCosmetic(True)
        self._divider.setPen(pen)
        for z, item in ((3, self._clip), (4, self._divider)):
            item.setZValue(z)
            item.setVisible(False)
            self.scene().addItem(item)
        self.split = 0.5
        self._dragging_divider = False

    @property
    def comparing(self) -> bool:
        return self._clip.isVisible()

    def compare_size(self) -> tuple[int, int] | None:
        """(width, height) of the image left of the divider, None when not comparing."""
        return self._compare.pixmap().size().toTuple() if self.comparing else None

    def set_compare_image(self, image: np.ndarray | None) -> None:
        """Show ``image`` (scaled to this view's image) left of the divider; None turns it off.
        Before there is an image of the view's own, ``image`` fills the pane with no divider."""
        on = image is not None
        self._clip.setVisible(on)
        if image is not None:
            self._compare.setPixmap(QPixmap.fromImage(array_to_qimage(image)))
        self._layout_compare()
        self._set_scene_rect()
        if on and self._auto_fit:
            self.fit()

    def _layout_compare(self) -> None:
        """Scale the compared image to the view's image and place the divider (after either changes)."""
        compare = self._compare.pixmap()
        self._divider.setVisible(self.comparing and not self._pixmap.pixmap().isNull())
        if not self.comparing or compare.isNull():
            return
        base = self._pixmap.pixmap()
        self._compare.setScale(1.0 if base.isNull() else base.width() / compare.width())
        self.set_split(self.split)

    def set_split(self, fraction: float) -> None:
        self.split = min(max(fraction, 0.0), 1.0)
        base = self._pixmap.pixmap()
        if base.isNull():  # the compared image alone
            size = self._compare.pixmap().size()
            self._clip.setRect(QRectF(0, 0, size.width(), size.height()))
            return
        x = self.split * base.width()
        self._clip.setRect(QRectF(0, 0, x, base.height()))
        self._divider.setLine(x, 0, x, base.height())

    # -- zoom and pan ---------------------------------------------------------------------------

    def zoom_factor(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float) -> None:
        self._auto_fit = False
        factor = min(max(factor, 0.02), 64.0)
        self.setTransform(self.transform().fromScale(factor, factor))
        self.view_changed.emit()

    def fit(self) -> None:
        """Show the whole image, and keep doing so as the pane is resized, until the user zooms."""
        self._auto_fit = True
        if not self.sceneRect().isEmpty():
            self.fitInView(self.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
        self.view_changed.emit()

    def actual_size(self) -> None:
        self.set_zoom(1.0)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._auto_fit:
            self.fit()

    def wheelEvent(self, event: QWheelEvent) -> None:  # zoom around the cursor
        step = ZOOM_STEP if event.angleDelta().y() > 0 else 1 / ZOOM_STEP
        self.set_zoom(self.zoom_factor() * step)

    # -- painting and panning -------------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.MiddleButton or (self._space_down and event.button() == Qt.MouseButton.LeftButton):
            self._panning, self._pan_origin = True, event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        if event.button() == Qt.MouseButton.LeftButton and self._divider.isVisible():
            # the divider jumps to the click and follows the drag: no need to hit a 2 px line
            self._dragging_divider = True
            self.set_split(self.mapToScene(event.position().toPoint()).x() / max(self._pixmap.pixmap().width(), 1))
            return
        if (
            self.painting_enabled
            and self.mask_model is not None
            and event.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton)
        ):
            self.mask_model.begin_stroke()
            self._last_point = self.mapToScene(event.position().toPoint())
            self._stroke_to(self._last_point, erase=self.erasing or event.button() == Qt.MouseButton.RightButton)
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        point = self.mapToScene(event.position().toPoint())
        self._update_cursor(point if self.painting_enabled else None)
        if self._dragging_divider:
            self.set_split(point.x() / max(self._pixmap.pixmap().width(), 1))
            return
        if self._panning:
            delta = event.position() - self._pan_origin
            self._pan_origin = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
            return
        if self._last_point is not None:
            erase = self.erasing or bool(event.buttons() & Qt.MouseButton.RightButton)
            self._stroke_to(point, erase)
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._dragging_divider = False
        if self._panning:
            self._panning = False
            self.viewport().unsetCursor()
            return
        self._last_point = None
        super().mouseReleaseEvent(event)

    def event(self, event) -> bool:
        # While painting a mask, Space means "pan" here, not the window's Pause shortcut.
        if (event.type() == QEvent.Type.ShortcutOverride and self.painting_enabled
                and event.key() == Qt.Key.Key_Space):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_down = True
        elif event.key() == Qt.Key.Key_BracketLeft:
            self.set_brush_radius(brush_step(self.brush_radius, smaller=True))
        elif event.key() == Qt.Key.Key_BracketRight:
            self.set_brush_radius(brush_step(self.brush_radius, smaller=False))
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_down = False
        super().keyReleaseEvent(event)

    def leaveEvent(self, event) -> None:
        self._cursor.setVisible(False)
        super().leaveEvent(event)

    def _stroke_to(self, point: QPointF, erase: bool) -> None:
        start = self._last_point or point
        if self.mask_model is None:  # strokes are drawn only while painting is on, which makes the mask
            return
        self.mask_model.paint((start.x(), start.y()), (point.x(), point.y()), self.brush_radius, erase)
        self._last_point = point
        self.refresh_overlay()

    def _update_cursor(self, point: QPointF | None) -> None:
        if point is None:
            self._cursor.setVisible(False)
            return
        r = self.brush_radius
        self._cursor.setRect(QRectF(point.x() - r, point.y() - r, 2 * r, 2 * r))
        self._cursor.setVisible(True)

    def paint_stroke(self, points: list[tuple[float, float]], erase: bool = False) -> None:
        """Paint a stroke through image coordinates (scripting and tests)."""
        mask = self.mask_model if self.mask_model is not None else self.start_mask()
        mask.begin_stroke()
        for start, end in zip(points, points[1:] or points):
            mask.paint(start, end, self.brush_radius, erase)
        self.refresh_overlay()


def sync_views(a: ImageCanvas, b: ImageCanvas) -> None:
    """Keep zoom and scroll of two canvases in step."""
    busy = [False]

    def copy(src: ImageCanvas, dst: ImageCanvas) -> None:
        if busy[0]:
            return
        busy[0] = True
        try:
            dst._auto_fit = src._auto_fit  # a pane zoomed by the user keeps its zoom on resize, in step
            dst.setTransform(src.transform())
            dst.horizontalScrollBar().setValue(src.horizontalScrollBar().value())
            dst.verticalScrollBar().setValue(src.verticalScrollBar().value())
            dst._show_caption()
        finally:
            busy[0] = False

    a.view_changed.connect(lambda: copy(a, b))
    b.view_changed.connect(lambda: copy(b, a))
