"""Live loss (log scale) and PSNR curves in two bands, redrawn from buffers on a timer, not per signal.

Axis ranges move in steps, not on every update: re-rendering pyqtgraph's axis labels was most of
the GUI thread's time during a run (profiled: 1.2 s of 4 s), which delayed other events.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

REDRAW_MS = 100
LOSS_COLOUR, PSNR_COLOUR, HELD_OUT_COLOUR = "#4fc3f7", "#ffb74d", "#aed581"
#: The left axes' width in both bands, so that one iteration sits at the same x in each.
AXIS_WIDTH = 64
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
    """The loss (log) in the lower band; the PSNR in a band of its own above it once a run has one
    (against the clean photo, or on pixels held back from the fit), with the best iteration marked.
    Both bands share the iteration axis, the suggested stop and the iteration looked at."""

    iteration_clicked = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.graphs = pg.GraphicsLayoutWidget()
        self.graphs.setBackground("#1e1e1e")
        self.plot = self._loss_band()
        self.psnr_plot = self._psnr_band()
        self.marker = _vertical_line(self.plot, pg.mkPen("#aaaaaa", style=Qt.PenStyle.DashLine))
        self.psnr_marker = _vertical_line(self.psnr_plot, pg.mkPen("#aaaaaa", style=Qt.PenStyle.DashLine))
        suggestion_pen = pg.mkPen("#81c784", width=2)
        self.suggestion_marker = _vertical_line(self.plot, suggestion_pen, "suggested stop")
        self.psnr_suggestion_marker = _vertical_line(self.psnr_plot, suggestion_pen)
        self.graphs.scene().sigMouseClicked.connect(self._clicked)
        self.hint = pg.TextItem(EMPTY_HINT, color="#888888", anchor=(0.5, 0.5))
        self.plot.addItem(self.hint, ignoreBounds=True)
        self.legend = QLabel()
        self.legend.setStyleSheet("background: #1e1e1e; color: #dddddd; padding: 1px 8px;")
        self.legend.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.legend)
        layout.addWidget(self.graphs)
        self._psnr_band_shown = False
        self.clear()
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self.redraw)
        self._timer.start()

    def _loss_band(self) -> pg.PlotItem:
        band = self.graphs.addPlot(row=1, col=0, axisItems={"left": LossAxis("left")})
        band.setLogMode(y=True)
        band.setLabel("bottom", "iteration")
        band.setLabel("left", "loss", color=LOSS_COLOUR)
        band.getAxis("left").enableAutoSIPrefix(False)
        band.getAxis("left").setWidth(AXIS_WIDTH)  # both bands' axes alike: their iterations line up
        band.showGrid(x=True, y=True, alpha=0.2)
        band.getViewBox().disableAutoRange()
        band.setMenuEnabled(False)
        self.loss_curve = band.plot(pen=pg.mkPen(LOSS_COLOUR, width=1.5), name="loss")
        return band

    def _psnr_band(self) -> pg.PlotItem:
        """Made once and put in the layout only while a run has a PSNR: hidden, it takes no room."""
        band = pg.PlotItem()
        band.setLabel("left", "PSNR (dB)", color=PSNR_COLOUR)
        band.getAxis("left").setWidth(AXIS_WIDTH)
        band.getAxis("left").enableAutoSIPrefix(False)
        band.getAxis("bottom").setStyle(showValues=False)
        band.showGrid(x=True, y=True, alpha=0.2)
        band.getViewBox().disableAutoRange()
        band.setMenuEnabled(False)
        band.setXLink(self.plot)
        band.setVisible(False)
        self.psnr_curve = band.plot(pen=pg.mkPen(PSNR_COLOUR, width=1.5))
        # Restoration holds a few known pixels back from the fit: the result's PSNR there is the
        # one quality curve a run has without the clean photo (core/stopping/detectors.py).
        self.held_out_curve = band.plot(pen=pg.mkPen(HELD_OUT_COLOUR, width=1.5))
        self.best_point = pg.ScatterPlotItem(size=9, brush=pg.mkBrush(PSNR_COLOUR), pen=pg.mkPen("#ffffff"))
        band.addItem(self.best_point)
        self.best_label = pg.TextItem("", color=PSNR_COLOUR, anchor=(0.0, 0.0))
        band.addItem(self.best_label, ignoreBounds=True)
        return band

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
        self._show_legend()
        self.set_marker(None)
        self.set_suggestion(None)
        self._show_psnr_band(False)
        self.best_point.setData([], [])
        self.best_label.setText("")
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
        for line in (self.suggestion_marker, self.psnr_suggestion_marker):
            _place(line, iteration)

    def set_marker(self, iteration: int | None) -> None:
        for line in (self.marker, self.psnr_marker):
            _place(line, iteration)

    # -- what the curves say ------------------------------------------------------------------

    @property
    def psnr_shown(self) -> bool:
        return self._psnr_band_shown

    def psnr_at(self, iteration: int) -> float | None:
        """The PSNR against the clean photo at ``iteration`` (the nearest measured), None without one."""
        if not self.psnrs:
            return None
        index = int(np.argmin(np.abs(np.asarray(self.psnr_iterations) - iteration)))
        return self.psnrs[index]

    def best_psnr(self) -> tuple[int, float] | None:
        """(iteration, PSNR) of the best result against the clean photo so far, None without one."""
        if not self.psnrs:
            return None
        index = int(np.argmax(self.psnrs))
        return self.psnr_iterations[index], self.psnrs[index]

    # -- drawing ------------------------------------------------------------------------------

    def redraw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        self.loss_curve.setData(np.asarray(self.iterations, float), np.asarray(self.losses, float))
        has_psnr = bool(self.psnrs or self.held_out_psnrs)
        self._show_psnr_band(has_psnr)
        self.psnr_curve.setData(np.asarray(self.psnr_iterations, float), np.asarray(self.psnrs, float))
        self.held_out_curve.setData(np.asarray(self.held_out_iterations, float),
                                    np.asarray(self.held_out_psnrs, float))
        self._show_legend()
        self._mark_best()
        if self.losses:
            low, high = np.log10(min(self.losses)), np.log10(max(self.losses))
            if self.hint.isVisible():  # the first curve: fit it, not the empty plot's range
                self.hint.setVisible(False)
                self.plot.setYRange(low - 0.5, high + 0.5, padding=0)
            _widen(self.plot.getViewBox(), low, high, margin=0.5)
        if has_psnr:
            shown = self.psnrs + self.held_out_psnrs
            _widen(self.psnr_plot.getViewBox(), min(shown), max(shown), margin=1.0)

    def _mark_best(self) -> None:
        best = self.best_psnr()
        if best is None:
            self.best_point.setData([], [])
            self.best_label.setText("")
            return
        iteration, value = best
        self.best_point.setData([iteration], [value])
        self.best_label.setText(f"best {value:.2f} dB @ {iteration}")
        # under the point (the curve's top) and away from the nearer end of the axis: inside the band
        low, high = self.plot.getViewBox().viewRange()[0]
        self.best_label.setAnchor((1.0 if iteration > (low + high) / 2 else 0.0, 0.0))
        self.best_label.setPos(iteration, value)

    def _show_legend(self) -> None:
        """Names the PSNR curves in a line above the bands, where it covers no curve and no mark."""
        shown = self.curve_names()
        self.legend.setText("   ".join(f'<span style="color:{colour}">&#9472;&#9472;</span> {name}'
                                       for name, colour in shown))
        self.legend.setVisible(bool(shown))

    def curve_names(self) -> list[tuple[str, str]]:
        """(name, colour) of the PSNR curves drawn: against the clean photo, on the held-back pixels."""
        return [(name, colour) for name, colour, drawn in ((REFERENCE_PSNR, PSNR_COLOUR, bool(self.psnrs)),
                                                          (HELD_OUT_PSNR, HELD_OUT_COLOUR, bool(self.held_out_psnrs)))
                if drawn]

    def _show_psnr_band(self, shown: bool) -> None:
        """Only on a change: each change re-lays out both bands."""
        if shown == self._psnr_band_shown:
            return
        self._psnr_band_shown = shown
        if shown:
            self.graphs.addItem(self.psnr_plot, row=0, col=0)
        else:
            self.graphs.removeItem(self.psnr_plot)
        self.psnr_plot.setVisible(shown)

    def _clicked(self, event) -> None:
        for band in (self.plot, self.psnr_plot):
            box = band.getViewBox()
            if band.isVisible() and box.sceneBoundingRect().contains(event.scenePos()):
                x = box.mapSceneToView(event.scenePos()).x()
                if self.iterations and x >= 0:
                    self.iteration_clicked.emit(round(x))
                return


def _vertical_line(band: pg.PlotItem, pen, label: str | None = None) -> pg.InfiniteLine:
    options = {"label": label, "labelOpts": {"position": 0.9, "color": "#81c784"}} if label else {}
    line = pg.InfiniteLine(angle=90, pen=pen, **options)
    line.setVisible(False)
    band.addItem(line, ignoreBounds=True)
    return line


def _place(line: pg.InfiniteLine, iteration: int | None) -> None:
    line.setVisible(iteration is not None)
    if iteration is not None:
        line.setValue(iteration)


def _widen(view: pg.ViewBox, low: float, high: float, margin: float) -> None:
    """Change the y range only when the data leaves it, then with room to spare."""
    current_low, current_high = view.viewRange()[1]
    if low < current_low or high > current_high or current_high - current_low > 4 * (high - low + margin):
        view.setYRange(low - margin, high + margin, padding=0)
