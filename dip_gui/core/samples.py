"""The sample photos and the application icon shipped with the package (``resources/samples`` and
``resources/icons``, package ``dip_gui.resources``).

Found with ``importlib.resources``, never by a path into the checkout: an installed wheel opens
the window on the sample exactly as a checkout does.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

#: The photo the window opens at start-up (with a noisy test copy of it).
START_SAMPLE = "chelsea.png"


def sample_folder() -> Path | None:
    """The folder of the bundled samples, or None where the package was installed without them."""
    folder = files("dip_gui.resources") / "samples"
    path = Path(str(folder))
    return path if path.is_dir() else None


def sample_photos() -> list[Path]:
    """The bundled sample photos (PNG), sorted by name."""
    folder = sample_folder()
    return [] if folder is None else sorted(folder.glob("*.png"))


def is_bundled_sample(path: Path) -> bool:
    """``path`` is one of the bundled samples (inside the installed package: nothing is saved there)."""
    folder = sample_folder()
    return folder is not None and path.resolve().parent == folder.resolve()


def sample_photo(name: str = START_SAMPLE) -> Path | None:
    """One bundled sample by file name, or None when it is missing."""
    return next((path for path in sample_photos() if path.name == name), None)


def application_icon_path() -> Path:
    """The application icon (SVG) shipped in the package: the window's, and the menu entry's."""
    return Path(str(files("dip_gui.resources") / "icons" / "dip-studio.svg"))
