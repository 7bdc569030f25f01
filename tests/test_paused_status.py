"""A paused tab's status bar reads "paused at step N", N being the step of the frame on screen."""
import re

import pytest

pytest.importorskip("pytestqt")

import conftest  # noqa: E402


def test_paused_status_names_the_step_on_screen(qtbot, open_window):
    window = open_window("swgmm", size=(1400, 850))
    tab = window.tab_by_name["swgmm"]
    conftest.wait_first_frame(qtbot, tab)
    tab.controls.play.click()
    qtbot.waitUntil(lambda: re.match(r"step \d+ +· +[\d.]+ steps/s", window.status_label.text()) is not None,
                    timeout=60_000)
    conftest.wait_step(qtbot, tab, 30, timeout=60_000)
    tab.controls.play.click()
    conftest.wait_paused(qtbot, tab)
    qtbot.wait(500)                                   # nothing after the paused frame may change the step
    n = tab.last_frame["step"]
    assert tab.step == n >= 30 and not tab.running
    qtbot.waitUntil(lambda: window.status_label.text().startswith(f"paused at step {n}   ·"), timeout=2_000)
    # the step the views show is that step too
    assert tab.view.info.toPlainText().startswith(f"step {n} ")
    assert tab.last_frame["snap"].step == n
    assert tab.timeline.label.text() == f"step {n}"         # and the past's bar
    # a single step moves both on together
    tab.controls.step.click()
    conftest.wait_step(qtbot, tab, n + 1, timeout=10_000)
    qtbot.waitUntil(lambda: window.status_label.text().startswith(f"paused at step {n + 1}   ·"), timeout=2_000)
    assert tab.view.info.toPlainText().startswith(f"step {n + 1} ")
    assert tab.timeline.label.text() == f"step {n + 1}"
