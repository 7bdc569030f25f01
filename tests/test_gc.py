"""The window sets its long-lived objects aside from Python's cyclic collector, so that a full
collection while training scans only what training brings, and gives them back when it closes."""
import gc

import pytest

pytest.importorskip("pytestqt")


def test_the_window_and_each_tab_s_first_view_are_set_aside_until_the_window_closes(qtbot, open_window):
    gc.unfreeze()
    win = open_window("sinkhorn", "swgmm")
    a, b = win.tab_by_name["sinkhorn"], win.tab_by_name["swgmm"]
    qtbot.waitUntil(lambda: a.view is not None and gc.get_freeze_count() > 0, timeout=10_000)
    first = gc.get_freeze_count()
    assert b.view is None
    win.tabs.setCurrentWidget(b)                        # its view is built now, then set aside too
    qtbot.waitUntil(lambda: b.view is not None and gc.get_freeze_count() > first, timeout=10_000)
    # a full pass no longer walks the window: what is left to scan is a small part of what was set aside
    gc.collect()
    assert len(gc.get_objects()) < 0.5 * gc.get_freeze_count()
    win.tabs.setCurrentWidget(a)                        # a view set aside already: nothing more to do
    qtbot.wait(50)
    win.close()
    assert gc.get_freeze_count() == 0
