"""Networks of the paper: the skip encoder-decoder (hourglass = no skips), Lanczos, inputs."""

import torch

from dip_gui.core.networks.inputs import INPUT_KINDS, InputKind, make_input
from dip_gui.core.networks.skip import SkipNet, SkipSpec


def count_parameters(net: torch.nn.Module) -> int:
    """Number of trainable scalars, as the authors count them."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


__all__ = ["INPUT_KINDS", "InputKind", "SkipNet", "SkipSpec", "count_parameters", "make_input"]
