"""The Linux system libraries Qt's xcb platform plugin loads. Where one is missing, Qt aborts
the process with a message that names only the first library it failed to load. So before the
window starts, the app looks for all of them and names every Debian/Ubuntu package to install. A
warning, not a refusal: a library installed where the lookup does not search (a Nix or conda
prefix) still lets Qt start."""

from __future__ import annotations

import ctypes.util
import os
import sys
from collections.abc import Callable, Mapping

#: The library (as ``ctypes.util.find_library`` names it) -> the Debian/Ubuntu package providing it.
XCB_LIBRARIES = {
    "xcb-cursor": "libxcb-cursor0",
    "xcb-icccm": "libxcb-icccm4",
    "xcb-image": "libxcb-image0",
    "xcb-keysyms": "libxcb-keysyms1",
    "xcb-render-util": "libxcb-render-util0",
    "xcb-xinerama": "libxcb-xinerama0",
    "xcb-xkb": "libxcb-xkb1",
    "xcb-shape": "libxcb-shape0",
    "xcb-randr": "libxcb-randr0",
    "xkbcommon-x11": "libxkbcommon-x11-0",
    "EGL": "libegl1",
    "fontconfig": "libfontconfig1",
    "dbus-1": "libdbus-1-3",
}


def uses_xcb(environ: Mapping[str, str]) -> bool:
    """Whether Qt will pick its xcb plugin: asked for, or left to choose outside a Wayland session."""
    platform = environ.get("QT_QPA_PLATFORM", "")
    if platform:
        return platform.split(";")[0].startswith("xcb")
    return not environ.get("WAYLAND_DISPLAY")


def missing_packages(environ: Mapping[str, str] = os.environ,
                     find: Callable[[str], str | None] = ctypes.util.find_library) -> list[str]:
    """The packages whose libraries the xcb plugin needs and this Linux machine lacks ([] elsewhere)."""
    if not sys.platform.startswith("linux") or not uses_xcb(environ):
        return []
    return [package for library, package in XCB_LIBRARIES.items() if find(library) is None]


def missing_libraries_message(packages: list[str]) -> str:
    """One line for the user: what to install, as a command."""
    return ("the window needs system libraries that seem to be missing; install them with: sudo apt-get install "
            + " ".join(packages))


def warn_about_missing_libraries() -> None:
    """Say on stderr which packages to install, where any library the xcb plugin needs is missing."""
    packages = missing_packages()
    if packages:
        print(f"warning: {missing_libraries_message(packages)}", file=sys.stderr)
