"""The views tell the method what the heatmap's plot shows (a "view_rect" edit) once it is laid out
and once per settled pan or zoom; the image lies where its field was computed; the tab holds the
rectangle for its worker and its preview; the CLI's snapshot covers the plot too."""
import pytest

pytest.importorskip("pytestqt")

import conftest  # noqa: E402
from test_heatmap_extent import METHODS, RES, assert_covers, trained  # noqa: E402
from otviz.gui.coulomb_view import CoulombView  # noqa: E402
from otviz.gui.view_base import VIEW_RECT_DELAY_MS  # noqa: E402
from otviz.gui.wgan_view import WGANView  # noqa: E402
from otviz.methods.coulomb import CoulombMethod  # noqa: E402
from otviz.methods.wgan import WGANMethod  # noqa: E402

VIEWS = {"wgan": (WGANView, WGANMethod.info, "critic", "samples"),
         "coulomb": (CoulombView, CoulombMethod.info, "potential", "samples")}


def shown_view(qtbot, name):
    cls, info, heat_plot, other = VIEWS[name]
    v = cls(info)
    qtbot.addWidget(v)
    edits = []
    v.edit_requested.connect(lambda action, payload: edits.append((action, payload)))
    v.resize(1000, 500)
    v.show()
    qtbot.waitExposed(v)
    return v, edits, getattr(v, heat_plot), getattr(v, other)


def visible(plot):
    r = plot.getPlotItem().getViewBox().viewRect()
    return (r.x(), r.y(), r.width(), r.height())


def pan(plot, x, y):
    """A pan or zoom by hand on the plot (a mouse drag ends in sigRangeChangedManually)."""
    vb = plot.getPlotItem().getViewBox()
    vb.setRange(xRange=x, yRange=y, padding=0)
    vb.sigRangeChangedManually.emit([True, True])


def settle(qtbot):
    qtbot.wait(3 * VIEW_RECT_DELAY_MS)


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_view_says_what_its_heatmap_plot_shows_once_laid_out_and_once_per_change(qtbot, name):
    v, edits, plot, other = shown_view(qtbot, name)
    qtbot.waitUntil(lambda: len(edits) >= 1, timeout=5_000)
    settle(qtbot)
    assert edits == [("view_rect", visible(plot))]             # laid out: told once
    assert v.view_edits == {"view_rect": visible(plot)}
    edits.clear()

    pan(plot, (-3.0, 1.0), (-1.0, 2.0))
    assert edits == []                                         # not before the change has settled
    settle(qtbot)
    assert len(edits) == 1
    action, (x0, y0, w, h) = edits[0]
    assert action == "view_rect" and (x0, y0, w, h) == visible(plot)
    # the range set (widened by the locked aspect, and by the linked plot's own)
    assert x0 <= -3.0 + 1e-9 and x0 + w >= 1.0 - 1e-9 and y0 <= -1.0 + 1e-9 and y0 + h >= 2.0 - 1e-9
    assert w < 8 and h < 8
    edits.clear()

    # a wheel turn over the linked points plot: many small zooms, both axes followed by the link
    vb = other.getPlotItem().getViewBox()
    for _ in range(6):
        vb.scaleBy((1.1, 1.1))
        qtbot.wait(10)
    settle(qtbot)
    assert edits == [("view_rect", visible(plot))] and visible(plot)[2] > w * 1.5
    edits.clear()
    pan(plot, (-3.0, 1.0), (-1.0, 2.0))
    pan(plot, (-3.0, 1.0), (-1.0, 2.0))
    settle(qtbot)
    assert edits == [("view_rect", visible(plot))]             # back where it was: told again, once
    edits.clear()
    vb = plot.getPlotItem().getViewBox()
    vb.sigRangeChanged.emit(vb, vb.viewRange(), [True, True])
    settle(qtbot)
    assert edits == []                                         # nothing moved: nothing to say


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_heatmap_image_lies_where_its_field_was_computed(qtbot, name):
    v, edits, plot, _ = shown_view(qtbot, name)
    settle(qtbot)
    _, key, rect_key = METHODS[name]
    m = trained(name, 1)
    m.edit("view_rect", edits[-1][1])
    snap = m.snapshot()
    v.update_snapshot(snap)
    heat = v.heat
    r = heat.mapRectToParent(heat.boundingRect())
    assert (r.x(), r.y(), r.width(), r.height()) == pytest.approx(getattr(snap, rect_key))
    assert heat.image.shape == getattr(snap, key).shape
    # a pan: until the field for the new view comes, the old image stays where it was computed
    plot.setRange(xRange=(5.0, 9.0), yRange=(5.0, 8.0), padding=0)
    settle(qtbot)
    v.update_snapshot(m.snapshot(fields=False).replace(**snap.fields_part()))
    r = heat.mapRectToParent(heat.boundingRect())
    assert (r.x(), r.y(), r.width(), r.height()) == pytest.approx(getattr(snap, rect_key))


def test_headless_snapshot_covers_the_plot(tmp_path):
    from otviz.gui.headless import HeadlessRenderer
    from otviz.session.session import Session

    s = Session(trained("coulomb", 1))
    r = HeadlessRenderer(s)
    try:
        r.draw()
        f = s.method.compute_fields()
        assert_covers(f["potential_rect"], f["potential"].shape, visible(r.view.potential), RES)
    finally:
        r.close()


def test_tab_holds_the_view_for_its_worker_and_redraws_its_preview(qtbot, open_window):
    win = open_window("wgan")
    tab = win.tab_by_name["wgan"]
    plot = tab.view.critic

    def covered(frame_ok=lambda f: True):
        f, view = tab.last_frame, tab.view.view_edits.get("view_rect")
        if f is None or view is None or not frame_ok(f) or f["snap"].field_rect is None:
            return False
        fx, fy, fw, fh = f["snap"].field_rect
        x0, y0, w, h = visible(plot)
        return view == visible(plot) and fx <= x0 and fy <= y0 and fx + fw >= x0 + w and fy + fh >= y0 + h

    # before Play: the preview is drawn over what the plot shows, and no worker is taken for it
    qtbot.waitUntil(lambda: covered(lambda f: f.get("preview")), timeout=conftest.FIRST_FRAME_MS)
    assert tab.link is None
    tab.set_params({"width": 16, "batch_size": 32})
    tab.controls.play.click()
    conftest.wait_step(qtbot, tab, 3, timeout=60_000)
    tab.controls.play.click()
    conftest.wait_paused(qtbot, tab)
    assert covered()                                           # the worker was told the view
    plot.getPlotItem().getViewBox().scaleBy((3.0, 3.0))        # zoomed out, paused
    qtbot.waitUntil(lambda: covered(lambda f: not f["running"]), timeout=10_000)
