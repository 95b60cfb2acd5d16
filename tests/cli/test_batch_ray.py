"""``batch --ray`` on a local Ray instance with two workers: the local batch's results, bit for bit,
and a worker killed mid-photo does not lose the batch."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from dip_gui.core.batch.cluster import run_on_ray
from dip_gui.core.batch.plan import plan_batch
from dip_gui.core.batch.runner import run_batch
from dip_gui.core.batch.settings import BatchSettings
from dip_gui.core.imaging import load_image, save_image
from tests.makers import torch_threads

ray = pytest.importorskip("ray")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL, Ray's local instance")]
ROOT = Path(__file__).resolve().parents[2]
ONE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1"}


@pytest.fixture
def folder(tmp_path, smooth_image) -> Path:
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    save_image(root / "a.png", smooth_image(20, 24, seed=1))
    save_image(root / "sub" / "b.png", smooth_image(16, 20, seed=2))
    save_image(root / "sub" / "c.png", smooth_image(18, 18, seed=3), bit_depth=16)
    (root / "sub" / "broken.png").write_bytes(b"not a png")
    return root


@pytest.fixture
def ray_instance():
    """A local Ray instance with two workers, shared by the in-process runs of a test."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def local_batch(folder: Path, out: Path, iters: int) -> None:
    """The local batch with one torch thread (the threads a Ray photo gets with --cpus-per-photo 1)."""
    with torch_threads(1):
        run_batch(plan_batch([folder], out), BatchSettings(task="denoise", iterations=iters, auto_stop=False), out)


def assert_same_results(folder: Path, one: Path, other: Path) -> None:
    for name in ("a.png", "sub/b.png", "sub/c.png"):
        first, second = load_image(one / name), load_image(other / name)
        assert second.bit_depth == first.bit_depth and np.array_equal(first.rgb, second.rgb), name


def test_a_ray_batch_gives_the_local_batch_results_bit_for_bit(folder, tmp_path, ray_instance):
    local_batch(folder, tmp_path / "local", iters=6)
    settings = BatchSettings(task="denoise", iterations=6, auto_stop=False)
    out = tmp_path / "ray"
    summary = run_on_ray(plan_batch([folder], out), settings, out, cpus_per_photo=1)
    assert (summary.restored, summary.failed) == (3, 1)
    report = json.loads((out / "batch-report.json").read_text())
    assert "not an image file" in report["photos"]["sub/broken.png"]["error"]
    assert_same_results(folder, tmp_path / "local", out)
    again = run_on_ray(plan_batch([folder], out), settings, out, cpus_per_photo=1)
    assert (again.restored, again.reused, again.failed) == (0, 3, 1)


def ray_workers_running_photos() -> list[int]:
    """The processes of Ray workers inside restore_on_worker (Ray names them after the task)."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "cmdline").read_bytes().startswith(b"ray::restore_on_worker"):
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds Ray's workers in /proc")
def test_a_worker_killed_mid_photo_is_retried_from_the_checkpoint_and_the_batch_completes(folder, tmp_path):
    """With the default --cpus-per-photo, a photo gets the threads a local batch of the driver uses."""
    (folder / "sub" / "broken.png").unlink()
    local_batch(folder, tmp_path / "local", iters=50)
    out = tmp_path / "ray"
    command = [sys.executable, "-m", "dip_gui", "batch", str(folder), "-o", str(out), "--task", "denoise",
               "--iters", "50", "--no-auto-stop", "--checkpoint-every", "0.2", "--quiet", "--ray"]
    process = subprocess.Popen(command, cwd=ROOT, env=ONE_THREAD)
    checkpoints = out / ".dip-batch" / "checkpoints"
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline and not any(checkpoints.rglob("*.dips")):
        time.sleep(0.02)
    killed = ray_workers_running_photos()
    for pid in killed:
        os.kill(pid, signal.SIGKILL)
    assert killed, "no worker was running a photo"
    assert process.wait(timeout=300) == 0
    report = json.loads((out / "batch-report.json").read_text())
    assert {entry["status"] for entry in report["photos"].values()} == {"done"}
    assert any(entry["resumed_from"] for entry in report["photos"].values()), "the retry did not resume"
    assert_same_results(folder, tmp_path / "local", out)


def test_without_ray_the_option_says_how_to_get_it(folder, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(Exception, match=r"pip install 'dip-studio\[cluster\]'"):
        run_on_ray(plan_batch([folder], tmp_path / "out"), BatchSettings(task="denoise"), tmp_path / "out")
