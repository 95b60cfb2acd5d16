"""The live plot: the PSNR axis appears with the first PSNR and is not re-laid out on every redraw."""

from types import SimpleNamespace

import pyqtgraph as pg
import pytest

from dip_gui.ui.widgets.plot_panel import PlotPanel


def results(first: int, count: int, psnr: float | None):
    return [SimpleNamespace(iteration=i, loss=1.0 / i, psnr=psnr, held_out=None) for i in range(first, first + count)]


def test_the_psnr_band_appears_with_the_first_psnr_and_is_laid_out_only_when_that_changes(qtbot, monkeypatch):
    panel = PlotPanel()
    qtbot.addWidget(panel)
    added = []
    original = panel.graphs.addItem
    monkeypatch.setattr(panel.graphs, "addItem", lambda *a, **kw: (added.append(a[0]), original(*a, **kw)))
    panel.add_results(results(1, 5, None))
    panel.redraw()
    assert not panel.psnr_shown and not panel.psnr_plot.isVisible() and added == []
    for start in (6, 11, 16):  # three redraws with PSNR: one re-layout
        panel.add_results(results(start, 5, 25.0 + start / 10))
        panel.redraw()
    assert panel.psnr_shown and panel.psnr_plot.isVisible() and added == [panel.psnr_plot]
    assert len(panel.psnrs) == 15
    panel.clear()
    panel.redraw()
    assert not panel.psnr_shown and not panel.psnr_plot.isVisible()


def test_loss_and_psnr_have_bands_of_their_own_on_one_iteration_axis(qtbot):
    panel = PlotPanel()
    qtbot.addWidget(panel)
    panel.resize(800, 300)
    panel.show()
    panel.set_total(100)
    panel.add_results(results(1, 50, 30.0))
    panel.redraw()
    qtbot.wait(50)
    loss_box, psnr_box = panel.plot.getViewBox(), panel.psnr_plot.getViewBox()
    assert psnr_box.sceneBoundingRect().bottom() <= loss_box.sceneBoundingRect().top()  # above, not over
    for iteration in (0, 50, 100):
        loss_x = loss_box.mapViewToScene(pg.Point(iteration, 0)).x()
        assert psnr_box.mapViewToScene(pg.Point(iteration, 30)).x() == pytest.approx(loss_x, abs=1.5)


def test_the_best_psnr_is_marked_and_read_at_any_iteration(qtbot):
    panel = PlotPanel()
    qtbot.addWidget(panel)
    rising_then_falling = [SimpleNamespace(iteration=i, loss=1.0 / i, psnr=30 - abs(i - 20) / 10, held_out=None)
                           for i in range(1, 61)]
    panel.add_results(rising_then_falling)
    panel.redraw()
    assert panel.best_psnr() == (20, 30.0)
    assert "30.00 dB @ 20" in panel.best_label.toPlainText()
    assert panel.psnr_at(40) == pytest.approx(28.0) and panel.psnr_at(1000) == pytest.approx(26.0)
    panel.set_suggestion(25)
    assert panel.suggestion_marker.isVisible() and panel.psnr_suggestion_marker.value() == 25
    panel.clear()
    assert panel.best_psnr() is None and panel.psnr_at(5) is None


def test_the_held_out_psnr_is_drawn_in_the_psnr_band_and_named(qtbot):
    from dip_gui.ui.widgets.plot_panel import HELD_OUT_PSNR, REFERENCE_PSNR

    panel = PlotPanel()
    qtbot.addWidget(panel)
    panel.add_results(results(1, 3, None))
    panel.redraw()
    assert panel.legend.isHidden() and not panel.psnr_shown  # the loss alone needs no second band
    batch = results(4, 3, None)
    batch[-1].held_out = [(4, 30.0), (5, 31.0), (6, 31.5)]  # as the monitor hands them over, late or not
    panel.add_results(batch)
    panel.redraw()
    assert panel.held_out_iterations == [4, 5, 6] and panel.held_out_psnrs == [30.0, 31.0, 31.5]
    assert panel.psnr_shown and not panel.legend.isHidden()
    names = [name for name, _ in panel.curve_names()]
    assert HELD_OUT_PSNR in names and REFERENCE_PSNR not in names
    assert panel.best_psnr() is None  # the best is marked against the clean photo only
    panel.clear()
    panel.redraw()
    assert panel.legend.isHidden() and not panel.held_out_psnrs
    assert panel.curve_names() == []


def test_the_empty_plot_says_what_it_will_show_and_the_first_curve_is_fitted(qtbot):
    from dip_gui.ui.widgets.plot_panel import EMPTY_LOG_LOSS

    panel = PlotPanel()
    qtbot.addWidget(panel)
    view = panel.plot.getViewBox()
    assert panel.hint.isVisible() and "loss" in panel.hint.textItem.toPlainText()
    assert view.viewRange()[1] == list(EMPTY_LOG_LOSS)  # a loss's decades, not pyqtgraph's 0-1
    panel.set_total(300)
    assert panel.hint.pos().x() == 150  # still in the middle of the run's axis
    panel.add_results([SimpleNamespace(iteration=i, loss=10 ** (-2 - i / 100), psnr=None, held_out=None)
                       for i in range(1, 51)])
    panel.redraw()
    low, high = view.viewRange()[1]
    assert not panel.hint.isVisible()
    assert low == pytest.approx(-2.5 - 0.5) and high == pytest.approx(-2.01 + 0.5)  # fitted though inside the empty range
    panel.clear()
    assert panel.hint.isVisible() and view.viewRange()[1] == list(EMPTY_LOG_LOSS)


@pytest.mark.parametrize("low, high, axis_px, labelled", [
    (-5.1, -3.1, 100, ["10⁻⁵", "10⁻⁴"]),  # two decades on a short axis: pyqtgraph labels 18 ticks
    (-5.1, -3.1, 300, ["10⁻⁵", "2·10⁻⁵", "5·10⁻⁵", "10⁻⁴", "2·10⁻⁴", "5·10⁻⁴"]),  # one notation, not 0.0001
    (-2.6, -0.9, 150, ["0.005", "0.01", "0.02", "0.05", "0.1"]),
    (-4.0, -1.0, 170, ["10⁻⁴", "10⁻³", "10⁻²", "10⁻¹"]),  # pyqtgraph's two levels both hold the decades
])
def test_the_loss_axis_labels_only_the_ticks_there_is_room_for(qtbot, low, high, axis_px, labelled):
    from dip_gui.ui.widgets.plot_panel import LossAxis

    axis = LossAxis("left")
    axis.setLogMode(False, True)
    shown = []
    for spacing, values in axis.tickValues(low, high, axis_px):
        shown += [text for text in axis.tickStrings(values, 1.0, spacing) if text]
    assert sorted(shown) == sorted(labelled)
