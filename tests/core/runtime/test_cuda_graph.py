"""The replayed forward and backward pass (core/runtime/cuda_graph.py), checked on the CPU.

A CUDA graph's replay computes its recorded pass again into the same output and gradient tensors.
``RerunRecorder`` does exactly that on the CPU, so these tests check what the session must get
right for a replay to equal the eager pass: the inputs it refills before each replay (the jitter
stream, the holdout's changing mask), the gradients it must not drop, the outputs that the next
replay overwrites, and when it must record again. The recording itself needs a GPU
(benchmarks/gpu_checks.py ran it on an H200).
"""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

import numpy as np
import pytest
import torch

from dip_gui.core.problem.degradations import random_known_mask
from dip_gui.core.problem.presets import get_preset
from dip_gui.core.problem.tasks import make_problem
from dip_gui.core.runtime.cuda_graph import EAGER_PASSES, ReplayedPass
from dip_gui.core.session.session import Session
from tests.makers import TINY_NET, smooth_image


class RerunRecorder:
    """A CUDA graph as far as results go: the replay runs the recorded pass again, writing into the
    output and gradient tensors the recording made (gradients are zeroed first: a graph overwrites
    them, where autograd would add)."""

    made: ClassVar[list[RerunRecorder]] = []

    def __init__(self) -> None:
        self.function = None
        self.outputs: tuple[torch.Tensor, ...] = ()
        self.gradients: list[torch.Tensor] = []
        self.eager = self.replays = 0
        RerunRecorder.made.append(self)

    def run_eager(self, function):
        self.eager += 1
        return function()

    def capture(self, function):
        self.function = function
        self.outputs = function()
        self.gradients = [p.grad for p in self.parameters]
        assert all(g is not None for g in self.gradients)
        return self.outputs

    def replay(self) -> None:
        self.replays += 1
        # a graph writes the gradients it recorded: were they replaced, Adam would read tensors the
        # replay no longer writes (on CUDA silently; here it fails)
        assert all(p.grad is g for p, g in zip(self.parameters, self.gradients)), "gradients replaced"
        for gradient in self.gradients:
            gradient.zero_()
        for static, fresh in zip(self.outputs, self.function()):
            static.copy_(fresh)


class FailingRecorder(RerunRecorder):
    def capture(self, function):
        raise RuntimeError("operation not permitted when stream is capturing\nmore detail")


def recorders_for(parameters: list[torch.Tensor], recorder=RerunRecorder):
    """What ``ReplayedPass`` takes: a maker of recorders that know the network's parameters."""
    def make(device: torch.device):
        made = recorder()
        made.parameters = parameters
        return made

    return make


def replayed(session: Session, recorder=RerunRecorder) -> Session:
    parameters = list(session.net.parameters())
    session.replayed = ReplayedPass(parameters, recorder=recorders_for(parameters, recorder))
    return session


def make_session(task: str, preset, image: np.ndarray, **problem) -> Session:
    return Session(make_problem(task, image, **problem), preset, seed=3, device="cpu")


def tiny(task: str, **changes):
    return replace(get_preset(task, "fast"), **{"net": TINY_NET, "iterations": 40, **changes})


def restore_problem():
    image = smooth_image(40, 40, seed=4)
    known = random_known_mask((40, 40), 0.5, seed=1)
    return "restore", image * known[:, :, None], {"mask": known, "reference": image}


CASES = {
    "denoise with jitter": lambda: ("denoise", smooth_image(32, 32), {}),
    "restoration with a holdout": restore_problem,
}


@pytest.fixture(autouse=True)
def forget_recorders():
    RerunRecorder.made.clear()


@pytest.mark.parametrize("case", CASES)
def test_replayed_steps_equal_eager_ones(case):
    task, image, problem = CASES[case]()
    preset = tiny(task)
    assert preset.reg_noise_std > 0 or preset.holdout  # the changing inputs are what is checked
    eager = make_session(task, preset, image, **problem)
    graphed = replayed(make_session(task, preset, image, **problem))
    steps = 12
    for _ in range(steps):
        expected, got = eager.step(), graphed.step()
        assert got.loss == pytest.approx(expected.loss, rel=1e-5, abs=1e-9)
    np.testing.assert_allclose(graphed.result(), eager.result(), atol=1e-5)
    recorder, = RerunRecorder.made
    assert recorder.eager == EAGER_PASSES and recorder.replays == steps - EAGER_PASSES
    assert graphed.replayed.replaying and graphed.replayed.failure is None


def test_the_holdout_hands_over_inside_replayed_steps():
    """The mask the loss sees changes at the hand-over: the replayed pass must see the new one. (The
    tiny network hands over at its first judgement, before any replay: the judge waits here.)"""
    task, image, problem = restore_problem()
    preset = tiny(task)
    sessions = make_session(task, preset, image, **problem), replayed(make_session(task, preset, image, **problem))
    for session in sessions:
        session.prepare()
        session.holdout.judge = lambda *_: None
    eager, graphed = sessions
    for _ in range(6):
        assert graphed.step().loss == pytest.approx(eager.step().loss, rel=1e-5, abs=1e-9)
    before = float(eager.holdout.fit_mask().sum())
    for session in sessions:
        del session.holdout.judge
    for _ in range(6):
        assert graphed.step().loss == pytest.approx(eager.step().loss, rel=1e-5, abs=1e-9)
    assert float(eager.holdout.fit_mask().sum()) != before
    assert graphed.replayed.replaying


