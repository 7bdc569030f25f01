"""Each tab trains in its own worker process: frames across tabs, a killed worker, closing mid-run."""
import os
import signal
import time

import pytest

pytest.importorskip("pytestqt")

from conftest import wait_step  # noqa: E402


def frames_after(tab, t0):
    return sum(1 for t in tab._frame_times if t > t0)


def test_second_tab_played_after_the_first_gets_frames(qtbot, open_window):
    win = open_window("swgmm", "sinkhorn")
    a, b = win.tab_by_name["swgmm"], win.tab_by_name["sinkhorn"]
    assert a.link is None and b.link is None             # a tab never played has no process
    a.controls.play.click()
    wait_step(qtbot, a, 20, timeout=60_000)
    a.controls.play.click()
    qtbot.waitUntil(lambda: not a.running, timeout=5_000)
    win.tabs.setCurrentWidget(b)
    b.controls.play.click()
    wait_step(qtbot, b, 1, timeout=60_000)
    t0 = time.perf_counter()
    qtbot.wait(2000)
    assert frames_after(b, t0) >= 5, "the second tab played drew too few frames"
    assert b.link.handle.pid != a.link.handle.pid
    assert "steps/s" in b.status_text() and "paused at step" in a.status_text()


def test_killed_worker_is_reported_and_play_continues_from_the_checkpoint(qtbot, open_window):
    win = open_window("sinkhorn")
    tab = win.tab_by_name["sinkhorn"]
    tab.controls.play.click()
    wait_step(qtbot, tab, 30, timeout=60_000)
    tab.controls.play.click()                            # pausing takes a checkpoint
    # (the paused frame comes after the "running" message and the checkpoint: wait for it too)
    qtbot.waitUntil(lambda: not tab.running and tab.link.checkpoint is not None
                    and not tab.last_frame["running"], timeout=10_000)
    saved = tab.link.checkpoint["step"]
    shown = tab.step
    os.kill(tab.link.handle.pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: tab.link is None, timeout=10_000)
    assert tab.banner.isVisible() and "killed" in tab.banner.text() and f"step {saved}" in tab.banner.text()
    assert tab.step == shown and tab.last_frame is not None              # the last frame stays on screen
    tab.controls.play.click()
    qtbot.waitUntil(lambda: tab.link is not None and tab.step > saved, timeout=60_000)
    assert not tab.banner.isVisible() and not tab.panel.message.isVisible()    # the death is told no more


def test_a_bad_file_opened_from_the_dialog_is_told_there_only(qtbot, open_window, tmp_path, monkeypatch):
    from PySide6 import QtWidgets

    win = open_window("sinkhorn")
    tab = win.tab_by_name["sinkhorn"]
    bad = tmp_path / "broken.otviz"
    bad.write_bytes(b"not a session at all")
    told = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", lambda *a, **k: told.append(a[2]))
    win.open_session(str(bad), dialog=True)
    qtbot.waitUntil(lambda: bool(told), timeout=30_000)
    assert told[0] == "broken.otviz is not an otviz session file"
    assert not tab.banner.isVisible() and not tab.panel.message.isVisible()     # the tab's run is not at fault


def test_closing_mid_run_ends_every_process(qtbot, open_window):
    win = open_window("swgmm", "sinkhorn")
    pids = []
    for name in ("swgmm", "sinkhorn"):
        tab = win.tab_by_name[name]
        win.tabs.setCurrentWidget(tab)
        tab.controls.play.click()
        wait_step(qtbot, tab, 2, timeout=60_000)
        pids.append(tab.link.handle.pid)
    qtbot.waitUntil(lambda: win.processes.fields_ready, timeout=60_000)
    pids.append(win.processes.fields.handle.pid)
    os.kill(pids[0], signal.SIGSTOP)                     # a worker that does not answer
    t0 = time.perf_counter()
    win.close()
    assert time.perf_counter() - t0 < 2.5
    for pid in pids:
        assert not _alive(pid), f"process {pid} still running after the window closed"


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:                                                  # a zombie not yet reaped counts as gone
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False
