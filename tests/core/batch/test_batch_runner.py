"""A batch on this machine: results, the report, failures that do not stop it, reruns and resumes."""

import json
from dataclasses import replace

import numpy as np
import pytest

from dip_gui.core.batch import restore as restore_module
from dip_gui.core.batch import runner as runner_module
from dip_gui.core.batch.plan import plan_batch
from dip_gui.core.batch.report import REPORT_NAME
from dip_gui.core.batch.runner import batch_lock, run_batch
from dip_gui.core.batch.settings import BatchSettings
from dip_gui.core.errors import InvalidParameterError
from dip_gui.core.imaging import load_image, save_image

SETTINGS = BatchSettings(task="denoise", iterations=4, checkpoint_every=0.0)


@pytest.fixture
def folder(tmp_path, smooth_image):
    """Three small photos in a tree (one 16-bit) and a file that is not a photo."""
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    save_image(root / "a.png", smooth_image(20, 24, seed=1))
    save_image(root / "sub" / "b.jpg", smooth_image(24, 20, seed=2))
    save_image(root / "sub" / "deep.png", smooth_image(16, 16, seed=3), bit_depth=16)
    (root / "sub" / "broken.png").write_bytes(b"not a png")
    return root


def report_of(out_dir):
    return json.loads((out_dir / REPORT_NAME).read_text())


def test_every_good_photo_is_restored_under_its_path_and_a_broken_one_is_reported(folder, tmp_path):
    out = tmp_path / "out"
    summary = run_batch(plan_batch([folder], out), SETTINGS, out)
    assert (summary.restored, summary.failed, summary.stopped) == (3, 1, False)
    for name, size in (("a.png", (20, 24)), ("sub/b.png", (24, 20)), ("sub/deep.png", (16, 16))):
        assert load_image(out / name).size == size
    assert load_image(out / "sub" / "deep.png").bit_depth == 16
    photos = report_of(out)["photos"]
    assert photos["sub/broken.png"]["status"] == "failed"
    assert "not an image file" in photos["sub/broken.png"]["error"]
    done = photos["a.png"]
    assert done["status"] == "done" and done["iterations"] == 4 and done["seconds"] > 0 and done["end_reason"]
    assert done["output"] == "a.png"
    assert not any((out / ".dip-batch" / "checkpoints").rglob("*.dips")), "a finished photo keeps no checkpoint"


def test_the_same_batch_again_redoes_nothing_but_what_failed(folder, tmp_path, monkeypatch):
    out = tmp_path / "out"
    run_batch(plan_batch([folder], out), SETTINGS, out)
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.png")}
    tried = []
    real = restore_module.restore_photo
    monkeypatch.setattr(runner_module, "restore_photo", lambda item, *a, **k: tried.append(item.name) or real(item, *a, **k))
    summary = run_batch(plan_batch([folder], out), SETTINGS, out)
    assert tried == ["sub/broken.png"] and (summary.reused, summary.failed) == (3, 1)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.png")} == before


def test_a_folder_of_another_recipe_is_refused_unless_overwrite(folder, tmp_path):
    out = tmp_path / "out"
    run_batch(plan_batch([folder / "a.png"], out), SETTINGS, out)
    other = BatchSettings(task="denoise", iterations=5, checkpoint_every=0.0)
    with pytest.raises(InvalidParameterError, match=r"holds a\.png restored with other settings \(iterations\)"):
        run_batch(plan_batch([folder / "a.png"], out), other, out)
    summary = run_batch(plan_batch([folder / "a.png"], out), other, out, overwrite=True)
    assert summary.restored == 1 and report_of(out)["photos"]["a.png"]["iterations"] == 5


def test_a_photo_out_of_memory_is_reported_and_the_batch_goes_on(folder, tmp_path, monkeypatch):
    out = tmp_path / "out"
    real = restore_module.restore_photo

    def out_of_memory_on_a(item, *args, **kwargs):
        if item.name == "a.png":
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(item, *args, **kwargs)

    monkeypatch.setattr(runner_module, "restore_photo", out_of_memory_on_a)
    summary = run_batch(plan_batch([folder], out), SETTINGS, out)
    assert (summary.restored, summary.failed) == (2, 2)
    assert report_of(out)["photos"]["a.png"]["error"].startswith("out of memory")


