"""The one run loop: every way a run ends, each the same for every caller."""

from __future__ import annotations

import pytest

from dip_gui.core.errors import DivergenceError
from dip_gui.core.problem.tasks import make_problem
from dip_gui.core.session.checkpoint import Checkpointer, load_session
from dip_gui.core.session.run_loop import HORIZON_PROBE, EndReason, RunLoop
from dip_gui.core.session.session import Session
from dip_gui.core.stopping.detectors import StopSuggestion


@pytest.fixture
def session(tiny_preset, image32) -> Session:
    return Session(make_problem("denoise", image32), tiny_preset.with_overrides(iterations=12), seed=0)


def slow_steps(session: Session, seconds_each: float) -> None:
    """Each step counts ``seconds_each`` seconds of optimisation more than it took (a budget test
    that does not depend on the machine's speed)."""
    step = session.step

    def slow():
        result = session.step_unslowed()
        session.seconds += seconds_each
        result.seconds = session.seconds
        return result

    session.step_unslowed = step
    session.step = slow


def fail_at(session: Session, iteration: int, error: BaseException) -> None:
    """The step that would make ``iteration`` raises ``error`` instead."""
    step = session.step

    def failing():
        if session.iteration + 1 == iteration:
            raise error
        return step()

    session.step = failing


class SuggestingMonitor:
    """A monitor whose stop rule fires at ``at`` (the detector's own tests live in stopping/)."""

    def __init__(self, at: int) -> None:
        self.at, self.observed, self.flushed = at, [], 0

    def observe(self, iteration: int):
        self.observed.append(iteration)
        return StopSuggestion(iteration, 0.0, 5, 5) if iteration == self.at else None

    def flush(self) -> None:
        self.flushed += 1

    def take_new_suggestion(self):
        return None


def test_a_run_left_alone_runs_every_iteration_and_ends_done(session):
    steps = list((loop := RunLoop(session)).steps())
    assert [s.result.iteration for s in steps] == list(range(1, 13))
    assert loop.end.reason is EndReason.DONE and loop.end.iteration == 12 == session.iteration
    assert loop.end.reason == "done"  # reads as its value where strings are expected


def test_until_may_end_before_or_after_the_presets_count(session):
    assert RunLoop(session, until=3).run().iteration == 3
    assert RunLoop(session, until=15).run().iteration == 15  # a benchmark's rounds pass the preset's count


def test_a_budget_ends_the_run_and_fits_the_schedule_to_the_iterations_it_allows(session):
    slow_steps(session, 1.0)
    end = RunLoop(session, budget_s=8.0).run()
    assert end.reason is EndReason.BUDGET
    assert session.iteration == 8  # the budget is optimisation seconds, checked before each step
    assert HORIZON_PROBE < 8 and session.horizon < session.preset.iterations
    assert session.horizon == pytest.approx(8, abs=1)


def test_no_budget_leaves_the_schedule_alone(session):
    RunLoop(session, until=HORIZON_PROBE + 1).run()
    assert session.horizon == session.preset.iterations


def test_the_stop_rule_ends_the_run_only_when_asked(session):
    monitor = SuggestingMonitor(at=4)
    loop = RunLoop(session, monitor, auto_stop=True)
    suggested = [s.suggestion for s in loop.steps() if s.suggestion is not None]
    assert [s.iteration for s in suggested] == [4]
    assert loop.end.reason is EndReason.AUTO_STOPPED and session.iteration == 4
    assert monitor.flushed == 1  # queued iterations are processed at the end

    other = Session(session.problem, session.preset, seed=0)
    assert RunLoop(other, SuggestingMonitor(at=4)).run().reason is EndReason.DONE


def test_a_stop_request_or_keep_going_false_ends_the_run_as_stopped(session):
    answers = iter([True, True, False])
    end = RunLoop(session, keep_going=lambda: next(answers)).run()
    assert end.reason is EndReason.STOPPED and end.iteration == 2

    loop = RunLoop(session)
    for step in loop.steps():
        if step.result.iteration == 5:
            loop.request_stop()
    assert loop.end.reason is EndReason.STOPPED and loop.end.iteration == 5


