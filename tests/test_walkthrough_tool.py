"""tools/walkthrough.py (the scripted tour of the real window) runs where its tools are, and says
what is missing where they are not, before starting anything."""

import os
import subprocess
import sys
from pathlib import Path

TOOL = Path(__file__).resolve().parents[1] / "tools" / "walkthrough.py"


def test_the_walkthrough_says_which_programs_it_needs(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path)}  # no Xvfb, xdotool or import here
    done = subprocess.run([sys.executable, str(TOOL), str(tmp_path / "shots")], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2
    assert "needs Xvfb, xdotool, import" in done.stderr
    assert not (tmp_path / "shots").exists()


def test_the_documentation_s_screenshots_are_the_walkthrough_s_steps(tmp_path):
    sys.path.insert(0, str(TOOL.parent))
    try:
        import walkthrough
    finally:
        sys.path.remove(str(TOOL.parent))
    out, docs = tmp_path / "out", tmp_path / "docs"
    out.mkdir()
    docs.mkdir()
    for name in ("03-denoised", "05-split-divider-dragged", "06-side-by-side-again"):
        (out / f"{name}.png").write_bytes(name.encode())
    walkthrough.copy_docs_shots(out, docs)
    assert sorted(path.name for path in docs.iterdir()) == ["denoise-done.png", "split-compare.png"]
    assert (docs / "denoise-done.png").read_bytes() == b"03-denoised"
    shown = {path.name for path in (TOOL.parents[1] / "docs" / "screenshots").iterdir()}
    assert set(walkthrough.DOCS_SHOTS.values()) == shown  # every screenshot shown comes from the walkthrough
