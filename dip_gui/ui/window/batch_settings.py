"""The settings of a batch made in the window: read from the task panel, and said in a few words."""

from __future__ import annotations

from dip_gui.core.batch.settings import BatchSettings
from dip_gui.ui.widgets.task_panel import TaskPanel


def batch_settings(panel: TaskPanel, auto_stop: bool, to_srgb: bool = False) -> BatchSettings:
    """The batch's settings from the task panel. A named preset is fitted to each photo as a run of
    that photo would be (its noise, its JPEG quality); custom settings keep their iterations and
    learning rate for every photo."""
    custom = panel.is_custom
    return BatchSettings(task=str(panel.current_task()), preset=panel.base_preset_name(), scale=panel.current_scale(),
                         blur=panel.current_blur(), iterations=panel.iterations.value() if custom else None,
                         lr=panel.lr.value() if custom else None, seed=panel.seed.value(), auto_stop=auto_stop,
                         device=panel.device.currentText(), host_memory=panel.current_host_memory(), to_srgb=to_srgb)


def describe(settings: BatchSettings) -> str:
    """A photo's settings in a few words: task, preset and what was set by hand."""
    words = [settings.task + (f" x{settings.scale}" if settings.scale else ""), settings.preset or "default preset"]
    if settings.blur:
        words.append(f"camera blur {settings.blur:g} px")
    if settings.iterations is not None:
        words.append(f"{settings.iterations} iterations")
    if not settings.auto_stop:
        words.append("no auto-stop")
    if settings.to_srgb:
        words.append("sRGB")
    return " · ".join(words)
