"""The status bar's frame rate: true at the redraw share's slow pace, 0 only once frames stop."""
import time
from collections import deque

import pytest

pytest.importorskip("pytestqt")

from otviz.gui.method_tab import MethodTab  # noqa: E402


def test_status_frame_rate_stays_true_at_a_frame_a_second(monkeypatch):
    # at the redraw share a training tab draws ~1 frame/s: the status bar must say so, not 0
    now = [100.0]
    monkeypatch.setattr(time, "perf_counter", lambda: now[0])
    tab = MethodTab.__new__(MethodTab)                 # only the frame clock is used
    tab._frame_times = deque([96.0, 97.0, 98.0, 99.0], maxlen=30)
    now[0] = 100.5
    assert abs(tab.frames_per_second() - 1.0) < 1e-9
    now[0] = 102.5                                     # 3.5 frame intervals without a frame
    assert tab.frames_per_second() == 0.0
