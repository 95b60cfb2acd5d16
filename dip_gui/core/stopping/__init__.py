"""When a run stops: output average, divergence guard, stop detectors, the holdout and the run monitor."""
