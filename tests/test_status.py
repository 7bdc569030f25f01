"""The status bar: step, steps/s, frames drawn over the last second and the loss, from the worker's frames."""
import re
import time
from collections import deque

import pytest

pytest.importorskip("pytestqt")

import conftest  # noqa: E402
from otviz.gui.method_tab import MethodTab  # noqa: E402


def test_status_frame_rate_counts_the_frames_of_the_last_second(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(time, "perf_counter", lambda: now[0])
    tab = MethodTab.__new__(MethodTab)                 # only the frame clock is used
    tab._frame_times = deque([98.5, 99.2, 99.5, 99.9], maxlen=120)
    assert tab.frames_per_second() == 3.0
    now[0] = 100.7                                     # 99.9 is the only frame of the last second
    assert tab.frames_per_second() == 1.0
    now[0] = 101.5                                     # frames stopped: 0
    assert tab.frames_per_second() == 0.0


def test_status_bar_follows_training_and_pause(qtbot, open_window):
    win = open_window("sinkhorn")
    tab = win.tab_by_name["sinkhorn"]
    label = win.status_label
    conftest.wait_first_frame(qtbot, tab)
    qtbot.waitUntil(lambda: "paused at step 0" in label.text(), timeout=5_000)
    tab.controls.play.click()
    conftest.wait_step(qtbot, tab, 5, timeout=60_000)

    def training_shown():
        t = label.text()
        m, f, r = re.search(r"^step (\d+)", t), re.search(r"(\d+) frames/s", t), re.search(r"([\d.]+) steps/s", t)
        # (a bool: waitUntil takes a None as "passed")
        return bool(m and f and r and int(m.group(1)) >= 5 and int(f.group(1)) > 0 and float(r.group(1)) > 0)

    qtbot.waitUntil(training_shown, timeout=10_000)     # refreshed a few times a second from the frames
    metric = next(iter(tab.last_frame["metrics"]))
    assert metric in label.text() and "cpu" in label.text()
    tab.controls.play.click()
    conftest.wait_paused(qtbot, tab)
    qtbot.waitUntil(lambda: f"paused at step {tab.step}" in label.text(), timeout=5_000)
    assert "steps/s" not in label.text()


def test_a_tab_s_passing_message_goes_when_another_tab_is_shown(qtbot, open_window):
    win = open_window("sinkhorn", "swgmm")
    a, b = win.tab_by_name["sinkhorn"], win.tab_by_name["swgmm"]
    win.tabs.setCurrentWidget(a)
    a.status_changed.emit("compare off: kept B")
    assert win.statusBar().currentMessage() == "compare off: kept B"
    b.status_changed.emit("a message of a tab out of sight")
    assert win.statusBar().currentMessage() == "compare off: kept B"      # not shown over the tab on screen
    win.tabs.setCurrentWidget(b)
    assert win.statusBar().currentMessage() == ""                          # b's status, not a's message
