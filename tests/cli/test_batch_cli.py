"""``batch`` on the command line: exit statuses, the last line, reruns, and a batch killed mid-photo."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from dip_gui.cli.main import main
from dip_gui.core.batch.plan import plan_batch
from dip_gui.core.batch.runner import run_batch
from dip_gui.core.batch.settings import BatchSettings
from dip_gui.core.imaging import load_image, save_image
from tests.makers import torch_threads

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def folder(tmp_path, smooth_image) -> Path:
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    save_image(root / "a.png", smooth_image(20, 24, seed=1))
    save_image(root / "sub" / "b.png", smooth_image(16, 20, seed=2))
    return root


def last_line(capsys) -> str:
    return capsys.readouterr().err.strip().splitlines()[-1]


def test_a_batch_with_a_broken_photo_exits_1_and_its_last_line_counts(folder, tmp_path, capsys):
    (folder / "sub" / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    out = tmp_path / "out"
    code = main(["batch", str(folder), "-o", str(out), "--task", "denoise", "--iters", "3"])
    assert code == 1
    assert last_line(capsys).startswith("batch finished: 2 restored, 1 failed")
    assert (out / "a.png").is_file() and (out / "sub" / "b.png").is_file()
    (folder / "sub" / "broken.jpg").unlink()
    assert main(["batch", str(folder), "-o", str(out), "--task", "denoise", "--iters", "3"]) == 0
    assert last_line(capsys).startswith("batch finished: 0 restored, 2 already done, 0 failed")


@pytest.mark.parametrize(("options", "message"), [
    (["--task", "denoise", "--mask", "m.png"], "--mask and --mask-dir are for inpaint and restore"),
    (["--task", "sr"], "super-resolution needs --scale"),
    (["--task", "denoise", "--quality", "0"], "--quality must be from 1 to 100"),
    (["--task", "inpaint", "--mask-dir", "nowhere"], "--mask-dir nowhere: no such folder"),
])
def test_a_mistake_in_the_command_is_one_line_and_exit_2_before_any_photo(folder, tmp_path, capsys, options, message):
    assert main(["batch", str(folder), "-o", str(tmp_path / "out"), *options]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def run_batch_process(folder: Path, out: Path, checkpoint_every: float = 0.2) -> subprocess.Popen:
    """The batch in a process of its own with one torch thread, 40 iterations a photo."""
    command = [sys.executable, "-m", "dip_gui", "batch", str(folder), "-o", str(out), "--task", "denoise",
               "--iters", "40", "--no-auto-stop", "--checkpoint-every", str(checkpoint_every), "--quiet"]
    return subprocess.Popen(command, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"})


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_batch_killed_mid_photo_and_run_again_ends_as_an_uninterrupted_one(folder, tmp_path):
    whole = tmp_path / "whole"
    with torch_threads(1):  # as the killed batch's process
        run_batch(plan_batch([folder], whole), BatchSettings(task="denoise", iterations=40, auto_stop=False), whole)
    out = tmp_path / "killed"
    process = run_batch_process(folder, out)
    checkpoints = out / ".dip-batch" / "checkpoints"
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline and not any(checkpoints.rglob("*.dips")):
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the batch finished before it could be killed"
    report = json.loads((out / "batch-report.json").read_text())
    assert "running" in {entry["status"] for entry in report["photos"].values()}
    assert run_batch_process(folder, out).wait() == 0
    report = json.loads((out / "batch-report.json").read_text())
    assert {entry["status"] for entry in report["photos"].values()} == {"done"}
    assert any(entry["resumed_from"] for entry in report["photos"].values()), "the killed photo was started again"
    for name in ("a.png", "sub/b.png"):
        assert np.array_equal(load_image(out / name).rgb, load_image(whole / name).rgb), name


def test_a_batch_to_srgb_tags_every_result_srgb(tmp_path):
    from PIL import Image

    from dip_gui.core.colour import srgb_profile
    from tests.makers import adobe_rgb_profile

    photos = tmp_path / "photos"
    photos.mkdir()
    pixels = np.random.default_rng(5).integers(0, 255, (20, 24, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(photos / "a.png", icc_profile=adobe_rgb_profile())
    out = tmp_path / "out"
    assert main(["batch", str(photos), "-o", str(out), "--task", "denoise", "--iters", "1", "--to-srgb", "--quiet"]) == 0
    assert load_image(out / "a.png").metadata.icc_profile == srgb_profile()
