"""Live loss (log scale) and PSNR curves, redrawn from buffers on a timer, not per signal.

Axis ranges move in steps, not on every update: re-rendering pyqtgraph's axis labels was most of
the GUI thread's time during a run (profiled: 1.2 s of 4 s), which delayed other events.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

REDRAW_MS = 100
REFERENCE_PSNR = "PSNR against the clean photo"
HELD_OUT_PSNR = "PSNR on pixels held back from the fit"
#: What the empty plot shows before a run: axes over a typical run (the loss, a mean squared error
#: of 0-1 pixels, is mostly between 1e-4 and 1e-1) rather than pyqtgraph's 0-1, and what will appear.
EMPTY_ITERATIONS, EMPTY_LOG_LOSS = 1000, (-4.0, -1.0)
EMPTY_HINT = "The loss (and the PSNR where the clean photo is known) is drawn here during a run.\n" \
             "Click the curve to look at that iteration."


#: Pixels per decade of the loss axis above which the ticks at 2 and 5 (then at every digit) are
#: labelled too: pyqtgraph labels all nine in each decade, which on a short axis overwrite each other.
LABEL_TWO_FIVE_PX, LABEL_ALL_PX = 70, 250


class LossAxis(pg.AxisItem):
    """A log axis that labels the decades, and the ticks between them only where there is room, in
    one notation."""

    def __init__(self, orientation: str) -> None:
        super().__init__(orientation)
        self._labelled: tuple[int, ...] = (1,)
        self._powers = False

    def logTickValues(self, minVal, maxVal, size, stdTicks):
        per_decade = size / max(maxVal - minVal, 1e-9)
        if per_decade >= LABEL_ALL_PX:
            self._labelled = tuple(range(1, 10))
        else:
            self._labelled = (1, 2, 5) if per_decade >= LABEL_TWO_FIVE_PX else (1,)
        levels = super().logTickValues(minVal, maxVal, size, stdTicks)
        # pyqtgraph's level of minor ticks repeats the decades of the level above: drawn twice, in
        # two notations, they overlapped
        seen: list[float] = []
        unique = []
        for spacing, values in levels:
            values = [v for v in values if not any(abs(v - s) < 1e-6 for s in seen)]
            seen += values
            unique.append((spacing, values))
        shown = [v for v in seen if _leading_digit(v) in self._labelled]
        self._powers = bool(shown) and min(shown) < PLAIN_BELOW_LOG
        return unique

    def logTickStrings(self, values, scale, spacing):
        return [(_power_text(v) if self._powers else f"{10 ** v:g}") if _leading_digit(v) in self._labelled else ""
                for v in values]


#: Labels are plain decimals (0.001, 0.02) unless one would need more zeros: then all are powers of ten.
PLAIN_BELOW_LOG = -3.0 - 1e-9
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _leading_digit(log_value: float) -> int:
    """1 for 10^k, 2 for 2*10^k, ...: the first digit of the number whose log10 is ``log_value``."""
    return round(float(10 ** (log_value - np.floor(log_value + 1e-9))))


def _power_text(log_value: float) -> str:
    """``2·10⁻⁵`` for log10(2e-5); ``10⁻⁵`` for a decade."""
    digit, power = _leading_digit(log_value), int(np.floor(log_value + 1e-9))
    return ("" if digit == 1 else f"{digit}·") + "10" + str(power).translate(_SUPERSCRIPT)


class PlotPanel(QWidget):
    """Loss on the left axis (log), PSNR on the right when a clean reference is known."""

    iteration_clicked = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.plot = pg.PlotWidget(background="#1e1e1e", axisItems={"left": LossAxis("left")})
        self.plot.setLogMode(y=True)
        self.plot.setLabel("bottom", "iteration")
        self.plot.setLabel("left", "loss")
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.getViewBox().disableAutoRange()
        self.loss_curve = self.plot.plot(pen=pg.mkPen("#4fc3f7", width=1.5), name="loss")
        self.psnr_view = pg.ViewBox(enableMenu=False)
        self.psnr_view.disableAutoRange()
        self.plot.showAxis("right")
        self.plot.getAxis("right").setLogMode(False, False)  # PSNR is linear though the loss is log
        self.plot.getAxis("right").enableAutoSIPrefix(False)
        self.plot.getAxis("right").linkToView(self.psnr_view)
        self.plot.getAxis("right").setLabel("PSNR (dB)", color="#ffb74d")
        self.plot.scene().addItem(self.psnr_view)
        self.psnr_view.setXLink(self.plot.getViewBox())
        self.psnr_curve = pg.PlotCurveItem(pen=pg.mkPen("#ffb74d", width=1.5))
        self.psnr_view.addItem(self.psnr_curve)
        # Restoration holds a few known pixels back from the fit: the result's PSNR there is the
        # one quality curve a run has without the clean photo (core/stopping/detectors.py).
        self.held_out_curve = pg.PlotCurveItem(pen=pg.mkPen("#aed581", width=1.5))
        self.psnr_view.addItem(self.held_out_curve)
        self.legend = pg.LegendItem(offset=(-10, 10), labelTextColor="#dddddd")
        self.legend.setParentItem(self.plot.getPlotItem().vb)
        self.legend.addItem(self.loss_curve, "loss")
        self.legend.setVisible(False)
        self.plot.getViewBox().sigResized.connect(self._sync_views)
        self.marker = pg.InfiniteLine(angle=90, pen=pg.mkPen("#aaaaaa", style=pg.QtCore.Qt.PenStyle.DashLine))
        self.marker.setVisible(False)
        self.plot.addItem(self.marker)
        self.suggestion_marker = pg.InfiniteLine(angle=90, pen=pg.mkPen("#81c784", width=2), label="suggested stop",
                                                 labelOpts={"position": 0.9, "color": "#81c784"})
        self.suggestion_marker.setVisible(False)
        self.plot.addItem(self.suggestion_marker)
        self.plot.scene().sigMouseClicked.connect(self._clicked)
        self.hint = pg.TextItem(EMPTY_HINT, color="#888888", anchor=(0.5, 0.5))
        self.plot.addItem(self.hint, ignoreBounds=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.clear()
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self.redraw)
        self._timer.start()

    def set_total(self, iterations: int) -> None:
        """Fix the x axis to the run length so it is drawn once, not at every update."""
        self.plot.setXRange(0, max(iterations, 1), padding=0.02)
        self.hint.setPos(max(iterations, 1) / 2, sum(EMPTY_LOG_LOSS) / 2)

    def clear(self) -> None:
        self.iterations: list[int] = []
        self.losses: list[float] = []
        self.psnr_iterations: list[int] = []
        self.psnrs: list[float] = []
        self.held_out_iterations: list[int] = []
        self.held_out_psnrs: list[float] = []
        self._dirty = True
        self.marker.setVisible(False)
        self.suggestion_marker.setVisible(False)
        self._psnr_axis_shown: bool | None = None
        self._show_psnr_axis(False)
        for name in (REFERENCE_PSNR, HELD_OUT_PSNR):
            self.legend.removeItem(name)
        self.legend.setVisible(False)
        self.plot.setYRange(*EMPTY_LOG_LOSS, padding=0)
        self.set_total(EMPTY_ITERATIONS)
        self.hint.setVisible(True)

    def add_results(self, results) -> None:
        for result in results:
            if result.loss > 0 and np.isfinite(result.loss):
                self.iterations.append(result.iteration)
                self.losses.append(result.loss)
            if result.psnr is not None and np.isfinite(result.psnr):
                self.psnr_iterations.append(result.iteration)
                self.psnrs.append(result.psnr)
            for iteration, value in result.held_out or ():
                self.held_out_iterations.append(iteration)
                self.held_out_psnrs.append(value)
        self._dirty = True

    def set_suggestion(self, iteration: int | None) -> None:
        self.suggestion_marker.setVisible(iteration is not None)
        if iteration is not None:
            self.suggestion_marker.setValue(iteration)

    def set_marker(self, iteration: int | None) -> None:
        self.marker.setVisible(iteration is not None)
        if iteration is not None:
            self.marker.setValue(iteration)

    def redraw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        self.loss_curve.setData(np.asarray(self.iterations, float), np.asarray(self.losses, float))
        has_psnr = bool(self.psnrs or self.held_out_psnrs)
        self._show_psnr_axis(has_psnr)
        self.psnr_curve.setData(np.asarray(self.psnr_iterations, float), np.asarray(self.psnrs, float))
        self.held_out_curve.setData(np.asarray(self.held_out_iterations, float),
                                    np.asarray(self.held_out_psnrs, float))
        self._show_legend()
        if self.losses:
            low, high = np.log10(min(self.losses)), np.log10(max(self.losses))
            if self.hint.isVisible():  # the first curve: fit it, not the empty plot's range
                self.hint.setVisible(False)
                self.plot.setYRange(low - 0.5, high + 0.5, padding=0)
            _widen(self.plot.getViewBox(), low, high, margin=0.5)
        if has_psnr:
            shown = self.psnrs + self.held_out_psnrs
            _widen(self.psnr_view, min(shown), max(shown), margin=2.0)

    def _show_legend(self) -> None:
        """Names the curves once a second measure is drawn (the loss alone needs no legend)."""
        wanted = [(self.psnr_curve, REFERENCE_PSNR, bool(self.psnrs)),
                  (self.held_out_curve, HELD_OUT_PSNR, bool(self.held_out_psnrs))]
        names = {label.text for _, label in self.legend.items}
        for curve, name, shown in wanted:
            if shown and name not in names:
                self.legend.addItem(curve, name)
        self.legend.setVisible(any(shown for _, _, shown in wanted))

    def _show_psnr_axis(self, shown: bool) -> None:
        """Only on a change: each call re-lays out the axis and repaints its labels (at 10 Hz, most of
        the GUI thread's painting during a run)."""
        if shown == self._psnr_axis_shown:
            return
        self._psnr_axis_shown = shown
        self.plot.getAxis("right").setStyle(showValues=shown)
        self.plot.getAxis("right").showLabel(shown)

    def _sync_views(self) -> None:
        self.psnr_view.setGeometry(self.plot.getViewBox().sceneBoundingRect())
        self.psnr_view.linkedViewChanged(self.plot.getViewBox(), self.psnr_view.XAxis)

    def _clicked(self, event) -> None:
        point = self.plot.getViewBox().mapSceneToView(event.scenePos())
        if self.iterations and point.x() >= 0:
            self.iteration_clicked.emit(round(point.x()))


def _widen(view: pg.ViewBox, low: float, high: float, margin: float) -> None:
    """Change the y range only when the data leaves it, then with room to spare."""
    current_low, current_high = view.viewRange()[1]
    if low < current_low or high > current_high or current_high - current_low > 4 * (high - low + margin):
        view.setYRange(low - margin, high + margin, padding=0)
