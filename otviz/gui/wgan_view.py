"""WGAN tab's views: samples, the critic heatmap with the generator's push arrows, and the divergences page."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from otviz.core import divergences as dv
from otviz.gui.fastpoints import FastScatter
from otviz.gui.draw_target import DrawTargetMixin, DrawViewBox
from otviz.gui.view_base import (ACCENT, FAKE, REAL, CornerText, MethodView, RangeFollower, make_heatmap,
                                 make_plot, set_heatmap)
from otviz.methods.wgan_config import WGANSnapshot

THETA_MAX = 1.0
THETA_STEPS = 200                 # slider ticks per unit of θ
KL_DRAW = 1.25                    # height at which "KL = ∞" is drawn
CRITIC_TITLE = "critic f − mean{unit}, arrows −∂L_G/∂x"


def arrow_heads(seg: np.ndarray, frac: float = 0.3, angle: float = 0.45) -> np.ndarray:
    """Two barbs per arrow (segments as consecutive start/end pairs), as more pairs for connect='pairs'."""
    start, end = seg[0::2], seg[1::2]
    d = start - end
    c, s = np.cos(angle), np.sin(angle)
    left = np.stack([c * d[:, 0] - s * d[:, 1], s * d[:, 0] + c * d[:, 1]], 1) * frac
    right = np.stack([c * d[:, 0] + s * d[:, 1], -s * d[:, 0] + c * d[:, 1]], 1) * frac
    out = np.empty((4 * len(end), 2), dtype=np.float64)
    out[0::4], out[1::4], out[2::4], out[3::4] = end, end + left, end, end + right
    return out


class DivergencePanel(QtWidgets.QWidget):
    """The parallel-lines example, live: P = {x=0, y~U(0,1)}, Q_θ = {x=θ, y~U(0,1)}; KL, JS, W against θ."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.n = 200
        self.theta = 0.5
        self._build_lines_plot()
        self._build_curves()

        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setRange(-int(THETA_MAX * THETA_STEPS), int(THETA_MAX * THETA_STEPS))
        self.slider.setToolTip("θ: the horizontal offset of Q_θ (you can also drag the line in the plot)")
        self.n_box = QtWidgets.QSpinBox()
        self.n_box.setRange(10, 500)
        self.n_box.setValue(self.n)
        self.n_box.setPrefix("samples ")
        self.n_box.setToolTip("Samples of each line for the empirical estimates (exact OT: n×n assignment)")
        self.readout = QtWidgets.QLabel()
        self.readout.setWordWrap(True)
        self.readout.setTextFormat(QtCore.Qt.TextFormat.RichText)

        plots = QtWidgets.QHBoxLayout()
        plots.addWidget(self.lines_plot, 2)
        plots.addWidget(self.curves, 3)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("θ"))
        row.addWidget(self.slider, 1)
        row.addWidget(self.n_box)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(plots, 1)
        lay.addLayout(row)
        lay.addWidget(self.readout)

        self.slider.valueChanged.connect(lambda v: self.set_theta(v / THETA_STEPS))
        self.cursor.sigPositionChanged.connect(lambda line: self.set_theta(float(line.value())))
        self.n_box.valueChanged.connect(self._set_n)
        self.set_theta(self.theta, force=True)

    def _build_lines_plot(self) -> None:
        """P and Q_θ as points on their lines, with the exact OT pairs between them."""
        self.lines_plot = make_plot("P (x = 0) and Q_θ (x = θ), exact OT pairs", x="x", y="y")
        self.pairs = pg.PlotDataItem(pen=pg.mkPen((90, 90, 90, 110), width=1), connect="pairs")
        self.p_pts = pg.ScatterPlotItem(size=5, brush=pg.mkBrush(REAL), pen=None, name="P")
        self.q_pts = pg.ScatterPlotItem(size=5, brush=pg.mkBrush(FAKE), pen=None, name="Q_θ")
        self.lines_plot.addLegend(offset=(5, 5))
        for item in (self.pairs, self.p_pts, self.q_pts):
            self.lines_plot.addItem(item)
        self.lines_plot.setXRange(-THETA_MAX - 0.2, THETA_MAX + 0.2)
        self.lines_plot.setYRange(-0.1, 1.1)

    def _build_curves(self) -> None:
        """KL, JS and W against θ in closed form, the empirical estimates, and a draggable θ cursor."""
        self.curves = make_plot("divergences against θ", equal=False, x="θ", y="value [nats / distance]")
        self.curves.addLegend(offset=(5, 5))
        th = np.linspace(-THETA_MAX, THETA_MAX, 401)
        c = dv.divergence_curves(th)
        self.curves.plot(th, c["w"], pen=pg.mkPen(ACCENT, width=2.5), name="W = |θ|")
        js = np.where(th == 0, np.nan, c["js"])                     # the jump at θ = 0 is left open
        self.curves.plot(th, js, pen=pg.mkPen((200, 60, 60), width=2.5), connect="finite", name="JS = log 2 (θ ≠ 0)")
        kl = np.where(th == 0, np.nan, KL_DRAW)
        self.curves.plot(th, kl, pen=pg.mkPen((120, 60, 160), width=2.5, style=QtCore.Qt.PenStyle.DashLine),
                         connect="finite", name="KL = ∞ (θ ≠ 0)")
        self.curves.plot([0.0], [0.0], pen=None, symbol="o", symbolSize=9, symbolBrush=(0, 0, 0),
                         name="all three = 0 at θ = 0")
        label = pg.TextItem("∞", color=(120, 60, 160), anchor=(0.5, 1.0))
        label.setPos(0.9, KL_DRAW)
        self.curves.addItem(label)
        self.emp_w = pg.ScatterPlotItem(size=11, symbol="x", pen=pg.mkPen((0, 0, 0), width=2), brush=None,
                                        name="empirical W (exact OT on samples)")
        self.emp_js = pg.ScatterPlotItem(size=10, symbol="t", pen=pg.mkPen((200, 60, 60)), brush=None,
                                         name="binned JS of the samples")
        self.curves.addItem(self.emp_w)
        self.curves.addItem(self.emp_js)
        self.cursor = pg.InfiniteLine(angle=90, pen=pg.mkPen((0, 0, 0, 160), width=1.5), movable=True,
                                      bounds=(-THETA_MAX, THETA_MAX))
        self.curves.addItem(self.cursor)
        self.curves.setYRange(-0.05, 2.0)               # the legend sits above the curves
        self.curves.setXRange(-THETA_MAX, THETA_MAX)

    def _set_n(self, n: int) -> None:
        self.n = int(n)
        self.set_theta(self.theta, force=True)

    def set_theta(self, theta: float, force: bool = False) -> None:
        theta = float(np.clip(round(theta * THETA_STEPS) / THETA_STEPS, -THETA_MAX, THETA_MAX))
        if theta == self.theta and not force:
            return
        self.theta = theta
        for w, v in ((self.slider, int(round(theta * THETA_STEPS))), (self.cursor, theta)):
            w.blockSignals(True)
            w.setValue(v)
            w.blockSignals(False)
        # The same y draws for every θ (fixed seed), so moving the slider only slides Q sideways.
        p, q = dv.sample_lines(self.n, np.random.default_rng(0), theta)
        plan = dv.exact_assignment(p, q)
        self.w_emp = dv.empirical_w1(p, q, plan)
        self.js_emp = dv.histogram_js(p, q, bins=20, span=(-THETA_MAX - 0.05, THETA_MAX + 0.05, 0.0, 1.0))
        self.p_pts.setData(pos=p)
        self.q_pts.setData(pos=q)
        pairs = np.empty((2 * self.n, 2))
        pairs[0::2], pairs[1::2] = p, q[plan]
        self.pairs.setData(pairs[:, 0], pairs[:, 1])
        self.emp_w.setData([theta], [self.w_emp])
        self.emp_js.setData([theta], [self.js_emp])
        kl = "∞" if theta != 0 else "0"
        js = "log 2 = 0.6931" if theta != 0 else "0"
        self.readout.setText(
            f"<b>θ = {theta:+.3f}</b> &nbsp; KL(P‖Q_θ) = {kl} &nbsp; JS = {js} &nbsp; "
            f"<b>W = |θ| = {abs(theta):.4f}</b> &nbsp;|&nbsp; from {self.n} samples a side: "
            f"W (exact OT) = {self.w_emp:.4f}, binned JS = {self.js_emp:.4f}. "
            "<br>JS is flat in θ (no gradient to follow) while W shrinks linearly as Q_θ moves onto P.")


