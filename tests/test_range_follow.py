"""Aspect-locked plots that show the same plane (a heatmap beside the points, side B beside side A):
the follower shows the leader's ranges, a pan by hand on either moves both, and the plane never widens
without end while training draws frames."""
import numpy as np
import pytest

pytest.importorskip("pytestqt")

from otviz.gui.view_base import RangeFollower, make_plot  # noqa: E402


def test_the_follower_shows_the_leaders_plane_and_a_pan_by_hand_moves_both(qtbot):
    plots = []
    for w, h in ((200, 470), (160, 470)):                 # the follower narrower, as beside a colour bar
        p = make_plot("plane")
        qtbot.addWidget(p)
        p.resize(w, h)
        p.show()
        plots.append(p)
    qtbot.wait(20)
    lead, follow = (p.getPlotItem().getViewBox() for p in plots)
    link = RangeFollower(lead, follow)
    lead.setRange(xRange=(-3, 3), yRange=(-2, 2), padding=0)
    (x0, x1), (y0, y1) = follow.viewRange()
    (lx0, lx1), (ly0, ly1) = lead.viewRange()
    assert x0 <= lx0 + 1e-9 and x1 >= lx1 - 1e-9 and y0 <= ly0 + 1e-9 and y1 >= ly1 - 1e-9
    assert (x1 - x0) / (y1 - y0) == pytest.approx(follow.width() / follow.height(), rel=0.02)  # its own aspect

    follow.setRange(xRange=(10, 12), yRange=(10, 12), padding=0)
    follow.sigRangeChangedManually.emit([True, True])      # as a drag with the mouse does
    (lx0, lx1), _ = lead.viewRange()
    assert lx0 <= 10 + 1e-9 and lx1 >= 12 - 1e-9

    link.unlink()
    before = follow.viewRange()
    lead.setRange(xRange=(50, 60), yRange=(50, 60), padding=0)
    assert follow.viewRange() == before


def test_coulomb_a_b_keeps_its_plane_while_both_sides_train(qtbot, open_window):
    """Four locked plots showing one plane (points and potential, A and B): linked both ways, their
    ranges grew at every frame (±140 to ±16,000 in six seconds of training)."""
    win = open_window("coulomb", size=(1400, 900))
    tab = win.tab_by_name["coulomb"]
    tab.compare_on()
    tab.controls.play.click()
    qtbot.waitUntil(lambda: tab.step > 100 and tab.twin.step > 100, timeout=60_000)
    qtbot.wait(3000)                                    # frames drawn on both sides meanwhile
    tab.controls.play.click()
    qtbot.waitUntil(lambda: not tab.running and not tab.twin.running, timeout=10_000)
    extent = float(np.abs(tab.last_frame["snap"].centers).max())     # the grid of true centres
    for view in (tab.view, tab.twin.view):
        for plot in view.plots().values():
            (x0, x1), (y0, y1) = plot.getPlotItem().getViewBox().viewRange()
            assert max(abs(x0), abs(x1), abs(y0), abs(y1)) < 20 * extent
