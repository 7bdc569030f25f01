"""`otviz --self-test`: open the window offscreen, train every tab a few steps, export and check a snapshot."""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

STEPS = 3                  # training steps per tab: enough to go through the worker's step/frame loop
TAB_TIMEOUT_S = 300.0      # a generous bound: one step of the heaviest tab takes seconds on a loaded machine
MIN_INK = 0.002            # share of the view's pixels that must be coloured (data, heatmaps), not grey axes


def ink_fraction(img, rect=None) -> float:
    """Share of coloured pixels (clearly not white, grey or black) in a QImage, optionally within rect."""
    import numpy as np

    from otviz.gui.export import image_to_rgb

    a = image_to_rgb(img).astype(np.int16)
    if rect is not None:
        x, y, w, h = rect
        a = a[max(y, 0): y + h, max(x, 0): x + w]
    if a.size == 0:
        return 0.0
    chroma = a.max(axis=2) - a.min(axis=2)
    return float((chroma > 40).mean())


def _wait(app, cond, timeout: float) -> bool:
    """Process Qt events until cond() is true or timeout seconds have passed."""
    from PySide6 import QtCore

    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            return False
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.005)
    return True


def _train_and_pause(app, tab, steps: int, timeout: float, errors: list[str]) -> float:
    """Play the tab until `steps` steps are drawn, pause it and wait for its complete paused frame;
    returns the seconds taken, raises RuntimeError on an error or a timeout."""
    t0 = time.perf_counter()
    # demo pace (N steps, then wait for the frame): the check needs only a few steps
    tab.controls.speed.setValue(steps)
    tab.controls.play.click()                       # Play, as a user would: the tab takes a worker
    done = _wait(app, lambda: errors or (tab.last_frame is not None and tab.step >= steps), timeout)
    if tab.controls.play.isChecked():
        tab.controls.play.click()                   # Pause
    # the paused frame is complete (its fields are of its own step): wait for it before the picture
    paused = _wait(app, lambda: errors or (not tab.running and not tab.last_frame["running"]
                                           and tab.last_frame["snap"].fields_step in (None, tab.step)),
                   30.0)
    if errors:
        raise RuntimeError(errors[0])
    if not done:
        raise RuntimeError(f"only {tab.step} of {steps} steps within {timeout:.0f} s")
    if not paused:
        raise RuntimeError(f"no complete frame after pausing at step {tab.step}")
    return time.perf_counter() - t0


def _check_snapshot(win, tab, path: Path):
    """Export the tab to path and check it is a readable image whose views are not blank; returns the
    image and the share of coloured pixels over the views, raises RuntimeError otherwise."""
    from PySide6 import QtCore, QtGui

    if win.snapshot(tab, path, scale=1.0) is None:
        raise RuntimeError(f"snapshot failed: {win.statusBar().currentMessage()}")
    img = QtGui.QImage(str(path))
    if img.isNull() or img.width() < 100 or img.height() < 100:
        raise RuntimeError(f"snapshot {path} is not a readable image")
    top_left = tab.view.mapTo(tab, QtCore.QPoint(0, 0))
    ink = ink_fraction(img, (top_left.x(), top_left.y(), tab.view.width(), tab.view.height()))
    if ink < MIN_INK:
        raise RuntimeError(f"snapshot {path.name}: the views look blank ({100 * ink:.2f} % coloured pixels)")
    return img, ink


def _check_tab(app, win, name: str, out: Path, steps: int, timeout: float) -> str:
    """Run one tab through its real worker process; returns a summary line, raises RuntimeError on failure."""
    tab = win.tab_by_name[name]
    errors: list[str] = []
    # errors reach the tab as show_error (banner, panel message); the shared field helper's as a signal
    original_show_error = tab.show_error

    def show_error(message: str) -> None:
        errors.append(message)
        original_show_error(message)

    tab.show_error = show_error

    def helper_failed(key: str, message: str) -> None:
        if key == name:
            errors.append(f"field helper: {message}")

    if win.processes.fields is not None:
        win.processes.fields.failed.connect(helper_failed)
    try:
        win.tabs.setCurrentWidget(tab)
        t0 = time.perf_counter()
        # the preview of the initial state (drawn by the field helper), before any worker
        if not _wait(app, lambda: tab.last_frame is not None or errors, timeout):
            raise RuntimeError(f"no first frame within {timeout:.0f} s")
        t_first = time.perf_counter() - t0
        elapsed = _train_and_pause(app, tab, steps, timeout, errors)
        app.processEvents()
    finally:
        del tab.show_error
        if win.processes.fields is not None:
            win.processes.fields.failed.disconnect(helper_failed)
    img, ink = _check_snapshot(win, tab, out / f"otviz-selftest-{name}.png")
    m = tab.last_frame["metrics"]
    metric = next(iter(m.items()), None)
    metric_text = f"  {metric[0]}={metric[1]:.4g}" if metric else ""
    return (f"first frame after {t_first:.1f} s, {tab.step} steps in {elapsed:.1f} s, snapshot {img.width()}x{img.height()} "
            f"({100 * ink:.1f} % of the views coloured){metric_text}")


