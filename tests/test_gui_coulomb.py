"""Drive the Coulomb GAN tab with pytest-qt: train live, change ε₀ mid-run, fit the GMM, switch to the plain GAN."""
import time

import numpy as np
import pytest

pytest.importorskip("pytestqt")

import conftest  # noqa: E402
from otviz.gui.coulomb_view import CoulombView  # noqa: E402
from otviz.methods.coulomb import CoulombConfig, CoulombMethod  # noqa: E402


@pytest.fixture
def window(open_window):
    return open_window("coulomb")


def test_train_change_eps_fit_gmm_switch_to_gan(qtbot, window):
    tab = window.tab_by_name["coulomb"]
    tab.set_params({"batch_size": 128, "heatmap_res": 48, "n_show": 600, "gmm_every": 0})
    qtbot.waitUntil(lambda: tab.config.n_show == 600 and tab.last_frame is not None
                    and len(tab.last_frame["snap"].fake) == 600, timeout=60_000)
    assert (tab.config.batch_size, tab.config.heatmap_res, tab.config.gmm_every) == (128, 48, 0)
    tab.controls.play.click()
    conftest.wait_step(qtbot, tab, 3, timeout=60_000)
    row = tab.panel.rows["eps0"]
    row.editor.setText("1.5")
    row.editor.editingFinished.emit()                       # a user typing a new ε₀ mid-run
    qtbot.waitUntil(lambda: tab.config.eps0 == 1.5, timeout=5_000)
    qtbot.waitUntil(lambda: any("eps0=1.5" in t for _, t in tab.history.events), timeout=5_000)
    qtbot.waitUntil(lambda: abs(tab.last_frame["snap"].eps - 1.5 * 2 ** (-tab.last_frame["step"] / 5000))
                    < 1e-9, timeout=5_000)
    # while training: frames keep coming, and D's potential (computed apart) is redrawn now and then
    v = tab.view
    t0 = time.perf_counter()
    qtbot.waitUntil(lambda: sum(1 for t in tab._frame_times if t > t0) >= 5, timeout=20_000)
    shown, since = v.heat.image.copy(), tab.last_frame["snap"].fields_step
    qtbot.waitUntil(lambda: tab.last_frame["snap"].fields_step > since
                    and not np.array_equal(v.heat.image, shown), timeout=20_000)
    assert tab.running
    tab.controls.play.click()                               # pause
    # paused: every part of the last frame is brought up to the paused step
    conftest.wait_paused(qtbot, tab)
    assert tab.last_frame["snap"].fields_step == tab.last_frame["snap"].step == tab.step
    # the heatmap on screen is the paused step's potential
    np.testing.assert_array_equal(v.heat.image, np.asarray(tab.last_frame["snap"].potential, np.float32))
    assert v.fake.data().shape == (600, 2)
    img = v.heat.image
    # square pixels over what the plot shows, as many as a 48 × 48 square has (to a row's rounding)
    assert abs(img.size - 48 * 48) <= 2 * 48 and np.isfinite(img).all()
    assert v.gmm_label.text() == "not fitted yet"
    v.fit_now.click()                                       # the GMM on demand
    qtbot.waitUntil(lambda: tab.last_frame["snap"].gmm is not None, timeout=15_000)
    x, y = v.gmm.getData()
    assert len(x) == 25 * 49 and np.isnan(x).sum() == 25
    v.show_gmm.setChecked(False)
    assert not v.gmm.isVisible()
    assert "modes" in v.info.textItem.toPlainText()
    tab.set_params({"mode": "gan"})                         # restart param: the run resets as a plain GAN
    qtbot.waitUntil(lambda: tab.config.mode == "gan" and tab.last_frame["snap"].mode == "gan",
                    timeout=10_000)
    assert tab.step == 0 and len(tab.history) == 0
    assert "plain GAN" in v.potential.getPlotItem().titleLabel.text
    tab.controls.play.click()
    conftest.wait_step(qtbot, tab, 2, timeout=60_000)
    link = tab.link
    window.close()
    conftest.wait_closed(qtbot, link, timeout=3_000)


def test_view_colours_missed_and_captured_centres(qtbot):
    m = CoulombMethod(CoulombConfig(samples_per_mode=100, batch_size=64, n_show=300, heatmap_res=24), seed=0)
    m.step()
    s = m.snapshot()
    v = CoulombView(CoulombMethod.info)
    qtbot.addWidget(v)
    v.update_snapshot(s)
    pens = [p.color().getRgb() for p in v.centers.data["pen"]]
    assert len(pens) == 25
    caught = s.captured
    assert all((pen[1] > pen[0]) == bool(c) for pen, c in zip(pens, caught))     # green caught, red missed
    assert f"modes {caught.sum()}/25" in v.info.textItem.toPlainText()
    assert set(v.plots()) == {"samples", "potential"}
    # the centres are redrawn only when which are caught changes, and then only their colours: the
    # spots themselves, and the faint centres over the potential, stay as they are
    spots, faint = v.centers.data, v.centers_faint.data
    flipped = s.replace(captured=~caught, modes=int((~caught).sum()))
    v.update_snapshot(flipped)
    pens = [p.color().getRgb() for p in v.centers.data["pen"]]
    assert all((pen[1] > pen[0]) == bool(c) for pen, c in zip(pens, ~caught))
    assert v.centers.data is spots and v.centers_faint.data is faint
    np.testing.assert_array_equal(np.c_[v.centers.data["x"], v.centers.data["y"]], s.centers)


def test_view_draws_a_new_gmm_and_clears_it(qtbot):
    m = CoulombMethod(CoulombConfig(samples_per_mode=100, batch_size=64, n_show=300, heatmap_res=24), seed=0)
    m.step()
    s = m.snapshot()
    assert s.gmm is not None
    v = CoulombView(CoulombMethod.info)
    qtbot.addWidget(v)
    v.update_snapshot(s)
    x, _ = v.gmm.getData()
    assert np.array_equal(x, s.gmm[:, 0], equal_nan=True) and v.gmm_label.text() == "fitted at step 1"
    v.update_snapshot(s.replace(gmm=None, gmm_step=None))    # a reset: no fit yet
    x, _ = v.gmm.getData()
    assert (x is None or len(x) == 0) and v.gmm_label.text() == "not fitted yet"
    v.update_snapshot(s.replace(gmm=s.gmm[:40].copy(), gmm_step=7))
    assert len(v.gmm.getData()[0]) == 40 and v.gmm_label.text() == "fitted at step 7"


def test_view_keeps_the_potential_until_new_fields_and_shows_their_age(qtbot):
    m = CoulombMethod(CoulombConfig(samples_per_mode=100, batch_size=64, n_show=300, heatmap_res=24), seed=0)
    m.step()
    full = m.snapshot()
    v = CoulombView(CoulombMethod.info)
    qtbot.addWidget(v)
    v.update_snapshot(full)
    shown = v.heat.image
    assert "Φ: step" not in v.info.textItem.toPlainText()
    m.step()
    frame = m.snapshot(fields=False).replace(**full.fields_part())
    v.update_snapshot(frame)                               # new points, the fields of step 1
    assert v.heat.image is shown and np.array_equal(v.fake.data(), frame.fake)
    assert "(Φ: step 1)" in v.info.textItem.toPlainText()
    v.update_snapshot(m.snapshot())
    assert v.heat.image is not shown and "Φ: step" not in v.info.textItem.toPlainText()
