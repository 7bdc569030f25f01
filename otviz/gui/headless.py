"""Render a method's views without a window (offscreen Qt): the CLI's --snapshot and --record."""
from __future__ import annotations

import os

from otviz.methods.session import Session


def ensure_app():
    """A QApplication; offscreen when there is no display."""
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import QtWidgets

    return QtWidgets.QApplication.instance() or QtWidgets.QApplication(["otviz"])


class HeadlessRenderer:
    """The method's views and history plot in an unshown widget of a fixed size."""

    def __init__(self, session: Session, size: tuple[int, int] = (1280, 800)):
        self.app = ensure_app()
        from PySide6 import QtCore, QtWidgets

        from otviz.gui.history_plot import HistoryPlot
        from otviz.methods import view_class

        self.session = session
        m = session.method
        self.widget = QtWidgets.QWidget()
        self.widget.setAttribute(QtCore.Qt.WidgetAttribute.WA_DontShowOnScreen)
        lay = QtWidgets.QVBoxLayout(self.widget)
        self.view = view_class(m.name)(type(m))
        self.history = HistoryPlot(m.metrics)
        lay.addWidget(self.view, 4)
        lay.addWidget(self.history, 1)
        self.widget.resize(*size)
        self.widget.show()

    def draw(self) -> None:
        s = self.session
        self.view.update_snapshot(s.method.snapshot())
        h = s.history
        self.history.set_history((h.steps, {n: h.column(n) for n in h.names}), list(h.events))
        self.app.processEvents()

    def frame(self, scale: float = 1.0):
        from otviz.gui.export import image_to_rgb, render_image

        return image_to_rgb(render_image(self.widget, scale))

    def save(self, path: str, scale: float = 2.0) -> None:
        from otviz.gui.export import save_snapshot

        save_snapshot(self.widget, path, scale)

    def close(self) -> None:
        self.widget.close()
        self.widget.deleteLater()
