"""A | B rendered without a window: both sides' views side by side over one history plot (A solid, B
dashed, as in the window), in one unshown widget, for `otviz run … --compare` (--snapshot: one PNG or
SVG; --record: one animation)."""
from __future__ import annotations

from otviz.gui.headless import HeadlessRenderer, RenderedWidget, ensure_app


class CompareRenderer(RenderedWidget):
    """Two HeadlessRenderers, A left and B right, under one line that says what differs and over the
    history of both."""

    def __init__(self, compare, size: tuple[int, int] = (2560, 1000)):
        self.app = ensure_app()
        from PySide6 import QtCore, QtWidgets

        from otviz.gui.history_plot import HistoryPlot

        half = (size[0] // 2, size[1] * 4 // 5)
        self.sides = [HeadlessRenderer(s, half, history=False) for _, s in compare.sides]
        self.widget = QtWidgets.QWidget()
        self.widget.setAttribute(QtCore.Qt.WidgetAttribute.WA_DontShowOnScreen)
        outer = QtWidgets.QVBoxLayout(self.widget)
        title = QtWidgets.QLabel(compare.describe())
        title.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        outer.addWidget(title)
        row = QtWidgets.QHBoxLayout()
        outer.addLayout(row, 4)
        for (label, _), side in zip(compare.sides, self.sides):
            col = QtWidgets.QVBoxLayout()
            name = QtWidgets.QLabel(f"<b>{label}</b>")
            name.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
            col.addWidget(name)
            col.addWidget(side.widget, 1)          # reparented: drawn as part of this widget from now on
            row.addLayout(col, 1)
        self.history = HistoryPlot(compare.a.method.metrics)
        self.history.set_overlay_label("A solid, B dashed")
        outer.addWidget(self.history, 1)
        self.widget.resize(*size)
        self.widget.show()
        for side in self.sides:
            side.widget.show()

    def draw(self) -> None:
        for side in self.sides:
            side.draw()
        a, b = (side.session.history.drawn() for side in self.sides)
        self.history.set_history(*a)
        self.history.set_overlay(*b)
        self.app.processEvents()
