"""StickyViewBox: the auto-range keeps the axes still while the data stay well inside, follows data
that leave or shrink, and fits tightly on request (the "A" button, a reset)."""
import numpy as np
import pytest

pytest.importorskip("pytestqt")

import pyqtgraph as pg  # noqa: E402
from PySide6 import QtWidgets  # noqa: E402

from otviz.gui.view_base import StickyViewBox, make_plot, refit_views  # noqa: E402


def _plot(qtbot, equal=False):
    box = QtWidgets.QWidget()                        # a tab's view: plots inside a widget
    qtbot.addWidget(box)
    w = make_plot("t", equal=equal)
    QtWidgets.QVBoxLayout(box).addWidget(w)
    box.resize(400, 300)
    box.show()
    qtbot.waitExposed(box)
    qtbot.wait(20)                                   # let the layout settle (the aspect lock follows it)
    vb = w.getPlotItem().getViewBox()
    assert isinstance(vb, StickyViewBox)
    curve = pg.PlotDataItem()
    w.addItem(curve)
    w._test_box = box                                # keep the container alive with the plot
    return w, vb, curve


def _show(qtbot, w, vb, curve, x, y):
    curve.setData(np.asarray(x, float), np.asarray(y, float))
    w.repaint()                                      # the auto-range is applied before a paint
    qtbot.wait(1)
    return [list(r) for r in vb.viewRange()]


def test_range_stays_while_data_move_inside_and_follows_when_they_leave(qtbot):
    w, vb, curve = _plot(qtbot)
    r0 = _show(qtbot, w, vb, curve, [0, 10], [0, 1])
    # the first fit holds the data with a little headroom
    assert r0[0][0] < 0 < 10 < r0[0][1] and r0[0][1] - r0[0][0] < 10 * 1.5
    # moving inside the view, and shrinking by less than half: no change at all
    r1 = _show(qtbot, w, vb, curve, [1, 9], [0.2, 0.9])
    assert r1 == r0
    # leaving it on one side: the view grows to hold the data again
    r2 = _show(qtbot, w, vb, curve, [0, 30], [0, 1])
    assert r2[0][1] >= 30 and r2[0][0] <= 0
    # shrinking to a small fraction on both axes: the view follows down
    r3 = _show(qtbot, w, vb, curve, [5, 6], [0.4, 0.45])
    assert r3[0][1] - r3[0][0] < 3 and r3[1][1] - r3[1][0] < 0.2
    assert r3[0][0] <= 5 and r3[0][1] >= 6


def test_one_axis_follows_alone(qtbot):
    # a free aspect: one axis shrinking (a loss settling) or growing (steps) moves that axis only
    w, vb, curve = _plot(qtbot)
    r0 = _show(qtbot, w, vb, curve, [0, 10], [0, 1])
    r1 = _show(qtbot, w, vb, curve, [0, 10], [0, 0.05])
    assert r1[0] == r0[0] and r1[1][1] - r1[1][0] < 0.2
    r2 = _show(qtbot, w, vb, curve, [0, 12], [0, 0.05])
    assert r2[1] == r1[1] and r2[0][1] >= 12 + 0.2 * 12      # room ahead on the side it grew


def test_refit_and_auto_button_fit_tightly(qtbot):
    w, vb, curve = _plot(qtbot)
    _show(qtbot, w, vb, curve, [0, 10], [0, 10])
    loose = _show(qtbot, w, vb, curve, [2, 8], [2, 8])     # 60 % of the view: kept
    assert loose[0][1] - loose[0][0] > 10
    refit_views(w.parentWidget())                    # what a reset does
    tight = _show(qtbot, w, vb, curve, [2, 8], [2, 8])
    assert 6 <= tight[0][1] - tight[0][0] < 7.5
    # zoom by hand (auto-range off), then turn auto-range back on: a tight fit again
    vb.setXRange(-50, 50)
    assert not vb.autoRangeEnabled()[0]
    _show(qtbot, w, vb, curve, [3, 7], [3, 7])
    vb.enableAutoRange()
    r = _show(qtbot, w, vb, curve, [3, 7], [3, 7])
    assert 4 <= r[0][1] - r[0][0] < 5


def test_equal_aspect_plot_does_not_refit_every_frame(qtbot):
    # a locked aspect widens one axis beyond the data: that slack alone must not count as "loose"
    w, vb, curve = _plot(qtbot, equal=True)
    r0 = _show(qtbot, w, vb, curve, [0, 1], [0, 1])
    for k in range(5):
        d = 0.02 * k
        assert _show(qtbot, w, vb, curve, [d, 1 - d], [d, 1 - d]) == r0


def test_heatmap_levels_are_round_and_hold_the_data():
    from otviz.gui.view_base import nice_levels

    rng = np.random.default_rng(0)
    for _ in range(500):
        lo = rng.normal() * 10 ** rng.uniform(-6, 4)
        hi = lo + 10 ** rng.uniform(-6, 4)
        a, b = nice_levels(lo, hi)
        assert a <= lo + 1e-12 * (hi - lo) and hi - 1e-12 * (hi - lo) <= b
        # the ends are multiples of a round step (1, 2, 2.5 or 5 x 10^k) of about a tenth of the span
        raw = (hi - lo) / 10
        mag = 10.0 ** np.floor(np.log10(raw))
        steps = [m * mag for m in (1, 2, 2.5, 5, 10) if raw * (1 - 1e-9) <= m * mag <= 5 * raw]
        assert any(abs(a / st - round(a / st)) < 1e-6 and abs(b / st - round(b / st)) < 1e-6
                   and b - a <= hi - lo + 2 * st for st in steps), (lo, hi, a, b)
    assert nice_levels(0, 0.0094) == (0.0, 0.01)
    assert nice_levels(-1.3, 1.3) == (-1.5, 1.5)
    assert nice_levels(3.0, 3.0) == (3.0, 3.0)          # nothing to round: left alone



def test_numbers_kept_clear_sit_below_the_lowest_points_and_stay_so_as_they_wrap(qtbot):
    """A line of numbers at the bottom of the plot (Sinkhorn's clouds, SW-GMM's fit) with keep_clear:
    the auto-range leaves its band free, so the lowest points are drawn above it, not under it, also
    once the plot is narrower and the numbers take two lines; without it they overlap."""
    from otviz.gui.view_base import CornerText

    line = "ε = 0.1   (P,C) = 0.0503662   exact OT = 0.00317284   1 iteration, marginal error 1.4e-07"
    tops = {}
    for keep in (True, False):
        w, vb, curve = _plot(qtbot)
        text = CornerText(vb, keep_clear=keep)
        text.setText(line)
        x = np.linspace(0.0, 2.0, 41)
        y = (x - 1.0) ** 2                                # a moon: its lowest point at y = 0
        for width in (700, 300):                          # one line, then two
            w._test_box.resize(width, 300)
            qtbot.waitUntil(lambda: abs(vb.width() - (width - 60)) < 40, timeout=2000)
            if width == 700:
                vb.enableAutoRange()                      # then the sticky range alone makes room
            _show(qtbot, w, vb, curve, x, y)
            lowest = vb.mapViewToScene(pg.Point(1.0, 0.0)).y()      # scene pixels grow downwards
            numbers_top = text.textItem.mapToScene(text.textItem.boundingRect().topLeft()).y()
            tops[keep, width] = (lowest, numbers_top)
    for width in (700, 300):
        lowest, top = tops[True, width]
        assert lowest < top, (width, lowest, top)         # the points end above the numbers
        lowest, top = tops[False, width]
        assert lowest > top, (width, lowest, top)         # as they did not
