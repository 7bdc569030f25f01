"""Recording from the window: real time by default, time-lapse on request, the indicator never captured
and never moving the plots."""
import time

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6 import QtCore  # noqa: E402

import conftest  # noqa: E402
from otviz.gui.export import image_to_rgb, render_image  # noqa: E402
from otviz.util.recording import AnimationWriter  # noqa: E402

BADGE = np.array([198, 40, 40])          # the indicator's red (#c62828)


def badge_pixels(rgb: np.ndarray) -> int:
    return int((np.abs(rgb.astype(int) - BADGE).max(axis=2) <= 12).sum())


@pytest.fixture
def window(open_window):
    return open_window("swgmm", size=(1400, 850))


@pytest.fixture
def frames(monkeypatch):
    """Every frame handed to an animation writer: (count, shapes, a few of the frames)."""
    seen = {"n": 0, "shapes": set(), "kept": []}
    add = AnimationWriter.add

    def spy(self, frame):
        seen["n"] += 1
        seen["shapes"].add(frame.shape)
        if len(seen["kept"]) < 3 or seen["n"] % 7 == 0:
            seen["kept"].append(frame)
        return add(self, frame)

    monkeypatch.setattr(AnimationWriter, "add", spy)
    return seen


def geometry(window, tab):
    widgets = {**tab.view.plots(), "history": tab.history_plot, "plot_area": tab.plot_area}
    return {k: (w.mapTo(window, QtCore.QPoint(0, 0)).toTuple(), w.size().toTuple()) for k, w in widgets.items()}


def test_real_time_recording_lasts_as_long_as_the_recording(qtbot, window, tmp_path, frames):
    import imageio_ffmpeg

    tab = window.tab_by_name["swgmm"]
    conftest.wait_first_frame(qtbot, tab)
    tab.controls.play.click()
    conftest.wait_step(qtbot, tab, 5, timeout=60_000)
    before = geometry(window, tab)
    window.export_dir = tmp_path
    window.rec_settings = {"suffix": ".mp4", "fps": 10.0, "scale": 1.0, "every_steps": 0}
    t0 = time.perf_counter()
    path = window.toggle_recording()
    assert path and tab.recorder is not None and tab.recorder.real_time
    qtbot.waitUntil(lambda: window.rec_indicator.text().startswith("● REC 0:01"), timeout=5_000)
    assert window.rec_indicator.text() == "● REC 0:01 (real time)"
    assert window.rec_action.text() == "Stop recording"
    assert geometry(window, tab) == before                     # the indicator moved nothing
    # the indicator is on screen in the window, but not in what is recorded
    assert badge_pixels(image_to_rgb(render_image(window))) > 50
    qtbot.wait(max(0, int(2000 - 1000 * (time.perf_counter() - t0))))
    elapsed = time.perf_counter() - t0
    assert window.toggle_recording() == path
    assert window.rec_indicator.text() == "" and window.rec_action.text() == "Start recording"
    assert tab.recorder is None
    # about 10 frames a second of recording, whatever the training's pace
    assert abs(frames["n"] - 10 * elapsed) <= 2, (frames["n"], elapsed)
    assert frames["n"] >= 18
    n, secs = imageio_ffmpeg.count_frames_and_secs(path)
    assert n == frames["n"] and secs == pytest.approx(n / 10, abs=0.11)
    # the frames are the plots' region only, and no frame holds the indicator
    h, w = tab.plot_area.height(), tab.plot_area.width()
    assert frames["shapes"] == {(h, w, 3)}
    assert all(badge_pixels(f) == 0 for f in frames["kept"])
    assert geometry(window, tab) == before
    assert f"saved {n} frames ({n / 10:.1f} s of video) to {path}" == window.statusBar().currentMessage()


def test_time_lapse_takes_one_frame_per_n_steps(qtbot, window, tmp_path, frames):
    tab = window.tab_by_name["swgmm"]
    conftest.wait_first_frame(qtbot, tab)
    tab.controls.speed.setValue(1)                            # a frame after every step: each step is seen
    window.export_dir = tmp_path
    window.rec_settings = {"suffix": ".gif", "fps": 15.0, "scale": 0.5, "every_steps": 5}
    path = window.toggle_recording()
    assert not tab.recorder.real_time and frames["n"] == 0    # nothing before the first redraw
    tab.controls.play.click()
    conftest.wait_step(qtbot, tab, 42, timeout=60_000)
    tab.controls.play.click()
    conftest.wait_paused(qtbot, tab)
    qtbot.waitUntil(lambda: window.rec_indicator.text().startswith("● REC"), timeout=2_000)
    last = tab.step
    n = frames["n"]
    # a frame at the first redraw (step 1), then one on every fifth step
    assert n == 1 + (last - 1) // 5
    # (the indicator is refreshed by the window's status timer)
    qtbot.waitUntil(lambda: window.rec_indicator.text() == f"● REC {n} frames = {n / 15:.1f} s at 15 fps",
                    timeout=2_000)
    window.toggle_recording()
    import imageio_ffmpeg

    assert imageio_ffmpeg.count_frames_and_secs(path)[0] == n
    h, w = tab.plot_area.height(), tab.plot_area.width()
    assert frames["shapes"] == {(round(h * 0.5), round(w * 0.5), 3)}
