import pytest

from dip_gui.core.estimate.cost import estimate_cost
from dip_gui.core.networks.padded_canvas import Canvas
from dip_gui.core.problem.presets import get_preset
from dip_gui.core.session.cost_probe import SESSION_PROBE_SIDES, probe_session


def recording_timer(seconds_per_pixel: float = 1e-6, fixed: float = 0.01):
    timed = []

    def step_seconds(canvas: Canvas, lean_network: bool) -> float:
        timed.append((canvas.height, canvas.width))
        return fixed + seconds_per_pixel * canvas.height * canvas.width

    return timed, step_seconds


def test_a_photo_no_larger_than_a_probe_is_timed_at_its_own_size():
    timed, timer = recording_timer()
    preset = get_preset("denoise", "fast")
    cost = estimate_cost(preset, (100, 120), device="cpu", step_seconds=timer, probe_sides=SESSION_PROBE_SIDES)
    assert timed == [(128, 128)]  # the photo's canvas (a multiple of the network's 32 px)
    assert cost.seconds_per_iteration == pytest.approx(0.01 + 1e-6 * 128 * 128)


def test_a_larger_photo_is_fitted_through_both_probes():
    timed, timer = recording_timer()
    cost = estimate_cost(get_preset("denoise", "fast"), (1024, 1024), device="cpu", host_memory="fast",
                         step_seconds=timer, probe_sides=SESSION_PROBE_SIDES)  # fast: no page faults added
    assert timed == [(128, 128), (256, 256)]
    linear = 0.01 + 1e-6 * 1024 * 1024
    assert linear <= cost.seconds_per_iteration <= 1.15 * linear  # the fixed part and the pixels, slightly superlinear


@pytest.mark.parametrize("task", ["denoise", "jpeg", "sr", "inpaint", "restore", "flash"])
def test_the_probe_is_a_run_of_the_task_filling_the_canvas(task):
    preset = get_preset(task, "fast")
    session = probe_session(preset, Canvas.around((64, 96), preset.net.multiple, preset.net.min_cells), 3, "cpu", None)
    assert session.problem.task == task
    assert session.canvas.height == 64 and session.canvas.width == 96
    first = session.step()
    assert first.loss > 0 and session.seconds > 0
