"""The forward and backward pass of an iteration, recorded once as a CUDA graph and replayed.

Why: on a GPU the small networks are bound by launch overhead, not arithmetic. Each iteration
launches every convolution, norm and activation of the forward and backward pass from Python; a
CUDA graph launches the recorded pass in one call. Measured on an H200 (docs/performance.md;
the same session launched and replayed, alternated): the `fast` denoiser 4.4x faster at 256 px, 2.5x
at 512, 1.3x at 1024; the paper's network 2.8x at 256 px, 1.3x at 512, 1.0x at 1024, where the
arithmetic dominates.

What stays outside the graph, so that the run behaves as before: the learning rate, Adam's step,
the divergence guard (it reads the loss and may restore the last good weights and Adam's state),
the output average and the holdout's judgement. What changes between iterations inside the pass
is read from tensors the caller refills before each replay (the jitter, the holdout's mask).

A graph replays exactly what it recorded: the pass's inputs must stay the same tensors, and its
outputs and gradients are the same tensors, overwritten by every replay. ``reset()`` records again
(a new input); any error while recording leaves the run eager for good, with the reason kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Protocol

import torch

#: Eager passes before the recording: the first runs cuDNN's autotuning and creates Adam's state,
#: neither of which may happen while a graph records.
EAGER_PASSES = 2

Pass = Callable[[], tuple[torch.Tensor, ...]]


class Recorder(Protocol):
    """Runs a pass eagerly, records it once and replays the recording (``CudaGraphRecorder``; tests
    give a stand-in, since recording needs a GPU)."""

    def run_eager(self, function: Pass) -> tuple[torch.Tensor, ...]: ...

    def capture(self, function: Pass) -> tuple[torch.Tensor, ...]: ...

    def replay(self) -> None: ...


class CudaGraphRecorder:
    """Records on CUDA: eager passes on a side stream (as recording wants), then one graph."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.graph = torch.cuda.CUDAGraph()

    def run_eager(self, function: Pass) -> tuple[torch.Tensor, ...]:
        with torch.cuda.device(self.device):
            stream = _side_stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream):
                outputs = function()
            torch.cuda.current_stream().wait_stream(stream)
        return outputs

    def capture(self, function: Pass) -> tuple[torch.Tensor, ...]:
        """Record ``function`` (CUDA runs nothing while recording); its outputs as the graph holds them.

        The graph keeps its own memory; the cache is emptied around the recording so that the eager
        passes' freed blocks (kept per stream) do not stay reserved beside it."""
        torch.cuda.empty_cache()
        # The window's estimate (a pool thread) and a run (the worker) may both record: each thread
        # records on a stream of its own (PyTorch's default is one stream for all), and in
        # "thread_local" mode a recording does not forbid the other thread's allocations.
        with (torch.cuda.device(self.device),  # entered first: the stream is the current GPU's
              torch.cuda.graph(self.graph, stream=_side_stream(), capture_error_mode="thread_local")):
            outputs = function()
        torch.cuda.empty_cache()
        return outputs

    def replay(self) -> None:
        with torch.cuda.device(self.device):
            self.graph.replay()


_thread_streams = threading.local()


def _side_stream() -> torch.cuda.Stream:
    """The side stream of this thread on the current GPU, for the eager passes and the recording. One
    per thread and GPU, not one per recording: libraries keep workspaces per stream (cuBLAS), which
    a new stream per run or per tile would pile up."""
    streams = getattr(_thread_streams, "by_device", None)
    if streams is None:
        streams = _thread_streams.by_device = {}
    index = torch.cuda.current_device()
    if index not in streams:
        streams[index] = torch.cuda.Stream(device=index)
    return streams[index]


class ReplayedPass:
    """Runs a pass eagerly ``EAGER_PASSES`` times, then records it and replays the recording.

    ``parameters``: the network's, whose gradients the pass writes. Before the recording their
    gradients are dropped, so that the recorded backward pass makes them; after it they must not be
    dropped again (the recording writes into those very tensors).
    """

    def __init__(self, parameters: Sequence[torch.Tensor],
                 recorder: Callable[[torch.device], Recorder] = CudaGraphRecorder) -> None:
        self.parameters = list(parameters)
        self.device = self.parameters[0].device
        self.make_recorder = recorder
        self.recorder: Recorder | None = None
        self.outputs: tuple[torch.Tensor, ...] | None = None
        self.eager_passes = 0
        #: Why recording failed (the run stays eager), or None.
        self.failure: str | None = None

    @property
    def replaying(self) -> bool:
        return self.outputs is not None

    def __call__(self, function: Pass) -> tuple[torch.Tensor, ...]:
        if self.outputs is not None:
            assert self.recorder is not None  # outputs come from a recording
            self.recorder.replay()
            return self.outputs
        self._drop_gradients()
        if self.failure is not None:
            return function()
        if self.recorder is None:
            self.recorder = self.make_recorder(self.device)
        if self.eager_passes < EAGER_PASSES:
            self.eager_passes += 1
            return self.recorder.run_eager(function)
        try:
            outputs = self.recorder.capture(function)
            self.recorder.replay()
        except (RuntimeError, TypeError) as exc:  # cannot be recorded (an operation, an old PyTorch): stay eager
            self.failure = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self.recorder = None
            self._drop_gradients()
            return function()
        self.outputs = outputs
        return outputs

    def reset(self) -> None:
        """Record again before the next replay (an input tensor was replaced)."""
        self.recorder, self.outputs, self.eager_passes = None, None, 0

    def _drop_gradients(self) -> None:
        for parameter in self.parameters:
            parameter.grad = None


__all__ = ["EAGER_PASSES", "CudaGraphRecorder", "ReplayedPass"]
