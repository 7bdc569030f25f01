"""Test set-up: Qt without a display, one torch thread (2-core machines), deterministic seeds."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

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


def wait_step(qtbot, tab, n, timeout=20_000):
    """Wait until the tab has drawn a frame of step n or later."""
    qtbot.waitUntil(lambda: tab.last_frame is not None and tab.last_frame["step"] >= n, timeout=timeout)
