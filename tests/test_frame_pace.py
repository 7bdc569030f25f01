"""The tab on screen paces its worker's frames by what frames taken while training cost to draw."""
import time

import pytest

pytest.importorskip("pytestqt")

from otviz.gui import method_tab  # noqa: E402
from otviz.gui.method_tab import MethodTab  # noqa: E402


class Link:
    def __init__(self):
        self.sent, self.acked = [], 0

    def frame_drawn(self, f):
        self.acked += 1

    def send(self, kind, payload=None):
        self.sent.append((kind, payload))


def paced_tab():
    tab = MethodTab.__new__(MethodTab)                 # only the pacing state is used
    tab._gui_cost, tab._fps_cap = 0.0, method_tab.MAX_FPS
    tab.twin = tab.host = None                         # a single run, not a side of A | B
    tab.on_screen = lambda: True
    return tab


def test_a_costly_paused_frame_does_not_slow_the_frames_of_training():
    tab, link = paced_tab(), Link()
    tab._drawn(link, {"running": False}, time.perf_counter() - 0.045)      # a 45 ms first paint, paused
    assert link.acked == 1 and link.sent == [] and tab._fps_cap == method_tab.MAX_FPS
    tab._drawn(link, {"running": True}, time.perf_counter() - 0.030)       # frames of training do pace
    assert link.acked == 2
    (kind, fps), = link.sent
    assert kind == "max_fps" and fps == pytest.approx(method_tab.GUI_SHARE / 0.030, rel=0.05)
