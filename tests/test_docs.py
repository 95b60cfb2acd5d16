"""The documentation checks itself: every link in the README and docs/ resolves (to a file, and to a
heading where it names one), and the README's commands run (with two iterations and tiny photos)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import numpy as np
import pytest

from dip_gui.cli.main import main
from dip_gui.core.imaging import load_image, save_image

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(document: Path) -> set[str]:
    return {slug(line.lstrip("#")) for line in document.read_text(encoding="utf-8").splitlines()
            if line.startswith("#")}


def outside_code(text: str) -> str:
    return re.sub(r"```.*?```", "", text, flags=re.DOTALL)


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_link_resolves_to_a_file_and_its_heading(document):
    broken = []
    for target in LINK.findall(outside_code(document.read_text(encoding="utf-8"))):
        if re.match(r"[a-z]+://", target) or target.startswith("mailto:"):
            continue
        path_part, _, anchor = target.partition("#")
        linked = (document.parent / path_part).resolve() if path_part else document
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no heading #{anchor} in {linked.name}")
    assert not broken, f"{document.name}: " + "; ".join(broken)


def readme_commands() -> list[list[str]]:
    """The `python -m dip_gui ...` lines of the README's shell blocks (not the window's)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL):
        for line in block.splitlines():
            if line.startswith("python -m dip_gui ") and not line.startswith("python -m dip_gui gui"):
                commands.append(shlex.split(line, comments=True)[3:])
    return commands


@pytest.mark.slow
def test_the_readmes_commands_run(tmp_path, monkeypatch):
    commands = readme_commands()
    assert len(commands) >= 3, "the README's quick start holds the command lines"
    sample = load_image(ROOT / "resources" / "samples" / "chelsea.png").rgb
    tiny = np.ascontiguousarray(sample[100:132, 150:190])
    (tmp_path / "resources" / "samples").mkdir(parents=True)
    save_image(tmp_path / "resources" / "samples" / "chelsea.png", tiny)
    (tmp_path / "scans" / "1950").mkdir(parents=True)
    save_image(tmp_path / "scans" / "a.png", tiny)
    save_image(tmp_path / "scans" / "1950" / "b.png", tiny[:24, :24])
    monkeypatch.chdir(tmp_path)
    for argv in commands:
        quick = ["--iters", "2"] if argv[0] in ("run", "batch") else []
        assert main([*argv, *quick]) == 0, " ".join(argv)
    assert (tmp_path / "restored.png").is_file() and (tmp_path / "restored" / "1950" / "b.png").is_file()
