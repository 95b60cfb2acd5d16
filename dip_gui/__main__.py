"""``python -m dip_gui``: the window by default; ``run``, ``degrade``, ``presets``, ``bench``."""

import sys

from dip_gui.cli import main

if __name__ == "__main__":
    sys.exit(main())
