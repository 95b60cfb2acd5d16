"""The validation detector: the stop goes to the lowest error on held-back pixels, once it clearly rose."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from dip_gui.core.problem.degradations import random_known_mask
from dip_gui.core.problem.presets import get_preset
from dip_gui.core.problem.tasks import make_problem
from dip_gui.core.session.session import Session
from dip_gui.core.stopping.detectors import (
    VALIDATION,
    VARIANCE,
    StopSuggestion,
    ValidationStopDetector,
    VarianceStopDetector,
)
from dip_gui.core.stopping.monitor import RunMonitor


def feed(detector, errors):
    """The iteration each suggestion was announced at (None if never)."""
    for iteration, error in enumerate(errors, start=1):
        if detector.update_small(iteration, torch.tensor(error)) is not None:
            return iteration
    return None


def test_a_clear_rise_after_the_minimum_suggests_the_minimum():
    detector = ValidationStopDetector(patience=100, values=10_000)  # a rise must pass ~2.8%
    errors = [1e-3 * (1 + ((t - 300) / 300) ** 2) for t in range(1, 1001)]  # lowest at 300, then up
    announced = feed(detector, errors)
    assert detector.suggestion.iteration == 300 and detector.suggestion.measure == VALIDATION
    assert announced >= 400  # not before the patience ran out
    assert detector.suggestion.score == pytest.approx(1e-3)


def test_a_curve_that_only_wanders_makes_no_suggestion():
    """Few probe values wander by a few percent without overfitting: no stop from that."""
    t = np.arange(1000)
    detector = ValidationStopDetector(patience=100, values=500)  # a rise must pass ~12.6%
    errors = 1e-3 * (1 + 0.025 * np.sin(t / 40) + 0.015 * np.sin(t / 13 + 1))  # slow, as an averaged output moves
    assert feed(detector, errors) is None and detector.suggestion is None
    many = ValidationStopDetector(patience=100, values=500_000)  # the same wander is significant with more pixels
    assert feed(many, errors) is not None


def test_an_exact_prediction_that_wiggles_makes_no_suggestion():
    detector = ValidationStopDetector(patience=10, values=10_000)
    assert feed(detector, [1e-14 * (1 + t % 7) for t in range(200)]) is None


def test_a_suggestion_saved_before_there_were_two_measures_still_loads():
    old = {"iteration": 40, "variance": 1e-5, "window": 20, "patience": 100}
    suggestion = StopSuggestion.from_dict(old)
    assert (suggestion.iteration, suggestion.score, suggestion.measure) == (40, 1e-5, VARIANCE)
    assert StopSuggestion.from_dict(suggestion.to_dict()) == suggestion


def _restoration(size):
    from tests.makers import smooth_image
    image = smooth_image(size, size, seed=4)
    known = random_known_mask((size, size), 0.5, seed=0)
    problem = make_problem("restore", image * known[:, :, None], mask=known, reference=image)
    preset = replace(get_preset("restore", "fast"), iterations=30)
    return Session(problem, preset, device="cpu")


@pytest.mark.parametrize(("size", "kind"), [(64, ValidationStopDetector), (40, VarianceStopDetector)])
def test_the_monitor_follows_the_held_back_pixels_where_the_run_keeps_enough(size, kind):
    session = _restoration(size)  # 40 px: too few hidden pixels for a probe
    monitor = RunMonitor(session, snapshots=False)
    assert monitor.suggestion is None  # asking before the first step decides nothing
    for _ in range(3):
        session.step()
        monitor.observe(session.iteration)
    assert type(monitor.detector) is kind
    if kind is ValidationStopDetector:
        expected = [float(session.validation_error())]
        assert monitor.detector.history[-1] == (3, pytest.approx(expected[0]))


def test_batched_read_back_of_the_validation_error_decides_as_each_iteration_does():
    straight, batched = _restoration(64), _restoration(64)
    at_once, later = RunMonitor(straight, snapshots=False), RunMonitor(batched, snapshots=False, readback_every=4)
    for _ in range(10):
        for session, monitor in ((straight, at_once), (batched, later)):
            session.step()
            monitor.observe(session.iteration)
    later.flush()
    assert later.detector.history == at_once.detector.history and len(at_once.detector.history) == 10


def test_the_monitor_hands_each_held_out_point_over_once_in_decibels():
    session = _restoration(64)
    monitor = RunMonitor(session, snapshots=False)
    errors = []
    for _ in range(3):
        session.step()
        monitor.observe(session.iteration)
        errors.append(float(session.validation_error()))
    points = monitor.take_held_out()
    assert [i for i, _ in points] == [1, 2, 3]
    assert [p for _, p in points] == pytest.approx([-10 * np.log10(e) for e in errors], rel=1e-5)
    assert monitor.take_held_out() == []
    plain = _restoration(40)  # no probe: nothing to plot
    other = RunMonitor(plain, snapshots=False)
    plain.step()
    other.observe(plain.iteration)
    assert other.take_held_out() == []
