"""The metric history of a tab: one chosen metric against steps, with a marker at every mid-run change."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtWidgets

from otviz.gui.view_base import ACCENT, make_plot


class HistoryPlot(QtWidgets.QWidget):
    def __init__(self, metrics: tuple[str, ...], parent=None):
        super().__init__(parent)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        bar = QtWidgets.QHBoxLayout()
        self.choice = QtWidgets.QComboBox()
        self.choice.addItems(metrics)
        self.choice.currentTextChanged.connect(lambda _: self.redraw())
        self.log_y = QtWidgets.QCheckBox("log y")
        self.log_y.toggled.connect(self._set_log)
        bar.addWidget(QtWidgets.QLabel("history:"))
        bar.addWidget(self.choice, 1)
        bar.addWidget(self.log_y)
        lay.addLayout(bar)
        self.plot = make_plot(equal=False, x="step")
        self.plot.getAxis("bottom").enableAutoSIPrefix(False)
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        lay.addWidget(self.plot, 1)
        self.curve = self.plot.plot(pen=pg.mkPen((30, 80, 200), width=1))
        self.markers = self.plot.plot(pen=pg.mkPen(ACCENT, width=1, style=pg.QtCore.Qt.PenStyle.DashLine),
                                      connect="pairs")
        self.marker_text = pg.TextItem(color=ACCENT[:3], anchor=(1, 0))     # left of the newest marker
        self.plot.addItem(self.marker_text, ignoreBounds=True)   # text has no data extent: keep it out of the range
        self._data: tuple[np.ndarray, dict[str, np.ndarray]] = (np.zeros(0), {})
        self._events: list[tuple[int, str]] = []

    def _set_log(self, on: bool) -> None:
        self.plot.setLogMode(y=on)
        self.redraw()

    def set_history(self, history: tuple[np.ndarray, dict[str, np.ndarray]], events: list[tuple[int, str]]) -> None:
        self._data = history
        self._events = events
        self.redraw()

    def redraw(self) -> None:
        steps, cols = self._data
        y = cols.get(self.choice.currentText())
        if y is None or not len(steps):
            self.curve.setData([], [])
            self.markers.setData([], [])
            self.marker_text.setText("")
            return
        ok = np.isfinite(y)
        if self.log_y.isChecked():
            ok &= y > 0
        self.curve.setData(steps[ok], y[ok])
        if self._events and ok.any():
            yv = np.log10(y[ok]) if self.log_y.isChecked() else y[ok]
            lo, hi = float(yv.min()), float(yv.max())
            xs = np.repeat(np.array([s for s, _ in self._events], dtype=float), 2)
            ys = np.tile([lo, hi], len(self._events))
            if self.log_y.isChecked():
                ys = 10 ** ys
            self.markers.setData(xs, ys)
            step, text = self._events[-1]
            self.marker_text.setText(text)
            self.marker_text.setPos(step, ys[1])
        else:
            self.markers.setData([], [])
            self.marker_text.setText("")
