"""Render a method's views without a window (offscreen Qt): the CLI's --snapshot and --record."""
from __future__ import annotations

import os
import sys

from otviz.session.session import Session

# Qt's offscreen platform says this whenever a widget is shown: nothing is wrong, and nothing can be
# done about it, so a headless run does not print it.
OFFSCREEN_NOISE = "This plugin does not support propagateSizeHints()"
_previous_handler = None
_quiet = False


def _without_offscreen_noise(mode, context, message: str) -> None:
    if message == OFFSCREEN_NOISE:
        return
    if _previous_handler is not None:
        _previous_handler(mode, context, message)
    else:                                   # Qt's own handler prints the bare message
        sys.stderr.write(message + "\n")


def quiet_offscreen_noise() -> None:
    """Drop exactly OFFSCREEN_NOISE from Qt's messages; every other message passes on (once per process)."""
    global _previous_handler, _quiet
    if _quiet:
        return
    from PySide6 import QtCore

    _previous_handler = QtCore.qInstallMessageHandler(_without_offscreen_noise)
    _quiet = True


def ensure_app():
    """A QApplication; offscreen when there is no display."""
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        quiet_offscreen_noise()
    from otviz.gui.app import disable_qt_gui_thread_pool

    disable_qt_gui_thread_pool()
    from PySide6 import QtWidgets

    return QtWidgets.QApplication.instance() or QtWidgets.QApplication(["otviz"])


class RenderedWidget:
    """An unshown widget (`self.widget`) as pictures: animation frames, snapshot files."""

    def frame(self, scale: float = 1.0):
        from otviz.gui.export import image_to_rgb, render_image

        return image_to_rgb(render_image(self.widget, scale))

    def save(self, path: str, scale: float = 2.0) -> None:
        from otviz.gui.export import save_snapshot

        save_snapshot(self.widget, path, scale)

    def close(self) -> None:
        self.widget.close()
        self.widget.deleteLater()


class HeadlessRenderer(RenderedWidget):
    """The method's views and history plot in an unshown widget of a fixed size."""

    def __init__(self, session: Session, size: tuple[int, int] = (1280, 800), history: bool = True):
        """`history`: the run's history plot below the views (A | B draws one for both sides)."""
        self.app = ensure_app()
        from PySide6 import QtCore, QtWidgets

        from otviz.gui.history_plot import HistoryPlot
        from otviz.gui.views import view_class

        self.session = session
        m = session.method
        self.widget = QtWidgets.QWidget()
        self.widget.setAttribute(QtCore.Qt.WidgetAttribute.WA_DontShowOnScreen)
        lay = QtWidgets.QVBoxLayout(self.widget)
        self.view = view_class(m.name)(m.info)
        self.view.edit_requested.connect(self._edit)
        lay.addWidget(self.view, 4)
        self.history = HistoryPlot(m.metrics) if history else None
        if self.history is not None:
            lay.addWidget(self.history, 1)
        self.widget.resize(*size)
        self.widget.show()

    def draw(self) -> None:
        s = self.session
        self.view.update_snapshot(s.method.snapshot())
        self.app.processEvents()
        # laid out, or moved by the frame (the first one frames the data): the views say what they show
        # now, and the fields are computed again over it
        if self.view.flush_view_edits():
            self.view.update_snapshot(s.method.snapshot())
        history, events = s.history.drawn()
        self.view.set_history(history, events)        # the view's own panels over steps: the whole run
        if self.history is not None:
            self.history.set_history(history, events)
        self.app.processEvents()

    def _edit(self, action: str, payload) -> None:
        # what the views show goes to the method itself (a heatmap then covers its plot); data edits
        # come only from a user, and there is none here
        if action in self.view.view_edits:
            self.session.method.edit(action, payload)

