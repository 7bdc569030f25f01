"""FastScatter: a pyqtgraph item that draws many same-coloured points within a frame.

Stock ScatterPlotItem builds and paints a spot per point, even where thousands share a pixel. This item paints
small clouds with one QPainter.drawPoints call, and rasterises large ones itself: the points are
mapped to device pixels with numpy, counted per pixel (np.bincount), spread over the point's disk and
coloured through a lookup table with alpha 1 - (1 - a)^count — exactly what drawing that many
translucent dots on top of each other gives — then drawn as one image. The cost is then O(n + pixels)
instead of one rasterised ellipse per point. Vector devices (SVG export) always get real points.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from pyqtgraph import functions as fn
from PySide6 import QtCore, QtGui

# Above this many points the raster path is used (below it drawPoints is already cheap, and a
# full-viewport image would cost more than the points).
RASTER_MIN_POINTS = 2_000
_VECTOR_ENGINES = {QtGui.QPaintEngine.Type.SVG, QtGui.QPaintEngine.Type.Picture,
                   QtGui.QPaintEngine.Type.Pdf}


def disk_offsets(size: float) -> tuple[np.ndarray, float]:
    """Pixel offsets (k, 2) of a round dot of diameter `size` (rounded to whole pixels), and the shift
    to add to a point's device coordinate before flooring it to the anchor pixel.

    An odd diameter is centred on the pixel holding the point; an even one on the pixel corner nearest
    to it (shift 0.5), so a 2-pixel dot is a 2x2 block and a 4-pixel dot a 4x4 block without corners.
    """
    d = max(int(round(float(size))), 1)
    r = d / 2.0
    if d % 2:
        k = d // 2
        rng, centre = np.arange(-k, k + 1), 0.0
    else:
        rng, centre = np.arange(-d // 2, d // 2), 0.5
    dx, dy = np.meshgrid(rng, rng)
    keep = (dx + centre) ** 2 + (dy + centre) ** 2 <= r * r + 1e-9
    return np.stack([dx[keep], dy[keep]], 1), centre


def alpha_lut(color: QtGui.QColor, max_count: int = 255) -> np.ndarray:
    """Premultiplied ARGB32 colours for 0..max_count overlapping dots of `color` (alpha 1-(1-a)^k)."""
    a = color.alphaF()
    k = np.arange(max_count + 1)
    alpha = 1.0 - (1.0 - a) ** k
    r, g, b = color.redF(), color.greenF(), color.blueF()
    A = np.round(alpha * 255).astype(np.uint32)
    R = np.round(alpha * r * 255).astype(np.uint32)
    G = np.round(alpha * g * 255).astype(np.uint32)
    B = np.round(alpha * b * 255).astype(np.uint32)
    return (A << 24) | (R << 16) | (G << 8) | B


def rasterise_padded(px, py, width: int, height: int, offsets: np.ndarray, lut: np.ndarray,
                     shift: float = 0.0) -> tuple[np.ndarray, int]:
    """The uint32 premultiplied ARGB image of dots at device coordinates (px, py), a (height, width)
    picture inside a border of k pixels: ((height + 2k, width + 2k) array, k).

    offsets, shift: the dot's shape from `disk_offsets`; lut: colours by overlap count (`alpha_lut`).
    """
    k = int(np.abs(offsets).max()) if len(offsets) else 0
    W, H = width + 2 * k, height + 2 * k          # padded so every offset stays inside the grid
    ix = np.floor(px + (shift + k)).astype(np.intp)
    iy = np.floor(py + (shift + k)).astype(np.intp)
    inside = (ix >= 0) & (ix < W) & (iy >= 0) & (iy < H)
    if not inside.all():
        ix, iy = ix[inside], iy[inside]
    flat = iy * W + ix
    if len(offsets) == 1:
        counts = np.bincount(flat, minlength=W * H)
    elif len(flat) * len(offsets) <= W * H:
        # few points: stamp every offset of every point (O(n k))
        shifts = offsets[:, 1] * W + offsets[:, 0]
        idx = (flat[:, None] + shifts[None, :]).ravel()
        # (np.clip checks its bounds' types at every call: a fifth of this branch for 2,500 points)
        np.maximum(idx, 0, out=idx)
        np.minimum(idx, W * H - 1, out=idx)
        counts = np.bincount(idx, minlength=W * H)
    else:
        # many points: count the centres, then spread the counts over the disk (O(pixels k))
        dt = np.uint16 if 255 * len(offsets) < 65536 else np.uint32
        c = np.minimum(np.bincount(flat, minlength=W * H), 255).reshape(H, W).astype(dt)
        counts = np.zeros((H, W), dt)
        for dx, dy in offsets:               # counts[y + dy, x + dx] += c[y, x] wherever both exist
            counts[max(dy, 0):H + min(dy, 0), max(dx, 0):W + min(dx, 0)] += \
                c[max(-dy, 0):H - max(dy, 0), max(-dx, 0):W - max(dx, 0)]
        counts = counts.ravel()
    # counts above the table's end saturate (mode="clip"): the colour is opaque long before 255
    return lut.take(counts, mode="clip").reshape(H, W), k


class FastScatter(pg.GraphicsObject):
    """Round points of one colour and one pixel size (cosmetic: the size does not scale with zoom)."""

    def __init__(self, color=(30, 120, 220, 200), size: float = 4.0):
        super().__init__()
        self._xy = np.zeros((0, 2))
        self._poly: tuple | None = None                # (transform, QPolygonF in device pixels), lazily
        self._rect = QtCore.QRectF()
        self._cache: tuple | None = None               # (key, QImage, its pixels) of the last raster
        self._pad: tuple[float, float] | None = None   # the point size in data units, for this view transform
        self._bounds: tuple | None = None              # (lo, hi) of the data
        self.raster_min_points = RASTER_MIN_POINTS
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
        self._lut = alpha_lut(self._color)
        self._offsets: dict[float, tuple[np.ndarray, float]] = {}
        self._cache = None
        self._pad = None
        self.prepareGeometryChange()
        self.update()

    def setData(self, xy: np.ndarray) -> None:
        xy = np.array(xy, dtype=np.float64).reshape(-1, 2)      # our own copy: compared with the next
        # reductions along the short axis of an (n, 2) array are slow in numpy (an inner loop of two per
        # point): one sum tells whether all are finite, and the bounds come from the two columns
        if not np.isfinite(xy.sum()):
            xy = xy[np.isfinite(xy).all(1)]
        if xy.shape == self._xy.shape and np.array_equal(xy, self._xy):
            return          # views re-send points that rarely change (the data): keep their raster
        self.prepareGeometryChange()
        self._xy = xy
        self._poly = None
        self._cache = None
        if len(xy):
            x, y = xy[:, 0], xy[:, 1]
            lo, hi = np.array([x.min(), y.min()]), np.array([x.max(), y.max()])
            self._bounds = (lo, hi)              # asked for by the ViewBox every frame: computed once
            self._rect = QtCore.QRectF(lo[0], lo[1], max(hi[0] - lo[0], 1e-9), max(hi[1] - lo[1], 1e-9))
        else:
            self._bounds = None
            self._rect = QtCore.QRectF()
        self.informViewBoundsChanged()
        self.update()

    def data(self) -> np.ndarray:
        return self._xy

    def dataBounds(self, ax, frac=1.0, orthoRange=None):
        if self._bounds is None:
            return None, None
        return float(self._bounds[0][ax]), float(self._bounds[1][ax])

    def pixelPadding(self) -> float:
        return self._size

    def boundingRect(self) -> QtCore.QRectF:
        if self._rect.isNull():
            return QtCore.QRectF()
        # pad by the point size in data units so the edges are repainted. Qt asks for the rectangle
        # several times a frame and a pixel's size takes pyqtgraph a dozen calls: kept until the view's
        # transform changes (not before the item is shown, when there is no pixel size yet)
        if self._pad is None:
            px, py = self.pixelLength(pg.Point(1, 0)), self.pixelLength(pg.Point(0, 1))
            if px is None or py is None:
                return self._rect
            self._pad = (px * self._size, py * self._size)
        pad_x, pad_y = self._pad
        return self._rect.adjusted(-pad_x, -pad_y, pad_x, pad_y)

    def viewTransformChanged(self) -> None:
        self._pad = None
        self.prepareGeometryChange()
        super().viewTransformChanged()

    def paint(self, p: QtGui.QPainter, *args) -> None:
        if not len(self._xy):
            return
        engine = p.paintEngine()
        vector = engine is not None and engine.type() in _VECTOR_ENGINES
        if not (vector or len(self._xy) < self.raster_min_points):
            try:
                if self._paint_raster(p):
                    return
            except Exception:                # never let an error escape paint() (Qt would abort)
                self._cache = None
        self._paint_points(p)

    # ---------------------------------------------------------------- the two paths
    def _paint_points(self, p: QtGui.QPainter) -> None:
        """One drawPoints call, in device coordinates: under the view's anisotropic (and y-flipped)
        transform Qt stretches wide round points into dashes, with an identity transform it does not."""
        t = p.combinedTransform()
        key = (t.m11(), t.m12(), t.m21(), t.m22(), t.dx(), t.dy())
        if self._poly is None or self._poly[0] != key:
            x, y = self._xy[:, 0], self._xy[:, 1]
            dx = x * t.m11() + y * t.m21() + t.dx()
            dy = x * t.m12() + y * t.m22() + t.dy()
            self._poly = (key, fn.arrayToQPolygonF(dx, dy))
        p.save()
        p.resetTransform()
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        p.setPen(self._pen)
        p.drawPoints(self._poly[1])
        p.restore()

    def _paint_raster(self, p: QtGui.QPainter) -> bool:
        """Draw the points as one image at the device's physical pixels; False to use drawPoints.

        combinedTransform maps data to the painter's device coordinates; deviceTransform maps it on to
        the physical pixels (it adds the scale of an export through QWidget.render, for instance). The
        image is built in physical pixels and drawn 1:1, so dots stay sharp at any export scale.
        """
        c, t = p.combinedTransform(), p.deviceTransform()
        if c.m12() or c.m21() or t.m12() or t.m21() or not (c.isAffine() and t.isAffine()) \
                or c.m11() == 0 or c.m22() == 0:
            return False                     # rotated or projective: leave it to drawPoints
        dev = p.device()
        if dev is None or dev.width() <= 0 or dev.height() <= 0:
            return False
        inv, ok = c.inverted()
        if not ok:
            return False
        redirect = inv * t                   # device coordinates -> physical pixels
        scale = abs(t.m11() / c.m11())       # a cosmetic size in physical pixels scales with it
        size = self._size * scale
        # the region to rasterise: the data's padded box, within the clip and the device
        box = t.mapRect(self._rect).adjusted(-size, -size, size, size)
        if p.hasClipping():
            clip = p.clipBoundingRect()
            if not clip.isEmpty():
                box = box.intersected(t.mapRect(clip))
        box = box.intersected(redirect.mapRect(QtCore.QRectF(0, 0, dev.width(), dev.height())))
        if box.isEmpty():
            return True
        x0, y0 = int(np.floor(box.left())), int(np.floor(box.top()))
        w = int(np.ceil(box.right())) - x0
        h = int(np.ceil(box.bottom())) - y0
        key = (t.m11(), t.m22(), t.dx(), t.dy(), x0, y0, w, h)
        if self._cache is None or self._cache[0] != key:
            px = self._xy[:, 0] * t.m11() + (t.dx() - x0)
            py = self._xy[:, 1] * t.m22() + (t.dy() - y0)
            dot = self._offsets.get(size)
            if dot is None:
                dot = self._offsets[size] = disk_offsets(size)
            full, k = rasterise_padded(px, py, w, h, dot[0], self._lut, dot[1])
            # the image reads the padded rows in place: it starts at (k, k) and steps a padded row
            stride = full.shape[1]
            buf = full.reshape(-1)[k * stride + k:]
            img = QtGui.QImage(buf.data, w, h, 4 * stride, QtGui.QImage.Format.Format_ARGB32_Premultiplied)
            self._cache = (key, img, buf)    # the image shares buf's memory: keep both
        back, _ = redirect.inverted()
        p.save()
        p.resetTransform()
        p.drawImage(back.mapRect(QtCore.QRectF(x0, y0, w, h)), self._cache[1])
        p.restore()
        return True