def test_a_mask_of_the_wrong_size_fails_that_photo_only(tmp_path, smooth_image):
    root = tmp_path / "in"
    root.mkdir()
    save_image(root / "a.png", smooth_image(20, 20))
    save_image(root / "a_mask.png", np.zeros((10, 10, 3), np.float32))
    save_image(root / "b.png", smooth_image(20, 20, seed=4))
    save_image(root / "b_mask.png", np.pad(np.ones((4, 4, 3), np.float32), ((8, 8), (8, 8), (0, 0))))
    out = tmp_path / "out"
    settings = BatchSettings(task="inpaint", iterations=3)
    summary = run_batch(plan_batch([root], out), settings, out)
    photos = report_of(out)["photos"]
    assert (summary.restored, summary.failed) == (1, 1)
    assert "mask is 10x10 but the photo is 20x20" in photos["a.png"]["error"]
    assert photos["b.png"]["mask"].endswith("b_mask.png")


def test_a_stopped_batch_resumes_its_photo_from_the_checkpoint_and_ends_as_an_uninterrupted_one(folder, tmp_path):
    items = plan_batch([folder / "a.png"], tmp_path / "whole")
    settings = BatchSettings(task="denoise", iterations=12, auto_stop=False, checkpoint_every=0.0)
    run_batch(items, settings, tmp_path / "whole")
    out = tmp_path / "stopped"
    calls = iter(range(100))
    summary = run_batch(plan_batch([folder / "a.png"], out), settings, out, keep_going=lambda: next(calls) < 6)
    assert summary.stopped and not (out / "a.png").exists()
    assert report_of(out)["photos"]["a.png"]["status"] == "interrupted"
    assert (out / ".dip-batch" / "checkpoints" / "a.dips").is_file()
    summary = run_batch(plan_batch([folder / "a.png"], out), settings, out)
    entry = report_of(out)["photos"]["a.png"]
    assert summary.restored == 1 and entry["resumed_from"] is not None and entry["resumed_from"] > 0
    assert np.array_equal(load_image(out / "a.png").rgb, load_image(tmp_path / "whole" / "a.png").rgb)


def test_a_photo_changed_since_its_checkpoint_starts_again(folder, tmp_path, smooth_image):
    out = tmp_path / "out"
    settings = BatchSettings(task="denoise", iterations=12, auto_stop=False, checkpoint_every=0.0)
    calls = iter(range(100))
    run_batch(plan_batch([folder / "a.png"], out), settings, out, keep_going=lambda: next(calls) < 6)
    save_image(folder / "a.png", smooth_image(20, 24, seed=9))
    run_batch(plan_batch([folder / "a.png"], out), settings, out)
    entry = report_of(out)["photos"]["a.png"]
    assert entry["status"] == "done" and entry["resumed_from"] is None and entry["iterations"] == 12


def test_one_batch_at_a_time_per_output_folder(tmp_path):
    with batch_lock(tmp_path):
        second = batch_lock(tmp_path)
        with pytest.raises(InvalidParameterError, match="in use by another batch"):
            second.__enter__()


def test_a_photo_with_its_own_settings_is_restored_and_recorded_with_them(folder, tmp_path):
    out = tmp_path / "out"
    own = BatchSettings(task="denoise", iterations=2, checkpoint_every=0.0)
    items = [replace(item, settings=own) if item.name == "a.png" else item for item in plan_batch([folder], out)]
    run_batch(items, SETTINGS, out)
    photos = report_of(out)["photos"]
    assert photos["a.png"]["iterations"] == 2 and photos["a.png"]["recipe"]["iterations"] == 2
    assert photos["sub/b.jpg"]["iterations"] == 4 and photos["sub/b.jpg"]["recipe"]["iterations"] == 4
    assert run_batch(items, SETTINGS, out).reused == 3, "each photo is reused under its own recipe"
    with pytest.raises(InvalidParameterError, match=r"holds a\.png restored with other settings"):
        run_batch(plan_batch([folder], out), SETTINGS, out)


def test_a_camera_blur_is_checked_before_the_first_photo_and_recorded_in_the_recipe_only_when_set(folder, tmp_path):
    for wrong in (BatchSettings(task="denoise", blur=1.0), BatchSettings(task="sr", scale=2, blur=5.0)):
        with pytest.raises(InvalidParameterError, match="blur"):
            wrong.check()
    assert "blur" not in BatchSettings(task="sr", scale=2).recipe()  # a report written without one still matches
    blurred = BatchSettings(task="sr", scale=2, blur=1.0, iterations=2, checkpoint_every=0.0)
    blurred.check()
    out = tmp_path / "out"
    assert run_batch(plan_batch([folder / "a.png"], out), blurred, out).restored == 1
    assert report_of(out)["photos"]["a.png"]["recipe"]["blur"] == 1.0
