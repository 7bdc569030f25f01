"""Drive the window with pytest-qt: start, change eps mid-run, pause, reset, drag a point, close mid-run."""
import numpy as np
import pytest

pytest.importorskip("pytestqt")

import conftest  # noqa: E402


@pytest.fixture
def window(open_window):
    return open_window("sinkhorn")


def wait_step(qtbot, tab, n, timeout=60_000):
    conftest.wait_step(qtbot, tab, n, timeout)


def test_play_change_eps_pause_reset_close(qtbot, window):
    tab = window.tab_by_name["sinkhorn"]
    conftest.wait_first_frame(qtbot, tab)                      # the preview of the initial state
    assert tab.last_frame["step"] == 0 and tab.link is None
    tab.controls.play.click()                                  # Play
    wait_step(qtbot, tab, 3)
    assert tab.running and tab.controls.play.isChecked()
    row = tab.panel.rows["eps"]
    row.editor.setText("0.5")
    row.editor.editingFinished.emit()                          # a user typing a new eps mid-run
    qtbot.waitUntil(lambda: tab.config.eps == 0.5, timeout=5_000)      # the worker's config says so
    qtbot.waitUntil(lambda: any("eps=0.5" in t for _, t in tab.history.events), timeout=5_000)
    qtbot.waitUntil(lambda: tab.last_frame["snap"].eps == 0.5, timeout=5_000)   # the views show the new solve
    tab.controls.play.click()                                  # Pause
    conftest.wait_paused(qtbot, tab)
    assert not tab.controls.play.isChecked()
    paused_at = tab.step
    frame = tab.last_frame
    qtbot.wait(500)
    assert tab.step == paused_at and tab.last_frame is frame    # really paused: no new step, no new frame
    assert paused_at >= 3
    h_steps = tab.history.steps                                 # the GUI's copy: every step up to the pause
    assert len(h_steps) == paused_at and h_steps[-1] == paused_at
    assert np.array_equal(h_steps, np.arange(1, paused_at + 1))
    tab.reset()
    qtbot.waitUntil(lambda: tab.step == 0 and tab.last_frame["step"] == 0 and len(tab.history) == 0,
                    timeout=5_000)
    assert tab.history.events == []
    tab.controls.play.click()                                  # play again, then close mid-run
    wait_step(qtbot, tab, 2)
    link = tab.link
    window.close()
    conftest.wait_closed(qtbot, link, timeout=3_000)


def test_refused_value_says_why_and_keeps_value(qtbot, window):
    tab = window.tab_by_name["sinkhorn"]
    row = tab.panel.rows["eps"]
    row.editor.setText("-1")
    row.editor.editingFinished.emit()
    assert "eps" in tab.panel.message.text() and "at least" in tab.panel.message.text()
    assert row.editor.text() == "0.1"
    assert tab.config.eps == 0.1
    assert tab.link is None                                    # refused in the panel: nothing was sent


def test_drag_point_resolves_warm(qtbot, window):
    tab = window.tab_by_name["sinkhorn"]
    conftest.wait_first_frame(qtbot, tab)
    before = tab.last_frame["snap"].x[0].copy()
    tab.view.edit_requested.emit("move_point", {"which": "source", "index": 0, "xy": (before[0] + 1.0, before[1])})
    qtbot.waitUntil(lambda: abs(tab.last_frame["snap"].x[0][0] - before[0] - 1.0) < 1e-9, timeout=5_000)
    snap = tab.last_frame["snap"]
    P = snap.plan
    n, m = P.shape
    np.testing.assert_allclose(P.sum(1), np.full(n, 1 / n), atol=1e-5)   # re-solved with the moved point
    tab.view.edit_requested.emit("add_point", {"which": "target", "xy": (0.0, 0.0)})
    qtbot.waitUntil(lambda: tab.last_frame["snap"].plan.shape == (n, m + 1), timeout=5_000)


def test_restart_param_waits_for_apply(qtbot, window):
    tab = window.tab_by_name["sinkhorn"]
    conftest.wait_first_frame(qtbot, tab)
    tab.panel.rows["dataset"].editor.setCurrentText("seed_rows")
    assert tab.panel.apply_button.isEnabled()
    assert tab.link is None and tab.config.dataset == "two_moons"  # staged, not applied
    tab.panel.apply_button.click()
    qtbot.waitUntil(lambda: tab.last_frame["snap"].x.shape == (5, 2), timeout=60_000)
    assert tab.config.dataset == "seed_rows" and tab.step == 0
    assert abs(tab.last_frame["snap"].batch["costs"][3] - 16.0) < 1e-2
