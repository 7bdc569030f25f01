"""A | B in a tab: two runs from the same data and seed, identical when nothing differs; B's changes
shown and overlaid; linked plots; both saved and reopened; Compare off keeps the chosen side."""
import numpy as np
import pytest

pytest.importorskip("pytestqt")


def both_step(qtbot, tab, n):
    for side in (tab, tab.twin):
        side.ensure_worker().send("step", n)
    target = (tab.step + n, tab.twin.step + n)
    qtbot.waitUntil(lambda: (tab.step, tab.twin.step) == target and not tab.running and not tab.twin.running,
                    timeout=60_000)


def columns(tab):
    h = tab.history
    return h.steps, {n: h.column(n) for n in h.names}


def test_compare_runs_two_sides_and_keeps_the_one_chosen(qtbot, open_window, tmp_path):
    win = open_window("sinkhorn")
    tab = win.tab_by_name["sinkhorn"]
    tab.compare_on()
    assert tab.comparing and tab.controls.compare.isChecked()
    # the field helper serves both runs: each side asks for its fields at half a single run's rate
    assert tab.field_interval() == tab.twin.field_interval() == 0.5
    both_step(qtbot, tab, 25)
    (sa, ca), (sb, cb) = columns(tab), columns(tab.twin)
    np.testing.assert_array_equal(sa, sb)                     # nothing changed: the same run twice
    for name in ca:
        np.testing.assert_array_equal(ca[name], cb[name])

    # B's data plane follows A's plot; matrices by index keep their own ranges
    assert tab._linked
    for link in tab._linked:
        va, vb = link.leader, link.follower
        assert va in [p.getPlotItem().getViewBox() for p in tab.view.plots().values() if hasattr(p, "getPlotItem")]
        assert vb in [p.getPlotItem().getViewBox() for p in tab.twin.view.plots().values() if hasattr(p, "getPlotItem")]
        va.setRange(xRange=(-3, 3), yRange=(-2, 2), padding=0)           # B follows a pan of A
        (x0, x1), (y0, y1) = vb.viewRange()
        assert x0 <= -3 + 1e-9 and x1 >= 3 - 1e-9 and y0 <= -2 + 1e-9 and y1 >= 2 - 1e-9

    tab.twin.set_params({"eps": 1.0})
    tab.reset()
    qtbot.waitUntil(lambda: tab.step == 0 and tab.twin.step == 0 and tab.twin.config.eps == 1.0, timeout=20_000)
    both_step(qtbot, tab, 20)
    assert tab.twin.config.eps == 1.0 and tab.config.eps == 0.1
    assert "eps=1" in tab.history_plot.overlay_label.text()
    xs, ys = tab.history_plot.overlay.getData()
    assert len(xs) == 20 and not np.allclose(ys, tab.history.column(tab.history_plot.choice.currentText()))

    # the history of both sides in one CSV, and both sessions saved
    csv = tmp_path / "ab.csv"
    tab.export_history(str(csv))
    qtbot.waitUntil(csv.exists, timeout=5_000)
    head = csv.read_text().splitlines()[0].split(",")
    assert "A.cost" in head and "B.cost" in head
    tab.save_session(str(tmp_path / "run.otviz"))
    qtbot.waitUntil(lambda: (tmp_path / "run.otviz").exists() and (tmp_path / "run-B.otviz").exists(),
                    timeout=20_000)

    # Compare off keeping B: B's run and worker become the tab's
    b_link, b_step = tab.twin.link, tab.twin.step
    tab.compare_off("B")
    assert not tab.comparing and tab.link is b_link and tab.config.eps == 1.0 and tab.step == b_step
    assert tab.field_interval() is None                      # one run again: fields at the usual rate
    assert tab.view.parent() is tab.view_host and not tab.controls.compare.isChecked()
    both = tab.history.column("cost")
    assert len(both) == 20

    # reopening A's file brings B back beside it
    win.open_session(str(tmp_path / "run.otviz"))
    qtbot.waitUntil(lambda: tab.comparing and tab.twin.last_frame is not None and tab.config.eps == 0.1
                    and tab.twin.config.eps == 1.0, timeout=30_000)


