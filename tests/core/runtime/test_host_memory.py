"""Keeping freed memory for reuse on the CPU: when it is chosen, and that it is really set."""

import platform

import pytest
import torch

from dip_gui.core.errors import InvalidParameterError
from dip_gui.core.problem.presets import get_preset
from dip_gui.core.problem.tasks import make_problem
from dip_gui.core.runtime import host_memory
from dip_gui.core.runtime.host_memory import (
    MAX_EXTRA_BYTES,
    MAX_KEPT_PEAK_BYTES,
    apply_host_memory,
    choose_host_memory,
    keeping_freed_memory,
)
from dip_gui.core.session.session import Execution, Session

GB = 2**30
glibc_only = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the setting exists for glibc only")


@pytest.fixture(autouse=True)
def restore_allocator():
    before = keeping_freed_memory()
    yield
    apply_host_memory("fast" if before else "lean")


def test_auto_keeps_freed_memory_only_on_the_cpu_and_when_the_extra_is_small():
    assert choose_host_memory("auto", "cpu", 1 * GB, 2 * GB, 16 * GB) == "fast"
    assert choose_host_memory("auto", "cpu", MAX_EXTRA_BYTES + 1, 2 * GB, 64 * GB) == "lean"
    assert choose_host_memory("auto", "cpu", 1 * GB, 2 * GB, 3 * GB) == "lean"  # would not fit in half the free memory
    assert choose_host_memory("auto", "cpu", GB // 2, MAX_KEPT_PEAK_BYTES, 64 * GB) == "fast"
    assert choose_host_memory("auto", "cpu", GB // 2, MAX_KEPT_PEAK_BYTES + 1, 64 * GB) == "lean"  # past the bound
    assert choose_host_memory("auto", "cuda", 1 * GB, 2 * GB, 16 * GB) == "lean"
    assert choose_host_memory("auto", "cpu", 1 * GB, 2 * GB, None) == "fast"  # free memory unknown: the extra is bounded


def test_an_explicit_choice_is_kept_and_a_wrong_one_is_a_clear_error():
    assert choose_host_memory("lean", "cpu", 1, 1, 16 * GB) == "lean"
    assert choose_host_memory("fast", "cpu", 100 * GB, 100 * GB, 1 * GB) == "fast"
    with pytest.raises(InvalidParameterError, match="unknown host memory setting 'quick'"):
        choose_host_memory("quick", "cpu")


@glibc_only
def test_the_setting_really_changes_the_allocator_and_can_be_undone():
    assert apply_host_memory("fast") and keeping_freed_memory()
    kept = torch.empty(64 * 2**20 // 4)  # above glibc's mmap threshold: from the heap now
    del kept
    assert apply_host_memory("lean") and not keeping_freed_memory()


@glibc_only
def test_a_session_reports_the_memory_setting_it_runs_with(smooth_image):
    problem = make_problem("denoise", smooth_image(32, 32))
    preset = get_preset("denoise", "fast").with_overrides(iterations=2)
    assert Session(problem, preset, device="cpu").host_memory == "fast"  # tiny photo: plenty of room
    assert Session(problem, preset, device="cpu", host_memory="lean").host_memory == "lean"
    assert not keeping_freed_memory()


def test_the_benchmark_can_force_either_network_with_either_setting(smooth_image):
    """``bench --network`` measures each network with each setting (benchmarks/memory_model.py)."""
    from dip_gui.core.networks.batch_norm import FastBatchNormLeakyReLU

    problem = make_problem("denoise", smooth_image(32, 32))
    preset = get_preset("denoise", "fast").with_overrides(iterations=2)
    for host in ("lean", "fast"):
        for lean in (False, True):
            session = Session(problem, preset, device="cpu", host_memory=host, execution=Execution(lean_network=lean))
            assert session.lean_network is lean
            assert any(isinstance(m, FastBatchNormLeakyReLU) for m in session.net.modules()) is lean



_ARENAS_AFTER_A_THREAD = """
import ctypes, sys, threading
from dip_gui.core.runtime.host_memory import share_main_arena
if sys.argv[1] == "shared":
    assert share_main_arena()  # before torch starts its thread, as the entry points do
import torch
def work():
    block = torch.empty(2**20).fill_(1.0)
    del block
thread = threading.Thread(target=work)
thread.start()
thread.join()
libc = ctypes.CDLL(None)
libc.fopen.restype = ctypes.c_void_p
path = sys.argv[2]
report = libc.fopen(path.encode(), b"w")
libc.malloc_info(0, ctypes.c_void_p(report))
libc.fclose(ctypes.c_void_p(report))
print(open(path).read().count("<heap nr="))
"""


@glibc_only
def test_sharing_the_main_arena_keeps_worker_threads_off_their_own_arenas(tmp_path):
    """A thread's own arena maps blocks above 64 MB afresh on every allocation (a page fault per
    4 KB of every wide activation of a big photo): with the main arena shared there is one arena."""
    import subprocess
    import sys

    def arenas(mode: str) -> int:
        report = tmp_path / f"{mode}.xml"
        out = subprocess.run([sys.executable, "-c", _ARENAS_AFTER_A_THREAD, mode, str(report)], capture_output=True,
                             text=True, check=True)
        return int(out.stdout.split()[-1])

    assert arenas("per-thread") > 1  # glibc's default: the threads got arenas of their own
    assert arenas("shared") == 1


@glibc_only
def test_a_run_too_large_to_keep_freed_memory_gets_the_lean_network(smooth_image):
    """Where memory is the limit the batch norms keep only their outputs (same parameter names, so a
    saved run loads into either); where it is not, the faster pairs of layers stay."""
    from dip_gui.core.networks.batch_norm import FastBatchNormLeakyReLU, FastBatchNormReflectionPad

    problem = make_problem("denoise", smooth_image(32, 32))
    preset = get_preset("denoise", "fast").with_overrides(iterations=2)
    fast, lean = (Session(problem, preset, device="cpu", host_memory=mode) for mode in ("fast", "lean"))
    lean_layers = (FastBatchNormLeakyReLU, FastBatchNormReflectionPad)
    assert not any(isinstance(m, lean_layers) for m in fast.net.modules())
    assert any(isinstance(m, FastBatchNormLeakyReLU) for m in lean.net.modules())
    assert any(isinstance(m, FastBatchNormReflectionPad) for m in lean.net.modules())
    lean.net.load_state_dict(fast.net.state_dict())
    z = torch.rand(1, fast.net.body.deeper[0][-1].in_channels, fast.canvas.height, fast.canvas.width)
    fast.net.eval()
    lean.net.eval()
    assert torch.allclose(fast.net(z), lean.net(z), atol=1e-6)


def test_auto_keeps_freed_memory_with_the_lean_network_where_only_that_fits(monkeypatch):
    """Fastest first: the pairs of layers with freed memory kept; where their extra memory is over the
    limit but the lean network's is not, freed memory is kept with the lean network; else neither."""
    from dip_gui.core.estimate.memory import MemoryPlan, estimate_memory, plan_cpu_memory

    preset = get_preset("denoise", "paper")
    size = (256, 256)

    def peak(lean: bool, host: str) -> int:
        return estimate_memory(preset, size, device="cpu", lean=lean, host_memory=host)

    extra_pairs, extra_lean = peak(False, "fast") - peak(False, "lean"), peak(True, "fast") - peak(True, "lean")
    assert 0 < extra_lean < extra_pairs  # the lean network saves less, so keeping freed memory adds less
    plenty = 64 * GB
    monkeypatch.setattr(host_memory, "MAX_EXTRA_BYTES", extra_pairs)
    assert plan_cpu_memory(preset, size, 3, plenty) == MemoryPlan("fast", False, peak(False, "fast"))
    monkeypatch.setattr(host_memory, "MAX_EXTRA_BYTES", extra_pairs - 1)
    assert plan_cpu_memory(preset, size, 3, plenty) == MemoryPlan("fast", True, peak(True, "fast"))
    monkeypatch.setattr(host_memory, "MAX_EXTRA_BYTES", extra_lean - 1)
    assert plan_cpu_memory(preset, size, 3, plenty) == MemoryPlan("lean", True, peak(True, "lean"))
    monkeypatch.setattr(host_memory, "MAX_EXTRA_BYTES", extra_pairs)
    assert plan_cpu_memory(preset, size, 3, 2 * peak(True, "fast") - 1) == MemoryPlan("lean", True, peak(True, "lean"))
