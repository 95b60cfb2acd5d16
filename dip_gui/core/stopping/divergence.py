"""Output averaging and divergence backtracking (the paper's tricks, made robust)."""

from __future__ import annotations

import copy
import math
from typing import Any

import torch

from dip_gui.core.errors import DivergenceError

#: A loss this many times above its recent level is a divergence (the paper's 5 dB PSNR drop).
JUMP_RATIO = 10**0.5
#: Levels below this (30 dB agreement with the observation) count as this: a warm start can begin
#: with a tiny loss, and Adam wiggles from 1e-5 to 1e-4 are not divergences; explosions reach 0.1 or NaN.
LOSS_FLOOR = 1e-3


class OutputAverage:
    """Exponential moving average of the network output (``None`` weight = the raw output)."""

    def __init__(self, weight: float | None) -> None:
        self.weight = weight
        self.value: torch.Tensor | None = None

    def update(self, output: torch.Tensor) -> torch.Tensor:
        """Fold in one output; returns the average."""
        output = output.detach()
        if self.value is None or not self.weight:
            self.value = output.clone()
        else:
            self.value.mul_(self.weight).add_(output, alpha=1.0 - self.weight)
        return self.value


class DivergenceGuard:
    """Keeps a real copy of the last good weights and optimiser state; restores it on a jump.

    ``check(loss)`` is called before the optimiser step: it returns False when the loss is not
    finite or jumped above ``JUMP_RATIO`` times its running level, after restoring the last good
    state (the caller lowers the learning rate). After ``max_backtracks`` it raises DivergenceError.
    """

    def __init__(
        self, net: torch.nn.Module, optimizer: torch.optim.Optimizer, save_every: int = 50, max_backtracks: int = 6
    ) -> None:
        self.net, self.optimizer = net, optimizer
        self.save_every, self.max_backtracks = save_every, max_backtracks
        self.level: float | None = None
        self.backtracks = 0
        self._good: tuple[dict[str, Any], dict[str, Any]] | None = None
        self._since_save = save_every

    def check(self, loss: float) -> bool:
        diverged = not math.isfinite(loss) or (self.level is not None and loss > max(self.level, LOSS_FLOOR) * JUMP_RATIO)
        if diverged:
            self._backtrack()
            return False
        self.level = loss if self.level is None else 0.9 * self.level + 0.1 * loss
        self._since_save += 1
        if self._since_save >= self.save_every:
            self._save()
        return True

    def state_dict(self) -> dict[str, Any]:
        good = None if self._good is None else {"net": self._good[0], "optimizer": self._good[1]}
        return {"level": self.level, "backtracks": self.backtracks, "since_save": self._since_save, "good": good}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.level, self.backtracks, self._since_save = state["level"], state["backtracks"], state["since_save"]
        good = state["good"]
        if good is None:
            self._good = None
        else:
            device = next(self.net.parameters()).device
            self._good = ({k: v.to(device) for k, v in good["net"].items()}, good["optimizer"])

    def _save(self) -> None:
        net_state = {k: v.detach().clone() for k, v in self.net.state_dict().items()}
        self._good = (net_state, copy.deepcopy(self.optimizer.state_dict()))
        self._since_save = 0

    def _backtrack(self) -> None:
        self.backtracks += 1
        if self._good is None or self.backtracks > self.max_backtracks:
            raise DivergenceError(
                f"the optimisation diverged {self.backtracks} times; stopped and kept the last good result "
                "(try a lower learning rate)"
            )
        net_state, optimizer_state = self._good
        self.net.load_state_dict(net_state)
        self.optimizer.load_state_dict(copy.deepcopy(optimizer_state))