def test_two_views_side_by_side_fit_a_small_screen(qtbot, open_window):
    """A | B puts two views in the width of one: rows of controls wrap and titles give way, so the window
    never grows past a 1366-pixel screen and no plot is laid out wider than its widget."""
    names = ("swgmm", "wgan", "sinkhorn", "realnvp", "coulomb")
    win = open_window(*names, size=(1366, 768))
    for name in names:
        tab = win.tab_by_name[name]
        win.tabs.setCurrentWidget(tab)
        tab.compare_on()
        qtbot.wait(50)
        assert win.minimumSizeHint().width() <= 1366, name
        assert win.width() <= 1366, name
        split = tab._compare_widgets["split"]
        wa, wb = split.sizes()
        assert abs(wa - wb) <= 0.1 * (wa + wb), (name, wa, wb)       # half the width each
        for view in (tab.view, tab.twin.view):
            for plot in view.plots().values():
                if not hasattr(plot, "getPlotItem"):
                    continue                        # a panel of several plots (WGAN's divergences)
                item = plot.getPlotItem()
                # the plot's scene fits its widget: nothing of it is cut off on the right (a colour bar's
                # ticks may overhang a 115-pixel matrix plot by a few pixels; a long title cut 100 or more)
                assert item.geometry().width() <= plot.width() + 8, (name, item.titleLabel.text)
        tab.compare_off("A")


def test_compare_mid_run_begins_b_at_a_s_step_and_off_restores_the_panel(qtbot, open_window):
    """Compare turned on after A has run: A keeps its run, B begins as a copy of it at that step and,
    unchanged, goes on exactly as A. B's changes are marked on the history. Compare off, cancelled or
    not, leaves a tab with its whole panel and a Play button that tells the truth."""
    win = open_window("sinkhorn")
    tab = win.tab_by_name["sinkhorn"]
    tab.ensure_worker().send("step", 30)
    qtbot.waitUntil(lambda: tab.step == 30 and not tab.running, timeout=30_000)
    before = columns(tab)
    tab.compare_on()
    qtbot.waitUntil(lambda: tab.twin is not None and tab.twin.step == 30 and tab.twin.last_frame is not None,
                    timeout=30_000)
    assert tab.step == 30 and len(tab.history) == 30           # A's run is kept
    both_step(qtbot, tab, 10)
    (sa, ca), (sb, cb) = columns(tab), columns(tab.twin)
    np.testing.assert_array_equal(sa, np.arange(1, 41))
    np.testing.assert_array_equal(sa, sb)
    for name in ca:
        np.testing.assert_array_equal(ca[name], cb[name])      # the same run, past and present
        np.testing.assert_array_equal(ca[name][:30], before[1][name])

    tab.twin.set_params({"eps": 0.5})                          # a change on B only: marked as B's
    both_step(qtbot, tab, 5)
    assert tab.config.eps != 0.5 and tab.twin.config.eps == 0.5
    assert tab.history_plot.marker_text.toPlainText() == "B: eps=0.5"
    xs, _ = tab.history_plot.markers.getData()
    assert 40 <= xs[-1] <= 41

    # Compare off cancelled: both runs go on, the button stays on
    tab._ask_keep = lambda: None
    tab.controls.compare.click()
    assert tab.comparing and tab.controls.compare.isChecked()

    # keeping B while it trains: its panel, and a Play button that says it is running
    tab.play()
    qtbot.waitUntil(lambda: tab.running and tab.twin.running, timeout=10_000)
    tab.compare_off("B")
    assert tab.panel.isVisibleTo(tab) and "eps" in tab.panel.rows
    assert tab.panel.rows["eps"].isVisibleTo(tab)
    assert tab.controls.play.isChecked() and "Pause" in tab.controls.play.text()
    tab.pause()
    qtbot.waitUntil(lambda: not tab.running, timeout=10_000)
    assert "Play" in tab.controls.play.text()

    # and on again from this run, then off keeping A: the panel is back too
    tab.compare_on()
    qtbot.waitUntil(lambda: tab.twin is not None and tab.twin.step == tab.step, timeout=30_000)
    tab.compare_off("A")
    assert tab.panel.isVisibleTo(tab) and tab.panel.rows["eps"].isVisibleTo(tab)
    assert tab.config.eps == 0.5


def test_a_views_numbers_wrap_in_a_narrow_plot_and_not_in_a_wide_one(qtbot):
    """In A | B a plot is half as wide: its line of numbers goes on more lines instead of being cut."""
    import pyqtgraph as pg

    from otviz.gui.view_base import CornerText

    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    plot.resize(220, 200)
    plot.show()
    vb = plot.getPlotItem().getViewBox()
    text = CornerText(vb)
    line = "step 123   modes 20/25 (80%)   high quality 2.6%   ε = 2.95"
    text.setText(line)
    qtbot.waitUntil(lambda: 0 < vb.width() < 220, timeout=2000)
    narrow = text.textItem.boundingRect()
    assert narrow.width() <= vb.width() and text.textItem.toPlainText() == line     # all of it
    plot.resize(1200, 200)
    qtbot.waitUntil(lambda: vb.width() > 800, timeout=2000)
    wide = text.textItem.boundingRect()
    assert wide.width() < vb.width() - 100 and wide.height() < narrow.height()       # one line, no wider
    assert text.pos().y() == pytest.approx(vb.height() - 4)                          # still in its corner


