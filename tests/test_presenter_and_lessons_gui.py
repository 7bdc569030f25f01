"""Presenter mode toggles and restores the layout; a lesson plays in the window through the tab."""
from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

import pyqtgraph as pg  # noqa: E402
from PySide6 import QtWidgets  # noqa: E402

import conftest  # noqa: E402
from otviz.gui.fastpoints import FastScatter  # noqa: E402
from otviz.gui.presenter import side_panel, stage  # noqa: E402


def styles(tab):
    """(FastScatter sizes, widths of the first visible pen of each curve) over the tab's plots."""
    sizes, widths = [], []
    for plot in tab.findChildren(pg.PlotWidget):
        for item in plot.getPlotItem().items:
            if isinstance(item, FastScatter):
                sizes.append(item._size)
            elif isinstance(item, pg.PlotDataItem) and item.opts.get("connect") != "pairs" and item.opts["pen"]:
                widths.append(pg.mkPen(item.opts["pen"]).widthF())
    return sizes, widths


def test_presenter_mode_toggles_and_restores_the_layout(qtbot, open_window):
    win = open_window("swgmm", "coulomb", size=(1200, 800))
    tab = win.tab_by_name["swgmm"]
    conftest.wait_first_frame(qtbot, tab)
    app = QtWidgets.QApplication.instance()
    font0 = app.font().pointSizeF()
    caption = stage(tab).caption
    stage(tab).set_caption("a caption long enough to wrap onto a second line when the type is large, "
                           "and to stay on fewer lines at the desktop's size of type")
    sizes0, widths0 = styles(tab)
    assert sizes0 and widths0
    side = side_panel(tab)
    assert side.isVisible() and win.menuBar().isVisible() and not win.isFullScreen()
    win.presenter_action.trigger()                            # F11, View ▸ Presenter mode
    qtbot.waitUntil(lambda: win.isFullScreen(), timeout=5000)
    assert win.presenter.active and win.presenter_action.isChecked()
    assert not side.isVisible() and side_panel(win.tab_by_name["coulomb"]).isHidden()
    assert not win.menuBar().isVisible()
    assert app.font().pointSizeF() == pytest.approx(font0 * 1.5)
    sizes1, widths1 = styles(tab)
    assert all(b == pytest.approx(a * 1.8) for a, b in zip(sizes0, sizes1))
    assert all(b == pytest.approx(max(1.0, a) * 2.0) for a, b in zip(widths0, widths1))
    badge = stage(tab).badge
    qtbot.waitUntil(lambda: badge.isVisible() and "step 0" in badge.text(), timeout=3000)
    big = caption.height()
    # caption and badge stand in a band above the plots, not over their titles
    top = tab.view_host.layout().contentsMargins().top()
    assert top >= max(big, badge.height())
    qtbot.waitUntil(lambda: tab.view.geometry().top() >= top, timeout=3000)
    assert "SW-GMM" in badge.text() and badge.font().pointSizeF() >= font0
    tab.single_step()                                          # the keys still drive the tab
    qtbot.waitUntil(lambda: "step 1 " in badge.text(), timeout=20_000)
    win.presenter.leave()                                      # Esc
    qtbot.waitUntil(lambda: not win.isFullScreen(), timeout=5000)
    assert not win.presenter.active and not win.presenter_action.isChecked()
    assert side.isVisible() and win.menuBar().isVisible() and not badge.isVisible()
    assert app.font().pointSizeF() == pytest.approx(font0)
    assert styles(tab) == (sizes0, widths0)
    # the caption's box shrinks with its type: as high as its text at the desktop's size needs
    probe = QtWidgets.QLabel(caption.text())
    probe.setWordWrap(True)
    probe.setStyleSheet(caption.styleSheet())
    probe.ensurePolished()
    assert caption.height() == probe.heightForWidth(caption.width()) < big
    stage(tab).set_caption("")


def test_a_lesson_plays_in_the_window(qtbot, open_window):
    win = open_window("swgmm", size=(1300, 850))
    tab = win.tab_by_name["swgmm"]
    conftest.wait_first_frame(qtbot, tab)
    dock = win.lesson_dock
    tab.set_params({"lr": 0.05})                                # a knob turned before: the lesson resets it
    player = dock.start("swgmm_directions")
    assert dock.isVisible() and player.index == -1
    ov = stage(tab)
    assert ov.caption.isVisible() and ov.caption.text().startswith("Which directions")
    dock.next_button.click()
    qtbot.waitUntil(lambda: tab.config.fixed_directions == "x" and tab.config.directions == 0
                    and tab.config.lr == 0.2 and player.finished() and tab.step == 100, timeout=60_000)
    assert ov.caption.text().startswith("1/4  x only")
    assert ov.highlighted() is tab.view.plots()["fit"]
    qtbot.waitUntil(lambda: "trained 100 / 100" in dock.status.text(), timeout=3000)
    assert "nll > 2: " in dock.status.text()
    assert "✓" in dock.status.text() and "✗" not in dock.status.text()
    assert list(tab.history.steps)[:3] == [1, 2, 3] and tab.history.events == []
    dock.next_button.click()
    qtbot.waitUntil(lambda: tab.config.fixed_directions == "x,y" and player.finished() and tab.step == 100,
                    timeout=60_000)
    assert ov.highlighted() is tab.view.plots()["cdf"] and player.index == 1
    dock.back_button.click()                                    # the previous step again, from its reset
    qtbot.waitUntil(lambda: tab.config.fixed_directions == "x" and player.index == 0 and player.finished()
                    and tab.step == 100, timeout=60_000)
    dock.end()
    assert not ov.caption.isVisible() and ov.highlighted() is None

    # a run under way in the lesson's tab is replaced only once the user agrees
    asked = []
    answer = QtWidgets.QMessageBox.StandardButton.Cancel

    def question(*args, **kwargs):
        asked.append(args[2])
        return answer

    orig, QtWidgets.QMessageBox.question = QtWidgets.QMessageBox.question, question
    try:
        dock.choice.setCurrentIndex(dock.choice.findData("swgmm_directions"))
        step = tab.step
        dock.start_button.click()
        assert asked and f"at step {step}" in asked[0] and dock.player is None and tab.step == step
        answer = QtWidgets.QMessageBox.StandardButton.Ok
        dock.start_button.click()
        assert dock.player is not None and dock.player.index == -1
        qtbot.waitUntil(lambda: tab.step == 0, timeout=20_000)
    finally:
        QtWidgets.QMessageBox.question = orig
    dock.end()
