"""Drive the RealNVP tab with pytest-qt: train live, the layer slider and direction, the morph, GIF, drawing."""
import dataclasses

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PIL import Image  # noqa: E402

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
    v = RealNVPView(RealNVPMethod)
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
        np.testing.assert_allclose(as_set(shown(view)), as_set(s["fwd_points"][k]), atol=1e-5)
        g = view.grid.getData()
        assert np.isnan(g[0]).sum() == 30                 # 30 grid lines, each ended by a NaN
    view.direction.setCurrentIndex(1)
    view.slider.setValue(0)
    np.testing.assert_allclose(as_set(shown(view)), as_set(s["base"]), atol=1e-6)
    view.slider.setValue(4)
    np.testing.assert_allclose(as_set(shown(view)), as_set(s["samples"]), atol=1e-6)
    assert "inverse" in view.layer_plot.getPlotItem().titleLabel.text


def test_morph_interpolates_and_plays_to_the_end(qtbot, view):
    s = view.snap
    view.t = 1.5
    view._draw_layers()
    mid = 0.5 * (s["fwd_points"][1] + s["fwd_points"][2])
    np.testing.assert_allclose(as_set(shown(view)), as_set(mid), atol=1e-5)
    view.slider.setValue(0)
    view.seconds_per_layer = 0.03
    view.play_button.click()
    assert view.timer.isActive()
    qtbot.waitUntil(lambda: not view.timer.isActive(), timeout=10_000)
    assert view.t == 4 and view.slider.value() == 4 and not view.play_button.isChecked()
    np.testing.assert_allclose(as_set(shown(view)), as_set(s["latent"]), atol=1e-5)


def test_gif_of_the_morph(tmp_path, view):
    path = tmp_path / "morph.gif"
    n = view.save_morph_gif(str(path), frames_per_layer=3, width=200)
    assert n == 13
    with Image.open(path) as im:
        assert im.n_frames == 13 and im.size[0] == 200
    assert view.t == 0.0                                   # the view is left as it was
    with pytest.raises(OSError):
        view.save_morph_gif(str(tmp_path / "missing" / "x.gif"), frames_per_layer=1)


def test_view_asks_for_a_budget_and_refreshes_stale_pictures(qtbot, view, trained):
    with qtbot.waitSignal(view.edit_requested, timeout=1_000) as sig:
        view.update_snapshot(trained.snapshot())           # no budget yet: the view asks for one
    assert sig.args == ["snapshot_budget", 0.1]
    trained.edit(*sig.args)
    trained.snapshot()
    trained._cache["cost_s"] = 1e9                         # as if the pictures were very expensive
    trained.step()
    stale = trained.snapshot()
    assert stale["flow_step"] != stale["step"]
    with qtbot.waitSignal(view.edit_requested, timeout=3_000) as sig:
        view.update_snapshot(stale)                        # frames stop: ask for fresh pictures
    assert sig.args == ["refresh", None]


def test_drawn_strokes_become_the_target(qtbot, view):
    view.draw_button.click()
    assert view.vb.drawing
    view.vb.drawn = [np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.5]])] * 5
    with qtbot.waitSignal(view.edit_requested, timeout=1_000) as sig:
        view._stroke()
    action, pts = sig.args
    assert action == "points" and pts.shape == (15, 2)
    assert view.drawn.isVisible() and len(view.drawn.data()) == 15
    view.draw_button.click()
    assert not view.vb.drawing and not view.drawn.isVisible()


def test_tab_trains_live_and_lr_change_is_marked(qtbot):
    win = MainWindow(methods=["realnvp"])
    qtbot.addWidget(win)
    win.show()
    tab = win.tab_by_name["realnvp"]
    try:
        qtbot.waitUntil(lambda: tab.last_frame is not None, timeout=10_000)
        tab.controls.play.click()
        qtbot.waitUntil(lambda: tab.session.step_count >= 12, timeout=30_000)
        tab.set_params({"lr": 5e-4})
        qtbot.waitUntil(lambda: any("lr=0.0005" in t for _, t in tab.last_frame["events"]), timeout=10_000)
        tab.controls.play.click()
        qtbot.waitUntil(lambda: not tab.worker.is_running, timeout=5_000)
        # once paused, the view's pictures catch up with the last step
        qtbot.waitUntil(lambda: tab.last_frame["snap"]["flow_step"] == tab.session.step_count, timeout=10_000)
        steps, cols = tab.last_frame["history"]
        assert np.isfinite(cols["nll"]).sum() >= 2            # the held-out nll arrives every 10 steps
        assert tab.view.snap["flow_step"] == tab.session.step_count
        assert tab.session.method.snapshot_budget == 0.1       # the view asked for its time budget
    finally:
        win.close()
    assert not tab.worker.isRunning()
