"""Drive the RealNVP tab with pytest-qt: train live, the layer slider and direction, the morph, GIF, drawing."""
import dataclasses

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PIL import Image  # noqa: E402

import conftest  # noqa: E402
from otviz.gui.main_window import MainWindow  # noqa: E402
from otviz.gui.realnvp_view import RealNVPView  # noqa: E402
from otviz.methods.realnvp import RealNVPConfig, RealNVPMethod  # noqa: E402


@pytest.fixture
def trained():
    m = RealNVPMethod(dataclasses.replace(RealNVPConfig(), hidden=32), seed=1)
    for _ in range(40):
        m.step()
    return m


@pytest.fixture
def view(qtbot, trained):
    v = RealNVPView(RealNVPMethod.info)
    qtbot.addWidget(v)
    v.resize(900, 700)
    v.show()
    v.update_snapshot(trained.snapshot())
    return v


def shown(v):
    """The points the layer plot draws now (both colour halves, in order of the snapshot's halves)."""
    return np.concatenate([v.layer_a.data(), v.layer_b.data()])


def as_set(a):
    return a[np.lexsort(a.T)]


def test_slider_and_direction_show_each_stage(view, trained):
    s = view.snap
    assert view.slider.maximum() == 4
    for k in range(5):
        view.slider.setValue(k)
        np.testing.assert_allclose(as_set(shown(view)), as_set(s.fwd_points[k]), atol=1e-5)
        g = view.grid.getData()
        np.testing.assert_array_equal(g[0], s.fwd_grid[k][:, 0])    # its lines, broken away from the points
    view.direction.setCurrentIndex(1)
    view.slider.setValue(0)
    np.testing.assert_allclose(as_set(shown(view)), as_set(s.base), atol=1e-6)
    view.slider.setValue(4)
    np.testing.assert_allclose(as_set(shown(view)), as_set(s.samples), atol=1e-6)
    assert "inverse" in view.layer_plot.getPlotItem().titleLabel.text


def test_morph_interpolates_and_plays_to_the_end(qtbot, view):
    s = view.snap
    view.t = 1.5
    view._draw_layers()
    mid = 0.5 * (s.fwd_points[1] + s.fwd_points[2])
    np.testing.assert_allclose(as_set(shown(view)), as_set(mid), atol=1e-5)
    view.slider.setValue(0)
    view.seconds_per_layer = 0.03
    view.play_button.click()
    assert view.timer.isActive()
    qtbot.waitUntil(lambda: not view.timer.isActive(), timeout=10_000)
    assert view.t == 4 and view.slider.value() == 4 and not view.play_button.isChecked()
    np.testing.assert_allclose(as_set(shown(view)), as_set(s.latent), atol=1e-5)


def test_gif_of_the_morph(tmp_path, view):
    path = tmp_path / "morph.gif"
    n = view.save_morph_gif(str(path), frames_per_layer=3, width=200)
    assert n == 13
    with Image.open(path) as im:
        assert im.n_frames == 13 and im.size[0] == 200
    assert view.t == 0.0                                   # the view is left as it was
    with pytest.raises(OSError):
        view.save_morph_gif(str(tmp_path / "missing" / "x.gif"), frames_per_layer=1)


def test_view_draws_new_fields_and_shows_their_age(view, trained):
    title = lambda: view.data_plot.getPlotItem().titleLabel.text      # noqa: E731
    assert "step" not in title()                           # fields of the frame's own step: no age shown
    old = view.snap
    trained.step()
    s = trained.snapshot(fields=False).replace(**old.fields_part())
    view.update_snapshot(s)                                # the same fields again: nothing is redrawn
    assert view.snap is old
    s = trained.snapshot(fields=False).replace(**trained.compute_fields())
    view.update_snapshot(s)
    assert view.snap is s and "step" not in title()
    trained.step()
    late = {**s.fields_part(), "fields_step": 40, "fwd_points": s.fwd_points.copy()}    # new fields of step 40, late
    s = trained.snapshot(fields=False).replace(**late)
    view.update_snapshot(s)
    assert "step 40" in title()


