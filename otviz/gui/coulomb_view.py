"""Coulomb GAN tab's views: generated points over the 25 centres with GMM ellipses, and D's potential."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtWidgets

from otviz.gui.fastpoints import FastScatter
from otviz.gui.view_base import (FAKE, CornerText, MethodView, RangeFollower, make_heatmap, make_plot,
                                 set_heatmap)
from otviz.methods.coulomb_config import CoulombSnapshot

CAUGHT = (20, 150, 70, 255)          # a centre with generated points on it
MISSED = (200, 30, 30, 255)          # a centre the generator misses
CENTRE_RADIUS = 3 * np.sqrt(0.1)     # 3σ of a mode, the region whose points count as caught
RANGE = 27.0                         # the grid spans ±21; a little margin around it


class CoulombView(MethodView):
    def __init__(self, info, parent=None):
        super().__init__(info, parent)
        # (a) generated points over the true centres, with the fitted GMM
        self.samples = make_plot("generated points and the 25 true centres", x="x", y="y")
        self.gmm = pg.PlotDataItem(pen=pg.mkPen((40, 40, 40, 200), width=1), connect="finite")
        self.fake = FastScatter(color=FAKE, size=3.0)
        # each centre as its 3σ circle: the "high quality" region of the mode-coverage metric
        self.centers = pg.ScatterPlotItem(size=2 * CENTRE_RADIUS, pxMode=False, symbol="o", brush=None)
        for item in (self.fake, self.gmm, self.centers):
            self.samples.addItem(item)
        self.info = CornerText(self.samples.getPlotItem().vb, fill=pg.mkBrush(255, 255, 255, 190))

        # (b) D's output over the plane: low (red) where real points lack fakes
        self.potential = make_plot("D's potential Φ (red: low, fakes are drawn there)", x="x", y="y")
        self.heat = make_heatmap(self.potential, "CET-D1", bounds=False)
        self.follow_view_rect(self.potential)    # D is computed over what this plot shows
        cmap = pg.colormap.get("CET-D1")
        cmap.reverse()                    # low potential red, high blue
        self.heat.setColorMap(cmap)
        self.heat._otviz_bar.setColorMap(cmap)
        self.fake_faint = FastScatter(color=(30, 30, 30, 110), size=2.0)
        self.centers_faint = pg.ScatterPlotItem(size=9, symbol="x", pen=None, brush=pg.mkBrush(0, 0, 0, 200))
        self.potential.addItem(self.fake_faint)
        self.potential.addItem(self.centers_faint)
        RangeFollower(self.samples.getViewBox(), self.potential.getViewBox())

        # view-local controls: GMM ellipses on demand
        self.show_gmm = QtWidgets.QCheckBox("GMM ellipses (2σ)")
        self.show_gmm.setChecked(True)
        self.show_gmm.setToolTip("a 25-component GMM fitted to the generated points (scikit-learn), "
                                 "refitted every 'GMM fit every' steps")
        self.show_gmm.toggled.connect(self.gmm.setVisible)
        self.fit_now = QtWidgets.QPushButton("Fit GMM now")
        self.fit_now.clicked.connect(lambda: self.edit_requested.emit("fit_gmm", None))
        self.show_points = QtWidgets.QCheckBox("points on the potential")
        self.show_points.setChecked(True)
        self.show_points.toggled.connect(self.fake_faint.setVisible)
        self.gmm_label = QtWidgets.QLabel("not fitted yet")

        bar = QtWidgets.QHBoxLayout()
        for w in (self.show_gmm, self.fit_now, self.gmm_label):
            bar.addWidget(w)
        bar.addStretch(1)
        bar.addWidget(self.show_points)
        grid = QtWidgets.QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.samples, 0, 0)
        grid.addWidget(self.potential, 0, 1)
        grid.addLayout(bar, 1, 0, 1, 2)
        for p in (self.samples, self.potential):
            p.setRange(xRange=(-RANGE, RANGE), yRange=(-RANGE, RANGE), padding=0)
            p.getPlotItem().vb.disableAutoRange()
        self._mode = None
        self._potential = None           # the potential last drawn: frames repeat it until new fields come
        self._gmm_drawn = None           # likewise the GMM outline
        self._centres = None             # the centres' positions, as last drawn
        self._caught = None              # which of them were caught, as last drawn
        self._pens = {True: pg.mkPen(CAUGHT, width=2.5), False: pg.mkPen(MISSED, width=2.5)}

    def plots(self) -> dict[str, QtWidgets.QWidget]:
        return {"samples": self.samples, "potential": self.potential}

    def update_snapshot(self, s: CoulombSnapshot) -> None:
        self.fake.setData(s.fake)
        self.fake_faint.setData(s.fake)
        # The centres, their colours and the GMM change far less often than the points: rebuilding
        # them (25 pens, a spot each, a path of 25 ellipses) at every frame took a fifth of the frame.
        # Which centres are caught flickers several times a second: then only the pens change.
        where, caught = s.centers.tobytes(), np.asarray(s.captured, bool)
        if where != self._centres:
            self._centres, self._caught = where, None
            self.centers.setData(pos=s.centers, pen=self._pens[False], brush=None)
            self.centers_faint.setData(pos=s.centers, pen=pg.mkPen(0, 0, 0, 200, width=2))
        if self._caught is None or not np.array_equal(caught, self._caught):
            self._caught = caught
            self.centers.setPen([self._pens[bool(k)] for k in caught])
        if s.potential is not self._potential:
            self._potential = s.potential
            set_heatmap(self.heat, s.potential, s.potential_rect, s.potential_levels)
        g = s.gmm
        if g is not self._gmm_drawn:
            self._gmm_drawn = g
            if g is not None:
                self.gmm.setData(g[:, 0], g[:, 1])
                self.gmm_label.setText(f"fitted at step {s.gmm_step}")
            else:
                self.gmm.setData([], [])
                self.gmm_label.setText("not fitted yet")
        modes = int(s.modes)
        text = f"step {s.step}   modes {modes}/25 ({4 * modes}%)   high quality {100 * s.high_quality:.1f}%"
        if s.mode == "coulomb":
            text += f"   ε = {s.eps:.3g}"
        if s.fields_step != s.step:    # the potential is computed apart from the training
            text += f"   (Φ: step {s.fields_step})"
        self.info.setText(text)
        if s.mode != self._mode:
            self._mode = s.mode
            self.potential.setTitle("D's potential Φ (red: low, fakes are drawn there)" if self._mode == "coulomb"
                                    else "plain GAN: D's logit (blue: judged real, red: judged fake)")
