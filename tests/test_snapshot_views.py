"""What a CLI snapshot shows: the run's history in every view, Sinkhorn's C and P in an order that shows
their structure, tick labels that do not overlap."""
import numpy as np
import pytest
from PySide6 import QtGui

from otviz.methods import method_class
from otviz.session.session import Session
from otviz.methods.sinkhorn import display_order


def session(name, steps, **config):
    cls = method_class(name)
    s = Session(cls(cls.Config(**config), seed=0))
    for _ in range(steps):
        s.step()
    return s


@pytest.fixture
def renderer(qtbot):
    from otviz.gui.headless import HeadlessRenderer

    made = []

    def make(s):
        r = HeadlessRenderer(s)
        made.append(r)
        r.draw()
        r.widget.grab()            # painting applies pending auto-ranges, as a saved snapshot does
        return r
    yield make
    for r in made:
        r.close()


def test_swgmm_snapshot_shows_the_runs_nll(renderer):
    s = session("swgmm", 30)
    r = renderer(s)
    x, y = r.view.nll_curve.getData()
    np.testing.assert_array_equal(x, np.arange(1, 31))                       # every step, not one frame
    np.testing.assert_allclose(y, s.history.column("nll"))
    (x0, x1), _ = r.view.nllp.getPlotItem().getViewBox().viewRange()
    assert 0 <= x0 <= 1 and 30 <= x1 < 40


def test_swgmm_nll_panel_at_step_zero_is_a_sensible_empty_plot(renderer):
    r = renderer(session("swgmm", 0))
    vb = r.view.nllp.getPlotItem().getViewBox()
    (x0, x1), _ = vb.viewRange()
    assert x0 >= 0 and x1 - x0 >= 10
    for side in ("bottom", "left"):
        assert "×" not in r.view.nllp.getAxis(side).labelString()        # no "step (×0.001)"


def test_sinkhorn_orders_points_along_the_main_axis():
    # two rows of points along x: the main axis is x, so the order is the points' own
    x = np.stack([np.arange(5.0), np.zeros(5)], 1)
    y = np.stack([np.arange(5.0)[::-1], np.ones(5)], 1)
    src, tgt, angle = display_order(x, y)
    assert angle == 0.0
    np.testing.assert_array_equal(src, np.arange(5))
    np.testing.assert_array_equal(tgt, np.arange(5)[::-1])


def band_width(P):
    """P-weighted mean distance of a cell from the diagonal, as a share of n: 1/3 for noise, ~0 for a band."""
    n, m = P.shape
    i, j = np.meshgrid(np.arange(n) / n, np.arange(m) / m, indexing="ij")
    return float((P * np.abs(i - j)).sum() / P.sum())


@pytest.mark.parametrize("config", [dict(dataset="gaussians", n_points=120), dict(dataset="moons")])
def test_sinkhorn_snapshot_c_and_p_in_display_order(config):
    s = session("sinkhorn", 0, **config)
    m = s.method
    snap = m.snapshot()
    src, tgt = snap.order_source, snap.order_target
    P0, C0 = m.result.plan.numpy(), m.result.cost_matrix.numpy()
    np.testing.assert_array_equal(snap.plan, P0[np.ix_(src, tgt)])
    np.testing.assert_array_equal(snap.cost_matrix, C0[np.ix_(src, tgt)])
    a = np.radians(snap.order_angle)
    d = np.array([np.cos(a), np.sin(a)])
    assert np.all(np.diff(snap.x[src] @ d) >= 0) and np.all(np.diff(snap.y[tgt] @ d) >= 0)
    # the structure shows: the plan is a band near the diagonal, in storage order it was not
    assert band_width(snap.plan) < 0.5 * band_width(P0)
    assert band_width(snap.plan) < 0.2


def test_sinkhorn_view_names_the_order_on_its_axes(renderer):
    r = renderer(session("sinkhorn", 0, dataset="moons"))
    angle = r.session.method.snapshot().order_angle
    label = f"sorted along {round(angle)}°".replace("-", "−")
    for plot in (r.view.cmat, r.view.pmat):
        assert label in plot.getAxis("bottom").labelString() and label in plot.getAxis("left").labelString()


def drawn_labels(axis):
    """The tick labels the axis draws now, as (rect, text), by pyqtgraph's own layout."""
    img = QtGui.QImage(800, 800, QtGui.QImage.Format.Format_ARGB32)
    painter = QtGui.QPainter(img)
    try:
        specs = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [(rect, text) for rect, _, text in specs[2]]


@pytest.mark.parametrize("errors", [np.array([1.1e-6, 1.6e-7]),            # a warm re-solve: < one decade
                                    np.geomspace(0.3, 1e-8, 30)])
def test_convergence_tick_labels_do_not_overlap(renderer, errors):
    r = renderer(session("sinkhorn", 0, dataset="moons"))
    snap = r.session.method.snapshot()
    snap = snap.replace(errors=errors, n_iter=len(errors) - 1)
    r.view.update_snapshot(snap)
    r.widget.grab()
    labels = drawn_labels(r.view.conv.getAxis("left"))
    assert len(labels) >= 2
    rects = sorted((rect for rect, _ in labels), key=lambda q: q.top())
    for a, b in zip(rects, rects[1:]):
        assert a.bottom() <= b.top() + 0.5, [t for _, t in labels]


@pytest.mark.parametrize("angle, text", [(-0.3, "0°"), (0.4, "0°"), (-12.6, "−13°"), (45.2, "45°")])
def test_sinkhorn_order_angle_reads_without_a_negative_zero(angle, text):
    from otviz.gui.sinkhorn_view import angle_label
    assert angle_label(angle) == text
