"""The live plot: the PSNR axis appears with the first PSNR and is not re-laid out on every redraw."""

from types import SimpleNamespace

from dip_gui.ui.plot_panel import PlotPanel


def results(first: int, count: int, psnr: float | None):
    return [SimpleNamespace(iteration=i, loss=1.0 / i, psnr=psnr) for i in range(first, first + count)]


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
