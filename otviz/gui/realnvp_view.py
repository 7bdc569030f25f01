"""RealNVP tab's views: data and samples, the latent z-space, the learned log-density, and the layer-by-layer morph."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PIL import Image
from PySide6 import QtCore, QtWidgets
from pyqtgraph.exporters import ImageExporter

from otviz.util.atomic import atomic_path
from otviz.gui.draw_target import DrawTargetMixin, DrawViewBox
from otviz.gui.fastpoints import FastScatter
from otviz.gui.flow_layout import FlowLayout
from otviz.gui.view_base import FAKE, REAL, MethodView, make_heatmap, make_plot, set_heatmap
from otviz.methods.realnvp_config import RealNVPSnapshot

HALF_A = (120, 60, 180, 170)      # the two halves of the moving cloud, so the morph can be followed
HALF_B = (20, 160, 140, 170)
GRID_PEN = (90, 90, 90, 110)
FPS = 30
SECONDS_PER_LAYER = 0.8


class RealNVPView(DrawTargetMixin, MethodView):
    def __init__(self, info, parent=None):
        super().__init__(info, parent)
        self._build_plots()
        self._build_controls()
        self._lay_out()

        self.timer = QtCore.QTimer(self, interval=int(1000 / FPS))
        self.timer.timeout.connect(self._tick)
        self.slider.valueChanged.connect(self._slid)
        self.direction.currentIndexChanged.connect(self._direction_changed)
        self.play_button.toggled.connect(self._play)
        self.gif_button.clicked.connect(self._ask_gif)
        self.draw_button.toggled.connect(self._draw_mode)
        self.vb.stroke_finished.connect(self._stroke)

        self.snap: RealNVPSnapshot | None = None
        self.seconds_per_layer = SECONDS_PER_LAYER
        self.t = 0.0                  # the morph position: 0 … n_flows, fractional while playing
        self._shown = None            # the pictures last drawn (skip redrawing the same ones)
        self._last_step = 0
        self._box = None              # the data's box last ranged on

    def _build_plots(self) -> None:
        """Data and samples (drawable), the latent space over N(0, I)'s circles, the density, the layers."""
        self.vb = DrawViewBox()
        self.data_plot = make_plot("data (blue) · samples (orange)", view_box=self.vb)
        self.data = FastScatter(REAL, 3)
        self.samples = FastScatter(FAKE, 3)
        self.drawn = FastScatter((20, 150, 70, 220), 4)
        for it in (self.data, self.samples, self.drawn):
            self.data_plot.addItem(it)
        self.drawn.setVisible(False)

        self.latent_plot = make_plot("f(data) in z-space over N(0, I): 1σ, 2σ, 3σ", x="z₁", y="z₂")
        self.latent = FastScatter(REAL, 3)
        self.latent_plot.addItem(self.latent)
        t = np.linspace(0, 2 * np.pi, 121)
        circles = np.concatenate([np.stack([r * np.cos(t), r * np.sin(t)], 1).tolist() + [[np.nan, np.nan]]
                                  for r in (1, 2, 3)])
        self.latent_plot.plot(circles[:, 0], circles[:, 1], pen=pg.mkPen((60, 60, 60), width=1.2),
                              connect="finite")
        self.latent_plot.setRange(xRange=(-3.6, 3.6), yRange=(-3.6, 3.6))

        self.density_plot = make_plot("learned log p(x) (nats)", x="x", y="y")
        self.density = make_heatmap(self.density_plot, "viridis")

        self.layer_plot = make_plot("layers", x="", y="")
        self.grid = pg.PlotDataItem(pen=pg.mkPen(GRID_PEN, width=1), connect="finite")
        self.layer_plot.addItem(self.grid)
        self.layer_a = FastScatter(HALF_A, 3)
        self.layer_b = FastScatter(HALF_B, 3)
        self.layer_plot.addItem(self.layer_a)
        self.layer_plot.addItem(self.layer_b)

    def _build_controls(self) -> None:
        """The morph's direction, layer slider, play and GIF buttons, and the draw-target button."""
        self.direction = QtWidgets.QComboBox()
        self.direction.addItems(["forward  x → z", "inverse  z → x"])
        self.direction.setToolTip("forward: the data pushed through the layers towards the Gaussian; "
                                  "inverse: Gaussian draws pulled back through the layers into samples")
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setRange(0, 4)
        self.slider.setPageStep(1)
        self.slider.setTickPosition(QtWidgets.QSlider.TickPosition.TicksBelow)
        self.slider.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)   # ← → stay training shortcuts
        self.slider.setToolTip("Number of coupling layers passed")
        self.layer_label = QtWidgets.QLabel("0 / 4")
        self.play_button = QtWidgets.QPushButton("▶ Morph")
        self.play_button.setCheckable(True)
        self.play_button.setToolTip("Play the layer-by-layer morph in the chosen direction")
        self.gif_button = QtWidgets.QPushButton("GIF…")
        self.gif_button.setToolTip("Save the morph in the chosen direction as an animated GIF")
        self.draw_button = QtWidgets.QPushButton("✎ Draw target")
        self.draw_button.setCheckable(True)
        self.draw_button.setToolTip("Drag in the data view to spray points; each stroke retrains on all "
                                    "points drawn so far. Press again to stop drawing.")

    def _lay_out(self) -> None:
        """A 2 × 2 grid: the morph's controls under the layer plot (wrapping onto a second row when the
        view is narrow, as in A | B), the draw button under the data."""
        bar = QtWidgets.QWidget()
        flow = FlowLayout(bar)
        flow.setContentsMargins(4, 0, 4, 0)
        self.slider.setMinimumWidth(160)
        for w in (self.direction, QtWidgets.QLabel("layers"), self.slider, self.layer_label, self.play_button,
                  self.gif_button):
            flow.addWidget(w)
        layer_box = QtWidgets.QWidget()
        lb = QtWidgets.QVBoxLayout(layer_box)
        lb.setContentsMargins(0, 0, 0, 0)
        lb.addWidget(self.layer_plot, 1)
        lb.addWidget(bar)
        data_box = QtWidgets.QWidget()
        db = QtWidgets.QVBoxLayout(data_box)
        db.setContentsMargins(0, 0, 0, 0)
        db.addWidget(self.data_plot, 1)
        db.addWidget(self.draw_button, 0, QtCore.Qt.AlignmentFlag.AlignLeft)

        grid = QtWidgets.QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(data_box, 0, 0)
        grid.addWidget(self.latent_plot, 0, 1)
        grid.addWidget(self.density_plot, 1, 0)
        grid.addWidget(layer_box, 1, 1)
        grid.setColumnStretch(0, 2)
        grid.setColumnStretch(1, 3)
        grid.setRowStretch(0, 1)
        grid.setRowStretch(1, 1)

    def plots(self) -> dict[str, QtWidgets.QWidget]:
        return {"data": self.data_plot, "latent": self.latent_plot, "density": self.density_plot,
                "layers": self.layer_plot}

    # ------------------------------------------------------------------ frames
    def update_snapshot(self, s: RealNVPSnapshot) -> None:
        reset = s.step == 0 and self._last_step > 0
        self._last_step = s.step
        # Almost everything here is a field: frames repeat the same arrays until new fields arrive.
        if s.fwd_points is self._shown and not reset:
            return
        self._shown = s.fwd_points
        first = self.snap is None
        self.snap = s
        n = len(s.fwd_points) - 1          # the stages it has (n_flows may be newer than the fields)
        if self.slider.maximum() != n:
            self.slider.blockSignals(True)
            self.slider.setMaximum(n)
            self.slider.blockSignals(False)
            self.t = min(self.t, n)
        self.data.setData(s.data)
        self.samples.setData(s.samples)
        self.latent.setData(s.latent)
        set_heatmap(self.density, s.logp, s.logp_rect, s.logp_levels)
        nll = s.nll
        age = f" · step {s.fields_step}" if s.fields_step != s.step else ""
        self.data_plot.setTitle("data (blue) · samples (orange)" + (f" · nll {nll:.3f}" if np.isfinite(nll) else "")
                                + age)
        new_data = s.logp_rect != self._box          # a reset, another dataset, a drawn target
        self._box = s.logp_rect
        self._draw_layers(fit=first or reset or new_data)
        if not (first or reset or new_data):
            self._fit_layers(if_needed=True)
        if first or reset or new_data:   # the data's box: far-flung early samples must not shrink the data
            x0, y0, w, h = s.logp_rect
            for plot in (self.data_plot, self.density_plot):
                plot.setRange(xRange=(x0, x0 + w), yRange=(y0, y0 + h), padding=0.02)

    def _stages(self) -> tuple[np.ndarray, np.ndarray]:
        s = self.snap
        return (s.fwd_points, s.fwd_grid) if self.direction.currentIndex() == 0 else \
            (s.inv_points, s.inv_grid)

    def _draw_layers(self, fit: bool = False) -> None:
        if self.snap is None:
            return
        pts, grid = self._stages()
        n = len(pts) - 1
        # a whole stage is drawn as it is: the grid is cut differently at each stage (where its points
        # are), and a blend with the previous stage would show only what both keep
        k = min(int(np.floor(self.t)), n)
        f = self.t - k
        p = pts[k] if f == 0 else pts[k] + f * (pts[k + 1] - pts[k])
        g = grid[k] if f == 0 else grid[k] + f * (grid[k + 1] - grid[k])
        half = pts[0][:, 0] < np.median(pts[0][:, 0])       # coloured by where they started
        self.layer_a.setData(p[half])
        self.layer_b.setData(p[~half])
        self.grid.setData(g[:, 0], g[:, 1], connect="finite")
        fwd = self.direction.currentIndex() == 0
        where = ("x" if self.t == 0 else "z" if self.t == n else "") if fwd else \
            ("z" if self.t == 0 else "x" if self.t == n else "")
        self.layer_plot.setTitle(f"{'forward' if fwd else 'inverse'}: after {round(self.t, 2):g} of {n} layers"
                                 + (f" ({where}-space)" if where else ""))
        self.layer_label.setText(f"{self.t:.1f} / {n}" if f else f"{int(self.t)} / {n}")
        if fit:
            self._fit_layers()

    def _fit_layers(self, if_needed: bool = False) -> None:
        """One range for every stage of the current direction, so the morph is seen without the view jumping.

        if_needed: only when the stages have outgrown the view or shrunk to under half of it (training
        moves them), so that new pictures do not undo the user's zoom at every refresh.
        """
        pts, _ = self._stages()
        allp = pts.reshape(-1, 2)
        # python floats: pyqtgraph compares the range with 1e307 limits, which float32 cannot hold
        lo, hi = [np.nanpercentile(allp.astype(np.float64), q, axis=0).tolist() for q in (0.5, 99.5)]
        pad = 0.08 * max(hi[0] - lo[0], hi[1] - lo[1], 1e-6)
        if if_needed:
            (x0, x1), (y0, y1) = self.layer_plot.getPlotItem().vb.viewRange()
            inside = x0 <= lo[0] and hi[0] <= x1 and y0 <= lo[1] and hi[1] <= y1
            if inside and max((hi[0] - lo[0]) / (x1 - x0), (hi[1] - lo[1]) / (y1 - y0)) > 0.5:
                return
        self.layer_plot.setRange(xRange=(lo[0] - pad, hi[0] + pad), yRange=(lo[1] - pad, hi[1] + pad), padding=0)

    # ------------------------------------------------------------------ layer controls
    def _slid(self, k: int) -> None:
        if not self.timer.isActive():
            self.t = float(k)
            self._draw_layers()

    def _direction_changed(self, _: int) -> None:
        self._draw_layers(fit=True)

    def _play(self, on: bool) -> None:
        if on:
            n = self.slider.maximum()
            if self.t >= n:
                self.t = 0.0
            self.play_button.setText("■ Stop")
            self.timer.start()
        else:
            self.timer.stop()
            self.play_button.setText("▶ Morph")

    def _tick(self) -> None:
        n = self.slider.maximum()
        self.t = min(self.t + 1.0 / (FPS * self.seconds_per_layer), float(n))
        self.slider.blockSignals(True)
        self.slider.setValue(int(self.t))
        self.slider.blockSignals(False)
        self._draw_layers()
        if self.t >= n:
            self.play_button.setChecked(False)

    # ------------------------------------------------------------------ export
    def _ask_gif(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save the morph as GIF", "realnvp_morph.gif",
                                                        "GIF (*.gif)")
        if path:
            try:
                self.save_morph_gif(path)
            except OSError as e:
                QtWidgets.QMessageBox.warning(self, "Could not save", str(e))

    def save_morph_gif(self, path: str, frames_per_layer: int = 12, width: int = 480) -> int:
        """The layer plot at every in-between stage of the current direction, written as a looping GIF."""
        if self.snap is None:
            raise OSError("nothing to save yet: no pictures have arrived")
        self.play_button.setChecked(False)
        keep = self.t
        n = self.slider.maximum()
        exporter = ImageExporter(self.layer_plot.getPlotItem())
        exporter.parameters()["width"] = width
        frames = []
        try:
            for i in range(n * frames_per_layer + 1):
                self.t = i / frames_per_layer
                self._draw_layers()
                img = exporter.export(toBytes=True).convertToFormat(pg.QtGui.QImage.Format.Format_RGB888)
                buf = np.frombuffer(img.constBits(), np.uint8, img.sizeInBytes()).reshape(
                    img.height(), img.bytesPerLine())[:, : img.width() * 3].reshape(img.height(), img.width(), 3)
                frames.append(Image.fromarray(buf.copy()))
        finally:
            self.t = keep
            self._draw_layers()
        # hold the first and last stages a little longer than the in-between frames
        durations = [600] + [1000 // FPS * 2] * (len(frames) - 2) + [1200]
        with atomic_path(path) as tmp:
            frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0)
        return len(frames)
