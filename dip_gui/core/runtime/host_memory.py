"""Keep freed host memory for reuse during CPU runs (Linux, glibc), where memory allows.

Every iteration frees and allocates again the same large activations and gradients. glibc hands
blocks above its mmap threshold (128 KB, rising to at most 32 MB) back to the system when they are
freed, so the next iteration takes a page fault, and the kernel zeroes a page, for every 4 KB of
every activation. Measured on the 2-core CPU, paper network, whole iterations
(``python -m dip_gui bench --task denoise --preset paper --size N --iters 2 --json --host-memory M``):
256 px 1.57 -> 1.40 s, 384 px 4.34 -> 3.02 s, 512 px 8.71 -> 5.77-6.53 s per iteration.

``fast`` serves every block from the heap (``M_MMAP_MAX`` 0) and keeps freed heap memory
(``M_TRIM_THRESHOLD`` high). The price is fragmentation: peak memory rose 669 -> 1063 MB at 256 px,
1361 -> 1933 MB at 384 px and 2069 -> 3400-3700 MB at 512 px (about half the bytes the network
saves for its backward pass, core/estimate/memory.py). So ``auto`` uses it only when the extra
memory is at most ``MAX_EXTRA_BYTES`` and the run still fits in half of the free memory; ``lean``
leaves glibc as it is. A session tries that first with the network's pairs of layers, then
with the lean network, which keeps less for the backward (``memory_estimate.plan_cpu_memory``). The setting
is process-wide; a later ``lean`` run restores glibc's limits and returns the kept memory to the
system.

Threads: glibc gives each new thread that allocates its own arena, made of heaps of at most 64 MB.
A block larger than that (one 64-channel activation of a 512 px photo is 67 MB) cannot live in such a
heap and is mapped and unmapped on every allocation whatever ``M_MMAP_MAX`` says, and freed memory in
those heaps is handed back more eagerly. The window runs the optimisation in a worker thread, so
``share_main_arena`` (called by the entry points before any thread starts) makes every thread use the
main heap, which has neither limit. Measured, ``balanced`` preset at 512 px, 2 torch threads, seconds
per iteration in the main thread / a second thread: 1.48-1.76 / 4.01-4.02 with one arena per thread,
1.53 / 1.59-1.66 with the main arena shared (``python benchmarks/window_loop.py`` measures the window).
"""

from __future__ import annotations

import ctypes
import platform
import sys

from dip_gui.core.named_choice import NamedChoice


class HostMemory(NamedChoice):
    """CPU runs: ``fast`` keeps freed memory for reuse, ``lean`` gives it back, ``auto`` decides per run."""

    AUTO = "auto"
    LEAN = "lean"
    FAST = "fast"


HOST_MEMORY_CHOICES = HostMemory.values()
#: ``auto`` trades at most this much extra peak memory for the speed.
MAX_EXTRA_BYTES = 2**30
#: ... and never takes a run's peak past this. The paper's own code needs 2.7 GB for a 512 px
#: denoise (the bar issue #5 sets): with freed memory kept the paper network at that size peaks at
#: 2.5-2.73 GB (estimated 2.6), without it at 1.6 GB for 1.6x the time. Whoever can spare the
#: memory gets the speed with ``--host-memory fast`` or the window's Memory setting
#: (docs/performance.md: the paper denoiser at 512 px 3.80 -> 2.38 s/iteration for +1.4 GB, `fast`
#: inpainting at 1024 px 2.92 -> 1.90 for +1.2 GB).
MAX_KEPT_PEAK_BYTES = int(2.5 * 2**30)

_M_TRIM_THRESHOLD, _M_MMAP_MAX, _M_ARENA_MAX = -1, -4, -8
_GLIBC_MMAP_MAX, _GLIBC_TRIM_THRESHOLD = 65536, 128 * 1024
_KEEP_TRIM_THRESHOLD = 2**31 - 1  # mallopt takes a C int
_state = {"keeping": False}


def choose_host_memory(setting: str, device_type: str, extra_bytes: int = 0, kept_peak_bytes: int = 0,
                       available_bytes: int | None = None) -> HostMemory:
    """``lean`` or ``fast`` for a run: ``auto`` picks ``fast`` on the CPU when keeping freed memory
    adds at most ``MAX_EXTRA_BYTES`` to the peak and the peak with it (``kept_peak_bytes``) is at most
    ``MAX_KEPT_PEAK_BYTES`` and fits in half of the free memory (estimates: core/estimate/memory.py)."""
    chosen = HostMemory.parse(setting, "host memory setting")
    if chosen is not HostMemory.AUTO:
        return chosen
    if device_type != "cpu":
        return HostMemory.LEAN  # the activations live on the accelerator
    fits = kept_peak_bytes <= MAX_KEPT_PEAK_BYTES and (available_bytes is None or kept_peak_bytes <= available_bytes / 2)
    return HostMemory.FAST if extra_bytes <= MAX_EXTRA_BYTES and fits else HostMemory.LEAN


def apply_host_memory(mode: str) -> bool:
    """Set the process's allocator for ``mode``; False where it cannot be changed (not glibc)."""
    libc = _glibc()
    if libc is None:
        return False
    keep = mode == "fast"
    if keep == _state["keeping"]:
        return True
    if keep:
        ok = bool(libc.mallopt(_M_MMAP_MAX, 0) == 1 and libc.mallopt(_M_TRIM_THRESHOLD, _KEEP_TRIM_THRESHOLD) == 1)
    else:
        ok = bool(libc.mallopt(_M_MMAP_MAX, _GLIBC_MMAP_MAX) == 1
                  and libc.mallopt(_M_TRIM_THRESHOLD, _GLIBC_TRIM_THRESHOLD) == 1)
        libc.malloc_trim(0)
    _state["keeping"] = keep and ok
    return ok


def share_main_arena() -> bool:
    """Make threads created from now on allocate from glibc's main arena (see the module's notes).

    Call it before any thread allocates: a thread that already has an arena keeps it, and where
    other arenas exist a new thread may be given one of them. Serialising the allocations of a few
    threads costs nothing noticeable here: an iteration makes a few hundred large allocations.
    False where it cannot be set (not glibc)."""
    libc = _glibc()
    return libc is not None and bool(libc.mallopt(_M_ARENA_MAX, 1) == 1)


def keeping_freed_memory() -> bool:
    return bool(_state["keeping"])


def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL(None)
    except OSError:
        return None
