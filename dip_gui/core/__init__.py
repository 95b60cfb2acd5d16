"""The Qt-free engine: images, networks, degradations, tasks, sessions and metrics."""
