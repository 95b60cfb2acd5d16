"""One optimisation (Session), the run loop every caller drives, saved sessions, tiles."""
