"""Suggested file names: beside the photo, never over it, never into the installed package."""

from pathlib import Path

from dip_gui.core.samples import sample_photo
from dip_gui.ui.window.files import suggested_result_path


def test_a_result_is_suggested_beside_its_photo_with_the_task_in_its_name(tmp_path):
    photo = tmp_path / "holiday.jpg"
    assert suggested_result_path(photo, "denoise", None, "") == tmp_path / "holiday_denoised.png"
    assert suggested_result_path(photo, "sr", 4, "") == tmp_path / "holiday_sr4.png"


def test_the_bundled_sample_s_result_goes_to_the_users_folder_not_the_package(tmp_path):
    sample = sample_photo()
    assert sample is not None
    assert suggested_result_path(sample, "denoise", None, str(tmp_path)) == tmp_path / "chelsea_denoised.png"
    assert suggested_result_path(sample, "denoise", None, "") == Path.home() / "chelsea_denoised.png"
