"""Topic 1, redraw: 25,000 points + a 200x200 heatmap in an 800x600 plot, offscreen, FastScatter against
stock ScatterPlotItem (and the first drawPoints FastScatter) with the same points in the same run."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

from benchmarks.common import Row, timed  # noqa: E402

TARGET_MS = 16.0
TARGET_SPEEDUP = 4.0


def _legacy_item():
    """The first FastScatter (one drawPoints call on a QPolygonF, in data coordinates), the baseline the
    rasterising path has to beat."""
    import pyqtgraph as pg
    from pyqtgraph import functions as fn
    from PySide6 import QtCore, QtGui

    class DrawPointsScatter(pg.GraphicsObject):
        def __init__(self, color, size):
            super().__init__()
            self._pen = QtGui.QPen(pg.mkColor(color))
            self._pen.setWidthF(size)
            self._pen.setCosmetic(True)
            self._pen.setCapStyle(QtCore.Qt.PenCapStyle.RoundCap)
            self._poly, self._rect = QtGui.QPolygonF(), QtCore.QRectF()

        def setData(self, xy):
            self.prepareGeometryChange()
            self._poly = fn.arrayToQPolygonF(np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1]))
            lo, hi = xy.min(0), xy.max(0)
            self._rect = QtCore.QRectF(lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1])
            self.informViewBoundsChanged()
            self.update()

        def boundingRect(self):
            return self._rect

        def paint(self, p, *args):
            p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, False)
            p.setPen(self._pen)
            p.drawPoints(self._poly)

    return DrawPointsScatter


def measure(n_points: int = 25_000, repeat: int = 20, size=(800, 600), only: str = "") -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) seconds per frame for each way of drawing the same points."""
    import pyqtgraph as pg
    from PySide6 import QtWidgets

    from otviz.gui.app import disable_qt_gui_thread_pool

    disable_qt_gui_thread_pool()          # as the app does (a no-op in pool_probe's process)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    from otviz.gui.fastpoints import FastScatter
    from otviz.gui.view_base import REAL, make_heatmap, make_plot, set_heatmap

    rng = np.random.default_rng(0)
    clouds = [rng.normal(0, 1, size=(n_points, 2)) for _ in range(4)]
    heats = [rng.random((200, 200)).astype(np.float32) for _ in range(4)]
    makers = {
        "heatmap only": lambda: None,
        "FastScatter": lambda: FastScatter(REAL, 4),
        "drawPoints item (first FastScatter)": lambda: _legacy_item()(REAL, 4),
        "stock ScatterPlotItem": lambda: pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(REAL)),
    }
    out = {}
    for name, make in makers.items():
        if only and name != only:
            continue
        w = make_plot("redraw")
        w.resize(*size)
        img = make_heatmap(w)
        item = make()
        if item is not None:
            w.addItem(item)
        w.show()
        app.processEvents()
        w.setXRange(-3.5, 3.5, padding=0)
        w.setYRange(-3.5, 3.5, padding=0)
        k = [0]

        def frame():
            i = k[0] = (k[0] + 1) % 4
            set_heatmap(img, heats[i], (-3.5, -3.5, 7, 7), (0.0, 1.0))
            if isinstance(item, pg.ScatterPlotItem):
                item.setData(pos=clouds[i])
            elif item is not None:
                item.setData(clouds[i])
            w.viewport().repaint()          # a synchronous paint of the whole plot
        wall, cpu, _ = timed(frame, repeat=repeat, warmup=3)
        out[name] = (wall, cpu)
        w.close()
        w.deleteLater()
        app.processEvents()
    return out


def pool_probe(quick: bool) -> tuple[float, float] | None:
    """FastScatter's frame with Qt's GUI thread pool left on (a separate process: it is set per process)."""
    import json
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "QT_NO_GUI_THREADPOOL"}
    env["OTVIZ_QT_THREADPOOL"] = "1"
    cmd = [sys.executable, "-m", "benchmarks.redraw", "--probe", str(8 if quick else 20)]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("[")]
    return tuple(json.loads(lines[-1])) if lines else None


def run(quick: bool = False) -> list[Row]:
    rows = []
    res = measure(25_000, repeat=8 if quick else 20)
    probe = pool_probe(quick)
    if probe is not None:
        res["FastScatter with Qt's GUI thread pool"] = probe
    stock = res["stock ScatterPlotItem"]
    for name, (wall, cpu) in res.items():
        fast = name == "FastScatter"
        rows.append(Row("redraw", f"25k pts + 200² heatmap, 800x600: {name}", wall, "s",
                        baseline=stock[0] if name != "stock ScatterPlotItem" else None,
                        baseline_name="stock" if name != "stock ScatterPlotItem" else "",
                        ratio=stock[0] / wall if name != "stock ScatterPlotItem" else None,
                        target=f"<= {TARGET_MS:.0f} ms, >= {TARGET_SPEEDUP:.0f}x" if fast else "",
                        ok=(wall * 1e3 <= TARGET_MS and stock[0] / wall >= TARGET_SPEEDUP) if fast else None,
                        note=f"CPU {cpu * 1e3:.1f} ms (stock CPU {stock[1] * 1e3:.1f} ms)",
                        extra={"cpu_s": cpu}))
    if not quick:
        for n in (5_000, 100_000):
            r = measure(n, repeat=10)
            f, s = r["FastScatter"], r["stock ScatterPlotItem"]
            rows.append(Row("redraw", f"{n // 1000}k pts + heatmap: FastScatter", f[0], "s", baseline=s[0],
                            baseline_name="stock", ratio=s[0] / f[0], note=f"CPU {f[1] * 1e3:.1f} ms"))
    return rows


if __name__ == "__main__":
    import sys

    if "--probe" in sys.argv:
        import json

        from otviz.core.runtime import configure_process

        configure_process()
        r = measure(25_000, repeat=int(sys.argv[-1]), only="FastScatter")
        print(json.dumps(r["FastScatter"]))
    else:
        from benchmarks.run import topic_main

        topic_main(run)
