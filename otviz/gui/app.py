"""Start the Qt application and show the main window."""
from __future__ import annotations

import os
import sys


def disable_qt_gui_thread_pool() -> None:
    """Keep Qt's raster engine off its thread pool in this process (and the processes it starts).

    Qt hands big fills and image draws (FastScatter's rasterised points) to a thread pool and waits
    for it: on a machine with few cores the pool's threads take the core that training runs on, for
    no gain in a frame of this size. Qt reads the variable when the pool is first used, so call this
    before anything is painted, best before the QApplication exists. OTVIZ_QT_THREADPOOL=1 keeps the pool.
    """
    if os.environ.get("OTVIZ_QT_THREADPOOL") != "1":
        os.environ.setdefault("QT_NO_GUI_THREADPOOL", "1")


def app_icon():
    """The otviz icon at every shipped size (an empty icon if an install lacks them)."""
    from PySide6 import QtGui

    from otviz.util.resources_path import resource_path

    icon = QtGui.QIcon()
    for n in (16, 24, 32, 48, 64, 128, 256):
        try:
            icon.addFile(str(resource_path(f"otviz-{n}.png")))
        except FileNotFoundError:
            pass
    return icon


def run_app(seed: int = 0, device: str = "cpu", session: str | None = None) -> int:
    from otviz.util.cores import keep_window_on_one_core

    keep_window_on_one_core()
    disable_qt_gui_thread_pool()
    from PySide6 import QtWidgets

    from otviz.gui.main_window import MainWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    app.setApplicationName("otviz")
    app.setDesktopFileName("otviz")           # Wayland: ties the window to otviz.desktop (icon, grouping)
    app.setWindowIcon(app_icon())
    win = MainWindow(seed=seed, device=device)
    win.show()
    if session:
        win.open_session(session)
    return app.exec()