def test_a_problem_naming_no_control_is_told_once_where_it_can_be_seen(qtbot, open_window):
    """Above the views for the tab's own run; at the top of B's panel for side B, whose banner is never
    shown; never in both places."""
    win = open_window("sinkhorn")
    tab = win.tab_by_name["sinkhorn"]
    problem = "the pictures could not be computed: out of memory"
    tab.show_error(problem)
    assert tab.banner.isVisible() and tab.banner.text() == problem
    assert not tab.panel.message.isVisible()
    tab.banner.hide()
    tab.compare_on()
    twin = tab.twin
    twin.show_error(problem)
    assert twin.panel.message.isVisible() and twin.panel.message.text() == problem
    assert not tab.banner.isVisible()
    # a ⟲ change staged on B shows B's Apply box; the A page shows A's bar instead
    twin.panel._on_commit("n_points", 60)
    assert twin.panel.staged_box.isVisible() and twin.panel.apply_button.isEnabled()
    panels = tab._compare_widgets["panels"]
    panels.setCurrentIndex(0)
    assert not twin.panel.top_bar.isVisible() and tab.panel.top_bar.isVisible()
    panels.setCurrentIndex(1)
    tab.compare_off("A")
    assert tab.panel.top_bar.isVisible() and twin.panel.top_bar.parentWidget() is twin


def test_sinkhorn_stacks_its_plots_in_a_half_and_spreads_them_again_alone(qtbot, open_window):
    """Three columns in half of A | B left the matrices a sliver each, their titles cut off."""
    win = open_window("sinkhorn", size=(1400, 900))
    tab = win.tab_by_name["sinkhorn"]
    qtbot.waitUntil(lambda: tab.view is not None and tab.view.width() > 0, timeout=10_000)

    def places(view):
        g = view.grid
        return {name: g.getItemPosition(g.indexOf(getattr(view, name))) for name in ("clouds", "cmat", "pmat")}
    assert places(tab.view) == {"clouds": (0, 0, 2, 1), "cmat": (0, 1, 1, 1), "pmat": (0, 2, 1, 1)}
    tab.compare_on()
    narrow = {"clouds": (0, 0, 1, 2), "cmat": (1, 0, 1, 1), "pmat": (1, 1, 1, 1)}
    # laid out once the window has handled the resizes (later on a busy machine)
    qtbot.waitUntil(lambda: all(places(v) == narrow for v in (tab.view, tab.twin.view)), timeout=5_000)
    qtbot.waitUntil(lambda: all(getattr(v, n).width() >= 180 for v in (tab.view, tab.twin.view)
                                for n in ("cmat", "pmat", "conv", "batch")), timeout=5_000)
    tab.compare_off("A")
    qtbot.waitUntil(lambda: places(tab.view)["clouds"] == (0, 0, 2, 1), timeout=5_000)


def test_the_two_workers_take_turns_on_the_window_s_core_while_both_train(qtbot, open_window, monkeypatch):
    """On two cores one side's worker shares the window's core and trained a fifth slower: while both
    train, the two swap every TURN_S; paused, or back to one run, every core is theirs again."""
    from otviz.gui import tab_compare

    turns, released = [], []
    monkeypatch.setattr(tab_compare, "share_window_core", lambda a, b: turns.append((a, b)) or True)
    monkeypatch.setattr(tab_compare, "release_cores", lambda *pids: released.append(pids))
    win = open_window("sinkhorn")
    tab = win.tab_by_name["sinkhorn"]
    tab.compare_on()
    tab.controls.play.click()
    qtbot.waitUntil(lambda: tab.running and tab.twin.running and len(turns) >= 2, timeout=60_000)
    pids = (tab.link.handle.pid, tab.twin.link.handle.pid)
    first, second = turns[-2:]
    assert sorted(first) == sorted(pids) and second == first[::-1]       # the sides swap at each turn
    assert not released

    tab.controls.play.click()                              # pause: each may use every core again
    qtbot.waitUntil(lambda: released == [pids], timeout=5_000)
    n = len(turns)
    qtbot.wait(int(2.5 * tab_compare.TURN_S * 1000))
    assert len(turns) == n and released == [pids]          # no turns while paused, and nothing to undo

    tab.controls.play.click()
    qtbot.waitUntil(lambda: len(turns) > n, timeout=5_000)
    tab.compare_off("A")
    assert released[-1] == pids


