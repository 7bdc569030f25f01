"""Test set-up: Qt without a display, one torch thread (2-core machines), deterministic seeds."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from otviz.gui.app import disable_qt_gui_thread_pool  # noqa: E402

disable_qt_gui_thread_pool()            # as the app does, before pytest-qt's QApplication exists

import torch  # noqa: E402

torch.set_num_threads(1)


import pytest  # noqa: E402


@pytest.fixture
def open_window(qtbot):
    """open_window("sinkhorn", size=(w, h)): a shown MainWindow with those tabs, closed after the test."""
    from otviz.gui.main_window import MainWindow

    wins = []

    def make(*methods, size=None):
        win = MainWindow(methods=list(methods))
        qtbot.addWidget(win)
        if size:
            win.resize(*size)
        win.show()
        wins.append(win)
        return win

    yield make
    for win in wins:
        win.close()


FIRST_FRAME_MS = 60_000     # a first frame needs a worker or the field helper started (torch imported)


def wait_step(qtbot, tab, n, timeout=20_000):
    """Wait until the tab has drawn a frame (from its worker, or the preview) of step n or later."""
    qtbot.waitUntil(lambda: tab.last_frame is not None and tab.step >= n and tab.last_frame["step"] >= n,
                    timeout=timeout)


def wait_first_frame(qtbot, tab, timeout=FIRST_FRAME_MS):
    """Wait until the tab shows a picture: its preview (no worker yet) or a frame from its worker."""
    qtbot.waitUntil(lambda: tab.last_frame is not None, timeout=timeout)


def wait_paused(qtbot, tab, timeout=10_000):
    """After Pause: wait for the worker's paused frame, which is complete (fields of its own step)."""
    qtbot.waitUntil(lambda: not tab.running and tab.last_frame is not None and not tab.last_frame["running"]
                    and tab.last_frame["snap"].fields_step in (None, tab.step), timeout=timeout)


def wait_closed(qtbot, link, timeout=5_000):
    """The tab's connection thread has ended and its worker process is gone."""
    qtbot.waitUntil(lambda: not link.isRunning() and not link.handle.alive(), timeout=timeout)
