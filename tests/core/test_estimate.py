"""What the estimate tells people."""

import pytest

from dip_gui.core.estimate import CostEstimate, cost_warning, format_duration


@pytest.mark.parametrize(("seconds", "text"), [(40, "40 s"), (89.4, "89 s"), (1920, "32 min"), (5399, "90 min"),
                                               (5400, "1.5 h"), (36000, "10.0 h")])
def test_durations_read_in_the_unit_a_person_would_use(seconds, text):
    assert format_duration(seconds) == text


def test_a_long_run_and_a_tight_memory_are_both_named():
    cost = CostEstimate(seconds_per_iteration=2.0, memory_bytes=3 * 2**30, canvas=(512, 512))
    assert cost_warning(cost, 100, 8 * 2**30, long_run_s=1800) is None
    warning = cost_warning(cost, 1000, 2 * 2**30, long_run_s=1800)
    assert warning == "This run would take about 33 min and need ~3.0 GB of memory with 2.0 GB free."


def test_a_run_too_large_to_keep_freed_memory_is_estimated_with_the_lean_network(monkeypatch):
    """With little free memory the session keeps no freed memory and builds the lean network (its
    batch norms keep only their outputs): the estimate counts that network, not the pairs of layers.
    With plenty, it counts the pairs and what keeping freed memory adds."""
    from dip_gui.core import estimate
    from dip_gui.core.host_memory import EXTRA_FRACTION
    from dip_gui.core.presets import get_preset

    preset = get_preset("denoise", "paper")
    monkeypatch.setattr(estimate, "available_memory_bytes", lambda device: 64 * 2**30)
    roomy = estimate.estimate_cost(preset, (128, 128), device="cpu")
    monkeypatch.setattr(estimate, "available_memory_bytes", lambda device: 2**20)
    tight = estimate.estimate_cost(preset, (128, 128), device="cpu")
    pairs = estimate.estimate_memory(preset, (128, 128), device="cpu")
    assert roomy.memory_bytes == int(pairs * (1 + EXTRA_FRACTION))  # freed memory kept: the peak grows
    assert 0.5 * pairs < tight.memory_bytes < 0.9 * pairs
