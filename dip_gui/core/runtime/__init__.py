"""Where a run executes: the device and precision, host memory, torch threads."""
