"""Side panel: task, preset and the main hyper-parameters, each with a plain-words tooltip."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from dip_gui.core.errors import DipError
from dip_gui.core.networks import SkipSpec
from dip_gui.core.problem.choices import Task
from dip_gui.core.problem.degradations import MAX_BLUR_PER_SCALE
from dip_gui.core.problem.photo_traits import PhotoTraits
from dip_gui.core.problem.presets import TASKS, Preset, fitted_for, get_preset, presets_for
from dip_gui.core.problem.tasks import TASK_LABELS
from dip_gui.core.runtime.device import available_devices, resolve_device

CUSTOM = "custom"
#: The host-memory settings (core/runtime/host_memory.py) as people would name them.
MEMORY_CHOICES = (("Auto", "auto"), ("Use less memory", "lean"), ("Faster, more memory", "fast"))
WIDTHS = {
    "as preset": None,
    "small (16-64 channels)": (16, 32, 64, 64, 64),
    "medium (32-128 channels)": (32, 64, 128, 128, 128),
    "paper (128 channels)": (128,) * 5,
}


def _spin(widget, tip: str, lo, hi, step=None, decimals=None):
    widget.setRange(lo, hi)
    if step is not None:
        widget.setSingleStep(step)
    if decimals is not None:
        widget.setDecimals(decimals)
    widget.setToolTip(tip)
    return widget


class TaskPanel(QWidget):
    """Emits ``changed`` whenever the task, scale or any setting changes."""

    changed = Signal()
    guide_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._loading = False
        self._custom_from: str | None = None  # the preset "custom" edits were made to
        #: What the open photo's pixels say: its JPEG quality and noise level (None: no photo read).
        self.traits: PhotoTraits | None = None
        self.task = QComboBox()
        for task in TASKS:
            self.task.addItem(TASK_LABELS[task], task)
        self.task.setToolTip("What is wrong with the photo")
        self.scale = QComboBox()
        for factor in (2, 4, 8):
            self.scale.addItem(f"x{factor}", factor)
        self.scale.setCurrentIndex(1)
        self.scale.setToolTip("How many times larger the result is")
        self.blur = _spin(QDoubleSpinBox(), "How much softer the small photo is than a sharp downscale: a camera's\n"
                          "or a phone's blur, as a Gaussian's width in pixels of the result. 0 for a photo\n"
                          "made smaller by software; about 2 at x4 for a soft small photo. Too much rings\n"
                          "around edges: the first preview shows it.", 0.0, 16.0, 0.5, 1)
        self.blur.setSuffix(" px")
        self.preset = QComboBox()
        self.preset.setToolTip("fast: good in minutes on a CPU; paper: the original settings (slow, best on a GPU)")
        self.guide_button = QPushButton("Choose flash photo…")
        self.guide_button.setToolTip("The photo taken with flash; its details guide the result")
        self.guide_label = QLabel("no flash photo")
        self.iterations = _spin(QSpinBox(), "How many optimisation steps to run", 1, 100000, 100)
        self.lr = _spin(QDoubleSpinBox(), "Step size: larger learns faster but may become unstable", 0.0001, 1.0, 0.001, 4)
        self.jitter = _spin(
            QDoubleSpinBox(), "Noise added to the network input each step; more = smoother result", 0.0, 1.0, 0.01, 3
        )
        self.ema = _spin(QDoubleSpinBox(), "Averages recent outputs to remove flicker (0 = off)", 0.0, 0.999, 0.01, 3)
        self.width_box = QComboBox()
        self.width_box.addItems(list(WIDTHS))
        self.width_box.setToolTip("Network size: larger is slower but can fit finer detail")
        self.seed = _spin(QSpinBox(), "Same seed, same result on the same device", 0, 2**31 - 1)
        self.device = QComboBox()
        self.device.addItems(available_devices())
        self.device.setToolTip("Where to compute: auto picks a GPU when there is one")
        self.memory = QComboBox()
        for label, setting in MEMORY_CHOICES:
            self.memory.addItem(label, setting)
        self.memory.setToolTip(
            "CPU runs: keeping freed memory for reuse spares every iteration its page faults (1.5-1.7x faster\n"
            "from 512 px up) for about 1.5x the memory. Auto keeps it when that adds at most 1 GB and the run\n"
            "stays under 2.5 GB; 'Faster' keeps it whatever the size. The estimate below follows the choice.\n"
            "GPU runs ignore it.")
        self.estimate = QLabel("")
        self.estimate.setWordWrap(True)
        self.estimate.setToolTip("Measured on a small crop and scaled to this photo")
        self._layout()
        self.task.currentIndexChanged.connect(self._task_changed)
        self.preset.currentIndexChanged.connect(self._preset_changed)
        self.scale.currentIndexChanged.connect(self._preset_changed)
        self.scale.currentIndexChanged.connect(self._limit_blur)
        self._limit_blur()
        self.guide_button.clicked.connect(self.guide_requested)
        for box in (self.iterations, self.lr, self.jitter, self.ema, self.seed):
            box.valueChanged.connect(self._edited)
        self.blur.valueChanged.connect(self.changed)
        self.width_box.currentIndexChanged.connect(self._edited)
        self.device.currentIndexChanged.connect(self.changed)
        self.memory.currentIndexChanged.connect(self.changed)
        self.device.currentIndexChanged.connect(self._device_changed)
        self._device_changed()
        self._task_changed()

    def _layout(self) -> None:
        """What a photographer sets first at the top (task, preset, length, the mask to paint), the
        network's own settings folded under *Advanced settings*: the panel fits a 1280x800 window."""
        form = QFormLayout()
        form.addRow("Task", self.task)
        form.addRow("Scale", self.scale)
        form.addRow("Camera blur", self.blur)
        form.addRow("Preset", self.preset)
        guide_row = QHBoxLayout()
        guide_row.addWidget(self.guide_button)
        guide_row.addWidget(self.guide_label)
        self.guide_widget = QWidget()
        self.guide_widget.setLayout(guide_row)
        form.addRow(self.guide_widget)
        form.addRow("Iterations", self.iterations)
        self.form = form
        self.advanced_toggle = QToolButton()
        self.advanced_toggle.setText("Advanced settings")
        self.advanced_toggle.setCheckable(True)
        self.advanced_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_toggle.setAutoRaise(True)
        self.advanced = QWidget()
        advanced = QFormLayout(self.advanced)
        advanced.setContentsMargins(0, 0, 0, 0)
        advanced.addRow("Learning rate", self.lr)
        advanced.addRow("Input jitter", self.jitter)
        advanced.addRow("Output averaging", self.ema)
        advanced.addRow("Network size", self.width_box)
        advanced.addRow("Seed", self.seed)
        advanced.addRow("Device", self.device)
        advanced.addRow("Memory", self.memory)
        self.advanced_toggle.toggled.connect(self.show_advanced)
        self.show_advanced(False)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        self.mask_tools = MaskTools()
        layout.addWidget(self.mask_tools)
        layout.addWidget(self.estimate)
        layout.addWidget(self.advanced_toggle)
        layout.addWidget(self.advanced)
        layout.addStretch(1)

    def show_advanced(self, shown: bool) -> None:
        """Unfold (or fold) the network's settings: learning rate, jitter, averaging, size, seed, device."""
        self.advanced_toggle.setChecked(shown)
        self.advanced_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self.advanced.setVisible(shown)

    # -- values ---------------------------------------------------------------------------------

    def current_task(self) -> Task:
        return Task(self.task.currentData())

    def current_scale(self) -> int | None:
        return self.scale.currentData() if self.current_task().changes_size else None

    def current_blur(self) -> float:
        """Super-resolution's camera blur (``Problem.blur``); 0 for the other tasks."""
        return self.blur.value() if self.current_task().changes_size else 0.0

    def base_preset_name(self) -> str | None:
        """The named preset, or for "custom" the one its edits were made to."""
        name = self.preset.currentData()
        return self._custom_from if name == CUSTOM else name

    @property
    def is_custom(self) -> bool:
        return self.preset.currentData() == CUSTOM

    def base_preset(self) -> Preset:
        """The named preset, or for "custom" the one its edits were made to (its network and input)."""
        return fitted_for(get_preset(self.current_task(), self.base_preset_name()), self.current_scale(), self.traits)

    def set_photo_traits(self, traits: PhotoTraits | None) -> None:
        """What the open photo's pixels say (None: no photo): a strongly compressed or noisy one gets
        the schedule it calls for (``presets.fitted_for``), shown at once unless the settings are custom."""
        if traits != self.traits:
            self.traits = traits
            self._preset_changed()

    def current_preset(self) -> Preset:
        """The preset with the panel's edits applied."""
        preset = self.base_preset()
        widths = WIDTHS[self.width_box.currentText()]
        net = preset.net
        if widths is not None:
            net = replace(net, channels_down=widths, channels_up=widths, channels_skip=(4,) * len(widths))
        ema = self.ema.value()
        return replace(
            preset,
            iterations=self.iterations.value(),
            lr=self.lr.value(),
            reg_noise_std=self.jitter.value(),
            ema=ema if ema > 0 else None,
            net=net if isinstance(net, SkipSpec) else preset.net,
            name=CUSTOM if self.preset.currentData() == CUSTOM else preset.name,
        )

    def _limit_blur(self) -> None:
        """The widest camera blur the scale takes (``degradations.check_blur``)."""
        self.blur.setMaximum(MAX_BLUR_PER_SCALE * self.scale.currentData())

    def _device_changed(self) -> None:
        """The memory setting is about the CPU's allocator: greyed out where the run goes to a GPU."""
        try:
            on_cpu = resolve_device(self.device.currentText()).type == "cpu"
        except DipError:
            on_cpu = True
        self.memory.setEnabled(on_cpu)

    def current_host_memory(self) -> str:
        """``auto``, ``lean`` or ``fast`` (core/runtime/host_memory.py)."""
        return self.memory.currentData()

    def select_host_memory(self, setting: str) -> None:
        index = self.memory.findData(setting)
        if index >= 0:
            self.memory.setCurrentIndex(index)

    def settings(self) -> dict:
        return {
            "task": self.current_task(),
            "scale": self.current_scale(),
            "blur": self.current_blur(),
            "seed": self.seed.value(),
            "device": self.device.currentText(),
            "host_memory": self.current_host_memory(),
            "preset": self.current_preset().to_dict(),
        }

    # -- reactions ------------------------------------------------------------------------------

    def _task_changed(self) -> None:
        task = self.current_task()
        self._loading = True
        self.preset.clear()
        self._custom_from = None
        for preset in presets_for(task):
            self.preset.addItem(preset.name, preset.name)
        self.preset.addItem(CUSTOM, CUSTOM)
        self._loading = False
        self.form.setRowVisible(self.scale, task.changes_size)
        self.form.setRowVisible(self.blur, task.changes_size)
        self.form.setRowVisible(self.guide_widget, task.needs_guide)
        self.mask_tools.setVisible(task.takes_mask)
        self._preset_changed()

    def _preset_changed(self) -> None:
        if self._loading or self.preset.currentData() == CUSTOM:
            return
        self._custom_from = self.preset.currentData()  # "custom" starts from the last preset shown
        preset = self.base_preset()
        self._loading = True
        self.iterations.setValue(preset.iterations)
        self.lr.setValue(preset.lr)
        self.jitter.setValue(preset.reg_noise_std)
        self.ema.setValue(preset.ema or 0.0)
        self.width_box.setCurrentIndex(0)
        self._loading = False
        self.changed.emit()

    def _edited(self) -> None:
        if self._loading:
            return
        if self.preset.currentData() != CUSTOM:
            self._loading = True
            self.preset.setCurrentIndex(self.preset.count() - 1)  # "custom": edits are kept
            self._loading = False
        self.changed.emit()

    def select_task(self, task: str) -> None:
        self.task.setCurrentIndex(TASKS.index(task))


