"""The control panel says no where the user is looking, and keeps staged ⟲ changes in sight.

A value refused at its control (range, type) or by the training process (checks across fields)
marks that control: a red frame and the reason right under the row, plus the status bar. Staged
⟲ changes are listed above the panel's scroll area with Apply & reset and Discard.
"""
import pytest

pytest.importorskip("pytestqt")

from PySide6 import QtCore, QtWidgets  # noqa: E402

import conftest  # noqa: E402


@pytest.fixture
def window(open_window):
    return open_window("swgmm", size=(1400, 850))


def type_into(row, text):
    row.editor.setText(text)
    row.editor.editingFinished.emit()


def in_scroll_area(w) -> bool:
    while w is not None:
        if isinstance(w, QtWidgets.QScrollArea):
            return True
        w = w.parentWidget()
    return False


def shown_in_viewport(w, scroll) -> bool:
    """The widget lies within what the scroll area shows."""
    vp = scroll.viewport()
    top = w.mapTo(vp, QtCore.QPoint(0, 0)).y()
    return 0 <= top and top + w.height() <= vp.height()


def test_value_refused_at_the_control_says_why_there(qtbot, window):
    tab = window.tab_by_name["swgmm"]
    panel = tab.panel
    row, err = panel.rows["lr"], panel.row_errors["lr"]
    assert not err.isVisible() and row.editor.styleSheet() == ""
    type_into(row, "5")
    # the value in force stays, and the reason is shown under the row, at the control
    assert row.editor.text() == "0.2" and row.value == 0.2
    assert err.isVisible() and err.text() == "must be at most 2, got 5"
    assert "border" in row.editor.styleSheet() and "#d32f2f" in row.editor.styleSheet()
    assert window.statusBar().currentMessage() == "Refused — lr: must be at most 2, got 5"
    # said once, at the control: no second line above the panel pushing the row away
    assert not panel.message.isVisible() and "lr: must be at most 2" in panel.message.text()
    assert tab.link is None                                   # refused in the panel: nothing was sent
    # leaving the field unchanged (another control clicked) keeps the reason in sight
    row.editor.editingFinished.emit()
    assert err.isVisible() and "#d32f2f" in row.editor.styleSheet()
    # an accepted value clears the marks
    type_into(row, "0.1")
    assert not err.isVisible() and row.editor.styleSheet() == "" and not panel.message.isVisible()
    assert row.value == 0.1


def test_refusal_by_the_worker_is_shown_at_the_control(qtbot, window):
    tab = window.tab_by_name["swgmm"]
    panel = tab.panel
    conftest.wait_first_frame(qtbot, tab)
    scroll = next(w for w in tab.findChildren(QtWidgets.QScrollArea) if w.widget().isAncestorOf(panel))
    # a cross-field check only the method makes: more components than points
    panel.rows["dataset"].editor.setCurrentText("two_moons")
    type_into(panel.rows["n_points"], "10")
    type_into(panel.rows["n_components"], "20")
    assert panel.staged == {"dataset": "two_moons", "n_points": 10, "n_components": 20}
    window.resize(1400, 560)                                  # a short window: the panel scrolls far
    qtbot.waitUntil(lambda: scroll.verticalScrollBar().maximum() > 400, timeout=2_000)
    scroll.verticalScrollBar().setValue(scroll.verticalScrollBar().maximum())
    assert not shown_in_viewport(panel.rows["n_components"], scroll)
    panel.apply_button.click()
    err = panel.row_errors["n_components"]
    qtbot.waitUntil(lambda: err.isVisible(), timeout=60_000)
    assert err.text() == "20 components need at least as many points (10)"
    assert "#d32f2f" in panel.rows["n_components"].editor.styleSheet()
    assert "components K: 20 components" in window.statusBar().currentMessage()
    assert shown_in_viewport(panel.rows["n_components"], scroll)      # scrolled back into sight
    # the run kept the values in force, and the panel shows them
    qtbot.waitUntil(lambda: tab.last_frame is not None and "config" in tab.last_frame
                    and panel.rows["n_components"].value == 5, timeout=10_000)
    assert tab.config.n_components == 5 and tab.config.dataset == "old_faithful"
    # a worker refusal of a typed angle lands under its row too (named by its words, not its field name)
    type_into(panel.rows["fixed_directions"], "x, north")
    err = panel.row_errors["fixed_directions"]
    qtbot.waitUntil(lambda: err.isVisible(), timeout=10_000)
    assert "'x' is not an angle in degrees" in err.text()
    assert not panel.row_errors["n_components"].isVisible()      # only the newest refusal is marked
    # a refusal naming no single control is said once, above the views
    type_into(panel.rows["fixed_directions"], "none")
    type_into(panel.rows["directions"], "0")
    qtbot.waitUntil(lambda: tab.banner.isVisible(), timeout=10_000)
    assert tab.banner.text().startswith("0 directions: use at least one")
    assert not panel.message.isVisible()
    assert not any(e.isVisible() for e in panel.row_errors.values())


def test_staged_changes_stay_in_sight_with_apply_and_discard(qtbot, window):
    tab = window.tab_by_name["swgmm"]
    panel = tab.panel
    conftest.wait_first_frame(qtbot, tab)
    bar = panel.top_bar
    assert not in_scroll_area(bar)                            # outside the scroll area: never scrolled away
    assert not panel.staged_box.isVisible()
    panel.rows["dataset"].editor.setCurrentText("two_moons")
    type_into(panel.rows["n_components"], "8")
    assert panel.staged_box.isVisible() and panel.apply_button.isVisible() and panel.apply_button.isEnabled()
    assert panel.staged_label.text() == "Staged until Apply & reset: dataset → two_moons, components K → 8"
    # above the scroll area, at the top of the panel's column
    scroll = next(w for w in tab.findChildren(QtWidgets.QScrollArea) if w.widget().isAncestorOf(panel))
    assert bar.mapTo(tab, QtCore.QPoint(0, 0)).y() < scroll.mapTo(tab, QtCore.QPoint(0, 0)).y()
    # back to the value in force: that one is no longer staged
    panel.rows["dataset"].editor.setCurrentText("old_faithful")
    assert panel.staged == {"n_components": 8}
    assert panel.staged_label.text() == "Staged until Apply & reset: components K → 8"
    # a refused live value does not drop what is staged
    type_into(panel.rows["lr"], "5")
    assert panel.staged == {"n_components": 8} and panel.staged_box.isVisible()
    # Discard: nothing staged, the rows show the values in force
    panel.discard_button.click()
    assert panel.staged == {} and not panel.staged_box.isVisible()
    assert panel.rows["n_components"].value == 5 and panel.rows["n_components"].editor.text() == "5"
    assert tab.link is None                                   # nothing reached a worker
    # stage again and apply: the run restarts with them, and the bar goes away
    panel.rows["dataset"].editor.setCurrentText("two_moons")
    type_into(panel.rows["n_components"], "8")
    panel.apply_button.click()
    assert not panel.staged_box.isVisible()
    qtbot.waitUntil(lambda: tab.config.dataset == "two_moons" and tab.config.n_components == 8, timeout=60_000)
    assert tab.step == 0 and tab.last_frame["snap"].means.shape == (8, 2)