def _drag(widget, points):
    """A left-button drag through `points` (widget pixels), as the mouse sends it."""
    from PySide6 import QtCore, QtGui, QtWidgets

    T, B = QtCore.QEvent.Type, QtCore.Qt.MouseButton
    steps = [(T.MouseButtonPress, points[0], B.LeftButton, B.LeftButton)]
    steps += [(T.MouseMove, p, B.NoButton, B.LeftButton) for p in points[1:]]
    steps += [(T.MouseButtonRelease, points[-1], B.LeftButton, B.NoButton)]
    for kind, p, button, buttons in steps:
        pos = QtCore.QPointF(*p)
        ev = QtGui.QMouseEvent(kind, pos, widget.mapToGlobal(pos), button, buttons,
                               QtCore.Qt.KeyboardModifier.NoModifier)
        QtWidgets.QApplication.sendEvent(widget, ev)


def test_drawn_strokes_become_the_target(qtbot, view):
    vp = view.data_plot.viewport()
    stroke = [(100 + 6 * i, 150 + 2 * i) for i in range(40)]
    with qtbot.assertNotEmitted(view.edit_requested, wait=100):
        _drag(vp, stroke)                                  # not drawing: a drag pans the view
    view.draw_button.click()
    assert view.vb.drawing
    with qtbot.waitSignal(view.edit_requested, timeout=2_000) as sig:
        _drag(vp, stroke)
    action, pts = sig.args
    assert action == "points" and len(pts) >= 100         # ~2 points per 3 px along a 250 px stroke
    a = view.vb.mapSceneToView(view.data_plot.mapToScene(*stroke[0]))
    b = view.vb.mapSceneToView(view.data_plot.mapToScene(*stroke[-1]))
    assert min(a.x(), b.x()) - 0.2 < pts[:, 0].mean() < max(a.x(), b.x()) + 0.2
    assert view.drawn.isVisible() and len(view.drawn.data()) == len(pts)
    view.draw_button.click()
    assert not view.vb.drawing and not view.drawn.isVisible()


def test_tab_trains_live_and_lr_change_is_marked(qtbot):
    win = MainWindow(methods=["realnvp"])
    qtbot.addWidget(win)
    win.show()
    tab = win.tab_by_name["realnvp"]
    link = None
    try:
        conftest.wait_first_frame(qtbot, tab)                 # the preview, before any worker
        assert tab.view.snap is not None and tab.view.snap.fields_step == 0
        tab.controls.play.click()
        conftest.wait_step(qtbot, tab, 12, timeout=60_000)
        link = tab.link
        # while training, the layer pictures (computed apart from the training) follow it
        qtbot.waitUntil(lambda: tab.last_frame["running"] and tab.view.snap.fields_step > 0, timeout=20_000)
        tab.set_params({"lr": 5e-4})
        qtbot.waitUntil(lambda: tab.config.lr == 5e-4, timeout=10_000)
        qtbot.waitUntil(lambda: any("lr=0.0005" in t for _, t in tab.history.events), timeout=10_000)
        tab.controls.play.click()
        # once paused, the view's pictures catch up with the last step
        conftest.wait_paused(qtbot, tab)
        assert tab.last_frame["snap"].fields_step == tab.step >= 12
        nll = tab.history.column("nll")
        assert np.isfinite(nll).sum() >= 2                    # the held-out nll arrives every 10 steps
        assert len(tab.history) == tab.step                   # the GUI's copy has every step's row
        assert tab.view.snap.fields_step == tab.step
    finally:
        win.close()
    assert link is not None
    conftest.wait_closed(qtbot, link, timeout=3_000)


def test_layer_view_follows_stages_that_outgrow_it(view):
    s = view.snap
    s = s.replace(fwd_points=s.fwd_points * 10, fwd_grid=s.fwd_grid * 10)    # training spread the stages wider
    view.update_snapshot(s)
    (x0, x1), (y0, y1) = view.layer_plot.getPlotItem().vb.viewRange()
    lo, hi = np.percentile(s.fwd_points.reshape(-1, 2), [1, 99], axis=0)
    assert x0 <= lo[0] and hi[0] <= x1 and y0 <= lo[1] and hi[1] <= y1
    before = (x0, x1, y0, y1)
    view.update_snapshot(s.replace(fwd_points=s.fwd_points * 1.01))    # a small change keeps the view
    (x0, x1), (y0, y1) = view.layer_plot.getPlotItem().vb.viewRange()
    assert (x0, x1, y0, y1) == before
