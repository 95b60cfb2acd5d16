"""``python -m dip_gui``: the window by default; ``run``, ``degrade``, ``presets``, ``bench``."""

import sys

from dip_gui.core.runtime.host_memory import share_main_arena


def entry() -> int:
    """The command line, with the main arena shared before any thread starts (core/runtime/host_memory.py)."""
    share_main_arena()
    from dip_gui.cli.main import main  # imports torch, which starts a thread

    return main()


if __name__ == "__main__":
    sys.exit(entry())
