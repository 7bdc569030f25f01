"""Drive the SW-GMM tab with pytest-qt: play, the seed's lessons by button mid-run, axis switch, lr typed, close."""
import numpy as np
import pytest

pytest.importorskip("pytestqt")

import conftest  # noqa: E402


@pytest.fixture
def window(open_window):
    return open_window("swgmm", size=(1400, 850))


def n_points(item) -> int:
    x = item.getData()[0]
    return 0 if x is None else len(x)


def wait_step(qtbot, tab, n, timeout=20_000):
    conftest.wait_step(qtbot, tab, n, timeout)


def test_lessons_mid_run_axis_and_lr(qtbot, window):
    tab = window.tab_by_name["swgmm"]
    view = tab.view
    qtbot.waitUntil(lambda: tab.last_frame is not None, timeout=10_000)
    snap = tab.last_frame["snap"]
    assert snap["points"].shape == (272, 2)
    xs, ys = view.ell.getData()
    assert np.isfinite(xs).sum() == 5 * 64                    # five 1-σ ellipses in one item
    tab.controls.play.click()
    wait_step(qtbot, tab, 3)
    assert n_points(view.dir_random) == 2 * 5         # five random direction lines
    # Lesson 1 by its button: no random directions, the x axis fixed.
    view.lesson_buttons[1].click()
    qtbot.waitUntil(lambda: tab.session.method.config.fixed_directions == "x"
                    and tab.session.method.config.directions == 0, timeout=5_000)
    assert tab.panel.rows["fixed_directions"].value == "x"     # the control panel follows the view
    at = tab.session.step_count
    wait_step(qtbot, tab, at + 3)
    s = tab.last_frame["snap"]
    assert s["directions"].shape == (1, 2) and np.allclose(s["directions"][0], [1, 0])
    assert n_points(view.dir_random) == 0 and n_points(view.dir_fixed) == 2
    assert any("fixed_directions=x" in t for _, t in tab.last_frame["events"])
    # Lesson 3: diagonals added.
    view.lesson_buttons[3].click()
    qtbot.waitUntil(lambda: tab.last_frame["snap"]["directions"].shape == (4, 2), timeout=5_000)
    # Views (b) and (c) along y.
    view.axis_box.setCurrentText("y")
    qtbot.waitUntil(lambda: tab.last_frame["snap"]["axis"] == "y", timeout=5_000)
    s = tab.last_frame["snap"]
    assert np.allclose(s["proj"], s["points"][:, 1])
    assert "along y" in view.cost.getPlotItem().titleLabel.text
    # A typed lr reaches the optimiser between two steps.
    row = tab.panel.rows["lr"]
    row.editor.setText("0.05")
    row.editor.editingFinished.emit()
    qtbot.waitUntil(lambda: tab.session.method.opt.param_groups[0]["lr"] == 0.05, timeout=5_000)
    # Typed angles in the view's box.
    view.fixed_box.setEditText("0, 30, 60")
    view.fixed_box.lineEdit().returnPressed.emit()
    qtbot.waitUntil(lambda: tab.last_frame["snap"]["directions"].shape == (3, 2), timeout=5_000)
    # Paused, the views catch up: stale axis views (kept within a time budget while playing) are refreshed.
    tab.controls.play.click()
    qtbot.waitUntil(lambda: not tab.worker.is_running, timeout=5_000)
    qtbot.waitUntil(lambda: tab.last_frame["snap"]["fresh"]
                    and tab.last_frame["snap"]["axis_step"] == tab.session.step_count, timeout=5_000)
    assert tab.session.method.view_budget == 0.05
    # The nll trace follows the frames and EM's line sits at its nll.
    x, y = view.nll_curve.getData()
    assert len(x) >= 3 and np.all(np.diff(x) > 0)
    assert view.em_line.value() == pytest.approx(tab.session.method.em_nll)
    window.close()
    assert not tab.worker.isRunning()


def test_bad_angles_are_refused_with_reason(qtbot, window):
    tab = window.tab_by_name["swgmm"]
    qtbot.waitUntil(lambda: tab.last_frame is not None, timeout=10_000)
    row = tab.panel.rows["fixed_directions"]
    row.editor.setText("x, north")
    row.editor.editingFinished.emit()
    qtbot.waitUntil(lambda: "north" in tab.panel.message.text() or tab.banner.isVisible(), timeout=5_000)
    assert tab.session.method.config.fixed_directions == "none"


def test_view_renders_the_seed_figure(qtbot, window, tmp_path):
    tab = window.tab_by_name["swgmm"]
    qtbot.waitUntil(lambda: tab.last_frame is not None, timeout=10_000)
    assert set(tab.view.plots()) == {"fit", "cost", "cdf", "nll"}
    img = tab.view.plots()["cdf"].grab().toImage()
    assert img.width() > 100 and img.height() > 100
    # The empirical CDF is a staircase with one step per point, reaching level 1.
    x, y = tab.view.ecdf.getData()
    assert len(x) == 2 * 272 and y.max() == pytest.approx(1.0)
