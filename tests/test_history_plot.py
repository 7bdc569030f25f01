"""The history plot: steps from 0, a sensible empty plot, and a readable y scale without a click."""
import numpy as np
import pytest

from otviz.gui.history_plot import MIN_STEP_SPAN, HistoryPlot
from otviz.gui.view_base import StickyViewBox


@pytest.fixture
def plot(qtbot):
    def make(metrics=("loss",)):
        h = HistoryPlot(tuple(metrics))
        qtbot.addWidget(h)
        h.resize(900, 220)
        h.show()
        return h
    return make


def show(qtbot, h, steps, cols, events=()):
    h.set_history((np.asarray(steps, float), {k: np.asarray(v, float) for k, v in cols.items()}), list(events))
    for _ in range(2):        # painting applies a pending auto-range: grab paints now, however busy the machine
        h.grab()
        qtbot.wait(1)
    return h.vb.viewRange()


def test_empty_plot_shows_the_first_hundred_steps(qtbot, plot):
    h = plot()
    (x0, x1), (y0, y1) = show(qtbot, h, [], {"loss": []})
    assert (x0, x1) == (0.0, 100.0) and (y0, y1) == (0.0, 1.0)
    assert "×" not in h.plot.getAxis("bottom").labelString()          # no "step (×0.001)"


def test_steps_never_go_below_zero(qtbot, plot):
    h = plot()
    for n in (1, 5, 200, 5_000):                 # the view grows with the run, from one step on
        steps = np.arange(0 if n == 1 else 1, n + 1)
        (x0, x1), _ = show(qtbot, h, steps, {"loss": 1.0 / (1 + steps)})
        assert x0 >= 0.0 and x1 >= steps[-1]
        assert x1 - x0 >= MIN_STEP_SPAN
    # the step axis grows ahead of the run (room for the steps to come, so it is not laid out again on
    # every frame), but from 0: its headroom is never spent left of the first step
    assert 5_000 * 1.05 < x1 < 5_000 * (1 + StickyViewBox.HEADROOM + StickyViewBox.GROWTH) * 1.05
    _, _ = show(qtbot, h, [], {"loss": []})      # a reset: the empty range again
    assert h.vb.viewRange()[0] == [0.0, 100.0]


def test_values_spanning_decades_start_on_a_log_axis(qtbot, plot):
    h = plot(("d_loss", "sw"))
    steps = np.arange(1, 301)
    d_loss = np.where(steps < 40, 10_000.0, 20.0) + np.sin(steps)       # a first spike of 10,000 over ~20
    sw = 0.5 * np.exp(-steps / 30) + 0.025                              # falls 20-fold: stays linear
    _, (y0, y1) = show(qtbot, h, steps, {"d_loss": d_loss, "sw": sw})
    assert h.log_y.isChecked()
    assert y0 < np.log10(19) and y1 > np.log10(10_001) and y1 - y0 < 4   # both levels readable
    h.choice.setCurrentText("sw")
    h.grab()
    assert not h.log_y.isChecked()
    assert h.vb.viewRange()[1][1] < 1.0


def test_the_users_choice_of_scale_wins(qtbot, plot):
    h = plot(("d_loss",))
    steps = np.arange(1, 301)
    d_loss = np.where(steps < 40, 10_000.0, 20.0)
    show(qtbot, h, steps, {"d_loss": d_loss})
    assert h.log_y.isChecked()
    h.log_y.click()                                  # the user wants it linear
    show(qtbot, h, np.arange(1, 401), {"d_loss": np.where(np.arange(1, 401) < 40, 10_000.0, 20.0)})
    assert not h.log_y.isChecked()
    assert h.vb.viewRange()[1][1] > 9_000


def test_signed_values_with_spikes_get_a_range_for_their_bulk(qtbot, plot):
    h = plot(("g_loss",))
    steps = np.arange(1, 501)
    g = 0.5 * np.sin(steps / 30.0)
    g[3:8] = [-3000, -5000, -2000, -400, -50]
    _, (y0, y1) = show(qtbot, h, steps, {"g_loss": g})
    assert not h.log_y.isChecked()
    assert -1.0 < y0 < -0.5 and 0.5 < y1 < 1.0          # the sine fills the plot; the spike is off it
    h.vb.enableAutoRange()                               # the "A" button: show everything
    _, (y0, y1) = show(qtbot, h, steps, {"g_loss": g})
    assert y0 < -5000


def test_marker_text_is_on_the_plot_in_log_mode(qtbot, plot):
    h = plot(("d_loss",))
    steps = np.arange(1, 301)
    show(qtbot, h, steps, {"d_loss": np.where(steps < 40, 10_000.0, 20.0)}, [(120, "eps0=2")])
    assert h.log_y.isChecked()
    (x0, x1), (y0, y1) = h.vb.viewRange()
    pos = h.marker_text.pos()
    assert h.marker_text.toPlainText() == "eps0=2"
    assert x0 <= pos.x() <= x1 and y0 <= pos.y() <= y1


def test_a_s_frames_leave_b_s_unchanged_dashed_curve_alone(qtbot, plot, monkeypatch):
    """In A | B each of A's frames redraws the plot: B's dashed curve, unchanged since B's own last
    frame, is not set again; a new history of B, another metric or the log scale set it."""
    h = plot(("loss", "w2"))
    sets = []
    real = h.overlay.setData
    monkeypatch.setattr(h.overlay, "setData", lambda *a, **k: (sets.append(len(a[0]) if a else 0), real(*a, **k)))
    b = (np.arange(1.0, 51.0), {"loss": np.linspace(2, 1, 50), "w2": np.linspace(5, 3, 50)})
    h.set_overlay(b)
    assert sets == [50]
    for n in (10, 11, 12):                                   # A's frames
        show(qtbot, h, np.arange(1.0, n), {"loss": np.ones(n - 1), "w2": np.ones(n - 1)})
    assert sets == [50]
    h.set_overlay((b[0][:40], {k: v[:40] for k, v in b[1].items()}))     # B's next frame
    assert sets == [50, 40]
    h.choice.setCurrentText("w2")
    assert len(sets) == 3 and np.allclose(h.overlay.getData()[1], b[1]["w2"][:40])
    h.log_y.setChecked(True)
    assert len(sets) == 4
    h.set_overlay(None)
    assert sets[-1] == 0 and len(h.overlay.getData()[0] if h.overlay.getData()[0] is not None else ()) == 0


def test_b_s_history_can_wait_for_a_s_next_frame(qtbot, plot):
    """While both sides train, B's frame only hands its history over and A's next frame draws both
    curves, B's changes marked too: one redraw of the plot for the two frames."""
    h = plot()
    b = (np.arange(1.0, 31.0), {"loss": np.linspace(3, 2, 30)})
    h.set_overlay(b, [(10, "lr=0.01")], draw=False)
    assert len(h.overlay.getData()[0] if h.overlay.getData()[0] is not None else ()) == 0    # not yet
    show(qtbot, h, np.arange(1.0, 21.0), {"loss": np.ones(20)})
    xs, ys = h.overlay.getData()
    assert len(xs) == 30 and np.allclose(ys, b[1]["loss"])
    assert "B: lr=0.01" in h.marker_text.toPlainText()
