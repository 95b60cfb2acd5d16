"""Before a run: its time per iteration and its peak memory on this device."""
