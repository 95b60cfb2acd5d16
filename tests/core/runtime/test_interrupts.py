import signal

import pytest

from dip_gui.core.runtime.interrupts import interrupt_handler, whole_step


def test_an_interrupt_during_a_step_waits_for_its_end():
    finished = []
    with pytest.raises(KeyboardInterrupt), whole_step():
        interrupt_handler(signal.SIGINT, None)  # Ctrl+C halfway through the step
        finished.append(True)  # the rest of the step still runs
    assert finished == [True]


def test_a_second_interrupt_does_not_wait_and_none_outside_a_step_either():
    with pytest.raises(KeyboardInterrupt), whole_step():
        interrupt_handler(signal.SIGINT, None)
        interrupt_handler(signal.SIGINT, None)  # pressed again: at once
        pytest.fail("the second interrupt should have ended the step")
    with pytest.raises(KeyboardInterrupt):
        interrupt_handler(signal.SIGINT, None)
    with whole_step():
        pass  # nothing pending is left from before


def test_an_error_in_the_step_is_not_hidden_by_a_pending_interrupt():
    with pytest.raises(ZeroDivisionError), whole_step():
        interrupt_handler(signal.SIGINT, None)
        _ = 1 / 0
    with whole_step():
        pass
