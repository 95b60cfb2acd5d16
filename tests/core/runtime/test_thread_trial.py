"""The worker's torch thread count, chosen by timing the run's own first iterations."""

from dip_gui.core.runtime.thread_trial import ThreadTrial


def feed(trial: ThreadTrial, seconds_by_threads: dict[int, float], iterations: int = 10) -> list[int]:
    """Run ``iterations`` fake iterations; returns the thread count each one ran with."""
    used = []
    for _ in range(iterations):
        used.append(trial.threads)
        trial.record(seconds_by_threads[trial.threads])
    return used


def test_leaves_the_gui_a_core_first_then_tries_all_of_them():
    trial = ThreadTrial(cores=4, warmup=1, timed=2)
    used = feed(trial, {3: 1.0, 4: 1.0})
    assert used[:6] == [3, 3, 3, 4, 4, 4]  # one warm-up and two timed iterations each


def test_takes_all_cores_only_when_they_are_clearly_faster():
    assert feed(ThreadTrial(cores=2), {1: 2.3, 2: 1.4})[-1] == 2  # balanced, 512 px, in the window
    assert feed(ThreadTrial(cores=2), {1: 0.29, 2: 0.33})[-1] == 1  # fast, 256 px
    assert feed(ThreadTrial(cores=2), {1: 1.0, 2: 0.95})[-1] == 1  # 5%: not worth the GUI's core


def test_warm_up_iterations_do_not_count():
    trial = ThreadTrial(cores=2, warmup=1, timed=2)
    for seconds in (9.0, 1.0, 1.0, 0.1, 2.0, 2.0):  # each count's slow first iteration is set-up
        trial.record(seconds)
    assert trial.decided and trial.chosen == 1


def test_the_fastest_timed_iteration_stands_for_each_count():
    """A hiccup in one timed iteration (the GUI painting, another process) does not decide."""
    trial = ThreadTrial(cores=2, warmup=0, timed=2)
    for seconds in (1.0, 5.0, 0.7, 0.7):
        trial.record(seconds)
    assert trial.chosen == 2


def test_one_core_needs_no_trial():
    trial = ThreadTrial(cores=1)
    assert trial.decided and trial.threads == 1
    trial.record(1.0)
    assert trial.threads == 1


def test_an_untimed_trial_keeps_a_core_for_the_gui():
    """GPU runs: the threads only feed the device, nothing to time."""
    trial = ThreadTrial(cores=4, measure=False)
    assert trial.decided and trial.threads == 3