@contextlib.contextmanager
def _slot_errors():
    """The exceptions raised in Qt slots meanwhile (they land in sys.excepthook, not with the caller)."""
    errors: list[str] = []
    old_hook = sys.excepthook

    def hook(kind, value, tb):
        errors.append("".join(traceback.format_exception_only(kind, value)).strip())
        old_hook(kind, value, tb)

    sys.excepthook = hook
    try:
        yield errors
    finally:
        sys.excepthook = old_hook


def _check_icon(say) -> int:
    """Say whether the icon's PNGs were installed; the number of failures (0 or 1)."""
    from otviz.gui.app import app_icon

    icon = app_icon()
    sizes = sorted(s.width() for s in icon.availableSizes())
    if not sizes:
        say("  icon       FAIL  the icon PNGs are missing from the installation (resources/)")
        return 1
    say(f"  icon       ok    {len(sizes)} sizes, {sizes[0]} to {sizes[-1]} px")
    return 0


def _check_tabs(app, win, names: list[str], out: Path, steps: int, timeout: float, slot_errors: list[str],
                say) -> int:
    """Check every tab in turn, saying how each went; the number of tabs that failed."""
    failures = 0
    for name in names:
        n_errors = len(slot_errors)
        t_tab = time.perf_counter()
        try:
            line = _check_tab(app, win, name, out, steps, timeout)
            if len(slot_errors) > n_errors:
                raise RuntimeError(f"error in the window: {slot_errors[n_errors]}")
            say(f"  {name:<10} ok    {line}")
        except Exception as e:                              # report every tab, then fail at the end
            failures += 1
            say(f"  {name:<10} FAIL  {e}  (after {time.perf_counter() - t_tab:.1f} s)")
    return failures


def _close_window(win, say) -> int:
    """Close the window and check that its threads and processes ended; the number of failures (0 or 1)."""
    links = {n: t.link for n, t in win.tab_by_name.items() if t.link is not None}
    handles = [lk.handle for lk in links.values()] + win.processes.handles()
    win.close()
    running = [n for n, lk in links.items() if lk.isRunning()]
    running += [f"process {h.pid}" for h in handles if h.alive()]
    if running:
        say(f"  close      FAIL  still running after close: {', '.join(running)}")
        return 1
    return 0


def run_self_test(methods: list[str] | None = None, steps: int = STEPS, out_dir: str | None = None,
                  timeout: float = TAB_TIMEOUT_S, stream=sys.stdout) -> int:
    """Exit status 0 when every tab trained, drew and exported a non-blank snapshot and the window closed."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")     # a check, not a window on the user's screen
    t_start = time.perf_counter()

    def say(text: str) -> None:
        print(text, file=stream, flush=True)

    win = None
    failures = 0
    with _slot_errors() as slot_errors:
        try:
            from PySide6 import QtCore, QtWidgets

            from otviz import __version__
            from otviz.gui.app import disable_qt_gui_thread_pool
            from otviz.gui.main_window import MainWindow
            from otviz.methods import method_names

            disable_qt_gui_thread_pool()
            app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["otviz"])
            names = methods or method_names()
            say(f"otviz {__version__} self-test: Python {sys.version.split()[0]}, Qt platform "
                f"{app.platformName()}, {len(names)} tabs, {steps} steps each")
            tmp = tempfile.TemporaryDirectory(prefix="otviz-selftest-") if out_dir is None else None
            out = Path(out_dir or tmp.name)
            out.mkdir(parents=True, exist_ok=True)
            failures += _check_icon(say)
            t_win = time.perf_counter()
            win = MainWindow(methods=names)
            win.resize(1400, 900)
            win.show()
            say(f"  window     ok    {len(names)} tabs built in {time.perf_counter() - t_win:.1f} s")
            _wait(app, lambda: win.processes.fields is not None, 10.0)   # started once the window is up
            failures += _check_tabs(app, win, names, out, steps, timeout, slot_errors, say)
            failures += _close_window(win, say)
            # destroy the window now (views, timers), not at some later event loop: a caller may go on
            win.deleteLater()
            win = None
            app.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
            app.processEvents()
            if tmp is not None:
                tmp.cleanup()
        except Exception as e:
            failures += 1
            say(f"otviz self-test: FAIL before the tabs ran: {type(e).__name__}: {e}")
            traceback.print_exc()
    total = time.perf_counter() - t_start
    if failures:
        say(f"self-test FAILED: {failures} problem(s) in {total:.1f} s")
        return 1
    say(f"self-test passed in {total:.1f} s")
    return 0