def test_ctrl_c_during_a_step_keeps_the_run_so_far_and_writes_the_checkpoint(session, tmp_path):
    fail_at(session, 4, KeyboardInterrupt())
    checkpoint = Checkpointer(tmp_path / "run.dips", 3600, session, None, {})
    end = RunLoop(session, checkpoint=checkpoint).run()
    assert end.reason is EndReason.INTERRUPTED and end.iteration == 3
    assert load_session(tmp_path / "run.dips", "cpu")[0].iteration == 3


def test_ctrl_c_between_steps_ends_the_run_the_same_way(session, tmp_path):
    checkpoint = Checkpointer(tmp_path / "run.dips", 3600, session, None, {})
    loop = RunLoop(session, checkpoint=checkpoint)
    with pytest.raises(KeyboardInterrupt):
        for step in loop.steps():
            if step.result.iteration == 2:
                raise KeyboardInterrupt
    end = loop.interrupt()
    assert end.reason is EndReason.INTERRUPTED and end.iteration == 2
    assert load_session(tmp_path / "run.dips", "cpu")[0].iteration == 2


def test_a_divergence_ends_the_run_and_keeps_the_last_good_result(session):
    fail_at(session, 6, DivergenceError("the optimisation diverged 7 times"))
    end = RunLoop(session).run()
    assert end.reason is EndReason.DIVERGED and end.iteration == 5
    assert "diverged" in end.message and session.stopped_early == "diverged"
    assert session.result().shape == (32, 32, 3)


def test_a_failure_propagates_after_the_run_so_far_is_saved(session, tmp_path):
    fail_at(session, 3, RuntimeError("a bug"))
    checkpoint = Checkpointer(tmp_path / "run.dips", 3600, session, None, {})
    loop = RunLoop(session, checkpoint=checkpoint)
    with pytest.raises(RuntimeError, match="a bug"):
        loop.run()
    assert loop.end is None
    assert load_session(tmp_path / "run.dips", "cpu")[0].iteration == 2


def test_a_checkpoint_is_written_when_due_and_a_failed_write_does_not_end_the_run(session, tmp_path):
    written = Checkpointer(tmp_path / "run.dips", 0.0, session, None, {})
    steps = list((loop := RunLoop(session, until=3, checkpoint=written)).steps())
    assert all(s.checkpoint_problem is None for s in steps) and loop.end.checkpoint_problem is None
    assert load_session(tmp_path / "run.dips", "cpu")[0].iteration == 3

    unwritable = Checkpointer(tmp_path / "a-file" / "run.dips", 0.0, session, None, {})
    (tmp_path / "a-file").write_text("not a folder")
    steps = list((loop := RunLoop(session, until=5, checkpoint=unwritable)).steps())
    assert len(steps) == 2 and all(s.checkpoint_problem for s in steps)
    assert loop.end.reason is EndReason.DONE and loop.end.checkpoint_problem


def test_a_checkpoint_on_a_full_disk_says_so_in_words(session, tmp_path, monkeypatch):
    """torch's zip writer reports a full disk as an "enforce fail"; the user reads "no space left"."""
    import shutil
    from collections import namedtuple

    import dip_gui.core.session.checkpoint as checkpoint_module

    def full_disk(state, target):
        raise RuntimeError("[enforce fail at inline_container.cc:672] . PytorchStreamWriter failed writing file "
                           "data/3: file write failed")

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(checkpoint_module.torch, "save", full_disk)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 4096, 4096))
    checkpoint = Checkpointer(tmp_path / "run.dips", 0.0, session, None, {})
    steps = list((loop := RunLoop(session, until=2, checkpoint=checkpoint)).steps())
    assert steps[0].checkpoint_problem == "no space left on the device"
    assert loop.end.reason is EndReason.DONE and "enforce" not in loop.end.checkpoint_problem
    assert [p.name for p in tmp_path.iterdir()] == []  # no temporary left behind
