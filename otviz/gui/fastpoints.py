"""FastScatter: a pyqtgraph item that draws many same-coloured points in one QPainter call.

Stock ScatterPlotItem builds a spot per point (about 70 ms for 25,000 points here); this item keeps
one QPolygonF built from numpy and paints it with drawPoints, which stays within a frame.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from pyqtgraph import functions as fn
from PySide6 import QtCore, QtGui


class FastScatter(pg.GraphicsObject):
    """Round points of one colour and one pixel size (cosmetic: the size does not scale with zoom)."""

    def __init__(self, color=(30, 120, 220, 200), size: float = 4.0):
        super().__init__()
        self._xy = np.zeros((0, 2))
        self._poly = QtGui.QPolygonF()
        self._rect = QtCore.QRectF()
        self.setStyle(color, size)

    def setStyle(self, color=None, size: float | None = None) -> None:
        if color is not None:
            self._color = pg.mkColor(color)
        if size is not None:
            self._size = float(size)
        self._pen = QtGui.QPen(self._color)
        self._pen.setWidthF(self._size)
        self._pen.setCosmetic(True)
        self._pen.setCapStyle(QtCore.Qt.PenCapStyle.RoundCap)
        self.update()

    def setData(self, xy: np.ndarray) -> None:
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        finite = np.isfinite(xy).all(1)
        if not finite.all():
            xy = xy[finite]
        self.prepareGeometryChange()
        self._xy = xy
        self._poly = fn.arrayToQPolygonF(np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1]))
        if len(xy):
            lo, hi = xy.min(0), xy.max(0)
            self._rect = QtCore.QRectF(lo[0], lo[1], max(hi[0] - lo[0], 1e-9), max(hi[1] - lo[1], 1e-9))
        else:
            self._rect = QtCore.QRectF()
        self.informViewBoundsChanged()
        self.update()

    def data(self) -> np.ndarray:
        return self._xy

    def dataBounds(self, ax, frac=1.0, orthoRange=None):
        if not len(self._xy):
            return None, None
        return float(self._xy[:, ax].min()), float(self._xy[:, ax].max())

    def pixelPadding(self) -> float:
        return self._size

    def boundingRect(self) -> QtCore.QRectF:
        if self._rect.isNull():
            return QtCore.QRectF()
        # pad by the point size in data units so the edges are repainted
        px = self.pixelLength(pg.Point(1, 0)) or 0.0
        py = self.pixelLength(pg.Point(0, 1)) or 0.0
        pad_x, pad_y = px * self._size, py * self._size
        return self._rect.adjusted(-pad_x, -pad_y, pad_x, pad_y)

    def paint(self, p: QtGui.QPainter, *args) -> None:
        if self._poly.isEmpty():
            return
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, False)
        p.setPen(self._pen)
        p.drawPoints(self._poly)
