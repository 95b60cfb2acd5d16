
"""A long run with previews and snapshots stays within the snapshot budget plus a fixed overhead."""

import numpy as np
import pytest

from dip_gui.core.networks import SkipSpec
from dip_gui.core.problem.presets import Preset
from dip_gui.core.problem.tasks import make_problem
from dip_gui.core.session.session import Session
from dip_gui.core.stopping.monitor import RunMonitor

ITERATIONS = 5000
BUDGET = 256 * 1024  # snapshots: ~150 of this photo's 1.7 KB, then thinning
OVERHEAD_MB = 25  # allowed growth after warm-up besides the snapshots (allocator slack, small lists)


def _rss_mb() -> float:
    """Current (not peak) resident memory of this process."""
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * 4096 / 2**20


#: One level, a few channels: the loop, previews, snapshots and detector are what is tested.
ONE_LEVEL = SkipSpec(channels_down=(4,), channels_up=(4,), channels_skip=(2,), need1x1_up=False)


@pytest.mark.slow
def test_five_thousand_iterations_with_previews_and_snapshots_stay_bounded(smooth_image):
    preset = Preset("denoise", "long", "test", ONE_LEVEL, input_depth=2, iterations=ITERATIONS, ema=0.9)
    session = Session(make_problem("denoise", smooth_image(24, 24)), preset, device="cpu")
    monitor = RunMonitor(session, budget_bytes=BUDGET)
    samples = {}
    for _ in range(ITERATIONS):
        result = session.step()
        monitor.observe(result.iteration)
        if result.iteration % 10 == 0:  # a preview, as the window asks for
            assert np.isfinite(session.result()).all()
        if result.iteration in (500, ITERATIONS):
            samples[result.iteration] = _rss_mb()
    assert session.iteration == ITERATIONS
    assert monitor.store.nbytes <= BUDGET
    assert monitor.store.snapshots[0].iteration == 1  # thinning keeps the start
    assert len(monitor.detector._recent) <= monitor.detector.window
    growth = samples[ITERATIONS] - samples[500]
    assert growth < BUDGET / 2**20 + OVERHEAD_MB, f"memory grew {growth:.1f} MB over {ITERATIONS - 500} iterations"
