"""The restoration problem: tasks, their forward operators (degradations) and the presets, as data."""
