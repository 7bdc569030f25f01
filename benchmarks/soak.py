"""Soak: train one method for a long time (headless, or in the window offscreen) and watch memory stay flat
(in the window: the window's process plus the tab's worker process).

    python benchmarks/soak.py --method sinkhorn --minutes 20 [--gui]

Prints the resident memory every --every seconds; the last line says how much it grew after warm-up.
"""
from __future__ import annotations

import argparse
import os
import time


def rss_mib(pid: int | str = "self") -> float:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except FileNotFoundError:
        return 0.0


def soak_headless(method: str, seconds: float, every: float) -> list[tuple[float, int, float]]:
    from otviz.methods import method_class
    from otviz.session.session import Session

    s = Session(method_class(method)(seed=0))
    t0 = time.perf_counter()
    rows, next_t = [], 0.0
    while (t := time.perf_counter() - t0) < seconds:
        s.step()
        if t >= next_t:
            rows.append((t, s.step_count, rss_mib()))
            print(f"{t:8.0f} s  step {s.step_count:>9}  history rows {len(s.history):>6}  rss {rows[-1][2]:8.1f} MiB", flush=True)
            next_t += every
    return rows


def soak_gui(method: str, seconds: float, every: float) -> list[tuple[float, int, float]]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import QtCore, QtWidgets

    from otviz.gui.app import disable_qt_gui_thread_pool
    from otviz.gui.main_window import MainWindow

    disable_qt_gui_thread_pool()
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    win = MainWindow(methods=[method])
    win.show()
    tab = win.tab_by_name[method]
    rows: list[tuple[float, int, float]] = []
    t0 = time.perf_counter()

    def sample():
        t = time.perf_counter() - t0
        # the window's process plus the tab's training process
        worker = rss_mib(tab.link.handle.pid) if tab.link is not None else 0.0
        rows.append((t, tab.step, rss_mib() + worker))
        print(f"{t:8.0f} s  step {tab.step:>9}  rss {rows[-1][2]:8.1f} MiB (worker {worker:.1f})", flush=True)
        if t >= seconds:
            win.close()
            app.quit()

    timer = QtCore.QTimer(interval=int(every * 1000))
    timer.timeout.connect(sample)
    timer.start()
    QtCore.QTimer.singleShot(500, tab.controls.play.click)
    app.exec()
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--method", default="sinkhorn")
    p.add_argument("--minutes", type=float, default=20.0)
    p.add_argument("--every", type=float, default=60.0, help="seconds between samples")
    p.add_argument("--gui", action="store_true", help="run in the window (offscreen) instead of headless")
    a = p.parse_args()
    from otviz.core.runtime import configure_process, tune_allocator

    configure_process() if not a.gui else tune_allocator()     # the window's process never imports torch
    rows = (soak_gui if a.gui else soak_headless)(a.method, a.minutes * 60, a.every)
    warm = rows[min(2, len(rows) - 1)]
    print(f"memory after warm-up {warm[2]:.1f} MiB, at the end {rows[-1][2]:.1f} MiB: "
          f"{rows[-1][2] - warm[2]:+.1f} MiB over {rows[-1][1] - warm[1]} steps")


if __name__ == "__main__":
    main()
