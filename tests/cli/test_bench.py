"""The benchmark command's contract (figures themselves are measured by hand, not in tests)."""

import json
import platform
import subprocess
import sys

import pytest
import torch

from dip_gui.cli.main import main
from dip_gui.core.errors import DeviceError
from dip_gui.core.problem.presets import default_preset_name
from dip_gui.core.runtime.device import resolve_precision


def _json_output(capsys, *args) -> dict:
    assert main(["bench", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_one_configuration_prints_exactly_the_documented_keys(capsys):
    result = _json_output(capsys, "--task", "denoise", "--preset", "fast", "--size", "32", "--iters", "2", "--warmup", "1",
                          "--device", "cpu")
    assert set(result) == {"seconds_per_iter", "iterations_per_second", "peak_memory_mb", "device", "parameters"}
    assert result["device"] == "cpu" and result["parameters"] == 379_475
    assert result["seconds_per_iter"] > 0
    assert result["iterations_per_second"] == pytest.approx(1 / result["seconds_per_iter"], rel=1e-2)


@pytest.mark.slow
def test_compare_eager_times_the_plain_network_beside_ours(capsys):
    result = _json_output(capsys, "--compare-eager", "--size", "32", "--iters", "1", "--warmup", "1", "--device", "cpu",
                          "--rounds", "1")
    assert result["parameters"] == 2_217_831  # the paper's denoising network by default
    assert result["host_memory"] == ("fast" if platform.libc_ver()[0] == "glibc" else "lean")  # small photo, CPU
    assert result["eager_seconds_per_iter"] > 0 and result["seconds_per_iter"] > 0
    assert result["speedup"] == pytest.approx(result["eager_seconds_per_iter"] / result["seconds_per_iter"], rel=1e-2)


def test_reduced_precision_needs_cuda():
    import torch

    assert resolve_precision("auto", torch.device("cpu")) == "fp32"
    assert resolve_precision("auto", torch.device("cuda")) == "tf32"
    with pytest.raises(DeviceError, match="needs a CUDA GPU"):
        resolve_precision("bf16", torch.device("cpu"))
    with pytest.raises(DeviceError, match="unknown precision"):
        resolve_precision("fp8", torch.device("cpu"))


def test_bf16_on_the_cpu_is_a_clean_user_error(tmp_path, capsys, smooth_image):
    from dip_gui.core.imaging import save_image

    photo = tmp_path / "in.png"
    save_image(photo, smooth_image(16, 16))
    code = main(["run", str(photo), "-o", str(tmp_path / "out.png"), "--task", "denoise", "--device", "cpu",
                 "--precision", "bf16", "--iters", "2", "--quiet"])
    assert code == 2
    assert "needs a CUDA GPU" in capsys.readouterr().err
    assert not (tmp_path / "out.png").exists()


def test_default_preset_is_the_papers_on_a_gpu_and_fast_elsewhere():
    assert default_preset_name("denoise", "cuda") == "paper"
    assert default_preset_name("denoise", "cpu") == "fast"
    assert default_preset_name("inpaint", "mps") == "fast"


def test_preview_cost_compares_the_loop_with_and_without_previews(capsys):
    result = _json_output(capsys, "--preview-rate", "10", "--size", "32", "--iters", "3", "--warmup", "1", "--device", "cpu")
    assert result["preview_rate"] == 10 and result["device"] == "cpu"
    expected = 100 * (1 - result["seconds_per_iter"] / result["with_previews_seconds_per_iter"])
    # the printed seconds are rounded to 10 microseconds: at 32 px that moves the ratio by ~0.2 points
    assert result["throughput_drop_percent"] == pytest.approx(expected, abs=0.5)


def test_peak_memory_of_a_table_row_is_its_own_not_its_parents():
    """Table rows run in child processes; ru_maxrss would hand them the parent's peak."""
    parent_ballast = torch.ones(600 * 2**20 // 4)  # touched: resident in this (the parent) process
    code = "import dip_gui.cli.bench as b; print(b._rss_mb())"
    child_peak = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                      check=True).stdout.split()[-1])
    assert float(parent_ballast.sum()) > 0
    assert child_peak < 500
