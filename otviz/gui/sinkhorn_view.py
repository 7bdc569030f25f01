"""Sinkhorn tab's views: clouds with assignment lines (draggable points), C and P, convergence, the batch."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from otviz.gui.view_base import (ACCENT, FAKE, REAL, CornerText, MethodView, StickyViewBox, make_heatmap,
                                 make_plot, set_heatmap)
from otviz.methods.sinkhorn_config import SinkhornSnapshot

ALPHA_BINS = 8        # assignment lines are grouped by opacity: one item per bin
NARROW_RATIO = 1.3     # a view narrower than this times its height stacks its plots (a side of A | B)


def angle_label(degrees: float) -> str:
    """Whole degrees with a typographic minus; a small negative angle reads 0°, not −0°."""
    return f"{round(degrees)}°".replace("-", "−")


class DecadeLogAxis(pg.AxisItem):
    """A log axis labelled at powers of ten, and at 2× and 5× them only while fewer than two powers are
    in view. pyqtgraph labels every 2…9 × 10^k there; on a plot a few hundred pixels tall they overlap."""

    def logTickValues(self, minVal, maxVal, size, stdTicks):
        ticks = [(s, list(t)) for s, t in stdTicks if s >= 1.0]
        decades = list(range(int(np.ceil(minVal)), int(np.floor(maxVal)) + 1))
        if not ticks:
            ticks = [(1.0, [float(k) for k in decades])]
        if len(decades) < 2:
            minor = [k + np.log10(m) for k in range(int(np.floor(minVal)), int(np.ceil(maxVal))) for m in (2, 5)]
            ticks.append((None, [v for v in minor if minVal < v < maxVal]))
        return ticks


class PointDragViewBox(StickyViewBox):
    """A ViewBox where left-dragging a point moves it and double-clicking adds one (Shift: to the target)."""

    dragged = QtCore.Signal(str, int, object)
    added = QtCore.Signal(str, object)

    def __init__(self):
        super().__init__()
        self.sets: dict[str, np.ndarray] = {}
        self._drag: tuple[str, int] | None = None

    def _nearest(self, scene_pos, radius_px: float = 10.0) -> tuple[str, int] | None:
        p = self.mapSceneToView(scene_pos)
        px, py = self.viewPixelSize()
        best, best_d = None, radius_px
        for name, pts in self.sets.items():
            if not len(pts):
                continue
            d = np.hypot((pts[:, 0] - p.x()) / px, (pts[:, 1] - p.y()) / py)
            i = int(np.argmin(d))
            if d[i] < best_d:
                best, best_d = (name, i), d[i]
        return best

    def mouseDragEvent(self, ev, axis=None):
        if ev.button() != QtCore.Qt.MouseButton.LeftButton:
            return super().mouseDragEvent(ev, axis)
        if ev.isStart():
            self._drag = self._nearest(ev.buttonDownScenePos())
            if self._drag is not None:
                self.disableAutoRange()          # the view must not jump under the user's hand
        if self._drag is None:
            return super().mouseDragEvent(ev, axis)
        ev.accept()
        p = self.mapSceneToView(ev.scenePos())
        which, i = self._drag
        self.sets[which][i] = (p.x(), p.y())
        self.dragged.emit(which, i, (p.x(), p.y()))
        if ev.isFinish():
            self._drag = None

    def mouseClickEvent(self, ev):
        if ev.double() and ev.button() == QtCore.Qt.MouseButton.LeftButton:
            p = self.mapSceneToView(ev.scenePos())
            shift = bool(ev.modifiers() & QtCore.Qt.KeyboardModifier.ShiftModifier)
            self.added.emit("target" if shift else "source", (p.x(), p.y()))
            ev.accept()
            return
        super().mouseClickEvent(ev)


class SinkhornView(MethodView):
    def __init__(self, info, parent=None):
        super().__init__(info, parent)
        self._build_clouds()
        self.cmat = make_plot("cost matrix C", equal=False, x="target j", y="source i")
        self.cmat.invertY(True)
        self.cimg = make_heatmap(self.cmat, "viridis")
        self.pmat = make_plot("coupling P", equal=False, x="target j", y="source i")
        self.pmat.invertY(True)
        self.pimg = make_heatmap(self.pmat, "inferno")
        self._build_convergence()
        self._build_batch()

        self.grid = QtWidgets.QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.narrow: bool | None = None
        self._arrange(narrow=False)

        self.vb.dragged.connect(self._on_drag)
        self.vb.added.connect(lambda which, xy: self.edit_requested.emit("add_point", {"which": which, "xy": xy}))
        self._last_step = 0
        self._batch_key = None
        self._order_angle = None

    def _arrange(self, narrow: bool) -> None:
        """Wide: the clouds at the left, the four small plots in two columns beside them. Narrow (half
        of A | B): the clouds across the top, the small plots in two rows below, where three columns
        would leave the matrices a sliver each and cut off their titles."""
        if narrow == self.narrow:
            return
        self.narrow = narrow
        grid = self.grid
        for w in (self.clouds, self.cmat, self.pmat, self.conv, self.batch):
            grid.removeWidget(w)
        if narrow:
            places = {self.clouds: (0, 0, 1, 2), self.cmat: (1, 0), self.pmat: (1, 1), self.conv: (2, 0),
                      self.batch: (2, 1)}
            columns, rows = (1, 1, 0), (3, 2, 2)
        else:
            places = {self.clouds: (0, 0, 2, 1), self.cmat: (0, 1), self.pmat: (0, 2), self.conv: (1, 1),
                      self.batch: (1, 2)}
            columns, rows = (4, 2, 2), (1, 1, 0)
        for w, at in places.items():
            grid.addWidget(w, *at)
        for i, (c, r) in enumerate(zip(columns, rows)):
            grid.setColumnStretch(i, c)
            grid.setRowStretch(i, r)

    def resizeEvent(self, event) -> None:
        size = event.size()
        self._arrange(narrow=size.width() < NARROW_RATIO * size.height())
        super().resizeEvent(event)

    def _build_clouds(self) -> None:
        """The two clouds, one line item per opacity bin for the coupling, the exact plan, the info text."""
        self.vb = PointDragViewBox()
        self.clouds = make_plot("clouds and assignments", view_box=self.vb)
        self.clouds.setToolTip("Drag a point to move it; double-click adds a source point, "
                               "Shift+double-click a target point. Line opacity = P_ij / max P.")
        self.clouds.addLegend(offset=(5, 5))
        self.lines = []
        for k in range(ALPHA_BINS):
            alpha = int(255 * (k + 1) / ALPHA_BINS)
            item = pg.PlotDataItem(pen=pg.mkPen((60, 60, 60, alpha), width=1), connect="pairs")
            self.clouds.addItem(item)
            self.lines.append(item)
        # one pixel wide: Qt strokes a wider dashed pen segment by segment, ten times slower
        self.exact = pg.PlotDataItem(pen=pg.mkPen(ACCENT, width=1, style=QtCore.Qt.PenStyle.DashLine),
                                     connect="pairs", name="exact OT")
        self.clouds.addItem(self.exact)
        self.src = pg.ScatterPlotItem(size=9, brush=pg.mkBrush(REAL), pen=pg.mkPen("w"), name="source")
        self.tgt = pg.ScatterPlotItem(size=9, brush=pg.mkBrush(FAKE), pen=pg.mkPen("w"), name="target")
        self.clouds.addItem(self.src)
        self.clouds.addItem(self.tgt)
        self.info = CornerText(self.clouds.getPlotItem().vb, keep_clear=True)

    def _build_convergence(self) -> None:
        """The marginal error per iteration, on a log axis labelled at powers of ten."""
        self.conv = make_plot("convergence", equal=False, x="iteration", y="marginal error (L1)")
        log_axis = DecadeLogAxis("left")
        log_axis.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)    # as make_plot's
        self.conv.setAxisItems({"left": log_axis})
        self.conv.setLabel("left", "marginal error (L1)")
        self.conv.setLogMode(y=True)
        self.conv.getAxis("left").enableAutoSIPrefix(False)
        # at least one decade in view, so at least one power of ten is labelled
        self.conv.getPlotItem().getViewBox().setLimits(minYRange=1.0)
        self.conv_curve = self.conv.plot(pen=pg.mkPen((30, 80, 200), width=1), symbol="o", symbolSize=4,
                                         symbolBrush=(30, 80, 200), symbolPen=None)

    def _build_batch(self) -> None:
        """Four small couplings: the batch of shifted problems solved in one call."""
        self.batch = pg.GraphicsLayoutWidget()
        self.batch_items = []
        for k in range(4):
            p = self.batch.addPlot(row=k // 2, col=k % 2)
            p.hideAxis("left")
            p.hideAxis("bottom")
            p.invertY(True)
            p.setAspectLocked(True)
            img = pg.ImageItem(axisOrder="row-major")
            img.setColorMap(pg.colormap.get("inferno"))
            p.addItem(img)
            self.batch_items.append((p, img))
        self.batch.setToolTip("A batch of four problems: rows shifted by 1, 2, 3, 4 solved in one call; the costs are 1, 4, 9, 16")

    def plots(self) -> dict[str, QtWidgets.QWidget]:
        return {"clouds": self.clouds, "cost_matrix": self.cmat, "coupling": self.pmat,
                "convergence": self.conv, "batch": self.batch}

    def _on_drag(self, which: str, i: int, xy) -> None:
        (self.src if which == "source" else self.tgt).setData(pos=self.vb.sets[which])
        self.edit_requested.emit("move_point", {"which": which, "index": i, "xy": xy})

    def update_snapshot(self, s: SinkhornSnapshot) -> None:
        x, y = s.x, s.y
        if self.vb._drag is None:              # while dragging, the local copy is the truth
            self.vb.sets = {"source": x.copy(), "target": y.copy()}
            self.src.setData(pos=x)
            self.tgt.setData(pos=y)
        seg, alpha = s.lines, s.line_alpha
        bins = np.minimum((alpha * ALPHA_BINS).astype(int), ALPHA_BINS - 1)
        for k, item in enumerate(self.lines):
            sel = np.repeat(bins == k, 2)
            pts = seg[sel]
            item.setData(pts[:, 0], pts[:, 1]) if len(pts) else item.setData([], [])
        ex = s.exact_lines
        self.exact.setData(ex[:, 0], ex[:, 1]) if ex is not None else self.exact.setData([], [])
        text = f"ε = {s.eps:.3g}   ⟨P,C⟩ = {s.cost:.6g}"
        if s.exact_cost is not None:
            text += f"   exact OT = {s.exact_cost:.6g}"
        text += f"\n{s.n_iter} iteration{'' if s.n_iter == 1 else 's'}, marginal error {s.marginal_error:.1e}"
        self.info.setText(text)
        C, P = s.cost_matrix, s.plan
        # the method sends C and P with the points ordered along the clouds' main axis: say so
        angle = s.order_angle
        deg = None if angle is None else angle_label(angle)
        # compared as shown: the angle moves a little on every frame of a flow, and a new label lays
        # both axes out again
        if deg is not None and deg != self._order_angle:
            self._order_angle = deg
            for plot in (self.cmat, self.pmat):
                plot.setLabel("bottom", f"target, sorted along {deg}")
                plot.setLabel("left", f"source, sorted along {deg}")
                plot.setToolTip(f"Rows (source) and columns (target) are the points sorted by their position along "
                                f"the clouds' main axis, the line at {deg} through both clouds: a plan that keeps "
                                "the points' order is a band along the diagonal.")
        # cell (k, l) centred on integer indices, so the axes read as ranks along that axis
        set_heatmap(self.cimg, C, (-0.5, -0.5, C.shape[1], C.shape[0]))
        set_heatmap(self.pimg, P, (-0.5, -0.5, P.shape[1], P.shape[0]), (0.0, float(P.max()) or 1.0))
        err = s.errors
        if len(err):
            it = np.linspace(0, s.n_iter, len(err)) if len(err) > 1 else np.array([float(s.n_iter)])
            ok = err > 0
            self.conv_curve.setData(it[ok], err[ok])
            self.conv.setTitle(f"convergence ({s.n_iter} it.{', warm' if s.warm else ''})", size="9pt")
        b = s.batch
        key = (s.eps, tuple(b["costs"]))
        if key == self._batch_key:
            return
        self._batch_key = key
        for (p, img), plan, cost, shift in zip(self.batch_items, b["plans"], b["costs"], b["shifts"]):
            img.setImage(plan, levels=(0.0, float(plan.max()) or 1.0), autoLevels=False)
            p.setTitle(f"shift {shift:g}: {cost:.4f}", size="8pt")
        if s.step == 0 and self._last_step > 0:     # after a reset, follow the data again
            self.clouds.enableAutoRange()
        self._last_step = s.step
