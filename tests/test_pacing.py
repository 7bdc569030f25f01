"""The worker's frame clock: the average frame rate asked for, whatever the length of a step."""
import pytest

from otviz.worker.pacing import MAX_FPS, MAX_IN_FLIGHT, FrameClock


def simulate(step: float, fps: float, seconds: float = 20.0, cost: float = 0.0005) -> float:
    """Frames a second sent by a loop that steps for `step` seconds and asks the clock after each
    step, the GUI acknowledging every frame at once."""
    clock = FrameClock(max_fps=fps, step_time=step)
    t, frames = 0.0, 0
    while t < seconds:
        t += step
        if clock.due(t, True):
            clock.sent(t, cost, True)
            clock.in_flight = 0
            frames += 1
    return frames / seconds


@pytest.mark.parametrize("step, fps", [(step, fps) for fps in (20.0, 30.0, 40.0)
                                       for step in (0.001, 0.004, 0.009, 0.0125, 0.024, 0.031)
                                       if step <= 1 / fps])
def test_average_rate_is_the_one_asked_for(step, fps):
    """Steps shorter than the interval: the rate is the cap on average (not one frame every second
    step when a step is most of the interval, not one every step when it is half of it)."""
    assert simulate(step, fps) == pytest.approx(fps, rel=0.05)


def test_steps_longer_than_the_interval_get_a_frame_each():
    assert simulate(0.05, 40.0) == pytest.approx(20.0, rel=0.02)


def test_never_beyond_the_display_rate_and_the_snapshot_share():
    assert simulate(0.001, 1000.0) <= MAX_FPS * 1.01
    # snapshots of 5 ms may take a tenth of the time: at most 20 frames a second
    assert simulate(0.002, 60.0, cost=0.005) == pytest.approx(20.0, rel=0.05)


def test_frames_in_flight_hold_the_next_one_and_a_late_schedule_does_not_burst():
    clock = FrameClock(max_fps=30.0, step_time=0.01)
    clock.sent(1.0, 0.0005, True)
    clock.sent(1.04, 0.0005, True)
    assert clock.in_flight == MAX_IN_FLIGHT and not clock.due(5.0, True)
    clock.in_flight = 0                   # the GUI drew both, two seconds late
    assert clock.due(5.0, True)
    clock.sent(5.0, 0.0005, True)
    clock.in_flight = 0
    assert not clock.due(5.01, True)      # no catching up on the missed frames
    assert clock.due(5.0 + 1 / 30, True)


def test_a_paused_run_sends_at_once():
    clock = FrameClock(max_fps=30.0)
    clock.sent(1.0, 0.0005, False)
    clock.in_flight = 0
    assert clock.due(1.0 + 1 / 30 + 1e-6, False) and not clock.due(1.01, False)


def test_a_costly_first_snapshot_does_not_space_the_first_frames_of_training():
    clock = FrameClock(max_fps=60.0, step_time=0.006)
    clock.sent(1.0, 0.0055, True)          # the run's first snapshot, cold
    clock.in_flight = 0
    assert clock.due(1.02, True)           # the next at the display's rate, not 55 ms later
