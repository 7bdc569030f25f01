"""Presenter mode (F11): full screen for a projector, the control panels folded away, larger type,
thicker lines and bigger points, the step in large type over the plots; Esc or F11 restores all."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from otviz.gui.fastpoints import FastScatter
from otviz.gui.stage_overlay import StageOverlay

FONT_SCALE = 1.5          # the window's type
LINE_SCALE = 2.0          # pen widths of curves and outlines
POINT_SCALE = 1.8         # marker sizes
OVERLAY_SCALE = 1.7       # caption and step badge
AXIS_SCALE = 1.3          # tick labels and axis titles: small plots have little room beside their axes


class Presenter(QtCore.QObject):
    """Turns a MainWindow's presenter mode on and off, keeping what it changed to put it back."""

    toggled = QtCore.Signal(bool)

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.active = False
        self._saved: dict = {}
        self._items: list[tuple] = []          # (item, kind, original) of every plot item restyled
        self._badge_timer = QtCore.QTimer(self, interval=200)
        self._badge_timer.timeout.connect(self._update_badge)

    def toggle(self) -> None:
        self.leave() if self.active else self.enter()

    def enter(self) -> None:
        if self.active:
            return
        w = self.window
        app = QtWidgets.QApplication.instance()
        self._saved = {"state": w.windowState(), "geometry": w.saveGeometry(), "font": QtGui.QFont(app.font()),
                       "menubar": w.menuBar().isVisible(), "sides": {}}
        for name, tab in w.tab_by_name.items():
            side = side_panel(tab)
            self._saved["sides"][name] = not side.isHidden()
            side.hide()
        font = QtGui.QFont(app.font())
        font.setPointSizeF(font.pointSizeF() * FONT_SCALE)
        app.setFont(font)
        for tab in w.tab_by_name.values():
            stage(tab).set_scale(OVERLAY_SCALE)        # (builds the views of tabs not yet shown)
        self._restyle_plots()
        w.menuBar().hide()
        w.showFullScreen()
        self.active = True
        self._badge_timer.start()
        self._update_badge()
        self.toggled.emit(True)

    def leave(self) -> None:
        if not self.active:
            return
        w, s = self.window, self._saved
        app = QtWidgets.QApplication.instance()
        self._badge_timer.stop()
        self._restore_plots()
        app.setFont(s["font"])
        for name, tab in w.tab_by_name.items():
            side_panel(tab).setVisible(s["sides"].get(name, True))
            st = stage(tab)
            st.set_scale(1.0)
            st.set_badge("")
        w.menuBar().setVisible(s["menubar"])
        w.setWindowState(s["state"])
        if not s["state"] & QtCore.Qt.WindowState.WindowFullScreen:
            w.showNormal() if not s["state"] & QtCore.Qt.WindowState.WindowMaximized else w.showMaximized()
            w.restoreGeometry(s["geometry"])
        self.active = False
        self.toggled.emit(False)

    def _update_badge(self) -> None:
        tab = self.window.current
        if tab is None:
            return
        state = "playing" if tab.running else "paused"
        stage(tab).set_badge(f"{tab.info.title} · step {tab.step} · {state}")

    # ------------------------------------------------------------------ plots
    def _restyle_plots(self) -> None:
        self._items = []
        for tab in self.window.tab_by_name.values():
            for plot in tab.findChildren(pg.PlotWidget):
                self._restyle(plot)

    def _restyle(self, plot: pg.PlotWidget) -> None:
        pi = plot.getPlotItem()
        for ax in pi.axes.values():
            item = ax["item"]
            self._items.append((item, "axis", (item.style.get("tickFont"), item.label.font())))
            font = QtGui.QFont()
            font.setPointSizeF(font.pointSizeF() / FONT_SCALE * AXIS_SCALE)    # (the app font is scaled already)
            item.setStyle(tickFont=font)
            item.label.setFont(font)
        for item in pi.items:
            if isinstance(item, FastScatter):
                self._items.append((item, "fast", item._size))
                item.setStyle(size=item._size * POINT_SCALE)
            elif isinstance(item, pg.ScatterPlotItem):
                if item.opts.get("pxMode", True):
                    self._items.append((item, "scatter", item.opts["size"]))
                    item.setSize(item.opts["size"] * POINT_SCALE)
            elif isinstance(item, pg.PlotDataItem):
                self._restyle_curve(item)

    def _restyle_curve(self, item: pg.PlotDataItem) -> None:
        # many-segment items (assignment lines, direction fans) keep their 1-px pens: wider ones are
        # stroked segment by segment, an order of magnitude slower to draw
        if item.opts.get("connect") == "pairs":
            return
        pen = item.opts.get("pen")
        if pen is not None:
            pen = pg.mkPen(pen)
            if pen.style() != QtCore.Qt.PenStyle.NoPen:
                self._items.append((item, "pen", QtGui.QPen(pen)))
                pen.setWidthF(max(1.0, pen.widthF()) * LINE_SCALE)
                item.setPen(pen)
        size = item.opts.get("symbolSize")
        if item.opts.get("symbol") is not None and size:
            self._items.append((item, "symbol", size))
            item.setSymbolSize(size * POINT_SCALE)

    def _restore_plots(self) -> None:
        for item, kind, original in reversed(self._items):
            if kind == "axis":
                item.setStyle(tickFont=original[0])
                item.label.setFont(original[1])
            elif kind == "fast":
                item.setStyle(size=original)
            elif kind == "scatter":
                item.setSize(original)
            elif kind == "pen":
                item.setPen(original)
            elif kind == "symbol":
                item.setSymbolSize(original)
        self._items = []


def side_panel(tab) -> QtWidgets.QWidget:
    """The tab's right-hand column: run controls and parameter panel (see tab_layout)."""
    return tab.panel.top_bar.parentWidget()


def stage(tab) -> StageOverlay:
    """The tab's overlay over its plots (made on first use)."""
    st = getattr(tab, "_stage_overlay", None)
    if st is None:
        tab.ensure_view()
        st = tab._stage_overlay = StageOverlay(tab.view_host)
    return st
