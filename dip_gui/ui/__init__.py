"""The Qt window of DIP Studio (PySide6, pyqtgraph)."""
