"""numpy <-> QImage conversion (GUI thread only). Images are copied, so numpy memory may go."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor, QImage

from dip_gui.core.imaging import to_uint8


def array_to_qimage(image: np.ndarray) -> QImage:
    """HxWx3 float [0, 1] or uint8 -> an RGB888 QImage that owns its pixels (stride aware)."""
    data = image if image.dtype == np.uint8 else to_uint8(image)
    if data.ndim == 2:
        data = np.repeat(data[:, :, None], 3, axis=2)
    data = np.ascontiguousarray(data[:, :, :3])
    height, width = data.shape[:2]
    qimage = QImage(data.data, width, height, data.strides[0], QImage.Format.Format_RGB888)
    return qimage.copy()  # detach from the numpy buffer


def mask_overlay(holes: np.ndarray, color: QColor, opacity: float) -> QImage:
    """Boolean HxW holes -> premultiplied ARGB image: colour where a hole is, transparent elsewhere."""
    height, width = holes.shape
    alpha = round(255 * opacity)
    rgba = np.zeros((height, width, 4), np.uint8)
    rgba[holes] = (color.red() * alpha // 255, color.green() * alpha // 255, color.blue() * alpha // 255, alpha)
    qimage = QImage(rgba.data, width, height, rgba.strides[0], QImage.Format.Format_RGBA8888_Premultiplied)
    return qimage.copy()


def qimage_to_array(qimage: QImage) -> np.ndarray:
    """Any QImage (clipboard, drops) -> HxWx3 float32 in [0, 1]."""
    converted = qimage.convertToFormat(QImage.Format.Format_RGB888)
    width, height, stride = converted.width(), converted.height(), converted.bytesPerLine()
    buffer = np.frombuffer(converted.constBits(), np.uint8, count=stride * height).reshape(height, stride)
    return buffer[:, : width * 3].reshape(height, width, 3).astype(np.float32) / 255.0
