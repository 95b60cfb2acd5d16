"""``python -m dip_gui install-desktop``: the application menu entry and icon for this user.

Writes ``applications/dip-studio.desktop`` and ``icons/hicolor/scalable/apps/dip-studio.svg`` under
``$XDG_DATA_HOME`` (``~/.local/share`` by default), the places every freedesktop menu (GNOME, KDE,
Xfce) reads, so DIP Studio appears among the applications and opens photos from a file manager's
*Open with*. ``--uninstall`` removes both. Nothing needs root; a pipx or venv install works alike,
since the entry starts the same Python that runs this command.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from dip_gui import __version__
from dip_gui.cli.signals import tell
from dip_gui.core.atomic import atomic_target
from dip_gui.core.errors import ImageWriteError
from dip_gui.core.samples import application_icon_path

APP_ID = "dip-studio"
#: The photo types the window opens, for a file manager's *Open with*.
MIME_TYPES = ("image/png", "image/jpeg", "image/tiff", "image/webp", "image/heic", "image/heif", "image/avif",
              "image/bmp", "image/gif")


def data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def launch_command() -> str:
    """What the menu runs: the ``dip-studio`` command beside this Python (pip, pipx, venv), else this
    Python with ``-m dip_gui``."""
    script = Path(sys.executable).with_name(APP_ID)
    if script.is_file() and os.access(script, os.X_OK):
        return exec_quote(str(script))
    return f"{exec_quote(sys.executable)} -m dip_gui gui"


def exec_quote(argument: str) -> str:
    """An argument of a desktop entry's Exec key: in double quotes with ", `, $ and \\ escaped where it
    holds anything but plain characters (the Desktop Entry Specification allows no single quotes)."""
    argument = argument.replace("%", "%%")  # a literal % (a lone one starts a field code such as %f)
    if argument and all(char.isalnum() or char in "/._-+%" for char in argument):
        return argument
    escaped = "".join("\\" + char if char in '"`$\\' else char for char in argument)
    return f'"{escaped}"'


def desktop_entry() -> str:
    return "\n".join([
        "[Desktop Entry]",
        "Type=Application",
        "Name=DIP Studio",
        "GenericName=Photo restoration",
        "Comment=Denoise, enlarge and fill holes in one photo with Deep Image Prior",
        f"Exec={launch_command()} %f",
        f"Icon={APP_ID}",
        "Terminal=false",
        "Categories=Graphics;Photography;RasterGraphics;",
        f"MimeType={';'.join(MIME_TYPES)};",
        "StartupWMClass=DIP Studio",
        f"X-DIP-Studio-Version={__version__}",
        "",
    ])


def install_desktop_command(args: argparse.Namespace) -> int:
    home = data_home()
    entry = home / "applications" / f"{APP_ID}.desktop"
    icon = home / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"
    if args.uninstall:
        for path in (entry, icon):
            path.unlink(missing_ok=True)
        tell(f"removed {entry} and {icon}")
        return 0
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        icon.parent.mkdir(parents=True, exist_ok=True)
        with atomic_target(entry) as tmp:
            Path(tmp).write_text(desktop_entry())
        shutil.copyfile(application_icon_path(), icon)
    except OSError as exc:
        raise ImageWriteError(f"{exc.filename or home}: cannot be written ({exc.strerror or exc})") from None
    tell(f"DIP Studio is in the applications menu: {entry} (icon {icon})")
    return 0
