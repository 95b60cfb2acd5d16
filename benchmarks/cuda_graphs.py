"""What CUDA graphs would win: ``Session.step()`` against the same iteration replayed from a graph.

The small networks are bound by launch overhead on a GPU (the `fast` denoiser costs ~10 ms per
iteration on an H200 whatever the photo's size, docs/performance.md): every convolution, norm and Adam
kernel is launched from Python. A CUDA graph launches the whole recorded iteration at once. This
measures, per network and size, in one process:
  * ``step``: the product's iteration (``Session.step()``: loss read back every iteration for the
    divergence guard, Adam fused, output average);
  * ``graph``: jitter, forward, loss, backward, Adam (capturable, fused) and the output average
    replayed from one graph, the loss never read;
  * ``graph_read``: the same, the loss read back after every replay;
  * ``graph_split``: forward and backward in one graph, the loss read, then Adam and the average in
    a second graph: what the guard's contract (check before the optimiser step) would need.
On a device without CUDA graphs the same iteration runs eagerly (``--tiny`` checks the code path).
"""

from __future__ import annotations

import time

import torch

from dip_gui.cli.bench import _time_steps, make_session
from dip_gui.core.session.session import Session

CONFIGS = [("denoise", "fast", 256), ("denoise", "fast", 512), ("denoise", "fast", 1024), ("denoise", "balanced", 512),
           ("denoise", "paper", 256), ("denoise", "paper", 512), ("denoise", "paper", 1024), ("sr", "fast", 512),
           ("inpaint", "paper", 512)]


class StaticIteration:
    """One DIP iteration on fixed tensors, so that it can be recorded once and replayed."""

    def __init__(self, session: Session) -> None:
        session.prepare()
        self.session = session
        dev = session.device
        self.lr = torch.tensor(session.preset.lr, device=dev) if dev.type == "cuda" else session.preset.lr
        self.optimizer = _capturable_adam(list(session.net.parameters()), self.lr, dev)
        self.average = session.result_tensor(raw=True).clone()
        self.ema = session.preset.ema or 0.0
        self.loss = torch.zeros((), device=dev)

    def forward_backward(self) -> None:
        """The session's pass, with the jitter drawn from the default generator (a recording may use it)."""
        s = self.session
        noise = None
        if s.preset.reg_noise_std > 0:
            noise = torch.randn(s.z.shape, device=s.device, dtype=s.z.dtype)
        loss, self.output = s._forward_backward(noise, None if s.holdout is None else s.holdout.fit_mask())
        self.loss.copy_(loss)

    def update(self) -> None:
        self.optimizer.step()
        self.average.mul_(self.ema).add_(self.output, alpha=1.0 - self.ema)

    def whole(self) -> None:
        self.forward_backward()
        self.update()


def _capturable_adam(parameters: list, lr, device: torch.device) -> torch.optim.Adam:
    if device.type != "cuda":
        return torch.optim.Adam(parameters, lr=lr, foreach=True)
    try:
        return torch.optim.Adam(parameters, lr=lr, fused=True, capturable=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(parameters, lr=lr, foreach=True, capturable=True)


def _capture(function, pool=None) -> torch.cuda.CUDAGraph:
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph, pool=pool):
        function()
    return graph


def _warm_up(iteration: StaticIteration, steps: int) -> None:
    """Eager steps on a side stream, as capture wants (cuDNN's autotuning, Adam's state)."""
    if iteration.session.device.type != "cuda":
        for _ in range(steps):
            iteration.session.net.zero_grad(set_to_none=True)
            iteration.whole()
        return
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(steps):
            iteration.session.net.zero_grad(set_to_none=True)
            iteration.whole()
    torch.cuda.current_stream().wait_stream(stream)


def _timed(device: torch.device, iters: int, body) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(iters):
        body()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / iters


def compare(task: str, preset: str, size: int, device: str, iters: int, warmup: int) -> dict:
    """Seconds per iteration of the four ways above, and the loss each reached, for one configuration."""
    session = make_session(task, preset, size, device)
    dev = session.device
    _time_steps(session, warmup)
    row: dict = {"task": task, "preset": preset, "size": size, "precision": session.precision,
                 "step": round(_time_steps(session, iters), 5), "step_loss": round(session.last_loss, 6)}
    iteration = StaticIteration(session)
    _warm_up(iteration, 3)
    session.net.zero_grad(set_to_none=True)
    if dev.type == "cuda":
        whole = _capture(iteration.whole)
        row["graph"] = round(_timed(dev, iters, whole.replay), 5)
        row["graph_read"] = round(_timed(dev, iters, lambda: (whole.replay(), float(iteration.loss))), 5)
        row["graph_loss"] = round(float(iteration.loss), 6)
        del whole
        session.net.zero_grad(set_to_none=True)
        first = _capture(iteration.forward_backward)
        second = _capture(iteration.update, pool=first.pool())
        row["graph_split"] = round(_timed(dev, iters, lambda: (first.replay(), float(iteration.loss),
                                                                second.replay())), 5)
        row["peak_allocated_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    else:  # the same iteration eagerly: checks the code path where there are no graphs
        row["eager_static"] = round(_timed(dev, iters, lambda: (session.net.zero_grad(set_to_none=True),
                                                                 iteration.whole())), 5)
        row["graph_loss"] = round(float(iteration.loss), 6)
    for name in ("graph", "graph_read", "graph_split"):
        if name in row:
            row[f"speedup_{name}"] = round(row["step"] / row[name], 2)
    return row


def graph_rows(report, device: str, tiny: bool) -> None:
    """The benchmark part (benchmarks/gpu_checks.py): every configuration, a failure recorded as a row."""
    configs = [("denoise", "fast", 64), ("inpaint", "paper", 64)] if tiny else CONFIGS
    for task, preset, size in configs:
        if report.left() < 15:
            report.add("graphs", {"skipped_from": [task, preset, size]})
            return
        try:
            report.add("graphs", compare(task, preset, size, device, 3 if tiny else 30, 2 if tiny else 5))
        except Exception as exc:  # a failure is a result too: the other rows still run
            report.add("graphs", {"task": task, "preset": preset, "size": size, "error": repr(exc)[:400]})
        if device == "cuda":
            torch.cuda.empty_cache()
