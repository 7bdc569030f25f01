"""Drive the window with pytest-qt: start, change eps mid-run, pause, reset, drag a point, close mid-run."""
import numpy as np
import pytest

pytest.importorskip("pytestqt")

import conftest  # noqa: E402


@pytest.fixture
def window(open_window):
    return open_window("sinkhorn")


def wait_step(qtbot, tab, n, timeout=20_000):
    conftest.wait_step(qtbot, tab, n, timeout)


def test_play_change_eps_pause_reset_close(qtbot, window):
    tab = window.tab_by_name["sinkhorn"]
    qtbot.waitUntil(lambda: tab.last_frame is not None, timeout=10_000)
    assert tab.last_frame["step"] == 0
    tab.controls.play.click()                                  # Play
    wait_step(qtbot, tab, 3)
    row = tab.panel.rows["eps"]
    row.editor.setText("0.5")
    row.editor.editingFinished.emit()                          # a user typing a new eps mid-run
    qtbot.waitUntil(lambda: tab.session.method.config.eps == 0.5, timeout=5_000)
    qtbot.waitUntil(lambda: any("eps=0.5" in t for _, t in tab.last_frame["events"]), timeout=5_000)
    assert tab.last_frame["snap"]["eps"] == 0.5                # the views show the new solve
    tab.controls.play.click()                                  # Pause
    qtbot.waitUntil(lambda: not tab.worker.is_running, timeout=5_000)
    qtbot.wait(200)
    paused_at = tab.session.step_count
    qtbot.wait(300)
    assert tab.session.step_count == paused_at                 # really paused
    assert paused_at >= 3
    h_steps = tab.last_frame["history"][0]
    assert len(h_steps) == paused_at and h_steps[-1] == paused_at
    tab.reset()
    qtbot.waitUntil(lambda: tab.session.step_count == 0 and tab.last_frame["step"] == 0, timeout=5_000)
    assert len(tab.last_frame["history"][0]) == 0
    tab.controls.play.click()                                  # play again, then close mid-run
    wait_step(qtbot, tab, 2)
    window.close()
    assert not tab.worker.isRunning()


def test_refused_value_says_why_and_keeps_value(qtbot, window):
    tab = window.tab_by_name["sinkhorn"]
    row = tab.panel.rows["eps"]
    row.editor.setText("-1")
    row.editor.editingFinished.emit()
    assert "eps" in tab.panel.message.text() and "at least" in tab.panel.message.text()
    assert row.editor.text() == "0.1"
    assert tab.session.method.config.eps == 0.1


def test_drag_point_resolves_warm(qtbot, window):
    tab = window.tab_by_name["sinkhorn"]
    qtbot.waitUntil(lambda: tab.last_frame is not None, timeout=10_000)
    before = tab.last_frame["snap"]["x"][0].copy()
    tab.view.edit_requested.emit("move_point", {"which": "source", "index": 0, "xy": (before[0] + 1.0, before[1])})
    qtbot.waitUntil(lambda: abs(tab.last_frame["snap"]["x"][0][0] - before[0] - 1.0) < 1e-9, timeout=5_000)
    snap = tab.last_frame["snap"]
    P = snap["plan"]
    n, m = P.shape
    np.testing.assert_allclose(P.sum(1), np.full(n, 1 / n), atol=1e-5)   # re-solved with the moved point
    tab.view.edit_requested.emit("add_point", {"which": "target", "xy": (0.0, 0.0)})
    qtbot.waitUntil(lambda: tab.last_frame["snap"]["plan"].shape == (n, m + 1), timeout=5_000)


def test_restart_param_waits_for_apply(qtbot, window):
    tab = window.tab_by_name["sinkhorn"]
    qtbot.waitUntil(lambda: tab.last_frame is not None, timeout=10_000)
    tab.panel.rows["dataset"].editor.setCurrentText("seed_rows")
    assert tab.panel.apply_button.isEnabled()
    assert tab.session.method.config.dataset == "moons"        # staged, not applied
    tab.panel.apply_button.click()
    qtbot.waitUntil(lambda: tab.last_frame["snap"]["x"].shape == (5, 2), timeout=5_000)
    assert abs(tab.last_frame["snap"]["batch"]["costs"][3] - 16.0) < 1e-2
