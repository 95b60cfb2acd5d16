"""'Make a test image': degrade the loaded clean photo and keep it as the PSNR reference."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QSpinBox

from dip_gui.core.problem import degradations as deg

KINDS = ("noise", "downscale", "drop", "jpeg")
LABELS = {
    "noise": "Gaussian noise",
    "downscale": "Downscale (for super-resolution)",
    "drop": "Drop random pixels",
    "jpeg": "JPEG compression",
}


@dataclass
class TestImage:
    """The degraded photo, the task that undoes it, and what the run needs besides."""

    degraded: np.ndarray
    task: str
    scale: int | None = None
    holes: np.ndarray | None = None  # True = missing


def make_test_image(clean: np.ndarray, kind: str, amount: float, seed: int = 0) -> TestImage:
    if kind == "noise":
        return TestImage(deg.add_gaussian_noise(clean, amount, seed), "denoise")
    if kind == "downscale":
        return TestImage(deg.downscale(clean, int(amount)), "sr", scale=int(amount))
    if kind == "drop":
        known = deg.random_known_mask(clean.shape[:2], amount, seed)
        return TestImage(clean * known[:, :, None], "restore", holes=known < 0.5)
    if kind == "jpeg":
        return TestImage(deg.jpeg_compress(clean, int(amount)), "jpeg")
    raise ValueError(kind)


class TestImageDialog(QDialog):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Make a test image")
        self.kind = QComboBox()
        for kind in KINDS:
            self.kind.addItem(LABELS[kind], kind)
        self.noise = QDoubleSpinBox()
        self.noise.setRange(1, 100)
        self.noise.setValue(25)
        self.noise.setToolTip("Noise standard deviation on the 0-255 scale (the paper uses 25)")
        self.factor = QComboBox()
        for factor in (2, 4, 8):
            self.factor.addItem(f"x{factor}", factor)
        self.factor.setCurrentIndex(1)
        self.drop = QDoubleSpinBox()
        self.drop.setRange(0.05, 0.98)
        self.drop.setSingleStep(0.05)
        self.drop.setValue(0.5)
        self.drop.setToolTip("Fraction of pixels to remove")
        self.quality = QSpinBox()
        self.quality.setRange(1, 95)
        self.quality.setValue(10)
        self.seed = QSpinBox()
        self.seed.setRange(0, 10**6)
        form = QFormLayout(self)
        form.addRow("Degradation", self.kind)
        form.addRow("Noise sigma", self.noise)
        form.addRow("Downscale factor", self.factor)
        form.addRow("Dropped fraction", self.drop)
        form.addRow("JPEG quality", self.quality)
        form.addRow("Seed", self.seed)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.form = form
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self._kind_changed()

    def _kind_changed(self) -> None:
        kind = self.kind.currentData()
        for widget, owner in ((self.noise, "noise"), (self.factor, "downscale"), (self.drop, "drop"), (self.quality, "jpeg")):
            self.form.setRowVisible(widget, kind == owner)

    def choice(self) -> tuple[str, float, int]:
        kind = self.kind.currentData()
        amount = {
            "noise": self.noise.value(),
            "downscale": self.factor.currentData(),
            "drop": self.drop.value(),
            "jpeg": self.quality.value(),
        }[kind]
        return kind, float(amount), self.seed.value()
