"""Random sequences of what a user does (#28: no stuck state, no stale photo). After every action the
window's controls follow its state: never a finished run with Start greyed, never Stop live with no run."""

import random

import pytest

from dip_gui.core.imaging import save_image
from dip_gui.ui.window.document import WindowState
from tests.makers import smooth_image


def check_controls(window) -> None:
    state = window.document.state
    running = window.run.running
    assert state.busy == running or state is WindowState.STOPPING, (state, running)
    if not state.busy:
        assert window.panel.isEnabled() and not window.stop_action.isEnabled() and not window.pause_action.isEnabled()
        assert window.start_action.isEnabled() == (window.photo is not None)
    else:
        assert not window.panel.isEnabled() and not window.start_action.isEnabled()
    if window.photo is not None and window.run.session is not None and not running:
        # the result shown belongs to the photo open: same size (times the scale for SR)
        result = window.files.timeline.displayed_result()
        if result is not None:
            scale = window.run.session.problem.scale or 1
            assert result.shape[:2] == (window.photo.size[0] * scale, window.photo.size[1] * scale)
    assert window.side_action.isChecked() + window.split_action.isChecked() <= 1


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_random_use_never_leaves_the_window_stuck(window, tmp_path, qtbot, quick_settings, seed):
    photos = []
    for index, size in enumerate([(40, 48), (32, 36), (24, 40)]):
        path = tmp_path / f"photo{index}.png"
        save_image(path, smooth_image(*size, seed=index))
        photos.append(path)
    rng = random.Random(seed)
    window.files.open_path(photos[0])

    def start():
        quick_settings(window, rng.choice([3, 6, 400]))
        window.start_action.trigger()

    actions = {
        "open": lambda: window.files.open_path(rng.choice(photos)),
        "start": start,
        "pause": window.pause_action.trigger,
        "stop": window.stop_action.trigger,
        "continue": window.continue_action.trigger,
        "split": window.split_action.trigger,
        "toggle": window.toggle_action.trigger,
        "side": window.side_action.trigger,
        "test image": lambda: window.files.make_test_image_from(rng.choice([("noise", 25, 0), ("downscale", 2, 0),
                                                                            ("drop", 0.5, 0)])),
        "task": lambda: window.panel.select_task(rng.choice(["denoise", "inpaint", "sr", "restore"])),
        "paint": lambda: window.input_view.paint_stroke([(5, 5), (15, 12)]),
        "rewind": lambda: window.timeline.select_iteration(1),
        "wait": lambda: qtbot.wait(rng.choice([50, 400])),
    }
    for _ in range(40):
        name = rng.choice(list(actions))
        if name in ("start", "continue") and window.panel.current_task().takes_mask:
            window.input_view.paint_stroke([(5, 5), (15, 12)])  # a mask task starts with something to fill
        actions[name]()
        qtbot.wait(20)
        check_controls(window)
    window.stop_action.trigger()
    qtbot.waitUntil(lambda: not window.run.running, timeout=60000)
    check_controls(window)
