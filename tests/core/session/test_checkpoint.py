"""Saved sessions: an interrupted run resumed from its file ends exactly where an uninterrupted one does."""

import numpy as np
import pytest
import torch

from dip_gui.core.problem.degradations import random_known_mask
from dip_gui.core.problem.presets import get_preset
from dip_gui.core.problem.tasks import make_problem
from dip_gui.core.session.checkpoint import SessionFileError, load_session, restore_monitor, save_session
from dip_gui.core.session.session import Session
from dip_gui.core.stopping.monitor import RunMonitor


def _session(task="denoise", preset="paper", iterations=30, size=40, **problem_kwargs):
    from tests.makers import smooth_image
    image = smooth_image(size, size)
    problem = make_problem(task, image, reference=image, **problem_kwargs)
    return Session(problem, get_preset(task, preset).with_overrides(iterations=iterations), seed=3, device="cpu")


def _run(session, monitor, steps):
    for _ in range(steps):
        session.step()
        monitor.observe(session.iteration)


@pytest.mark.parametrize(("task", "preset", "kwargs"), [
    ("denoise", "paper", {}),  # noise input with jitter, output averaging
    ("restore", "fast", {"mask": random_known_mask((40, 40), 0.5)}),  # warm start, residual, mask
    ("restore", "fast", {"mask": random_known_mask((64, 64), 0.5)}),  # a probe: the validation detector
])
@pytest.mark.slow
def test_resumed_run_matches_an_uninterrupted_one_exactly(tmp_path, task, preset, kwargs):
    # 30 + 30 iterations: a warm-up the variance detector leaves unwatched (restoration without a
    # probe) ends at 30, and its first window (20) must fill before the end
    straight = _session(task, preset, iterations=60, size=kwargs.get("mask", np.zeros((40, 40))).shape[0], **kwargs)
    straight_monitor = RunMonitor(straight)
    _run(straight, straight_monitor, 60)

    first = _session(task, preset, iterations=60, size=straight.problem.observed.shape[0], **kwargs)
    first_monitor = RunMonitor(first)
    _run(first, first_monitor, 30)
    path = save_session(tmp_path / "run.dips", first, first_monitor, {"input": "photo.png"})
    del first, first_monitor

    resumed, state = load_session(path, device="cpu")
    monitor = RunMonitor(resumed)
    restore_monitor(monitor, state)
    assert resumed.iteration == 30 and state["source"]["input"] == "photo.png"
    _run(resumed, monitor, 30)

    assert resumed.iteration == straight.iteration == 60
    np.testing.assert_array_equal(resumed.result(), straight.result())
    assert resumed.last_loss == straight.last_loss
    assert [s.iteration for s in monitor.store.snapshots] == [s.iteration for s in straight_monitor.store.snapshots]
    assert type(monitor.detector) is type(straight_monitor.detector)
    assert monitor.detector.history == straight_monitor.detector.history and monitor.detector.history


def test_saved_state_is_a_real_copy_not_a_view(tmp_path):
    session = _session()
    _run(session, RunMonitor(session), 3)
    path = save_session(tmp_path / "a.dips", session)
    weights_at_save = {k: v.clone() for k, v in session.net.state_dict().items()}
    session.step()  # moves the live weights
    resumed, _ = load_session(path, device="cpu")
    for key, value in resumed.net.state_dict().items():
        assert torch.equal(value, weights_at_save[key]), key


def test_region_inpainting_resumes_with_its_region(tmp_path, smooth_image):
    image = smooth_image(400, 400)
    mask = np.ones((400, 400), np.float32)
    mask[190:200, 190:210] = 0
    session = Session(make_problem("inpaint", image, mask=mask), get_preset("inpaint").with_overrides(iterations=5),
                      device="cpu")
    session.step()
    resumed, _ = load_session(save_session(tmp_path / "r.dips", session), device="cpu")
    assert resumed.problem.region == session.problem.region
    assert resumed.result().shape == (400, 400, 3)
    # The holdout's mix is judged again on resuming: the holes agree to float rounding, the rest exactly.
    np.testing.assert_allclose(resumed.result(), session.result(), atol=1e-6)


def test_a_write_that_dies_leaves_the_old_file_whole(tmp_path, monkeypatch):
    session = _session()
    path = save_session(tmp_path / "s.dips", session)
    before = path.read_bytes()

    def broken_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError):
        save_session(path, session)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["s.dips"]  # no temporary file left behind


def _broken_session_files(tmp_path, good):
    data = good.read_bytes()
    files = {
        "truncated": data[: len(data) // 2],
        "empty": b"",
        "random bytes": np.random.default_rng(0).bytes(4096),
        "a png": b"\x89PNG\r\n\x1a\n" + b"\0" * 100,
    }
    paths = {}
    for name, content in files.items():
        paths[name] = tmp_path / f"{name.replace(' ', '_')}.dips"
        paths[name].write_bytes(content)
    other = tmp_path / "other.dips"
    torch.save({"format": "something else"}, other)
    paths["another torch file"] = other
    newer = tmp_path / "newer.dips"
    torch.save({"format": "dip-studio-session", "version": 99}, newer)
    paths["a newer version"] = newer
    return paths


def test_broken_session_files_are_refused_with_a_message(tmp_path):
    good = save_session(tmp_path / "good.dips", _session())
    for name, path in _broken_session_files(tmp_path, good).items():
        with pytest.raises(SessionFileError) as caught:
            load_session(path, device="cpu")
        assert path.name in str(caught.value), name
    with pytest.raises(SessionFileError, match="no such session file"):
        load_session(tmp_path / "missing.dips")


def test_a_session_file_cannot_run_code(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "evil.dips"
    torch.save({"format": "dip-studio-session", "version": 1, "x": Payload()}, path)
    with pytest.raises(SessionFileError):
        load_session(path, device="cpu")
