"""Which photos a batch finds, where their results go and which masks go with them."""

from pathlib import Path

import pytest

from dip_gui.core.batch.plan import plan_batch
from dip_gui.core.errors import InvalidParameterError


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def test_a_folder_is_read_recursively_and_results_mirror_its_tree(tmp_path):
    for name in ("a.png", "sub/b.jpg", "sub/deeper/c.TIF", "notes.txt", ".hidden.png"):
        touch(tmp_path / "in" / name)
    items = plan_batch([tmp_path / "in"], tmp_path / "out")
    assert [item.name for item in items] == ["a.png", "sub/b.jpg", "sub/deeper/c.TIF"]
    assert [item.output for item in items] == [tmp_path / "out" / "a.png", tmp_path / "out" / "sub/b.png",
                                               tmp_path / "out" / "sub/deeper/c.png"]
    assert all(item.checkpoint.suffix == ".dips" and ".dip-batch" in item.checkpoint.parts for item in items)


def test_the_output_format_sets_the_suffix_and_a_wrong_one_is_refused(tmp_path):
    touch(tmp_path / "in" / "a.png")
    assert plan_batch([tmp_path / "in"], tmp_path / "out", "tif")[0].output.name == "a.tif"
    with pytest.raises(InvalidParameterError, match="--format gif"):
        plan_batch([tmp_path / "in"], tmp_path / "out", "gif")


def test_photos_that_would_share_a_result_keep_their_suffix_in_its_name(tmp_path):
    touch(tmp_path / "in" / "c.jpg")
    touch(tmp_path / "in" / "c.png")
    outputs = sorted(item.output.name for item in plan_batch([tmp_path / "in"], tmp_path / "out"))
    assert outputs == ["c_jpg.png", "c_png.png"]


def test_several_folders_keep_their_names_so_equal_names_do_not_meet(tmp_path):
    touch(tmp_path / "one" / "a.png")
    touch(tmp_path / "two" / "a.png")
    single = touch(tmp_path / "loose.jpg")
    items = plan_batch([tmp_path / "one", tmp_path / "two", single], tmp_path / "out")
    assert sorted(item.name for item in items) == ["loose.jpg", "one/a.png", "two/a.png"]


def test_a_mask_beside_its_photo_is_its_mask_not_a_photo(tmp_path):
    photo = touch(tmp_path / "in" / "b.png")
    mask = touch(tmp_path / "in" / "b_mask.png")
    touch(tmp_path / "in" / "lonely_mask.png")  # no photo "lonely": a photo of its own
    items = {item.name: item for item in plan_batch([tmp_path / "in"], tmp_path / "out")}
    assert sorted(items) == ["b.png", "lonely_mask.png"]
    assert items["b.png"].mask == mask and items["b.png"].source == photo


def test_a_mask_folder_mirrors_the_photos_tree_by_name_or_name_mask(tmp_path):
    touch(tmp_path / "in" / "a.jpg")
    touch(tmp_path / "in" / "sub" / "b.png")
    first = touch(tmp_path / "masks" / "a.png")
    second = touch(tmp_path / "masks" / "sub" / "b_mask.png")
    items = {item.name: item for item in plan_batch([tmp_path / "in"], tmp_path / "out", mask_dir=tmp_path / "masks")}
    assert items["a.jpg"].mask == first and items["sub/b.png"].mask == second
    one = touch(tmp_path / "one.png")
    assert {item.mask for item in plan_batch([tmp_path / "in"], tmp_path / "out", mask=one)} == {one}


def test_the_output_folder_inside_the_input_folder_is_not_read_again(tmp_path):
    touch(tmp_path / "in" / "a.png")
    touch(tmp_path / "in" / "out" / "a.png")  # a result of an earlier batch
    assert [item.name for item in plan_batch([tmp_path / "in"], tmp_path / "in" / "out")] == ["a.png"]


def test_a_missing_input_or_a_folder_without_photos_is_one_clear_error(tmp_path):
    with pytest.raises(InvalidParameterError, match="no such file or folder"):
        plan_batch([tmp_path / "nothing"], tmp_path / "out")
    touch(tmp_path / "in" / "notes.txt")
    with pytest.raises(InvalidParameterError, match="no photos found"):
        plan_batch([tmp_path / "in"], tmp_path / "out")


def test_a_photo_named_twice_is_restored_once(tmp_path):
    photo = touch(tmp_path / "in" / "a.png")
    assert len(plan_batch([tmp_path / "in", photo], tmp_path / "out")) == 1
