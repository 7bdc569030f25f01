"""Start the Qt application and show the main window."""
from __future__ import annotations

import sys


def app_icon():
    """The otviz icon at every shipped size (an empty icon if an install lacks them)."""
    from PySide6 import QtGui

    from otviz.resources_path import resource_path

    icon = QtGui.QIcon()
    for n in (16, 24, 32, 48, 64, 128, 256):
        try:
            icon.addFile(str(resource_path(f"otviz-{n}.png")))
        except FileNotFoundError:
            pass
    return icon


def run_app(seed: int = 0, device: str = "cpu", session: str | None = None) -> int:
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
