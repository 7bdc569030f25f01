"""The metric history of a tab: one chosen metric against steps, with a marker at every mid-run change."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtWidgets

from otviz.gui.view_base import ACCENT, StickyViewBox, make_plot

EMPTY_STEPS = (0.0, 100.0)      # an empty history shows the first hundred steps, 0 to 1
MIN_STEP_SPAN = 10.0            # one point (step 0, or the first frame) is not an axis from 0.4 to 0.6
LOG_DECADES = 2.0               # positive values spanning this many decades start on a log axis
LINEAR_DECADES = 1.0            # ... and go back to a linear one below this many (no flicker at the edge)
SPIKE_SHARE = 0.2               # other values spanning decades: a range for their bulk when it is this small a share of the full one


def steps_axis(plot) -> None:
    """A step axis: never below step 0, never narrower than MIN_STEP_SPAN, and no SI prefix
    (steps are counted, not measured: "step (×0.001)" means nothing)."""
    plot.getAxis("bottom").enableAutoSIPrefix(False)
    plot.getPlotItem().getViewBox().setLimits(xMin=0.0, minXRange=MIN_STEP_SPAN)


def show_empty_steps(plot, y_range: tuple[float, float] = (0.0, 1.0)) -> None:
    """The range of a plot of steps with nothing in it yet; the first data are then fitted tightly."""
    vb = plot.getPlotItem().getViewBox()
    vb.setRange(xRange=EMPTY_STEPS, yRange=y_range, padding=0, disableAutoRange=False)
    if isinstance(vb, StickyViewBox):
        vb.refit()


def robust_range(v: np.ndarray) -> tuple[float, float] | None:
    """(lo, hi) of the bulk of `v` when spikes decades above its typical size stretch its full range
    (None when none do: a curve that merely falls from its start keeps its whole range)."""
    if len(v) < 20:
        return None
    # quantiles of every k-th value (2,000 at most): this runs on every frame of a 20,000-row history
    sample = v[:: max(1, len(v) // 2000)]
    typical = float(np.median(np.abs(sample)))
    if not typical > 0 or np.abs(v).max() < typical * 10 ** LOG_DECADES:
        return None
    lo, hi = np.percentile(sample, [2.0, 98.0])
    full = float(v.max() - v.min())
    if not hi > lo or (hi - lo) > SPIKE_SHARE * full:
        return None
    pad = 0.15 * (hi - lo)
    return float(lo - pad), float(hi + pad)


class HistoryPlot(QtWidgets.QWidget):
    def __init__(self, metrics: tuple[str, ...], parent=None):
        super().__init__(parent)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        bar = QtWidgets.QHBoxLayout()
        self.choice = QtWidgets.QComboBox()
        self.choice.addItems(metrics)
        self.choice.currentTextChanged.connect(lambda _: self._metric_changed())
        self.log_y = QtWidgets.QCheckBox("log y")
        self.log_y.setToolTip("Log scale for y. Until you choose, it follows the data: on when positive values "
                              f"span {LOG_DECADES:g} decades or more")
        self.log_y.toggled.connect(self._log_clicked)
        bar.addWidget(QtWidgets.QLabel("history:"))
        bar.addWidget(self.choice, 1)
        self.overlay_label = QtWidgets.QLabel()      # what differs between A and B, while comparing
        bar.addWidget(self.overlay_label)
        bar.addWidget(self.log_y)
        lay.addLayout(bar)
        self.plot = make_plot(equal=False, x="step")
        steps_axis(self.plot)
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.vb = self.plot.getPlotItem().getViewBox()
        lay.addWidget(self.plot, 1)
        self._ghost_items: list = []           # other branches of the run, faint
        self._ghosts: list[tuple[np.ndarray, dict[str, np.ndarray]]] = []
        self.curve = self.plot.plot(pen=pg.mkPen((30, 80, 200), width=1))
        # side B of a comparison: the same colour, dashed, one pixel wide (Qt strokes a wider dashed
        # pen segment by segment: over thousands of steps, more than all the rest of a frame)
        self.overlay = self.plot.plot(pen=pg.mkPen((30, 80, 200), width=1, style=pg.QtCore.Qt.PenStyle.DashLine))
        self._overlay: tuple[np.ndarray, dict[str, np.ndarray]] | None = None
        self._overlay_events: list[tuple[int, str]] = []
        self._overlay_drawn: tuple | None = None     # (history, metric, log) the dashed curve shows
        # the step the timeline shows, when it shows the past
        self.cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen((200, 120, 0), width=2))
        self.cursor.setVisible(False)
        self.plot.addItem(self.cursor, ignoreBounds=True)
        self.markers = self.plot.plot(pen=pg.mkPen(ACCENT, width=1, style=pg.QtCore.Qt.PenStyle.DashLine),
                                      connect="pairs")
        self.marker_text = pg.TextItem(color=ACCENT[:3], anchor=(1, 0))     # left of the newest marker
        self.plot.addItem(self.marker_text, ignoreBounds=True)   # text has no data extent: keep it out of the range
        self._data: tuple[np.ndarray, dict[str, np.ndarray]] = (np.zeros(0), {})
        self._events: list[tuple[int, str]] = []
        # the y scale per metric: the user's choice once made; until then log for values spanning
        # decades (a first spike of 10,000 over values near 10 flattens the curve), and for signed
        # values with spikes a range that holds the bulk of them (the "A" button shows all)
        self._user_log: dict[str, bool] = {}
        self._auto_log: dict[str, bool] = {}
        self._robust: dict[str, bool] = {}        # False once the user asked for the full range
        self._robust_on = False
        self._log_mode = False
        self._empty = False
        self._show_empty()

    def _metric_changed(self) -> None:
        self._fit_y()                   # another metric, another range
        self.redraw()

    def _log_clicked(self, on: bool) -> None:
        self._user_log[self.choice.currentText()] = on
        self._apply_log(on)
        self.redraw()

    def _apply_log(self, on: bool) -> None:
        if self.log_y.isChecked() != on:
            self.log_y.blockSignals(True)
            self.log_y.setChecked(on)
            self.log_y.blockSignals(False)
        if self._log_mode != on:
            self._log_mode = on
            self.plot.setLogMode(y=on)
            self._fit_y()

    def _fit_y(self) -> None:
        """Follow the data on y again, fitted tightly (a new scale or metric)."""
        self._robust_on = False
        self.vb.enableAutoRange(y=True)

    def _show_empty(self) -> None:
        if not self._empty:
            self._empty = True
            self._robust_on = False
            show_empty_steps(self.plot)

    def _wants_log(self, name: str, v: np.ndarray) -> bool:
        if name in self._user_log:
            return self._user_log[name]
        was = self._auto_log.get(name, False)
        if len(v) < 3 or not (v > 0).all():
            want = False
        else:
            decades = float(np.log10(v.max() / v.min()))
            want = decades >= (LINEAR_DECADES if was else LOG_DECADES)
        self._auto_log[name] = want
        return want

    def _robust_y(self, name: str, v: np.ndarray, log: bool) -> None:
        """Hold y to the bulk of signed values with spikes; leave it to auto-range otherwise."""
        if self._robust_on and self.vb.state["autoRange"][1]:       # the user pressed "A": show everything
            self._robust[name] = False
            self._robust_on = False
        rng = None if log or not self._robust.get(name, True) else robust_range(v)
        if rng is None:
            if self._robust_on:
                self._fit_y()
            return
        lo, hi = self.vb.viewRange()[1]
        # a new range only when the bulk leaves the view or fills less than half of it (each new
        # range lays the axis out again)
        if not self._robust_on or rng[0] < lo or rng[1] > hi or (rng[1] - rng[0]) < 0.5 * (hi - lo):
            self.vb.setYRange(*rng, padding=0)            # turns y auto-range off
            self._robust_on = True

    def set_cursor(self, step: int | None) -> None:
        """Mark the step the views show (None: they show now, no mark)."""
        self.cursor.setVisible(step is not None)
        if step is not None:
            self.cursor.setPos(step)

    def set_overlay(self, history: tuple[np.ndarray, dict[str, np.ndarray]] | None,
                    events: list[tuple[int, str]] = (), draw: bool = True) -> None:
        """Side B's history, dashed over A's, and its changes (None: not comparing). draw=False: only
        kept, for the next redraw (A's next frame draws both)."""
        self._overlay = history
        events = list(events) if history is not None else []
        if not draw:
            self._overlay_events = events
        elif events != self._overlay_events:
            self._overlay_events = events
            self.redraw()                      # the markers too
        else:
            self._redraw_overlay(self.choice.currentText(), self._log_mode)

    def _marks(self) -> list[tuple[int, str]]:
        """The changes to mark, in step order: the run's, and side B's that A did not make too (B
        begun as a copy of A shares A's changes before that)."""
        own = set(self._events)
        theirs = [(step, f"B: {text}") for step, text in self._overlay_events if (step, text) not in own]
        return sorted(self._events + theirs, key=lambda e: e[0]) if theirs else self._events

    def set_overlay_label(self, text: str) -> None:
        self.overlay_label.setText(text)

    def _redraw_overlay(self, name: str, log: bool) -> None:
        # each of A's frames redraws the plot, B's curve included: unchanged since B's last frame, it
        # is not set again (a new path over thousands of steps, at every frame of either side)
        drawn = self._overlay_drawn
        if drawn is not None and drawn[0] is self._overlay and drawn[1:] == (name, log):
            return
        self._overlay_drawn = (self._overlay, name, log)
        if self._overlay is None:
            self.overlay.setData([], [])
            return
        steps, cols = self._overlay
        y = np.asarray(cols.get(name, ()), dtype=float)
        ok = np.isfinite(y) & ((y > 0) if log else True) if len(y) == len(steps) else np.zeros(0, bool)
        self.overlay.setData(np.asarray(steps)[ok] if ok.any() else [], y[ok] if ok.any() else [])

    def set_ghosts(self, ghosts: list[tuple[np.ndarray, dict[str, np.ndarray]]]) -> None:
        """The other branches' histories, drawn faint behind the current one."""
        self._ghosts = ghosts
        while len(self._ghost_items) < len(ghosts):
            item = self.plot.plot(pen=pg.mkPen((120, 120, 120, 110), width=1))
            item.setZValue(-1)
            self._ghost_items.append(item)
        self.redraw()

    def set_history(self, history: tuple[np.ndarray, dict[str, np.ndarray]], events: list[tuple[int, str]]) -> None:
        self._data = history
        self._events = events
        self.redraw()

    def _redraw_ghosts(self, name: str, log: bool) -> None:
        for i, item in enumerate(self._ghost_items):
            if i < len(self._ghosts):
                steps, cols = self._ghosts[i]
                y = np.asarray(cols.get(name, ()), dtype=float)
                ok = np.isfinite(y) & ((y > 0) if log else True)
                if len(y) == len(steps) and ok.any():
                    item.setData(np.asarray(steps)[ok], y[ok])
                    continue
            item.setData([], [])

    def redraw(self) -> None:
        steps, cols = self._data
        name = self.choice.currentText()
        self._redraw_ghosts(name, self._log_mode)
        self._redraw_overlay(name, self._log_mode)
        y = cols.get(name)
        if y is None or not len(steps):
            self.curve.setData([], [])
            self.markers.setData([], [])
            self.marker_text.setText("")
            self._show_empty()
            return
        if self._empty:                  # the first data after an empty plot: fit them tightly
            self._empty = False
            self._fit_y()
        ok = np.isfinite(y)
        log = self._wants_log(name, y[ok])
        was = self._log_mode
        self._apply_log(log)
        if log != was:
            self._redraw_ghosts(name, log)
            self._redraw_overlay(name, log)
        if log:
            ok &= y > 0
        self.curve.setData(steps[ok], y[ok])
        self._robust_y(name, y[ok], log)
        marks = self._marks()
        if marks and ok.any():
            yv = np.log10(y[ok]) if self.log_y.isChecked() else y[ok]
            lo, hi = float(yv.min()), float(yv.max())
            xs = np.repeat(np.array([s for s, _ in marks], dtype=float), 2)
            ys = np.tile([lo, hi], len(marks))
            if self.log_y.isChecked():
                ys = 10 ** ys
            self.markers.setData(xs, ys)
            step, text = marks[-1]
            self.marker_text.setText(text)
            # a TextItem sits in view coordinates (log10 units on a log axis), inside a spike-free range
            top = min(hi, self.vb.viewRange()[1][1]) if self._robust_on else hi
            self.marker_text.setPos(step, top)
        else:
            self.markers.setData([], [])
            self.marker_text.setText("")