def test_while_both_train_the_history_is_drawn_once_for_the_two_sides_frames(qtbot, open_window):
    from PySide6 import QtCore

    class Paints(QtCore.QObject):
        n = 0

        def eventFilter(self, obj, event):
            if event.type() == QtCore.QEvent.Type.Paint:
                self.n += 1
            return False

    win = open_window("sinkhorn")
    tab = win.tab_by_name["sinkhorn"]
    tab.compare_on()
    tab.controls.play.click()
    qtbot.waitUntil(lambda: tab.running and tab.twin.running and tab.step > 5 and tab.twin.step > 5,
                    timeout=60_000)
    from otviz.gui.tab_compare import HISTORY_WAIT_S

    paints = Paints()
    tab.history_plot.plot.viewport().installEventFilter(paints)
    a0, b0 = tab._frame_times[-1], tab.twin._frame_times[-1]
    qtbot.wait(1500)
    a = [t for t in tab._frame_times if t > a0]
    b = [t for t in tab.twin._frame_times if t > b0]
    # B's frames that came long after A's last one draw the history themselves; the others leave it
    # to A's next frame (on a busy machine A's frames are sparse, and more of B's come late)
    late = sum(1 for t in b if t - max([x for x in tab._frame_times if x < t], default=-1.0) >= HISTORY_WAIT_S)
    assert len(a) > 10 and len(b) - late >= 5
    # about one paint per frame of A and per late frame of B, not one per frame of each side (the plot
    # also repaints now and then for itself: a new axis range)
    assert paints.n <= len(a) + len(b) - (len(b) - late) // 2, (paints.n, len(a), len(b), late)
    tab.controls.play.click()
    qtbot.waitUntil(lambda: not tab.running and not tab.twin.running, timeout=10_000)
    qtbot.wait(300)
    xs, _ = tab.history_plot.overlay.getData()
    y = tab.twin.history.column(tab.history_plot.choice.currentText())
    assert xs[-1] == tab.twin.history.steps[np.isfinite(y)][-1]     # B's last frame is drawn once both are paused


def test_b_s_frame_waits_for_a_s_only_while_a_s_frames_come(qtbot, open_window, monkeypatch):
    import time

    from otviz.gui import tab_compare

    win = open_window("sinkhorn")
    tab = win.tab_by_name["sinkhorn"]
    tab.compare_on()
    draws = []
    monkeypatch.setattr(tab.history_plot, "set_overlay", lambda h, e=(), draw=True: draws.append(draw))
    b = (np.arange(3.0), {"cost": np.ones(3)})
    tab.running = True
    tab._frame_times.append(time.perf_counter())                   # A drew just now
    tab._twin_drew(b, [])
    tab._frame_times.append(time.perf_counter() - 2 * tab_compare.HISTORY_WAIT_S)   # A's frames stopped
    tab._twin_drew(b, [])
    tab.running = False                                            # A paused
    tab._frame_times.append(time.perf_counter())
    tab._twin_drew(b, [])
    assert draws == [False, True, True]


def test_both_sides_draw_at_one_rate_set_by_the_mean_of_their_frames_costs(qtbot, open_window):
    """While both train, the side whose frames cost the GUI more is not drawn less often: both get the
    rate the mean cost allows, within the GUI's share for two runs; a side alone keeps its own."""
    import time

    from otviz.gui.method_tab import GUI_SHARE

    win = open_window("sinkhorn")
    tab = win.tab_by_name["sinkhorn"]
    tab.compare_on()
    twin = tab.twin
    caps = {}

    class Link:                                       # what a side's drawn frame tells its worker
        def __init__(self, side):
            self.side = side

        def frame_drawn(self, f):
            pass

        def send(self, kind, value):
            if kind == "max_fps":
                caps[self.side] = value

    def draw(side):
        side._drawn(Link(side), {"running": True}, time.perf_counter() - side._gui_cost)

    try:
        tab.running = twin.running = True
        tab._gui_cost, twin._gui_cost = 0.009, 0.027  # B's frames cost three times A's
        draw(tab)
        draw(twin)
        assert caps[tab] == pytest.approx(GUI_SHARE / 0.018, rel=0.05)
        assert caps[twin] == pytest.approx(caps[tab], rel=0.05)
        twin.running = False                          # B stopped: A draws at its own frames' rate
        tab._gui_cost = 0.009
        draw(tab)
        assert caps[tab] == pytest.approx(GUI_SHARE / 0.009, rel=0.05)
    finally:
        tab.running = twin.running = False
