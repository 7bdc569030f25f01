"""SW-GMM tab's views (the classic four-panel figure, live): the fit with ellipses and directions, per-point cost, CDF alignment."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from otviz.gui.fastpoints import FastScatter
from otviz.gui.flow_layout import FlowLayout
from otviz.gui.history_plot import show_empty_steps, steps_axis
from otviz.gui.view_base import ACCENT, FAKE, REAL, CornerText, MethodView, make_plot
from otviz.methods.swgmm_config import FIXED_PRESETS, SWGMMSnapshot

MAX_TRACE = 4000                # frames kept in the nll trace
MAX_MATCH_LINES = 60            # transport segments drawn in the CDF view (every k-th sample)
LINE_REACH = 3.0                # direction lines run through the origin to ±this × the data's radius
FIT = (30, 60, 200)
EM = (120, 120, 120)

# One click per lesson of sliced fitting (random directions, fixed directions). Each restarts the fit: once it
# has converged, switching directions changes next to nothing on screen, while the story (what these
# directions can and cannot learn) shows from the initial state.
LESSONS = (("random 5", 5, "none", "Restart the fit from the beginning (same random seed) with 5 random "
                                   "directions per step."),
           ("x only", 0, "x", "Lesson 1, restarting the fit from the beginning (same random seed): with only "
                              "the x direction the y structure is never learned."),
           ("x + y", 0, "x,y", "Lesson 2, restarting the fit from the beginning (same random seed): with exactly "
                               "the two axes the marginals fit but the joint can fail."),
           ("x + y + diagonals", 0, "x,y,both diagonals", "Lesson 3, restarting the fit from the beginning "
                                                         "(same random seed): adding the diagonals fixes it."))


class SWGMMView(MethodView):
    def __init__(self, info, parent=None):
        super().__init__(info, parent)
        self._build_fit()
        self._build_axis_views()
        self._build_nll()
        self._trace = np.zeros((0, 2))
        self._history_key = None
        bar = self._build_controls()

        grid = QtWidgets.QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(bar, 0, 0, 1, 2)
        grid.addWidget(self.fit, 1, 0, 3, 1)
        grid.addWidget(self.cost, 1, 1)
        grid.addWidget(self.cdf, 2, 1)
        grid.addWidget(self.nllp, 3, 1)
        grid.setRowStretch(1, 3)
        grid.setRowStretch(2, 3)
        grid.setRowStretch(3, 2)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 2)
        for p in (self.fit, self.cost, self.cdf, self.nllp):
            # Grid lines live in the axes' cached pictures and are re-played on every redraw of the plot:
            # for three plots redrawn every frame, that costs more than the rest of the view together.
            p.showGrid(x=False, y=False)
        self._data_key = None
        self._max_sliced = False
        self._em_key = ()
        self._axis_drawn = (None, None)    # the fields of (b) and (c) last drawn, and their age
        self._reach = 10.0

    def _build_fit(self) -> None:
        """(a) the data, the fit and this step's directions, with a line of numbers."""
        self.fit = make_plot("fit: 1-σ ellipses, √(π_k/mean π)-scaled ellipses, means, directions")
        self.fit.addLegend(offset=(5, 5), labelTextSize="8pt")
        self.dir_random = pg.PlotDataItem(pen=pg.mkPen((40, 80, 220, 70), width=1), connect="pairs",
                                          name="random directions")
        # dashed and dotted pens one pixel wide: Qt strokes wider ones segment by segment, ten times slower
        self.dir_fixed = pg.PlotDataItem(pen=pg.mkPen((200, 40, 40, 150), width=1,
                                                      style=QtCore.Qt.PenStyle.DashLine),
                                         connect="pairs", name="fixed directions")
        self.points = FastScatter(color=REAL, size=5)
        self.em_ell = pg.PlotDataItem(pen=pg.mkPen((*EM, 190), width=1, style=QtCore.Qt.PenStyle.DotLine),
                                      connect="finite", name="EM fit (scikit-learn)")
        self.em_means = pg.ScatterPlotItem(size=8, symbol="x", pen=pg.mkPen((*EM, 200), width=1.5), brush=None)
        self.ell_w = pg.PlotDataItem(pen=pg.mkPen((*FIT, 70), width=1), connect="finite")
        self.ell = pg.PlotDataItem(pen=pg.mkPen((*FIT, 230), width=1.5), connect="finite", name="SW fit")
        self.means = pg.ScatterPlotItem(size=10, brush=pg.mkBrush(ACCENT), pen=pg.mkPen("w"), name="means")
        for it in (self.dir_random, self.dir_fixed, self.em_ell, self.em_means, self.ell_w, self.ell, self.means):
            self.fit.addItem(it)
        self.fit.addItem(self.points)
        self.points.setZValue(-1)
        self.info = CornerText(self.fit.getPlotItem().vb, keep_clear=True)

    def _build_axis_views(self) -> None:
        """(b) each point's share of W_p^p along the axis; (c) CDF alignment: the empirical
        CDF of the projected data against the GMM's CDF."""
        self.cost = make_plot("per-point transport cost along x", equal=False, x="projected value", y="cost")
        self.cost_pts = FastScatter(color=REAL, size=5)
        self.cost.addItem(self.cost_pts)
        self.cost_info = pg.TextItem(color=(20, 20, 20), anchor=(0.5, 0))     # top centre: the tails hold the peaks
        self.cost_info.setParentItem(self.cost.getPlotItem().vb)
        self.cost.getPlotItem().vb.sigResized.connect(
            lambda: self.cost_info.setPos(self.cost.getPlotItem().vb.width() / 2, 4))
        self.cdf = make_plot("CDF alignment along x", equal=False, x="projected value", y="level")
        self.cdf.addLegend(offset=(5, 5), labelTextSize="8pt")
        self.match = pg.PlotDataItem(pen=pg.mkPen((90, 90, 90, 110), width=1), connect="pairs",
                                     name="transport x₍ᵢ₎ → F⁻¹")
        self.ecdf = pg.PlotDataItem(pen=pg.mkPen(REAL[:3], width=1), name="data (empirical)")
        self.gcdf = pg.PlotDataItem(pen=pg.mkPen(FAKE[:3], width=1), name="GMM")
        for it in (self.match, self.ecdf, self.gcdf):
            self.cdf.addItem(it)
        self.cdf.setYRange(0, 1, padding=0.02)
        self.cdf.setXLink(self.cost)

    def _build_nll(self) -> None:
        """(d') likelihood of the SW fit against EM's, the maximum-likelihood reference (frames seen
        so far)."""
        self.nllp = make_plot("mean negative log-likelihood: SW fit vs EM", equal=False, x="step", y="nll")
        self.nllp.addLegend(offset=(-5, 5), labelTextSize="8pt")
        self.nll_curve = self.nllp.plot(pen=pg.mkPen(FIT, width=1), name="SW fit")
        self.em_line = pg.InfiniteLine(angle=0, movable=False,
                                       pen=pg.mkPen(EM, width=1.2, style=QtCore.Qt.PenStyle.DashLine))
        self.nllp.addItem(self.em_line)
        self.nllp.getPlotItem().legend.addItem(pg.PlotDataItem(pen=self.em_line.pen), "EM")
        self.em_line.setVisible(False)             # until EM has a value: a line at 0 would set the range
        steps_axis(self.nllp)
        self.nllp.getAxis("left").enableAutoSIPrefix(False)
        show_empty_steps(self.nllp)

    def _build_controls(self) -> QtWidgets.QWidget:
        """The lesson buttons, the fixed directions and the axis of (b), (c): they change config
        fields, like the control panel. They wrap onto a second row when the view is narrow."""
        bar = QtWidgets.QWidget()
        flow = FlowLayout(bar)
        flow.setContentsMargins(4, 0, 4, 0)
        flow.addWidget(QtWidgets.QLabel("directions:"))
        self.lesson_buttons = []
        for text, n, fixed, tip in LESSONS:
            b = QtWidgets.QPushButton(text)
            b.setToolTip(tip)
            b.clicked.connect(lambda _=False, n=n, f=fixed: self.restart_requested.emit(
                {"directions": n, "fixed_directions": f}))
            flow.addWidget(b)
            self.lesson_buttons.append(b)
        self.fixed_box = QtWidgets.QComboBox()
        self.fixed_box.setEditable(True)
        self.fixed_box.addItems(list(FIXED_PRESETS))
        self.fixed_box.setToolTip("Fixed directions: a preset, or angles in degrees such as 0,90,45 (Enter applies)")
        self.fixed_box.setMinimumContentsLength(14)
        self.fixed_box.activated.connect(lambda _i: self._fixed_entered())
        self.fixed_box.lineEdit().returnPressed.connect(self._fixed_entered)
        flow.addWidget(_labelled("fixed:", self.fixed_box))
        self.axis_box = QtWidgets.QComboBox()
        self.axis_box.addItems(["x", "y", "diagonal", "anti-diagonal"])
        self.axis_box.currentTextChanged.connect(lambda t: self.param_requested.emit({"axis": t}))
        flow.addWidget(_labelled("axis of (b), (c):", self.axis_box))
        return bar

    def plots(self) -> dict[str, QtWidgets.QWidget]:
        return {"fit": self.fit, "cost": self.cost, "cdf": self.cdf, "nll": self.nllp}

    def _fixed_entered(self) -> None:
        self.param_requested.emit({"fixed_directions": self.fixed_box.currentText().strip() or "none"})

    def _lines(self, dirs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # Long enough to cross the data, short enough that a dashed pen is not dashed far off-screen.
        seg = np.stack([-self._reach * dirs, self._reach * dirs], 1).reshape(-1, 2)
        return seg[:, 0], seg[:, 1]

    def update_snapshot(self, s: SWGMMSnapshot) -> None:
        self._draw_fit(s)
        self._draw_axis_views(s)
        self._update_trace(s, s.em)
        self._sync_controls(s)
        self._frame_data(s)

    def _draw_fit(self, s: SWGMMSnapshot) -> None:
        """(a): the points, this step's directions, both fits and the line of numbers."""
        pts = s.points
        old = self.points.data()
        if old.shape != pts.shape or not np.array_equal(old, pts):     # the data rarely change: keep the polygon
            self.points.setData(pts)
            self._reach = LINE_REACH * float(np.sqrt((pts * pts).sum(1).max())) if len(pts) else 1.0
        dirs, nf = s.directions, s.n_fixed
        rnd, fixed = dirs[: len(dirs) - nf], dirs[len(dirs) - nf:]
        if s.max_sliced != self._max_sliced:           # the max-sliced direction stands out
            self._max_sliced = s.max_sliced
            self.dir_random.setPen(pg.mkPen((230, 120, 0, 220), width=2.5) if self._max_sliced
                                   else pg.mkPen((40, 80, 220, 70), width=1))
            label = self.fit.getPlotItem().legend.getLabel(self.dir_random)
            if label is not None:
                label.setText("max-sliced direction" if self._max_sliced else "random directions")
        self.dir_random.setData(*self._lines(rnd)) if len(rnd) else self.dir_random.setData([], [])
        self.dir_fixed.setData(*self._lines(fixed)) if len(fixed) else self.dir_fixed.setData([], [])
        self.ell.setData(s.ellipses[:, 0], s.ellipses[:, 1])
        self.ell_w.setData(s.ellipses_weighted[:, 0], s.ellipses_weighted[:, 1])
        self.means.setData(pos=s.means)
        em = s.em
        em_key = None if em is None else (em["nll"], em["means"].tobytes())
        if em_key != self._em_key:                                     # EM's fit is fixed for a run
            self._em_key = em_key
            if em is not None:
                self.em_ell.setData(em["ellipses"][:, 0], em["ellipses"][:, 1])
                self.em_means.setData(pos=em["means"])
            else:
                self.em_ell.setData([], [])
                self.em_means.setData([])
        p = s.p
        sw = f"{s.sw:.4g}" if np.isfinite(s.sw) else "—"
        text = f"step {s.step}   {order_text('SW', p)} = {sw}   nll = {s.nll:.4f}"
        if em is not None:
            text += f"   (EM nll = {em['nll']:.4f})"
        if s.max_sliced:
            text += "   max-sliced"
        self.info.setText(text)

    def _draw_axis_views(self, s: SWGMMSnapshot) -> None:
        """(b) and (c), along the axis the fields were computed for."""
        p = s.p
        axis = s.proj_axis                    # the fields' axis: a new one comes with the next fields
        # (b) and (c) are fields, computed apart from the training: they may show an earlier step.
        # Frames between two answers repeat the same arrays: redrawing them would repaint two plots
        # at every frame for nothing.
        age = "" if s.fields_step == s.step else f"  (step {s.fields_step})"
        if s.proj is self._axis_drawn[0] and age == self._axis_drawn[1]:
            return
        self._axis_drawn = (s.proj, age)
        self._set_title(self.cost, f"per-point transport cost along {axis}")
        self.cost_info.setText(f"{order_text('W', p, power=True)} = {s.axis_wpp:.4g}{age}")
        self.cost_pts.setData(np.stack([s.proj, s.cost], 1))
        self._set_title(self.cdf, f"CDF alignment along {axis}")
        xs, lv, q = s.cdf_x, s.cdf_levels, s.gmm_quantiles
        n = len(xs)
        self.ecdf.setData(np.repeat(xs, 2), np.stack([lv - 0.5 / n, lv + 0.5 / n], 1).ravel())
        self.gcdf.setData(s.cdf_grid, s.gmm_cdf)
        idx = np.unique(np.linspace(0, n - 1, min(n, MAX_MATCH_LINES)).round().astype(int))
        seg = np.stack([np.stack([xs[idx], lv[idx]], 1), np.stack([q[idx], lv[idx]], 1)], 1).reshape(-1, 2)
        self.match.setData(seg[:, 0], seg[:, 1])

    def _frame_data(self, s: SWGMMSnapshot) -> None:
        """On new data or a reset: frame the data (not the direction lines) and name the axes."""
        pts = s.points
        key = (len(pts), float(pts[0, 0]) if len(pts) else 0.0, s.step == 0)
        if key != self._data_key:
            self._data_key = key
            faithful = s.dataset == "old_faithful"
            self.fit.setLabel("bottom", "eruption duration (z-score)" if faithful else "x (z-score)")
            self.fit.setLabel("left", "waiting time (z-score)" if faithful else "y (z-score)")
            lo, hi = pts.min(0), pts.max(0)
            pad = 0.15 * (hi - lo).max()
            self.fit.setRange(xRange=(lo[0] - pad, hi[0] + pad), yRange=(lo[1] - pad, hi[1] + pad), padding=0)

    def _update_trace(self, s: SWGMMSnapshot, em: dict | None) -> None:
        step = s.step
        if len(self._trace) and step < self._trace[-1, 0]:        # a reset
            self._trace = np.zeros((0, 2))
        if not len(self._trace) or step > self._trace[-1, 0]:
            self._trace = np.vstack([self._trace, [step, s.nll]])
            if len(self._trace) > MAX_TRACE:                       # bounded: keep every second frame
                self._trace = self._trace[::2]
        self.nll_curve.setData(self._trace[:, 0], self._trace[:, 1])
        self.em_line.setVisible(em is not None)
        if em is not None:
            self.em_line.setValue(em["nll"])

    def set_history(self, history, events) -> None:
        """The nll panel from the run's history: the whole run, also in a snapshot that saw one frame."""
        steps, cols = history
        nll = cols.get("nll")
        if nll is None or not len(steps):
            return
        key = (len(steps), float(steps[-1]), float(steps[0]))
        if key == self._history_key:
            return
        self._history_key = key
        ok = np.isfinite(nll)
        trace = np.stack([steps[ok], nll[ok]], 1)
        if len(trace) > MAX_TRACE:                     # every k-th row, and always the newest
            k = -(-len(trace) // MAX_TRACE)
            trace = trace[np.unique(np.r_[np.arange(0, len(trace), k), len(trace) - 1])]
        if len(self._trace) and len(trace) and self._trace[-1, 0] > trace[-1, 0] >= self._trace[0, 0]:
            trace = np.vstack([trace, self._trace[self._trace[:, 0] > trace[-1, 0]]])    # newer frames stay
        self._trace = trace
        self.nll_curve.setData(self._trace[:, 0], self._trace[:, 1])

    @staticmethod
    def _set_title(plot: pg.PlotWidget, text: str) -> None:
        if plot.getPlotItem().titleLabel.text != text:      # a new title re-lays out the whole plot
            plot.setTitle(text)

    def _sync_controls(self, s: SWGMMSnapshot) -> None:
        for box, value in ((self.axis_box, s.axis), (self.fixed_box, s.fixed_text)):
            if value is None or box.currentText() == value or (box is self.fixed_box and box.hasFocus()):
                continue
            box.blockSignals(True)
            box.setCurrentText(value)
            box.blockSignals(False)


def _labelled(text: str, box: QtWidgets.QWidget) -> QtWidgets.QWidget:
    """A label and its box, kept on one row when the controls wrap."""
    w = QtWidgets.QWidget()
    lay = QtWidgets.QHBoxLayout(w)
    lay.setContentsMargins(8, 0, 0, 0)
    lay.addWidget(QtWidgets.QLabel(text))
    lay.addWidget(box)
    return w


_SUB, _SUP = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"), str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def order_text(name: str, p: float, power: bool = False) -> str:
    """W₂, SW₂ or W₂² as a plot's line of numbers writes them; an order with no sub- and superscript
    characters (p = 1.5) as W_1.5^1.5."""
    order = f"{p:g}"
    if not order.isdigit():
        return f"{name}_{order}" + (f"^{order}" if power else "")
    return name + order.translate(_SUB) + (order.translate(_SUP) if power else "")
