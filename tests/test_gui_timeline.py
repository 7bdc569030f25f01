"""The timeline in the window: scrub back through the frames drawn, fork from one with a changed knob,
switch branches, and a fork with nothing changed that repeats the run exactly (the GUI's path:
tab → worker process → Session.fork)."""
import numpy as np
import pytest

pytest.importorskip("pytestqt")


def history_of(tab):
    h = tab.history
    return h.steps, {n: h.column(n) for n in h.names}


def steps(qtbot, tab, n, until):
    tab.ensure_worker().send("step", n)
    qtbot.waitUntil(lambda: tab.step == until and not tab.running and tab.last_frame["step"] == until,
                    timeout=60_000)


def test_scrub_fork_switch_and_an_exact_fork(qtbot, open_window, tmp_path):
    win = open_window("sinkhorn")
    tab = win.tab_by_name["sinkhorn"]
    steps(qtbot, tab, 60, 60)
    qtbot.waitUntil(lambda: len(tab.frames) >= 4 and tab.frames.steps[-1] == 60, timeout=10_000)
    original_steps, original = history_of(tab)
    assert original_steps[-1] == 60

    # scrubbing shows a stored frame as it was drawn, and marks its step in the history
    shown = []
    real_update = tab.view.update_snapshot
    tab.view.update_snapshot = lambda snap: (shown.append(snap), real_update(snap))
    index = len(tab.frames) // 2
    tab.scrub_to(index)
    stored = tab.frames.frames[index]
    assert 0 < stored.step < 60
    assert shown[-1] is stored.snap and tab.scrub == index
    assert tab.history_plot.cursor.isVisible() and tab.history_plot.cursor.value() == stored.step
    assert tab.timeline.fork.isEnabled()

    # a knob turned while the past is on screen waits for the fork
    tab.send_params({"eps": 0.05})
    assert tab._held == {"eps": 0.05}
    fork_step = stored.step
    tab.continue_from_here()
    qtbot.waitUntil(lambda: tab.branch != 0 and tab.step == fork_step, timeout=20_000)
    assert tab.timeline.branches.count() == 2 and tab.config.eps == 0.05
    assert len(tab.history_plot._ghosts) == 1                     # the branch left behind, faint
    np.testing.assert_array_equal(tab.history_plot._ghosts[0][0], original_steps)
    steps(qtbot, tab, 5, fork_step + 5)
    s, cols = history_of(tab)
    keep = original_steps <= fork_step
    np.testing.assert_array_equal(s[:keep.sum()], original_steps[keep])      # the past is the parent's
    for name, col in cols.items():
        np.testing.assert_array_equal(col[:keep.sum()], original[name][keep])
    assert any("eps=0.05" in text for _, text in tab.history.events)
    assert tab.frames.steps[-1] == fork_step + 5 and max(tab.frames.steps) == fork_step + 5

    # back to the first branch: its run, its history
    tab.switch_branch(0)
    qtbot.waitUntil(lambda: tab.branch == 0 and tab.step == 60, timeout=20_000)
    assert tab.config.eps == 0.1
    s, cols = history_of(tab)
    np.testing.assert_array_equal(s, original_steps)
    for name in cols:
        np.testing.assert_array_equal(cols[name], original[name])

    # a fork with nothing changed repeats the run bit for bit
    tab.scrub_to(1)
    k = tab.frames.frames[1].step
    tab.continue_from_here()
    qtbot.waitUntil(lambda: tab.branch not in (0, 1) and tab.step == k, timeout=20_000)
    steps(qtbot, tab, 60 - k, 60)
    s, cols = history_of(tab)
    np.testing.assert_array_equal(s, original_steps)
    for name in cols:
        np.testing.assert_array_equal(cols[name], original[name])
    assert tab.timeline.branches.count() == 3

    # the past as an animation: one picture per stored frame, the screen as it was left
    before = tab.last_frame["snap"]
    n = tab.record_past(str(tmp_path / "past.gif"), fps=10)
    assert n == len(tab.frames)
    from PIL import Image
    with Image.open(tmp_path / "past.gif") as im:
        assert im.n_frames >= n - 1          # (a GIF may merge two identical pictures)
        first = np.asarray(im.convert("RGB"))
        im.seek(im.n_frames - 1)
        last = np.asarray(im.convert("RGB"))
    assert not np.array_equal(first, last)
    assert shown[-1] is before and not tab.history_plot.cursor.isVisible()
