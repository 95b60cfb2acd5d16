"""Iteration speed and GUI responsiveness of a run in the window, as a user gets them.

    python benchmarks/window_loop.py --preset balanced --size 512 [--threads N] [--per-thread-arenas]
        [--memory auto|lean|fast] [--warmup 20] [--seconds 40] [--json OUT]

Opens the real MainWindow (offscreen unless QT_QPA_PLATFORM says otherwise) on a synthetic
denoising photo, starts the preset's run the way the Start button does (the long-run question
answered "run"), lets it warm up, then counts the iterations made in ``--seconds`` while a 10 ms
QTimer in the GUI thread records how late the event loop serves it. ``--threads`` fixes the
worker's torch thread count (default: the window's own choice, core/runtime/thread_trial.py); ``--per-thread-arenas`` skips
``share_main_arena`` to show what the worker thread costs without it (core/runtime/host_memory.py).
Run it alone: two torch processes on one 2-core machine slow each other down several times.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", default="balanced")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--threads", type=int, help="the worker's torch threads (default: the window's rule)")
    parser.add_argument("--per-thread-arenas", action="store_true", help="do not share glibc's main arena")
    parser.add_argument("--memory", default="auto", choices=("auto", "lean", "fast"),
                        help="the panel's Memory setting (core/runtime/host_memory.py)")
    parser.add_argument("--warmup", type=float, default=20.0, help="seconds before counting")
    parser.add_argument("--seconds", type=float, default=40.0, help="seconds counted")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from dip_gui.core.runtime.host_memory import share_main_arena

    if not args.per_thread_arenas:
        share_main_arena()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    print(json.dumps(measure(args)), flush=True)


def measure(args: argparse.Namespace) -> dict:
    import numpy as np
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from dip_gui.core.imaging import save_image
    from dip_gui.core.session.cost_probe import synthetic_photo
    from dip_gui.ui import worker
    from dip_gui.ui.window.main_window import MainWindow

    if args.threads:
        class FixedThreads(worker.ThreadTrial):
            def __init__(self, **options) -> None:
                super().__init__(**options)
                self.chosen = args.threads

        worker.ThreadTrial = FixedThreads
    app = QApplication.instance() or QApplication([])
    folder = Path(tempfile.mkdtemp(prefix="window_loop_"))
    os.environ["DIP_STUDIO_RECOVERY_DIR"] = str(folder / "recovery")
    photo = folder / "photo.png"
    save_image(photo, synthetic_photo(args.size))
    window = MainWindow(settings=QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat),
                        open_sample=False)
    window._ask_about_cost = lambda text, offers: "run"
    window.show()
    window.open_path(photo)
    window.panel.select_task("denoise")
    window.panel.preset.setCurrentIndex(window.panel.preset.findData(args.preset))
    window.panel.iterations.setValue(100000)  # run until stopped
    window.panel.select_host_memory(args.memory)
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    window.start_run()
    session = window.run.session
    _wait(app, args.warmup)
    first, ticks_from = session.iteration, len(ticks)
    timer.start()
    start = time.perf_counter()
    _wait(app, args.seconds)
    done, elapsed = session.iteration - first, time.perf_counter() - start
    threads = window.run.worker.thread_trial.threads
    timer.stop()
    window.run.shutdown()
    gaps = np.diff(ticks[ticks_from:])
    return {"preset": args.preset, "size": args.size, "threads": threads,
            "shared_arena": not args.per_thread_arenas, "iterations": done,
            "seconds_per_iter": round(elapsed / max(done, 1), 3), "worst_gap_ms": round(float(gaps.max()) * 1000, 1),
            "gaps_over_100ms": int(np.sum(gaps > 0.1))}


def _wait(app, seconds: float) -> None:
    """Serve the event loop as app.exec() does, for ``seconds``."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


if __name__ == "__main__":
    main()
