"""Launch the DIP Studio window: ``python main.py [PHOTO]``."""

import sys

import torch  # noqa: F401  -- import torch before Qt: on Windows the DLL load order matters

from dip_gui.cli import main

if __name__ == "__main__":
    sys.exit(main(["gui", *sys.argv[1:]]))
