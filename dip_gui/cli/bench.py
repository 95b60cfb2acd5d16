"""``python -m dip_gui bench``: time whole iterations (jitter, forward, loss, backward, Adam, EMA).

With ``--task/--preset/--size`` it measures one configuration and prints ``seconds_per_iter``,
``iterations_per_second``, ``peak_memory_mb``, ``device`` and ``parameters``. Without them it
prints a table over tasks, presets and sizes, each row measured in a fresh process so that peak
memory belongs to that row alone.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import torch

from dip_gui.core.problem.choices import Task
from dip_gui.core.problem.presets import get_preset, scaled_for
from dip_gui.core.runtime.cuda_graph import EAGER_PASSES
from dip_gui.core.runtime.device import configure_device
from dip_gui.core.session.cost_probe import PROBE_SCALE, estimate_run_cost, synthetic_problem
from dip_gui.core.session.run_loop import RunLoop
from dip_gui.core.session.session import Execution, Session
from dip_gui.core.stopping.monitor import RunMonitor

TABLE_TASKS = (("denoise", "fast"), ("denoise", "balanced"), ("denoise", "paper"), ("sr", "fast"), ("sr", "balanced"),
               ("sr", "paper"),
               ("inpaint", "fast"), ("inpaint", "paper"), ("restore", "fast"))
TABLE_SIZES = (128, 256, 512, 1024)
#: Rows whose estimated iteration takes longer than this are skipped in the table (noted as such).
TABLE_MAX_SECONDS = 20.0
SR_SCALE = PROBE_SCALE  # the synthetic problem's factor


def make_session(task: str, preset_name: str, size: int, device: str, precision: str = "auto",
                 plain_network: bool = False, host_memory: str = "auto", network: str = "auto",
                 cuda_graphs: bool = True) -> Session:
    """A session whose OUTPUT is size x size (SR gets a size/4 input)."""
    kind = Task.parse(task, "task")
    preset = scaled_for(get_preset(task, preset_name), SR_SCALE if kind.changes_size else None)
    execution = Execution(plain_network=plain_network, lean_network=None if network == "auto" else network == "lean",
                          cuda_graphs=cuda_graphs)
    return Session(synthetic_problem(kind, size, size), preset, seed=0, device=device, precision=precision,
                   host_memory=host_memory, execution=execution)


def measure(task: str, preset_name: str, size: int, iters: int, warmup: int, device: str, precision: str = "auto",
            host_memory: str = "auto", network: str = "auto", cuda_graphs: bool = True) -> dict:
    """Time ``iters`` iterations after ``warmup``; peak memory of the whole run."""
    rss_before = _rss_mb()
    session = make_session(task, preset_name, size, device, precision, host_memory=host_memory, network=network,
                           cuda_graphs=cuda_graphs)
    cuda = session.device.type == "cuda"
    _warm_up(session, warmup)
    if cuda:  # after the warm-up: cuDNN's autotuning tries algorithms with large, short-lived workspaces
        torch.cuda.reset_peak_memory_stats()
    elapsed = _time_steps(session, iters)
    peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else _rss_mb() - rss_before
    return {
        "seconds_per_iter": round(elapsed, 5),
        "iterations_per_second": round(1.0 / elapsed, 4),
        "peak_memory_mb": round(peak, 1),
        "device": session.device.type,
        "parameters": session.parameters,
        **_graph_status(session),
    }


def compare_eager(task: str, preset_name: str, size: int, iters: int, warmup: int, device: str, precision: str = "auto",
                  rounds: int = 3) -> dict:
    """Seconds per iteration of the plain eager network and of ours, side by side in one run.

    The reference is the paper code's way: every convolution an ``nn.Conv2d``, Adam one tensor at a
    time, float32, NCHW, no cuDNN autotuning, no CUDA graph, the allocator as the system sets it.
    Ours: what a run does (1x1 convolutions as matrix products and freed memory kept for reuse on the
    CPU, Adam over all tensors at once; on CUDA the ``precision``, channels-last, autotuning and the
    pass replayed from a CUDA graph). Each side runs in a fresh process of its own, because the
    allocator setting is process-wide and a warm heap would flatter whichever side came second; the
    sides alternate for ``rounds`` rounds so that a noisy machine slows both alike, and the medians
    are compared. Both start from the same weights.
    """
    times: dict[str, list[float]] = {"eager": [], "ours": []}
    info: dict = {}
    for _ in range(rounds):
        for side in times:
            result = _side_in_subprocess(side, task, preset_name, size, iters, warmup, device, precision)
            times[side].append(result["seconds_per_iter"])
            if side == "ours":
                info = result
    eager, fast = sorted(times["eager"])[rounds // 2], sorted(times["ours"])[rounds // 2]
    return {"eager_seconds_per_iter": round(eager, 5), "seconds_per_iter": round(fast, 5),
            "speedup": round(eager / fast, 3), "precision": info["precision"], "host_memory": info["host_memory"],
            "device": info["device"], "parameters": info["parameters"]}


def time_side(side: str, task: str, preset_name: str, size: int, iters: int, warmup: int, device: str,
              precision: str) -> dict:
    """One side of ``compare_eager`` in this process: ``eager`` (the reference) or ``ours``."""
    if side == "eager":
        session = make_session(task, preset_name, size, device, "fp32", plain_network=True, host_memory="lean",
                               cuda_graphs=False)
        session.optimizer = session.guard.optimizer = torch.optim.Adam(session.net.parameters(), lr=session.preset.lr,
                                                                       foreach=False)
    else:
        session = make_session(task, preset_name, size, device, precision)
    _use_settings_of(session, reference=side == "eager")
    _warm_up(session, warmup)
    return {"seconds_per_iter": _time_steps(session, iters), "precision": session.precision,
            "host_memory": session.host_memory, "device": session.device.type, "parameters": session.parameters,
            **_graph_status(session)}


def _side_in_subprocess(side: str, task: str, preset_name: str, size: int, iters: int, warmup: int, device: str,
                        precision: str) -> dict:
    return _bench_in_subprocess("--side", side, "--task", task, "--preset", preset_name, "--size", str(size),
                                "--iters", str(iters), "--warmup", str(warmup), "--device", device, "--precision", precision)


def _use_settings_of(session: Session, reference: bool) -> None:
    """Process-wide CUDA settings for the session about to be timed (the reference has none)."""
    if session.device.type != "cuda":
        return
    configure_device(session.device, session.precision)
    if reference:
        torch.backends.cudnn.benchmark = False


def preview_cost(task: str, preset_name: str, size: int, iters: int, warmup: int, device: str, rate: float,
                 rounds: int = 3) -> dict:
    """Loop throughput with the window's per-iteration extras against the bare loop, in one run.

    The extras, as the worker does them: a preview image (``session.result()``, at most ``rate`` per
    second), the stop detector and the snapshot timeline. Blocks alternate so that noise hits both.
    """
    session = make_session(task, preset_name, size, device)
    monitor = RunMonitor(session)
    _warm_up(session, warmup)
    bare, extras = [], []
    for _ in range(rounds):
        bare.append(_time_steps(session, iters))
        extras.append(_time_steps_with_previews(session, monitor, iters, rate))
    plain, full = sorted(bare)[rounds // 2], sorted(extras)[rounds // 2]
    return {"seconds_per_iter": round(plain, 5), "with_previews_seconds_per_iter": round(full, 5),
            "preview_rate": rate, "throughput_drop_percent": round(100 * (1 - plain / full), 2),
            "device": session.device.type, "parameters": session.parameters}


def _time_steps_with_previews(session: Session, monitor: RunMonitor, iters: int, rate: float) -> float:
    """Mean seconds of ``iters`` iterations of the run loop with its monitor, and a preview image at
    most ``rate`` times a second (as the window's worker asks for them)."""
    _sync(session)
    start = last_preview = time.perf_counter()
    for _ in RunLoop(session, monitor, until=session.iteration + iters).steps():
        now = time.perf_counter()
        if now - last_preview >= 1.0 / rate:
            session.result()
            last_preview = now
    _sync(session)
    return (time.perf_counter() - start) / iters


def _warm_up(session: Session, iters: int) -> None:
    """``iters`` untimed iterations, and on CUDA at least those before the pass is replayed from its
    recording (the recording's own iteration included)."""
    _time_steps(session, max(iters, EAGER_PASSES + 1) if session.replayed is not None else iters)


def _time_steps(session: Session, iters: int) -> float:
    """Mean seconds of ``iters`` whole iterations (0 when none)."""
    if iters <= 0:
        return 0.0
    _sync(session)
    start = time.perf_counter()
    RunLoop(session, until=session.iteration + iters).run()
    _sync(session)
    return (time.perf_counter() - start) / iters


def bench_command(args: argparse.Namespace) -> int:
    task, preset_name, size = args.task or "denoise", args.preset or "fast", args.size or 256
    if args.side:
        result = time_side(args.side, task, args.preset or "paper", size, args.iters, args.warmup, args.device,
                           args.precision)
    elif args.compare_eager:
        result = compare_eager(task, args.preset or "paper", size, args.iters, args.warmup, args.device, args.precision,
                               args.rounds)
    elif args.preview_rate:
        result = preview_cost(task, preset_name, size, args.iters, args.warmup, args.device, args.preview_rate,
                              args.rounds)
    elif args.task or args.preset or args.size:
        result = measure(task, preset_name, size, args.iters, args.warmup, args.device, args.precision, args.host_memory,
                         args.network, args.cuda_graphs == "on")
    else:
        return _table(args)
    print(json.dumps(result) if args.json else "  ".join(f"{k}={v}" for k, v in result.items()))
    return 0


def _table(args: argparse.Namespace) -> int:
    rows = []
    print(f"{'task':8s} {'preset':8s} {'size':>5s} {'s/iter':>8s} {'it/s':>8s} {'peak MB':>8s} {'x pixels':>8s} {'x time':>7s}")
    for task, preset_name in TABLE_TASKS:
        base = None
        for size in TABLE_SIZES:
            preset = scaled_for(get_preset(task, preset_name), SR_SCALE if Task(task).changes_size else None)
            estimate = estimate_run_cost(preset, (size, size), device=args.device)
            if estimate.seconds_per_iteration > TABLE_MAX_SECONDS:
                print(f"{task:8s} {preset_name:8s} {size:5d}  skipped: estimated {estimate.seconds_per_iteration:.0f} s/iter")
                continue
            row = _measure_in_subprocess(task, preset_name, size, args)
            base = base or (size, row["seconds_per_iter"])
            pixels, slower = (size / base[0]) ** 2, row["seconds_per_iter"] / base[1]
            print(f"{task:8s} {preset_name:8s} {size:5d} {row['seconds_per_iter']:8.3f} {row['iterations_per_second']:8.2f} "
                  f"{row['peak_memory_mb']:8.0f} {pixels:8.0f} {slower:7.1f}", flush=True)
            rows.append({"task": task, "preset": preset_name, "size": size, **row})
    if args.json:
        print(json.dumps(rows))
    return 0


def _measure_in_subprocess(task: str, preset_name: str, size: int, args: argparse.Namespace) -> dict:
    iters = max(2, min(args.iters, 10 if size <= 256 else 4))
    return _bench_in_subprocess("--task", task, "--preset", preset_name, "--size", str(size), "--iters", str(iters),
                                "--warmup", "1", "--device", args.device, "--precision", args.precision,
                                "--host-memory", args.host_memory, "--cuda-graphs", args.cuda_graphs)


def _bench_in_subprocess(*options: str) -> dict:
    """``python -m dip_gui bench OPTIONS --json`` in a fresh process: its JSON line."""
    command = [sys.executable, "-m", "dip_gui", "bench", *options, "--json"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def _graph_status(session: Session) -> dict:
    """On CUDA: whether the pass was replayed from a graph, and why not where recording failed."""
    if session.replayed is None:
        return {}
    return {"cuda_graph": session.replayed.replaying,
            **({"cuda_graph_failure": session.replayed.failure} if session.replayed.failure else {})}


def _rss_mb() -> float:
    """Peak resident set size of this process so far, in MB.

    On Linux from ``VmHWM``: ``getrusage``'s ``ru_maxrss`` carries the parent's peak over ``exec``,
    so a table row measured in a child of a 400 MB parent read 0 MB of growth for small rows.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 2**20


def _sync(session: Session) -> None:
    if session.device.type == "cuda":
        torch.cuda.synchronize()
