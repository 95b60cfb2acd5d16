"""What the estimate tells people."""

import pytest

from dip_gui.core.estimate.cost import CostEstimate, cost_warning, format_duration, with_check


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
    from dip_gui.core.estimate import cost as estimate
    from dip_gui.core.estimate.memory import estimate_memory
    from dip_gui.core.problem.presets import get_preset

    preset = get_preset("denoise", "paper")
    monkeypatch.setattr(estimate, "available_memory_bytes", lambda device: 64 * 2**30)
    roomy = estimate.estimate_cost(preset, (256, 256), device="cpu")
    monkeypatch.setattr(estimate, "available_memory_bytes", lambda device: 2**20)
    tight = estimate.estimate_cost(preset, (256, 256), device="cpu")
    pairs = estimate_memory(preset, (256, 256), device="cpu")
    assert roomy.memory_bytes == estimate_memory(preset, (256, 256), device="cpu", host_memory="fast")
    assert roomy.memory_bytes > 1.2 * pairs  # freed memory kept: the peak grows
    assert tight.memory_bytes == estimate_memory(preset, (256, 256), device="cpu", lean=True)
    assert 0.6 * pairs < tight.memory_bytes < 0.95 * pairs


def test_the_memory_count_scaled_from_a_small_canvas_is_close_to_a_count_at_the_full_size():
    """The saved tensors are counted on a 128 px canvas and scaled by the pixels. Borders (padding,
    the deepest levels) weigh more on a small canvas, so the scaled count may err high, by little:
    at 384 px it must be within 12% above a count made at 384 px, for both networks."""
    import torch

    from dip_gui.core.estimate import memory as memory_estimate
    from dip_gui.core.problem.presets import get_preset

    preset = get_preset("denoise", "fast")
    for lean in (False, True):
        scaled = memory_estimate.count_memory(preset, (384, 384), 3, torch.device("cpu"), lean).saved
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(memory_estimate, "COUNT_SIDE", 384)
            direct = memory_estimate.count_memory(preset, (384, 384), 3, torch.device("cpu"), lean).saved
        assert direct <= scaled < 1.12 * direct
    # a photo smaller than the counting canvas is counted as it is: no scaling error at all
    small = memory_estimate.count_memory(preset, (96, 128), 3, torch.device("cpu")).saved
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(memory_estimate, "COUNT_SIDE", 64)  # smaller than the photo: scaled, a little high
        scaled_up = memory_estimate.count_memory(preset, (96, 128), 3, torch.device("cpu")).saved
    assert scaled_up > small
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(memory_estimate, "COUNT_SIDE", 1024)
        assert memory_estimate.count_memory(preset, (96, 128), 3, torch.device("cpu")).saved == small


def test_nnpack_workspace_is_that_of_the_largest_convolution_nnpack_would_run(monkeypatch):
    """The workspace term follows the CPU kernels' own rule, layer by layer at the photo's size:
    none where no layer qualifies, the largest qualifying layer's where some do, none without NNPACK."""
    import torch

    from dip_gui.core.estimate import memory as memory_estimate
    from dip_gui.core.networks import split_conv
    from dip_gui.core.problem.presets import get_preset

    memory_estimate._nnpack_workspace.cache_clear()
    monkeypatch.setattr(split_conv, "nnpack_ready", lambda: True)
    monkeypatch.setattr(split_conv, "onednn_has_avx512", lambda: True)  # NNPACK from 128 px sides on
    preset = get_preset("denoise", "paper")  # 128 channels at every level, 5 levels
    cpu = torch.device("cpu")
    assert memory_estimate.count_memory(preset, (96, 96), 3, cpu).nnpack_workspace == 0  # all sides < 128
    # 512 px: the 512 px layer's workspace is over the limit (oneDNN keeps it); the largest NNPACK run
    # is the second level's upward convolution at 256 px (128 channels + 4 from the skip -> 128)
    expected = split_conv.nnpack_workspace_bytes(128 + 4, 128, 256, 256)
    assert split_conv.nnpack_workspace_bytes(128 + 4, 128, 512, 512) > split_conv.NNPACK_MAX_WORKSPACE
    assert memory_estimate.count_memory(preset, (512, 512), 3, cpu).nnpack_workspace == expected
    memory_estimate._nnpack_workspace.cache_clear()
    monkeypatch.setattr(split_conv, "nnpack_ready", lambda: False)
    assert memory_estimate.count_memory(preset, (512, 512), 3, cpu).nnpack_workspace == 0
    memory_estimate._nnpack_workspace.cache_clear()


def test_an_explicit_memory_setting_is_estimated_as_the_session_will_run_it():
    """``fast`` keeps freed memory with the pairs of layers, ``lean`` gives it back with the lean
    network, whatever the free memory: the estimate counts what the session will build."""
    from dip_gui.core.errors import InvalidParameterError
    from dip_gui.core.estimate import cost as estimate
    from dip_gui.core.estimate.memory import estimate_memory
    from dip_gui.core.problem.presets import get_preset

    preset = get_preset("denoise", "paper")
    for setting, lean in (("fast", False), ("lean", True)):
        cost = estimate.estimate_cost(preset, (256, 256), device="cpu", host_memory=setting)
        assert cost.memory_bytes == estimate_memory(preset, (256, 256), device="cpu", lean=lean,
                                                             host_memory=setting)
    with pytest.raises(InvalidParameterError):
        estimate.estimate_cost(preset, (256, 256), device="cpu", host_memory="quick")


def test_a_run_checked_against_its_start_is_estimated_with_its_check():
    cost = CostEstimate(seconds_per_iteration=0.2, memory_bytes=2**20, canvas=(128, 128))
    asked = []

    def estimate(size):
        asked.append(size)
        return CostEstimate(seconds_per_iteration=0.1, memory_bytes=2**20, canvas=size)

    assert with_check(cost, (128, 128), None, estimate) == cost and asked == []  # no check
    same = with_check(cost, (128, 128), (128, 128), estimate)  # denoising: a copy of the photo's size
    assert same.check_seconds_per_iteration == 0.2 and asked == []
    smaller = with_check(cost, (128, 128), (64, 64), estimate)  # x2 super-resolution: the photo's own copy
    assert smaller.check_seconds_per_iteration == 0.1 and asked == [(64, 64)]
    assert smaller.describe(600).endswith("; then up to ~60 s to check the result")
    assert "check" not in cost.describe(600)


def test_the_long_run_question_counts_the_check_against_the_start():
    run_only = CostEstimate(seconds_per_iteration=1.0, memory_bytes=2**20, canvas=(64, 64))
    checked = CostEstimate(seconds_per_iteration=1.0, memory_bytes=2**20, canvas=(64, 64), check_seconds_per_iteration=0.5)
    assert cost_warning(run_only, 1000, None, long_run_s=1200) is None
    assert cost_warning(checked, 1000, None, long_run_s=1200) == "This run would take about 25 min."
    assert checked.duration(1000) == "17 min" and checked.whole_duration(1000) == "25 min"
