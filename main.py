"""Launch the DIP Studio window: ``python main.py [PHOTO]``."""

import sys

from dip_gui.core.runtime.host_memory import share_main_arena

share_main_arena()  # before any thread starts: the worker thread's allocations (core/runtime/host_memory.py)

import torch  # noqa: E402,F401  -- import torch before Qt: on Windows the DLL load order matters

from dip_gui.cli.main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["gui", *sys.argv[1:]]))