class MaskTools(QGroupBox):
    """Brush / eraser, size, clear, invert, load, save, overlay colour and opacity."""

    def __init__(self, parent=None) -> None:
        super().__init__("Mask (paint the holes)", parent)
        self.erase = QCheckBox("Eraser")
        self.erase.setToolTip("Remove paint (right mouse button erases too)")
        self.brush_size = QSlider()
        self.brush_size.setOrientation(self.brush_size.orientation().Horizontal)
        self.brush_size.setRange(1, 200)
        self.brush_size.setValue(12)
        self.brush_size.setToolTip("Brush size: its diameter in pixels is shown beside it ( [ and ] change it )")
        self.size_label = QLabel("24 px")
        self.clear_button = QPushButton("Clear")
        self.invert_button = QPushButton("Invert")
        self.load_button = QPushButton("Load…")
        self.save_button = QPushButton("Save…")
        self.color_button = QPushButton("Colour…")
        self.opacity = QSlider()
        self.opacity.setOrientation(self.opacity.orientation().Horizontal)
        self.opacity.setRange(5, 100)
        self.opacity.setValue(50)
        self.opacity.setToolTip("How strongly the painted holes are shown over the photo")
        self.opacity_label = QLabel("50%")
        layout = QFormLayout(self)
        size_row = QHBoxLayout()
        size_row.addWidget(self.brush_size)
        size_row.addWidget(self.size_label)
        layout.addRow("Brush", size_row)
        layout.addRow(self.erase)
        buttons = QGridLayout()
        for index, button in enumerate((self.clear_button, self.invert_button, self.load_button, self.save_button)):
            buttons.addWidget(button, index // 2, index % 2)
        layout.addRow(buttons)
        overlay = QHBoxLayout()
        overlay.addWidget(self.opacity)
        overlay.addWidget(self.opacity_label)
        overlay.addWidget(self.color_button)
        layout.addRow("Overlay opacity", overlay)
        self.opacity.valueChanged.connect(lambda v: self.opacity_label.setText(f"{v}%"))
        # the slider holds the radius; the label shows the diameter, as GIMP and Photoshop give sizes
        self.brush_size.valueChanged.connect(lambda v: self.size_label.setText(f"{2 * v} px"))

    def pick_color(self, current: QColor) -> QColor | None:
        color = QColorDialog.getColor(current, self, "Mask overlay colour")
        return color if color.isValid() else None
