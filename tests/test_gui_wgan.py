"""Drive the WGAN tab with pytest-qt: train, switch mode mid-run, change dataset, move the divergences' θ."""
import math

import numpy as np
import pytest

pytest.importorskip("pytestqt")

import conftest  # noqa: E402


@pytest.fixture
def window(open_window):
    return open_window("wgan")


def wait_step(qtbot, tab, n, timeout=60_000):
    conftest.wait_step(qtbot, tab, n, timeout)


def test_train_switch_mode_mid_run_and_draw(qtbot, window):
    tab = window.tab_by_name["wgan"]
    view = tab.view
    tab.set_params({"width": 32, "batch_size": 64})            # small nets: the test stays quick
    qtbot.waitUntil(lambda: tab.config.width == 32 and tab.config.batch_size == 64, timeout=60_000)
    tab.controls.play.click()
    wait_step(qtbot, tab, 3)
    tab.panel.rows["mode"].editor.setCurrentText("clip")       # the user picks weight clipping mid-run
    qtbot.waitUntil(lambda: tab.config.mode == "clip", timeout=5_000)
    cfg = tab.config                                           # as the worker reported it in a frame
    assert (cfg.optimizer, cfg.lr) == ("rmsprop", 5e-5)         # the mode's own optimiser settings
    # the control panel shows them, and the history marks the switch with them
    qtbot.waitUntil(lambda: tab.panel.rows["optimizer"].editor.currentText() == "rmsprop", timeout=5_000)
    assert float(tab.panel.rows["lr"].editor.text()) == 5e-5
    qtbot.waitUntil(lambda: any("mode=clip" in t and "optimizer=rmsprop" in t for _, t in tab.history.events),
                    timeout=5_000)
    tab.controls.play.click()
    conftest.wait_paused(qtbot, tab)                           # the paused frame: the last step, complete
    snap = tab.last_frame["snap"]
    assert snap.step == snap.fields_step == tab.step
    assert snap.mode == "clip"
    # what is on screen is the snapshot: generated points, the critic image, arrows with heads
    assert np.array_equal(view.fake.data(), snap.fake.astype(np.float64))
    assert view.heat.image.shape == snap.field.shape
    x, _ = view.arrows.getData()
    assert len(x) == 3 * len(snap.arrows)                   # shafts plus two barbs each
    assert "modes" in view.info.toPlainText()
    h = tab.history                                            # the GUI's copy of the run's history
    assert len(h) == tab.step and h.steps[-1] == tab.step
    assert np.isfinite(h.column("w_estimate")).all() and np.isfinite(h.column("modes")).all()


def test_dataset_change_resets_and_drops_mode_metrics(qtbot, window):
    tab = window.tab_by_name["wgan"]
    tab.set_params({"dataset": "two_moons", "width": 16})
    qtbot.waitUntil(lambda: tab.config.dataset == "two_moons" and tab.last_frame is not None
                    and tab.last_frame["snap"].dataset == "two_moons", timeout=60_000)
    assert tab.config.width == 16 and tab.step == 0
    tab.single_step()
    wait_step(qtbot, tab, 1)
    qtbot.waitUntil(lambda: len(tab.history) == 1, timeout=5_000)
    assert not tab.running and tab.step == 1                   # one step, then it stays paused
    snap = tab.last_frame["snap"]
    assert len(snap.centers) == 0 and snap.coverage is None
    assert math.isnan(tab.history.column("modes")[-1])
    assert np.isfinite(tab.history.column("w_estimate")[-1])
    assert "modes" not in tab.view.info.toPlainText()


def test_divergence_panel_follows_theta(qtbot, window):
    panel = window.tab_by_name["wgan"].view.divergences
    panel.slider.setValue(80)                                  # θ = 0.4
    assert panel.theta == pytest.approx(0.4)
    assert panel.cursor.value() == pytest.approx(0.4)
    assert "W = |θ| = 0.4000" in panel.readout.text() and "KL(P‖Q_θ) = ∞" in panel.readout.text()
    assert 0.4 <= panel.w_emp < 0.43                          # exact OT on 200 samples: ≥ |θ|, close to it
    assert panel.js_emp == pytest.approx(math.log(2))
    x, y = panel.emp_w.getData()
    assert (x[0], y[0]) == (pytest.approx(0.4), pytest.approx(panel.w_emp))
    q = panel.q_pts.getData()
    assert np.allclose(q[0], 0.4)
    panel.cursor.setValue(-0.25)                               # dragging the line in the plot moves θ too
    assert panel.theta == pytest.approx(-0.25) and panel.slider.value() == -50
    panel.set_theta(0.0)
    assert "JS = 0" in panel.readout.text() and "KL(P‖Q_θ) = 0" in panel.readout.text()
    assert panel.w_emp < 0.1 and panel.js_emp < 0.1


def test_drawn_target_reaches_the_method(qtbot, window):
    tab = window.tab_by_name["wgan"]
    view = tab.view
    conftest.wait_first_frame(qtbot, tab)
    view.draw_button.setChecked(True)
    assert view.vb.drawing
    t = np.linspace(-1, 1, 40)
    stroke = np.stack([t, 0.5 * t], 1)
    view.vb.drawn = [stroke]                                   # as a stroke would leave it
    view.vb.stroke_finished.emit()
    qtbot.waitUntil(lambda: len(tab.last_frame["snap"].real) == 40, timeout=60_000)
    real = tab.last_frame["snap"].real                      # the worker trains on the drawn points now
    np.testing.assert_allclose(real[np.argsort(real[:, 0])], stroke, atol=1e-6)
    assert tab.last_frame["snap"].n_modes == 0
    view.draw_button.setChecked(False)
    assert not view.vb.drawing
