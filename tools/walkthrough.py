"""Drive the real DIP Studio window with the mouse and keyboard and write a screenshot per step.

    python tools/walkthrough.py OUT_DIR [--docs]

It starts its own virtual X server (Xvfb, 1280x800: the smallest screen the window is made for),
launches ``main.py`` there with a fresh settings folder, and drives the main flows with xdotool:
the bundled sample's noisy test copy denoised, split compare and its divider, one pane at a time,
rewinding the timeline, saving, opening a photo, a test image with missing pixels restored,
painting a mask and inpainting, pause and stop, a
photo opened during a run (the question), saving and opening a session (shown, then continued), a
broken file, and the close prompt. Each step writes ``OUT_DIR/NN-step.png`` and checks what can be
read from outside the window (its title, the files written); the exit status is 1 when a check
failed. Look at the screenshots before calling a window change done; ``--docs`` copies those the
README and docs show to docs/screenshots.

Needs Xvfb, xdotool and ImageMagick's ``import`` (docs/development.md lists the packages). The
positions clicked are those of the window's default layout at 1280x800.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dip_gui.core.samples import sample_photo  # noqa: E402

SCREEN = (1280, 800)
# Where the default layout puts things at 1280x800 (the window fills the screen at 0,0: no window manager).
TASK_BOX = (197, 84)
INPUT_PANE = (570, 270)
RESULT_PANE = (1045, 270)
SPLIT_PANE = (808, 270)  # the one pane of split compare
TIMELINE_START = (352, 507)
TOOLBAR_PAUSE, TOOLBAR_STOP = (220, 33), (269, 33)
#: The title of the window's questions (the main window's title ends with it).
QUESTION = "^DIP Studio$"


class Desktop:
    """A virtual X server with the app on it, driven by xdotool and photographed by ImageMagick."""

    def __init__(self, out: Path) -> None:
        self.out, self.step, self.failures = out, 0, []
        self.display = _free_display()
        self.xvfb = subprocess.Popen(["Xvfb", self.display, "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24", "-nolisten", "tcp"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for(lambda: Path(f"/tmp/.X11-unix/X{self.display[1:]}").exists(), 10, "Xvfb did not start")
        self.env = {**os.environ, "DISPLAY": self.display}
        self.env.pop("QT_QPA_PLATFORM", None)  # a real X window, not the offscreen platform
        self.app: subprocess.Popen | None = None

    def launch(self, home: Path) -> None:
        env = {**self.env, "XDG_CONFIG_HOME": str(home / "config"), "DIP_STUDIO_RECOVERY_DIR": str(home / "recovery")}
        self.app = subprocess.Popen([sys.executable, str(REPO / "main.py")], env=env, cwd=home,
                                    stdout=(home / "app.log").open("w"), stderr=subprocess.STDOUT)
        self.window = self.wait_for_window("DIP Studio", 60)

    def xdo(self, *args: object) -> str:
        done = subprocess.run(["xdotool", *map(str, args)], env=self.env, capture_output=True, text=True, timeout=30)
        return done.stdout.strip()

    def wait_for_window(self, name: str, seconds: float = 15) -> str:
        """The id of a shown window whose title contains ``name``, focused for the keys to follow."""
        found: list[str] = []

        def shown() -> bool:
            found[:] = self.xdo("search", "--onlyvisible", "--name", name).split()
            return bool(found)

        _wait_for(shown, seconds, f"no window named {name!r}")
        self.xdo("windowfocus", found[-1])
        return found[-1]

    def title(self) -> str:
        return self.xdo("getwindowname", self.window)

    def key(self, *keys: str, pause: float = 0.4) -> None:
        self.xdo("key", "--clearmodifiers", *keys)
        time.sleep(pause)

    def type(self, text: str) -> None:
        self.xdo("type", "--delay", 20, text)

    def click(self, point: tuple[int, int], pause: float = 0.4) -> None:
        self.xdo("mousemove", *point, "click", 1)
        if point[1] < 45:  # a toolbar button: off it, or its tip covers the status line
            self.xdo("mousemove", *RESULT_PANE)
        time.sleep(pause)

    def drag(self, points: list[tuple[int, int]]) -> None:
        self.xdo("mousemove", *points[0], "mousedown", 1)
        for point in points[1:]:
            self.xdo("mousemove", *point)
            time.sleep(0.03)
        self.xdo("mouseup", 1)
        time.sleep(0.3)

    def focus_main(self) -> None:
        self.xdo("windowfocus", self.window)
        time.sleep(0.2)

    def answer_file_dialog(self, title: str, path: Path) -> None:
        """Type ``path`` into the file dialog titled ``title`` and accept it."""
        self.wait_for_window(title)
        self.key("ctrl+a")
        self.type(str(path))
        self.key("Return", pause=1.0)

    def shot(self, name: str, check: Callable[[], str | None] | None = None) -> None:
        """Screenshot the screen as ``NN-name.png``; ``check`` returns what is wrong, or None."""
        self.step += 1
        path = self.out / f"{self.step:02d}-{name}.png"
        subprocess.run(["import", "-window", "root", str(path)], env=self.env, check=True, timeout=30)
        problem = check() if check is not None else None
        print(f"{path.name}: {'FAILED: ' + problem if problem else 'ok'}", flush=True)
        if problem:
            self.failures.append(f"{path.name}: {problem}")

    def close(self) -> None:
        if self.app is not None and self.app.poll() is None:
            self.app.kill()
            self.app.wait()
        self.xvfb.terminate()
        self.xvfb.wait()


def _free_display() -> str:
    number = 90
    while Path(f"/tmp/.X11-unix/X{number}").exists() or Path(f"/tmp/.X{number}-lock").exists():
        number += 1
    return f":{number}"


def _wait_for(condition: Callable[[], bool], seconds: float, message: str) -> None:
    end = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError(message)
        time.sleep(0.25)


def _expect(condition: bool, problem: str) -> str | None:
    return None if condition else problem


def walk(desk: Desktop, files: Path) -> None:
    """The flows, in the order a new user meets them."""
    photo = files / "chelsea.png"
    desk.shot("start-with-a-noisy-sample", lambda: _expect("chelsea.png" in desk.title(), f"title {desk.title()!r}"))
    desk.focus_main()
    desk.click(INPUT_PANE)
    desk.key("ctrl+Return", pause=2.0)
    desk.shot("denoising")
    time.sleep(10)
    desk.shot("denoised")

    desk.key("s")
    desk.shot("split-compare")
    desk.drag([(SPLIT_PANE[0] - 150, 270), (SPLIT_PANE[0] - 60, 270), (SPLIT_PANE[0] + 40, 270)])
    desk.shot("split-divider-dragged")
    desk.key("s")
    desk.shot("side-by-side-again")
    desk.key("t")
    desk.key("t")
    desk.shot("one-pane-the-result")
    desk.key("y")

    desk.click(TIMELINE_START, pause=1.0)
    desk.shot("rewound-to-the-first-snapshot")
    result = files / "result.png"
    desk.key("ctrl+s")
    desk.answer_file_dialog("Save result", result)
    desk.shot("saved", lambda: _expect(result.exists(), f"{result} was not written"))

    desk.focus_main()
    desk.key("ctrl+o")
    desk.answer_file_dialog("Open photo", photo)
    desk.shot("clean-photo-opened", lambda: _expect("chelsea.png (451x300)" in desk.title(), f"title {desk.title()!r}"))
    desk.focus_main()
    desk.key("ctrl+t")
    desk.wait_for_window("Make a test image")
    desk.key("Down")
    desk.key("Down")  # missing pixels
    desk.key("Return")
    desk.focus_main()
    desk.click(RESULT_PANE)
    desk.key("ctrl+Return", pause=40.0)  # its start (a non-local means fill) takes a while
    desk.shot("restoring")
    desk.key("Escape", pause=3.0)
    desk.key("ctrl+s")
    desk.answer_file_dialog("Save result", files / "restored.png")
    desk.focus_main()
    desk.key("ctrl+o")
    desk.answer_file_dialog("Open photo", photo)
    desk.focus_main()
    desk.click(TASK_BOX)
    desk.key("i")
    desk.key("Return")
    desk.shot("inpaint-chosen-invites-painting")
    for y in (200, 230, 260):
        desk.drag([(INPUT_PANE[0] - 120, y), (INPUT_PANE[0] + 120, y + 20)])
    desk.shot("holes-painted")

    desk.key("ctrl+Return", pause=6.0)
    desk.shot("inpainting")
    desk.click(TOOLBAR_PAUSE)
    desk.shot("paused")
    desk.click(TOOLBAR_PAUSE, pause=3.0)
    desk.focus_main()
    desk.key("ctrl+o")
    desk.answer_file_dialog("Open photo", photo)
    desk.wait_for_window(QUESTION)
    desk.shot("opening-during-a-run-asks")
    desk.key("Escape", pause=1.0)  # Cancel: the run goes on
    desk.shot("cancelled-the-run-goes-on")
    desk.click(TOOLBAR_STOP, pause=4.0)
    desk.shot("stopped")

    session = files / "inpainting.dips"
    desk.key("ctrl+shift+s")
    desk.answer_file_dialog("Save session", session)
    time.sleep(1.0)
    desk.shot("session-saved", lambda: _expect(session.exists(), f"{session} was not written"))
    inpainted = files / "inpainted.png"
    desk.focus_main()
    desk.key("ctrl+s")
    desk.answer_file_dialog("Save result", inpainted)
    desk.focus_main()
    desk.key("ctrl+shift+o")
    desk.answer_file_dialog("Open session", session)
    time.sleep(2.0)
    desk.shot("session-opened-not-running")
    desk.focus_main()
    desk.key("ctrl+shift+Return", pause=4.0)
    desk.shot("session-continued")
    desk.click(TOOLBAR_STOP, pause=4.0)

    broken = files / "broken.png"
    broken.write_text("not a photo")
    desk.focus_main()
    desk.key("ctrl+s")
    desk.answer_file_dialog("Save result", files / "inpainted-more.png")
    desk.focus_main()
    desk.key("ctrl+o")
    desk.answer_file_dialog("Open photo", broken)
    desk.shot("a-broken-file-says-why")
    desk.key("Return")
    desk.focus_main()
    desk.click(INPUT_PANE)
    desk.key("ctrl+Return", pause=3.0)
    desk.click(TOOLBAR_STOP, pause=4.0)
    desk.key("ctrl+q", pause=1.0)
    desk.wait_for_window(QUESTION)
    desk.shot("closing-asks-with-save", lambda: _expect(desk.app is not None and desk.app.poll() is None,
                                                        "the window closed without asking"))
    desk.key("Escape", pause=1.0)


#: The steps whose screenshots the documentation shows, and their names in docs/screenshots.
DOCS_SHOTS = {"denoised": "denoise-done.png", "split-divider-dragged": "split-compare.png",
              "restoring": "restore-held-out-curve.png", "inpainting": "inpaint-mid-run.png"}


def copy_docs_shots(out: Path, docs: Path) -> None:
    for shot in sorted(out.glob("*.png")):
        name = DOCS_SHOTS.get(shot.stem.split("-", 1)[1])
        if name is not None:
            shutil.copy(shot, docs / name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for the screenshots")
    parser.add_argument("--docs", action="store_true", help="copy the documentation's screenshots to docs/screenshots")
    args = parser.parse_args(argv)
    missing = [tool for tool in ("Xvfb", "xdotool", "import") if shutil.which(tool) is None]
    if missing:
        print(f"walkthrough: needs {', '.join(missing)} (see docs/development.md)", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="dip-walkthrough-") as folder:
        home = Path(folder)
        files = home / "photos"
        files.mkdir()
        sample = sample_photo()
        if sample is None:
            print("walkthrough: the bundled sample photo is missing", file=sys.stderr)
            return 2
        Image.fromarray(np.asarray(Image.open(sample).convert("RGB"))).save(files / "chelsea.png")
        desk = Desktop(args.out)
        try:
            desk.launch(home)
            time.sleep(4.0)  # the first estimate
            walk(desk, files)
        finally:
            desk.close()
            shutil.copy(home / "app.log", args.out / "app.log")
    for failure in desk.failures:
        print(f"walkthrough: {failure}", file=sys.stderr)
    if args.docs and not desk.failures:
        copy_docs_shots(args.out, REPO / "docs" / "screenshots")
    return 1 if desk.failures else 0


if __name__ == "__main__":
    sys.exit(main())
