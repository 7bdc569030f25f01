"""FastScatter's raster path: dot shapes, overlap colours, both spreading strategies, and pictures that
match the vector path (drawPoints) and reach SVG as real points."""
import numpy as np
import pytest

pytest.importorskip("pytestqt")

import pyqtgraph as pg  # noqa: E402
from PySide6 import QtCore, QtGui, QtWidgets  # noqa: E402

from otviz.gui.fastpoints import FastScatter, alpha_lut, disk_offsets, rasterise_padded  # noqa: E402


def rasterise(px, py, width, height, offsets, lut, shift=0.0):
    """The (height, width) picture of rasterise_padded, its border cut off."""
    full, k = rasterise_padded(px, py, width, height, offsets, lut, shift)
    return full[k:k + height, k:k + width]


@pytest.mark.parametrize("size, n_pixels", [(1, 1), (2, 4), (3, 9), (4, 12), (5, 21), (6, 32)])
def test_dot_shapes_are_round_pixel_disks(size, n_pixels):
    off, shift = disk_offsets(size)
    assert len(off) == n_pixels
    assert len({tuple(o) for o in off}) == n_pixels              # no pixel twice
    assert shift == (0.5 if size % 2 == 0 else 0.0)
    # symmetric about the dot's centre (a pixel centre for odd sizes, a pixel corner for even ones)
    assert np.allclose((off + shift).mean(0), 0.0)


def test_lut_is_repeated_source_over():
    color = QtGui.QColor(200, 100, 50, 128)
    lut = alpha_lut(color)
    assert lut[0] == 0
    a = lut >> 24
    assert a[1] == 128
    # k translucent dots drawn over each other: alpha 1 - (1 - a)^k, premultiplied colour channels
    for k in (2, 3, 7):
        assert abs(int(a[k]) - round(255 * (1 - (1 - 128 / 255) ** k))) <= 1
        red = (lut[k] >> 16) & 255
        assert abs(int(red) - round(200 * (1 - (1 - 128 / 255) ** k))) <= 1
    assert np.all(np.diff(a.astype(int)) >= 0)


def test_rasterise_single_and_coincident_points():
    lut = np.arange(256, dtype=np.uint32)           # identity: the image holds the counts
    off, shift = disk_offsets(3)
    img = rasterise(np.array([5.2, 5.7]), np.array([4.9, 4.1]), 12, 10, off, lut, shift)
    assert img.shape == (10, 12)
    # both points fall in pixel (5, 4): a 3x3 block with count 2, nothing else
    assert img[3:6, 4:7].tolist() == [[2] * 3] * 3
    assert img.sum() == 2 * 9
    # a point outside the image still covers the pixels of its dot that are inside
    img = rasterise(np.array([-0.5]), np.array([0.5]), 4, 4, off, lut, shift)
    assert img[:2, 0].tolist() == [1, 1] and img.sum() == 2


def test_stamping_and_spreading_agree():
    """Few points stamp every offset, many points spread a count image: the same picture either way."""
    rng = np.random.default_rng(0)
    lut = np.arange(256, dtype=np.uint32)
    off, shift = disk_offsets(4)
    px, py = rng.normal(30, 8, 2000), rng.normal(20, 6, 2000)       # dense: spreading path
    many = rasterise(px, py, 60, 40, off, lut, shift)
    # the same points stamped in chunks small enough to take the stamping path, counts summed
    total = np.zeros_like(many)
    for i in range(0, 2000, 50):
        total += rasterise(px[i:i + 50], py[i:i + 50], 60, 40, off, lut, shift)
    assert np.array_equal(np.minimum(total, 255), many)
    assert many.max() > 10                                           # the test did overlap points


def _render(item_factory, xy, size=(300, 240), scale=1.0):
    w = pg.PlotWidget(background="w")
    w.resize(*size)
    w.hideAxis("left")
    w.hideAxis("bottom")
    item = item_factory()
    w.addItem(item)
    item.setData(xy)
    w.setXRange(-2, 2, padding=0)
    w.setYRange(-2, 2, padding=0)
    w.show()
    img = QtGui.QImage(round(size[0] * scale), round(size[1] * scale), QtGui.QImage.Format.Format_RGB32)
    img.fill(QtGui.QColor("white"))
    p = QtGui.QPainter(img)
    p.scale(scale, scale)
    QtWidgets.QWidget.render(w, p, QtCore.QPoint(0, 0), QtGui.QRegion(), QtWidgets.QWidget.RenderFlag.DrawChildren)
    p.end()
    w.close()
    ptr = img.constBits()
    arr = np.frombuffer(ptr, np.uint32, count=img.width() * img.height()).reshape(img.height(), img.width())
    return arr.copy()


