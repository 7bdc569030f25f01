"""Drive the SW-GMM tab with pytest-qt: play, the three lessons by button mid-run, axis switch, lr typed, close."""
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


def wait_step(qtbot, tab, n, timeout=60_000):
    conftest.wait_step(qtbot, tab, n, timeout)


def test_lessons_mid_run_axis_and_lr(qtbot, window):
    tab = window.tab_by_name["swgmm"]
    view = tab.view
    conftest.wait_first_frame(qtbot, tab)
    snap = tab.last_frame["snap"]
    assert snap.points.shape == (272, 2)
    xs, ys = view.ell.getData()
    assert np.isfinite(xs).sum() == 5 * 64                    # five 1-σ ellipses in one item
    tab.controls.play.click()
    wait_step(qtbot, tab, 3)
    assert n_points(view.dir_random) == 2 * 5         # five random direction lines
    # Lesson 1 by its button: no random directions, the x axis fixed, and the fit starts over to be
    # watched from its beginning (paused first, so that the restart is seen at step 0).
    tab.controls.play.click()
    conftest.wait_paused(qtbot, tab)
    assert tab.step >= 3
    view.lesson_buttons[1].click()
    qtbot.waitUntil(lambda: tab.config.fixed_directions == "x" and tab.config.directions == 0
                    and tab.step == 0 and len(tab.history) == 0, timeout=5_000)
    assert tab.panel.rows["fixed_directions"].value == "x"     # the control panel follows the view
    assert tab.panel.rows["directions"].value == 0
    tab.controls.play.click()
    wait_step(qtbot, tab, 3)
    s = tab.last_frame["snap"]
    assert s.directions.shape == (1, 2) and np.allclose(s.directions[0], [1, 0])
    assert n_points(view.dir_random) == 0 and n_points(view.dir_fixed) == 2
    assert tab.history.steps[0] == 1                           # the history is the new run's
    # Lesson 3: diagonals added.
    view.lesson_buttons[3].click()
    qtbot.waitUntil(lambda: tab.last_frame["snap"].directions.shape == (4, 2), timeout=5_000)
    # Views (b) and (c) along y.
    view.axis_box.setCurrentText("y")
    qtbot.waitUntil(lambda: tab.last_frame["snap"].proj_axis == "y", timeout=5_000)
    s = tab.last_frame["snap"]
    assert np.allclose(s.proj, s.points[:, 1])
    assert "along y" in view.cost.getPlotItem().titleLabel.text
    # A typed lr reaches the optimiser between two steps.
    row = tab.panel.rows["lr"]
    row.editor.setText("0.05")
    row.editor.editingFinished.emit()
    qtbot.waitUntil(lambda: tab.config.lr == 0.05 and any("lr=0.05" in t for _, t in tab.history.events),
                    timeout=5_000)
    # Typed angles in the view's box.
    view.fixed_box.setEditText("0, 30, 60")
    view.fixed_box.lineEdit().returnPressed.emit()
    qtbot.waitUntil(lambda: tab.last_frame["snap"].directions.shape == (3, 2), timeout=5_000)
    # Paused, the views catch up: the axis views (fields, computed apart while playing) reach the last step.
    tab.controls.play.click()
    conftest.wait_paused(qtbot, tab)
    s = tab.last_frame["snap"]
    assert s.fields_step == s.step == tab.step
    assert np.allclose(s.proj, s.points[:, 1])           # the paused frame's fields: along y, this step
    # The nll trace follows the frames and EM's line sits at its nll.
    x, y = view.nll_curve.getData()
    assert len(x) >= 3 and np.all(np.diff(x) > 0)
    assert view.em_line.value() == pytest.approx(tab.history.column("em_nll")[-1])
    link = tab.link
    window.close()
    conftest.wait_closed(qtbot, link, timeout=3_000)


def test_bad_angles_are_refused_with_reason(qtbot, window):
    tab = window.tab_by_name["swgmm"]
    conftest.wait_first_frame(qtbot, tab)
    row = tab.panel.rows["fixed_directions"]
    row.editor.setText("x, north")
    row.editor.editingFinished.emit()
    qtbot.waitUntil(lambda: "not an angle" in tab.panel.message.text(), timeout=60_000)
    # said at the control it names, not again above the views
    assert tab.panel.row_errors["fixed_directions"].isVisible() and not tab.banner.isVisible()
    # the worker refused it and resent the config in force: the panel shows it again
    qtbot.waitUntil(lambda: tab.link is not None and tab.last_frame is not None and "config" in tab.last_frame,
                    timeout=10_000)
    assert tab.config.fixed_directions == "none"
    assert row.value == "none" and row.editor.text() == "none"


def test_view_renders_the_seed_figure(qtbot, window, tmp_path):
    tab = window.tab_by_name["swgmm"]
    conftest.wait_first_frame(qtbot, tab)
    assert set(tab.view.plots()) == {"fit", "cost", "cdf", "nll"}
    img = tab.view.plots()["cdf"].grab().toImage()
    assert img.width() > 100 and img.height() > 100
    # The empirical CDF is a staircase with one step per point, reaching level 1.
    x, y = tab.view.ecdf.getData()
    assert len(x) == 2 * 272 and y.max() == pytest.approx(1.0)


def test_axis_views_show_the_step_of_their_fields(qtbot):
    from otviz.gui.swgmm_view import SWGMMView
    from otviz.methods.swgmm import SWGMMMethod

    m = SWGMMMethod(seed=0)
    m.step()
    full = m.snapshot()
    v = SWGMMView(SWGMMMethod.info)
    qtbot.addWidget(v)
    v.update_snapshot(full)
    assert "(step" not in v.cost_info.toPlainText()
    m.step()
    v.update_snapshot(m.snapshot(fields=False).replace(**full.fields_part()))
    assert v.cost_info.toPlainText().endswith("(step 1)")
    assert "step 2" in v.info.toPlainText()                # the fit itself is of the newest step
    # frames that repeat those fields leave (b) and (c) as they are; new fields redraw them
    m.step()
    v.update_snapshot(m.snapshot(fields=False).replace(**full.fields_part()))
    assert v.cost_info.toPlainText().endswith("(step 1)")
    newest = m.snapshot()
    v.update_snapshot(newest)
    assert "(step" not in v.cost_info.toPlainText()
    x, y = v.cost_pts.data().T
    assert np.array_equal(np.asarray(x), newest.proj) and np.array_equal(np.asarray(y), newest.cost)


def test_orders_are_written_with_sub_and_superscripts():
    from otviz.gui.swgmm_view import order_text

    assert order_text("SW", 2.0) == "SW₂" and order_text("W", 2.0, power=True) == "W₂²"
    assert order_text("W", 1.0, power=True) == "W₁¹"
    assert order_text("W", 1.5, power=True) == "W_1.5^1.5"       # no such characters for "1.5"
