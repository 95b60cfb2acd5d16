"""Crash recovery through the command line: kill a run, resume it, finish the same iteration count."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from dip_gui.cli.main import main
from dip_gui.core.imaging import load_image, save_image
from tests.makers import torch_threads

TOTAL = 300
ROOT = Path(__file__).resolve().parents[2]


def started_until_checkpoint(command: list[str], checkpoint: Path, **popen) -> subprocess.Popen:
    """The run started in a process of its own, handed back once its first checkpoint is written (or
    it ended, or two minutes passed)."""
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"}, **popen)
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    return process


@pytest.fixture
def photo(tmp_path, smooth_image) -> Path:
    path = tmp_path / "photo.png"
    save_image(path, smooth_image(20, 28))
    return path


@pytest.mark.timing
@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_killed_run_resumes_and_finishes_the_same_iteration_count(photo, tmp_path):
    checkpoint = tmp_path / "run.dips"
    command = [sys.executable, "-m", "dip_gui", "run", str(photo), "-o", str(tmp_path / "first.png"), "--task", "denoise",
               "--iters", str(TOTAL), "--no-auto-stop", "--checkpoint", str(checkpoint), "--checkpoint-every", "0",
               "--quiet"]  # all TOTAL iterations: where a stop would fire moves with the CPU's last bits
    process = started_until_checkpoint(command, checkpoint)
    try:
        time.sleep(0.3)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    assert process.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    saved_at = torch.load(checkpoint, weights_only=True)["session"]["iteration"]
    assert 0 < saved_at < TOTAL
    assert not (tmp_path / "first.png").exists()

    metrics = tmp_path / "m.json"
    assert main(["run", "--resume", str(checkpoint), "-o", str(tmp_path / "resumed.png"), "--metrics-json", str(metrics),
                 "--no-auto-stop", "--quiet"]) == 0
    report = json.loads(metrics.read_text())
    assert report["iterations"] == TOTAL and report["task"] == "denoise"
    assert len(report["history"]) == TOTAL - saved_at  # only the remaining iterations ran
    assert load_image(tmp_path / "resumed.png").size == (20, 28)
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # the killed write's leftovers are gone


def test_resume_can_extend_a_finished_run(photo, tmp_path):
    checkpoint = tmp_path / "run.dips"
    assert main(["run", str(photo), "-o", str(tmp_path / "a.png"), "--task", "denoise", "--iters", "4", "--checkpoint",
                 str(checkpoint), "--quiet"]) == 0
    metrics = tmp_path / "m.json"
    assert main(["run", "--resume", str(checkpoint), "-o", str(tmp_path / "b.png"), "--iters", "7", "--checkpoint",
                 str(checkpoint), "--metrics-json", str(metrics), "--quiet"]) == 0
    assert json.loads(metrics.read_text())["iterations"] == 7
    assert torch.load(checkpoint, weights_only=True)["session"]["iteration"] == 7


def test_resume_refuses_what_it_cannot_use(photo, tmp_path, capsys):
    checkpoint = tmp_path / "run.dips"
    assert main(["run", str(photo), "-o", str(tmp_path / "a.png"), "--task", "denoise", "--iters", "5", "--checkpoint",
                 str(checkpoint), "--quiet"]) == 0
    broken = tmp_path / "broken.dips"
    broken.write_bytes(checkpoint.read_bytes()[:100])
    cases = {
        "not a readable": ["run", "--resume", str(broken), "-o", str(tmp_path / "x.png")],
        "below the 5 iterations": ["run", "--resume", str(checkpoint), "-o", str(tmp_path / "x.png"), "--iters", "3"],
        "refusing to overwrite the input": ["run", "--resume", str(checkpoint), "-o", str(photo)],
        "give the photo": ["run", "-o", str(tmp_path / "x.png"), "--task", "denoise"],
        "must not name the input": ["run", str(photo), "-o", str(tmp_path / "x.png"), "--task", "denoise",
                                    "--checkpoint", str(photo)],
    }
    for expected, argv in cases.items():
        before = photo.read_bytes()
        assert main(argv) == 2, expected
        assert expected in capsys.readouterr().err
        assert photo.read_bytes() == before
        assert not (tmp_path / "x.png").exists()


def test_a_failing_checkpoint_warns_and_the_run_still_saves_its_result(photo, tmp_path, capsys, monkeypatch):
    import dip_gui.core.session.checkpoint as checkpoint

    def disk_full(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(checkpoint, "save_session", disk_full)
    assert main(["run", str(photo), "-o", str(tmp_path / "out.png"), "--task", "denoise", "--iters", "3",
                 "--checkpoint", str(tmp_path / "run.dips"), "--checkpoint-every", "0", "--quiet"]) == 0
    assert "could not write the checkpoint" in capsys.readouterr().err
    assert (tmp_path / "out.png").exists() and not (tmp_path / "run.dips").exists()


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM and SIGHUP")
@pytest.mark.parametrize("termination", ["SIGTERM", "SIGHUP"])
def test_a_terminated_run_keeps_its_result_and_checkpoint_as_ctrl_c_does(photo, tmp_path, termination):
    """A closed terminal, `timeout` or a service manager stops the run the way Ctrl+C does."""
    checkpoint, output = tmp_path / "run.dips", tmp_path / "out.png"
    command = [sys.executable, "-m", "dip_gui", "run", str(photo), "-o", str(output), "--task", "denoise",
               "--iters", "100000", "--checkpoint", str(checkpoint), "--checkpoint-every", "0", "--quiet"]
    process = started_until_checkpoint(command, checkpoint, stderr=subprocess.PIPE, text=True)
    try:
        process.send_signal(getattr(signal, termination))
        _, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert "interrupted at iteration" in err and "saved" in err
    assert load_image(output).size == (20, 28)
    assert 0 < torch.load(checkpoint, weights_only=True)["session"]["iteration"] < 100000


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="pipes")
def test_a_closed_stderr_pipe_does_not_end_the_run(photo, tmp_path):
    """`run ... 2>&1 | head -1`: the reader goes away after one line; the run still saves its result."""
    output = tmp_path / "out.png"
    command = [sys.executable, "-m", "dip_gui", "run", str(photo), "-o", str(output), "--task", "denoise",
               "--iters", "30"]
    process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert process.stderr is not None
    process.stderr.readline()
    process.stderr.close()  # the reader has gone: the next line the run writes meets a broken pipe
    assert process.wait(timeout=120) == 0
    assert load_image(output).size == (20, 28)


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
def test_a_run_resumed_after_ctrl_c_ends_bit_for_bit_where_an_uninterrupted_one_does(photo, tmp_path):
    """The interrupt waits for the step in progress: the checkpoint holds a whole number of steps."""
    total = 120
    base = [sys.executable, "-m", "dip_gui", "run", str(photo), "--task", "denoise", "--iters", str(total),
            "--no-auto-stop", "--quiet"]
    subprocess.run([*base, "-o", str(tmp_path / "whole.png")], cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"},
                   check=True)

    checkpoint = tmp_path / "run.dips"
    process = started_until_checkpoint([*base, "-o", str(tmp_path / "cut.png"), "--checkpoint", str(checkpoint),
                                        "--checkpoint-every", "0"], checkpoint,
                                       preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        process.wait(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 130, "the run finished before it could be interrupted"
    saved_at = torch.load(checkpoint, weights_only=True)["session"]["iteration"]
    assert 0 < saved_at < total
    with torch_threads(1):  # as the runs in their own processes: the last bit depends on the thread count
        assert main(["run", "--resume", str(checkpoint), "-o", str(tmp_path / "resumed.png"), "--no-auto-stop",
                     "--quiet"]) == 0
    whole, resumed = (load_image(tmp_path / name).rgb for name in ("whole.png", "resumed.png"))
    assert (whole == resumed).all()


def test_a_resumed_run_keeps_the_photo_s_colour_profile_and_exif(tmp_path):
    from PIL import Image

    from tests.makers import adobe_rgb_profile

    exif = Image.Exif()
    exif[0x8298] = "(c) A. Photographer"
    photo = tmp_path / "adobe.png"
    pixels = np.random.default_rng(6).integers(0, 255, (24, 32, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(photo, icc_profile=adobe_rgb_profile(), exif=exif.tobytes())
    checkpoint = tmp_path / "run.dips"
    assert main(["run", str(photo), "-o", str(tmp_path / "a.png"), "--task", "denoise", "--iters", "2", "--checkpoint",
                 str(checkpoint), "--quiet"]) == 0
    resumed = tmp_path / "resumed.png"
    assert main(["run", "--resume", str(checkpoint), "-o", str(resumed), "--iters", "3", "--quiet"]) == 0
    written = load_image(resumed)
    assert written.metadata is not None and written.metadata.icc_profile == adobe_rgb_profile()
    assert b"A. Photographer" in written.metadata.exif


@pytest.mark.skipif(sys.platform == "win32", reason="advisory locks")
def test_a_second_run_on_the_same_checkpoint_is_refused_and_the_first_goes_on(photo, tmp_path, capsys):
    checkpoint = tmp_path / "run.dips"
    command = [sys.executable, "-m", "dip_gui", "run", str(photo), "-o", str(tmp_path / "first.png"), "--task", "denoise",
               "--iters", "100000", "--no-auto-stop", "--checkpoint", str(checkpoint), "--checkpoint-every", "0",
               "--quiet"]
    process = started_until_checkpoint(command, checkpoint)
    try:
        assert process.poll() is None
        for second in (["run", str(photo), "-o", str(tmp_path / "second.png"), "--task", "denoise", "--iters", "2",
                        "--checkpoint", str(checkpoint)],
                       ["run", "--resume", str(checkpoint), "-o", str(tmp_path / "third.png")]):
            assert main(second) == 2
            error = capsys.readouterr().err
            assert error.count("\n") == 1 and "is used by another run" in error
        assert process.poll() is None  # the first run was left alone
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    # a killed holder frees it: the next run takes the checkpoint over
    assert main(["run", "--resume", str(checkpoint), "-o", str(tmp_path / "resumed.png"), "--iters", "100000",
                 "--max-seconds", "0.5", "--quiet"]) == 0
    assert not any(p.name.endswith("-lock") for p in tmp_path.iterdir())


def tiled_command(photo: Path, out: Path, checkpoint: Path | None) -> list[str]:
    command = [sys.executable, "-m", "dip_gui", "run", str(photo), "-o", str(out), "--task", "denoise", "--iters", "30",
               "--no-auto-stop", "--tile", "24", "--tile-overlap", "8", "--quiet"]
    return command + (["--checkpoint", str(checkpoint), "--checkpoint-every", "0"] if checkpoint else [])


@pytest.mark.timing
@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_killed_tiled_run_goes_on_from_its_checkpoint_to_the_same_result(photo, tmp_path, capsys):
    """The photo is 20x28: two tiles of 24 px. Killed in the second tile, the same command again keeps
    the first tile and continues the second from its last iteration saved."""
    from dip_gui.core.session.checkpoint import read_session_file

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    whole = tmp_path / "whole.png"
    subprocess.run(tiled_command(photo, whole, None), cwd=ROOT, env=env, check=True, timeout=600)

    checkpoint, resumed = tmp_path / "tiles.dips", tmp_path / "resumed.png"
    process = subprocess.Popen(tiled_command(photo, resumed, checkpoint), cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and process.poll() is None:
            if checkpoint.exists():
                try:
                    saved = read_session_file(checkpoint)
                except Exception:  # being replaced: read it again
                    continue
                if saved["source"]["tiles"]["index"] == 1 and saved["session"]["iteration"] >= 3:
                    break
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    assert process.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert not resumed.exists()
    subprocess.run(tiled_command(photo, resumed, checkpoint), cwd=ROOT, env=env, check=True, timeout=600)
    assert np.array_equal(load_image(resumed).rgb, load_image(whole).rgb)

    other = tmp_path / "other.png"
    save_image(other, load_image(photo).rgb[::-1].copy())
    capsys.readouterr()
    assert main(tiled_command(other, tmp_path / "x.png", checkpoint)[3:]) == 2  # in this process: it fails at once
    assert "holds a tiled run of another photo" in capsys.readouterr().err
