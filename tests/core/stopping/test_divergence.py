"""The divergence guard: a jump of the loss restores the last good weights; the wiggles of a fit that
starts near zero (a warm start) are not jumps."""

import math

import pytest
import torch

from dip_gui.core.errors import DivergenceError
from dip_gui.core.stopping.divergence import JUMP_RATIO, LOSS_FLOOR, DivergenceGuard


def guarded() -> tuple[torch.nn.Linear, DivergenceGuard]:
    net = torch.nn.Linear(2, 2)
    return net, DivergenceGuard(net, torch.optim.Adam(net.parameters()), save_every=1, max_backtracks=2)


def test_adam_wiggles_at_a_tiny_loss_are_not_divergences():
    _, guard = guarded()
    # a warm start: 1e-7 at first, then Adam's wiggles up to 100x, all under the floor's jump
    for loss in (1.7e-7, 7.8e-4, 6.6e-6, 2.7e-5, 9e-4, 3e-6, LOSS_FLOOR * JUMP_RATIO * 0.99):
        assert guard.check(loss)
    assert guard.backtracks == 0


@pytest.mark.parametrize("bad", [math.nan, math.inf, 0.05])
def test_a_jump_restores_the_last_good_weights(bad):
    net, guard = guarded()
    assert guard.check(1e-3)  # saved here
    good = net.weight.detach().clone()
    with torch.no_grad():
        net.weight.add_(1.0)  # a step that blew up
    assert not guard.check(bad)
    assert guard.backtracks == 1 and torch.equal(net.weight, good)


def test_a_run_that_keeps_diverging_ends_with_a_clear_error():
    _, guard = guarded()
    assert guard.check(1e-3)
    assert not guard.check(1.0) and not guard.check(1.0)
    with pytest.raises(DivergenceError, match="diverged 3 times"):
        guard.check(1.0)
