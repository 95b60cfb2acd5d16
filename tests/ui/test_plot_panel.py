"""The live plot: the PSNR axis appears with the first PSNR and is not re-laid out on every redraw."""

from types import SimpleNamespace

from dip_gui.ui.plot_panel import PlotPanel


def results(first: int, count: int, psnr: float | None):
    return [SimpleNamespace(iteration=i, loss=1.0 / i, psnr=psnr, held_out=None) for i in range(first, first + count)]


def test_the_psnr_axis_shows_with_psnr_and_is_styled_only_when_that_changes(qtbot, monkeypatch):
    panel = PlotPanel()
    qtbot.addWidget(panel)
    axis = panel.plot.getAxis("right")
    styled = []
    original = axis.setStyle
    monkeypatch.setattr(axis, "setStyle", lambda **kw: (styled.append(kw), original(**kw)))
    panel.add_results(results(1, 5, None))
    panel.redraw()
    assert not axis.style["showValues"] and styled == []  # hidden since clear(): nothing to change
    for start in (6, 11, 16):  # three redraws with PSNR: one re-layout
        panel.add_results(results(start, 5, 25.0 + start / 10))
        panel.redraw()
    assert axis.style["showValues"] and styled == [{"showValues": True}]
    assert len(panel.psnrs) == 15
    panel.clear()
    panel.redraw()
    assert not axis.style["showValues"]


def test_the_held_out_psnr_is_drawn_on_the_psnr_axis_and_named(qtbot):
    from dip_gui.ui.plot_panel import HELD_OUT_PSNR, REFERENCE_PSNR

    panel = PlotPanel()
    qtbot.addWidget(panel)
    panel.add_results(results(1, 3, None))
    panel.redraw()
    assert not panel.legend.isVisible()  # the loss alone needs no names
    batch = results(4, 3, None)
    batch[-1].held_out = [(4, 30.0), (5, 31.0), (6, 31.5)]  # as the monitor hands them over, late or not
    panel.add_results(batch)
    panel.redraw()
    assert panel.held_out_iterations == [4, 5, 6] and panel.held_out_psnrs == [30.0, 31.0, 31.5]
    assert panel.plot.getAxis("right").style["showValues"] and panel.legend.isVisible()
    names = [label.text for _, label in panel.legend.items]
    assert HELD_OUT_PSNR in names and REFERENCE_PSNR not in names
    panel.clear()
    panel.redraw()
    assert not panel.legend.isVisible() and not panel.held_out_psnrs
    assert [label.text for _, label in panel.legend.items] == ["loss"]