class WGANView(DrawTargetMixin, MethodView):
    def __init__(self, info, parent=None):
        super().__init__(info, parent)
        self.vb = DrawViewBox()
        self.samples = make_plot("real (blue) and generated (orange) samples", view_box=self.vb)
        self.real = FastScatter(REAL, 3.0)
        self.fake = FastScatter(FAKE, 3.0)
        self.centers = pg.ScatterPlotItem(size=14, symbol="+", pen=pg.mkPen((0, 0, 0, 150), width=1), brush=None)
        self.drawn = FastScatter((20, 150, 70, 220), 4)
        for item in (self.centers, self.fake, self.real, self.drawn):   # real clusters are tight: on top
            self.samples.addItem(item)
        self.drawn.setVisible(False)
        self.info = CornerText(self.samples.getPlotItem().vb, top=True, fill=pg.mkBrush(255, 255, 255, 190))

        self.critic = make_plot(CRITIC_TITLE.format(unit=""))
        self.heat = make_heatmap(self.critic, "viridis", bounds=False)
        self.follow_view_rect(self.critic)       # the critic is computed over what this plot shows
        self.critic.setToolTip("The critic f(x) over the plane (its constant removed: it cancels in E f(real) − "
                               "E f(fake)). Arrows at generated points: −∂L_G/∂x, where the generator's loss "
                               "pushes each point (∇f for the WGANs), scaled so a typical one is 8 % of the view.")
        self.fake_on_heat = FastScatter((255, 255, 255, 200), 2.0)
        self.arrows = pg.PlotDataItem(pen=pg.mkPen((255, 80, 40), width=1), connect="pairs")
        self.critic.addItem(self.fake_on_heat)
        self.critic.addItem(self.arrows)
        RangeFollower(self.samples.getViewBox(), self.critic.getViewBox())

        self.draw_button = QtWidgets.QPushButton("✎ Draw target")
        self.draw_button.setCheckable(True)
        self.draw_button.setToolTip("Drag in the samples view to spray points: the networks keep training, "
                                    "now on all the points drawn so far. Reset returns to the dataset.")
        training = QtWidgets.QWidget()
        tl = QtWidgets.QGridLayout(training)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(self.samples, 0, 0)
        tl.addWidget(self.critic, 0, 1)
        tl.addWidget(self.draw_button, 1, 0, QtCore.Qt.AlignmentFlag.AlignLeft)
        self.divergences = DivergencePanel()
        self.pages = QtWidgets.QTabWidget()
        self.pages.addTab(training, "Training")
        self.pages.addTab(self.divergences, "Divergences (two parallel lines)")
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.pages)
        self.draw_button.toggled.connect(self._draw_mode)
        self.vb.stroke_finished.connect(self._stroke)
        self._rect = None
        self._field = None
        self._field_exp = 0
        self._mode = None
        self._opt = None

    def plots(self) -> dict[str, QtWidgets.QWidget]:
        return {"samples": self.samples, "critic": self.critic, "divergence_lines": self.divergences.lines_plot,
                "divergence_curves": self.divergences.curves, "divergences": self.divergences, "view": self}

    def _draw_field(self, s: WGANSnapshot) -> None:
        x0, y0, w, h = s.field_rect
        # Clipped critics are tiny (~1e-4): show them in a power-of-ten unit so the colour bar stays readable.
        lo, hi = s.field_levels
        big = max(abs(lo), abs(hi))
        k = int(np.floor(np.log10(big))) if big > 0 else 0
        k = k if k < -2 else 0
        set_heatmap(self.heat, s.field * 10.0 ** -k, (x0, y0, w, h), (lo * 10.0 ** -k, hi * 10.0 ** -k))
        if k != self._field_exp:
            self._field_exp = k
            unit = f" [×1e{k}]" if k else ""
            self.critic.setTitle(CRITIC_TITLE.format(unit=unit))

    def update_snapshot(self, s: WGANSnapshot) -> None:
        self.real.setData(s.real)
        self.fake.setData(s.fake)
        self.fake_on_heat.setData(s.fake[:500])
        c = s.centers
        self.centers.setData(pos=c) if len(c) else self.centers.setData([], [])
        if s.field is not self._field:          # the critic is a field: frames repeat it until new ones come
            self._field = s.field
            self._draw_field(s)
        seg = s.arrows.astype(np.float64)
        both = np.concatenate([seg, arrow_heads(seg)]) if len(seg) else np.zeros((0, 2))
        self.arrows.setData(both[:, 0], both[:, 1])
        text = f"{s.mode}  step {s.step}   |push| mean {s.push_mean:.3g}"
        w, lip = s.w_estimate, s.lipschitz
        if np.isfinite(w) and lip > 0 and s.mode != "gan":
            text += f"\nE f(real) − E f(fake) = {w:.4g}   max ‖∇f‖ ≈ {lip:.3g}   W₁ ≈ {w / lip:.4g}"
        cov = s.coverage
        if cov is not None and s.n_modes:
            text += f"\nmodes {int(cov[0])}/{s.n_modes}   high quality {100 * cov[1]:.1f} %"
        self.info.setText(text)
        if self._rect != s.rect and not self.vb.drawing:  # first frame, another dataset: frame the data
            self._rect = s.rect
            x0, y0, w, h = self._rect
            self.samples.setRange(xRange=(x0, x0 + w), yRange=(y0, y0 + h), padding=0)
        # A mode switch may move optimiser/lr/n_critic (WGANMethod.update): show them in the control panel.
        opt = s.optimizer_settings
        if opt is not None and self._mode is not None and s.mode != self._mode and opt != self._opt:
            self.param_requested.emit(dict(opt))
        self._mode, self._opt = s.mode, opt
