"""The command line: ``python -m dip_gui {gui,run,degrade,presets,bench,evaluate-stopping}``."""
