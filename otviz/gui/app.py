"""Start the Qt application and show the main window."""
from __future__ import annotations

import sys


def run_app(seed: int = 0, device: str = "cpu", session: str | None = None) -> int:
    from PySide6 import QtWidgets

    from otviz.gui.main_window import MainWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    app.setApplicationName("otviz")
    win = MainWindow(seed=seed, device=device)
    win.show()
    if session:
        win.open_session(session)
    return app.exec()