def test_the_last_output_survives_the_next_replay():
    task, image, problem = CASES["denoise with jitter"]()
    session = replayed(make_session(task, tiny(task), image, **problem))
    for _ in range(EAGER_PASSES + 2):
        session.step()
    kept = session.last_output
    before = kept.clone()
    session.replayed(lambda: session._forward_backward(*session._pass_inputs()))  # a replay, no step
    torch.testing.assert_close(kept, before)


def test_a_pass_that_cannot_be_recorded_runs_eagerly_with_the_reason_kept():
    task, image, problem = CASES["denoise with jitter"]()
    preset = tiny(task)
    eager = make_session(task, preset, image, **problem)
    graphed = replayed(make_session(task, preset, image, **problem), recorder=FailingRecorder)
    for _ in range(8):
        assert graphed.step().loss == pytest.approx(eager.step().loss, rel=1e-5, abs=1e-9)
    assert not graphed.replayed.replaying
    assert graphed.replayed.failure == "operation not permitted when stream is capturing"


def test_a_resumed_state_is_recorded_again():
    """Loading a state replaces the input tensor the recording reads: the next steps record anew."""
    task, image, problem = CASES["denoise with jitter"]()
    preset = tiny(task)
    eager = make_session(task, preset, image, **problem)
    graphed = replayed(make_session(task, preset, image, **problem))
    for _ in range(6):
        eager.step(), graphed.step()
    graphed.load_state_dict(graphed.state_dict())
    assert not graphed.replayed.replaying
    for _ in range(6):
        assert graphed.step().loss == pytest.approx(eager.step().loss, rel=1e-5, abs=1e-9)
    assert len(RerunRecorder.made) == 2 and graphed.replayed.replaying


def test_a_divergence_inside_replayed_steps_backtracks_as_the_eager_run_does():
    """The guard restores the last good weights and Adam's state between replays: in place, so the
    recording reads them, and without dropping the gradients the recording writes."""
    task, image, problem = CASES["denoise with jitter"]()
    preset = tiny(task)
    eager, graphed = make_session(task, preset, image, **problem), replayed(make_session(task, preset, image, **problem))
    for _ in range(55):  # the guard keeps a copy at iteration 50
        eager.step(), graphed.step()
    for session in (eager, graphed):
        with torch.no_grad():
            for parameter in session.net.parameters():
                parameter.fill_(float("nan"))
    first = (eager.step(), graphed.step())
    assert first[0].backtracked and first[1].backtracked
    for _ in range(5):
        assert graphed.step().loss == pytest.approx(eager.step().loss, rel=1e-5, abs=1e-9)
    assert graphed.replayed.replaying and graphed.lr_scale == eager.lr_scale == 0.5


def test_graphs_are_for_cuda_only():
    task, image, problem = CASES["denoise with jitter"]()
    assert make_session(task, tiny(task), image, **problem).replayed is None


def test_moving_the_sessions_operator_leaves_the_problems_where_the_warm_start_uses_it():
    """On CUDA the session moved the SR operator, which was the problem's own, and the back-projected
    start (made on the CPU from that operator) failed: SR on a GPU did not start."""
    image, preset = smooth_image(16, 16), tiny("sr", iterations=5)
    untouched = Session(make_problem("sr", image, scale=2), preset, device="cpu")
    session = Session(make_problem("sr", image, scale=2), preset, device="cpu")
    session.operator._apply(lambda tensor: tensor * 2)  # what a move to CUDA does: each buffer replaced, in place
    torch.testing.assert_close(session.base, untouched.base)  # the warm start ran the problem's own operator


def test_the_gpu_time_estimate_times_replayed_passes_with_adam_after_them():
    """On CUDA the estimate's probe times what the run does: the pass replayed from its recording, then
    Adam's step (the 64 + 128 px probes launched from Python read 5-14x the time the run took)."""
    from dip_gui.core.estimate.cost import _probe_seconds
    from dip_gui.core.networks import SkipNet

    net = SkipNet(TINY_NET, 4, 3)
    parameters = list(net.parameters())
    before = [p.detach().clone() for p in parameters]
    passes = ReplayedPass(parameters, recorder=recorders_for(parameters))
    seconds = _probe_seconds(net, torch.rand(1, 4, 32, 32), torch.device("cpu"), repeats=3, replayed=passes)
    made, = RerunRecorder.made
    assert made.eager == EAGER_PASSES and made.replays == 1 + 3  # the recording's own iteration, then the timed ones
    assert seconds > 0
    assert any(not torch.equal(a, b) for a, b in zip(before, net.parameters()))  # Adam stepped
