"""Super-resolution of a small photo the camera blurred more than the app's downsampler assumes."""

import numpy as np
import pytest

from dip_gui.core.classical.warm_start import back_projected_upscale
from dip_gui.core.errors import InvalidParameterError
from dip_gui.core.metrics import psnr
from dip_gui.core.problem.degradations import downscale
from dip_gui.core.problem.tasks import Problem, make_problem
from dip_gui.core.stopping.start_check import downscaled_pair
from tests.makers import striped_photo


def test_the_blur_is_part_of_the_problem_and_of_its_saved_state(image32):
    problem = make_problem("sr", image32, scale=2, blur=1.5)
    assert problem.blur == 1.5 and problem.operator.blur == 1.5
    state = problem.to_state()
    assert Problem.from_state(state).operator.blur == 1.5 == Problem.from_state(state).blur
    del state["blur"]  # a session saved without one: the app's downsampler alone
    assert Problem.from_state(state).blur == 0.0 == Problem.from_state(state).operator.blur


def test_a_blur_for_another_task_or_wider_than_the_scale_takes_is_refused(image32):
    with pytest.raises(InvalidParameterError, match="super-resolution"):
        make_problem("denoise", image32, blur=1.0)
    with pytest.raises(InvalidParameterError, match="0 to 4 px at x2"):
        make_problem("sr", image32, scale=2, blur=4.5)


def test_the_start_told_the_camera_s_blur_is_sharper_and_truer_than_the_start_that_is_not():
    clean = striped_photo(64)
    small = downscale(clean, 2, blur=1.5)
    told = back_projected_upscale(small, make_problem("sr", small, scale=2, blur=1.5))
    untold = back_projected_upscale(small, make_problem("sr", small, scale=2))
    assert psnr(told, clean) > psnr(untold, clean) + 0.5


def test_the_start_check_makes_its_copy_with_the_run_s_blur(image32):
    copy, target = downscaled_pair(image32, 2, blur=1.5)
    np.testing.assert_array_equal(copy, downscale(image32, 2, blur=1.5))
    assert target.shape == image32.shape
