"""Choosing the compute device: ``auto`` = CUDA, then Apple MPS, then CPU."""

from __future__ import annotations

import torch

from dip_gui.core.errors import DeviceError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def resolve_device(name: str = "auto") -> torch.device:
    """The torch device for a user's choice; DeviceError if it is not present on this machine."""
    if name not in DEVICE_CHOICES and not name.startswith("cuda:"):
        raise DeviceError(f"unknown device {name!r}; choose one of {', '.join(DEVICE_CHOICES)}")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if mps_available() else torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceError("CUDA was asked for but no CUDA GPU is available (use --device cpu or auto)")
    if name == "mps" and not mps_available():
        raise DeviceError("Apple MPS was asked for but is not available on this machine (use --device cpu or auto)")
    return torch.device(name)


def available_devices() -> list[str]:
    """Device names usable here, for menus."""
    names = ["auto", "cpu"]
    if torch.cuda.is_available():
        names.append("cuda")
    if mps_available():
        names.append("mps")
    return names
