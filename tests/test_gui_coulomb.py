"""Drive the Coulomb GAN tab with pytest-qt: train live, change ε₀ mid-run, fit the GMM, switch to the plain GAN."""
import numpy as np
import pytest

pytest.importorskip("pytestqt")

from otviz.gui.coulomb_view import CoulombView  # noqa: E402
from otviz.methods.coulomb import CoulombConfig, CoulombMethod  # noqa: E402


@pytest.fixture
def window(open_window):
    return open_window("coulomb")


def test_train_change_eps_fit_gmm_switch_to_gan(qtbot, window):
    tab = window.tab_by_name["coulomb"]
    tab.set_params({"batch_size": 128, "heatmap_res": 48, "n_show": 600, "gmm_every": 0})
    qtbot.waitUntil(lambda: tab.session.method.config.n_show == 600, timeout=10_000)
    tab.controls.play.click()
    qtbot.waitUntil(lambda: tab.last_frame is not None and tab.last_frame["step"] >= 3, timeout=20_000)
    row = tab.panel.rows["eps0"]
    row.editor.setText("1.5")
    row.editor.editingFinished.emit()                       # a user typing a new ε₀ mid-run
    qtbot.waitUntil(lambda: tab.session.method.config.eps0 == 1.5, timeout=5_000)
    qtbot.waitUntil(lambda: any("eps0=1.5" in t for _, t in tab.last_frame["events"]), timeout=5_000)
    qtbot.waitUntil(lambda: abs(tab.last_frame["snap"]["eps"] - 1.5 * 2 ** (-tab.last_frame["step"] / 5000))
                    < 1e-9, timeout=5_000)
    tab.controls.play.click()                               # pause
    qtbot.waitUntil(lambda: not tab.worker.is_running, timeout=5_000)
    # paused: every part of the last frame is brought up to the paused step
    qtbot.waitUntil(lambda: tab.last_frame["snap"]["fresh"] and tab.last_frame["snap"]["step"]
                    == tab.session.step_count, timeout=5_000)
    v = tab.view
    assert tab.session.method.view_budget == 0.10          # the tab keeps the pictures to a tenth of the time
    assert v.fake.data().shape == (600, 2)
    img = v.heat.image
    assert img.shape == (48, 48) and np.isfinite(img).all()
    assert v.gmm_label.text() == "not fitted yet"
    v.fit_now.click()                                       # the GMM on demand
    qtbot.waitUntil(lambda: tab.last_frame["snap"]["gmm"] is not None, timeout=15_000)
    x, y = v.gmm.getData()
    assert len(x) == 25 * 49 and np.isnan(x).sum() == 25
    v.show_gmm.setChecked(False)
    assert not v.gmm.isVisible()
    assert "modes" in v.info.textItem.toPlainText()
    tab.set_params({"mode": "gan"})                         # restart param: the run resets as a plain GAN
    qtbot.waitUntil(lambda: tab.session.method.config.mode == "gan" and tab.last_frame["snap"]["mode"] == "gan",
                    timeout=10_000)
    assert tab.session.step_count == 0
    assert "plain GAN" in v.potential.getPlotItem().titleLabel.text
    tab.controls.play.click()
    qtbot.waitUntil(lambda: tab.last_frame["step"] >= 2, timeout=20_000)
    window.close()
    assert not tab.worker.isRunning()


def test_view_colours_missed_and_captured_centres(qtbot):
    m = CoulombMethod(CoulombConfig(samples_per_mode=100, batch_size=64, n_show=300, heatmap_res=24), seed=0)
    m.step()
    s = m.snapshot()
    v = CoulombView(CoulombMethod)
    qtbot.addWidget(v)
    v.update_snapshot(s)
    pens = [p.color().getRgb() for p in v.centers.data["pen"]]
    assert len(pens) == 25
    caught = s["captured"]
    assert all((pen[1] > pen[0]) == bool(c) for pen, c in zip(pens, caught))     # green caught, red missed
    assert f"modes {caught.sum()}/25" in v.info.textItem.toPlainText()
    assert set(v.plots()) == {"samples", "potential"}