def test_raster_picture_matches_drawpoints(qtbot):
    rng = np.random.default_rng(1)
    xy = rng.normal(0, 0.6, size=(3000, 2))

    def fast():
        return FastScatter((230, 90, 30, 255), 4)

    def vector():
        s = FastScatter((230, 90, 30, 255), 4)
        s.raster_min_points = 10**9
        return s

    a, b = _render(fast, xy), _render(vector, xy)
    orange_a = ((a >> 16) & 255) > 200
    orange_a &= (a & 255) < 120
    orange_b = ((b >> 16) & 255) > 200
    orange_b &= (b & 255) < 120
    inter, union = (orange_a & orange_b).sum(), (orange_a | orange_b).sum()
    assert orange_a.sum() > 5000                                     # points were drawn
    assert inter / union > 0.75                                      # in the same places
    assert abs(orange_a.sum() / orange_b.sum() - 1) < 0.25           # with about the same coverage


def test_raster_follows_the_export_scale_and_handles_empty_and_nan(qtbot):
    xy = np.array([[0.0, 0.0], [1.0, 1.0], [np.nan, 0.0]] + [[5.0, 5.0]] * 2500)   # far points clipped
    img1 = _render(lambda: FastScatter((0, 0, 0, 255), 4), xy)
    img2 = _render(lambda: FastScatter((0, 0, 0, 255), 4), xy, scale=2.0)
    black1, black2 = (img1 & 0xFFFFFF) == 0, (img2 & 0xFFFFFF) == 0
    assert black1.sum() == 2 * 12                                    # two visible 4-px dots, nothing else
    # an export at twice the size doubles the positions and the dots (drawn at full resolution)
    ys, xs = np.nonzero(black2)
    ys1, xs1 = np.nonzero(black1)
    assert abs(xs.mean() - 2 * xs1.mean()) < 3 and abs(ys.mean() - 2 * ys1.mean()) < 3
    empty = _render(lambda: FastScatter((0, 0, 0, 255), 4), np.zeros((0, 2)))
    assert black2.sum() == 2 * len(disk_offsets(8)[0])
    assert ((empty & 0xFFFFFF) != 0xFFFFFF).sum() == 0               # nothing drawn


def test_svg_gets_real_points(qtbot, tmp_path):
    from PySide6.QtSvg import QSvgGenerator

    item = FastScatter((0, 0, 0, 255), 4)
    item.setData(np.random.default_rng(0).normal(size=(5000, 2)))
    gen = QSvgGenerator()
    path = tmp_path / "p.svg"
    gen.setFileName(str(path))
    gen.setSize(QtCore.QSize(200, 200))
    p = QtGui.QPainter(gen)
    p.scale(20, 20)
    p.translate(5, 5)
    item.paint(p)
    p.end()
    text = path.read_text()
    assert "<image" not in text                                      # not rasterised
    assert text.count("<circle") == 5000                             # one vector dot per point


def test_resent_points_keep_their_raster_and_changed_ones_are_redrawn(qtbot):
    rng = np.random.default_rng(2)
    xy = rng.normal(0, 0.6, size=(3000, 2))
    w = pg.PlotWidget(background="w")
    qtbot.addWidget(w)
    w.resize(300, 240)
    item = FastScatter((0, 0, 0, 255), 3)
    w.addItem(item)
    w.setXRange(-2, 2, padding=0)
    w.setYRange(-2, 2, padding=0)
    item.setData(xy)
    before = w.grab().toImage()
    raster = item._cache
    assert raster is not None
    item.setData(xy.copy())                      # the same points again: nothing to redo
    assert item._cache is raster
    xy[:, 0] += 1.0                              # the caller's array changed in place: its new points count
    item.setData(xy)
    assert item._cache is None
    assert w.grab().toImage() != before
    xy[:, 0] -= 1.0                              # the item keeps its own copy: the caller's edit does not reach it
    assert not np.array_equal(item.data(), xy)


def test_the_padding_of_the_points_follows_a_zoom(qtbot):
    """The bounding box pads the data by the point size in data units, kept between frames: a zoom
    must renew it, or the edges of dots zoomed in on would not be repainted."""
    w = pg.PlotWidget()
    qtbot.addWidget(w)
    w.resize(400, 400)
    s = FastScatter((0, 0, 0, 255), 4)
    w.addItem(s)
    w.show()
    s.setData(np.array([[0.0, 0.0], [1.0, 1.0]]))
    vb = w.getPlotItem().getViewBox()

    def pad_in_pixels():
        QtWidgets.QApplication.processEvents()
        r = s.boundingRect()
        return (r.width() - 1.0) / 2 / s.pixelLength(pg.Point(1, 0))   # pad each side, in pixels

    vb.setRange(xRange=(-1, 2), yRange=(-1, 2), padding=0)
    assert pad_in_pixels() == pytest.approx(4, rel=0.02)
    vb.setRange(xRange=(-10, 11), yRange=(-10, 11), padding=0)        # zoomed out 7x: pixels 7x wider
    assert pad_in_pixels() == pytest.approx(4, rel=0.02)
    w.resize(800, 800)                                                # a larger view: smaller pixels
    assert pad_in_pixels() == pytest.approx(4, rel=0.02)
