"""When a training worker sends its next frame: undrawn frames, the display's rate, the snapshot share."""
from __future__ import annotations

import dataclasses

MAX_FPS = 60.0
MAX_IN_FLIGHT = 2          # one frame on screen, one on its way: the GUI never waits for the next one
SNAPSHOT_SHARE = 0.1       # frames are spaced so that snapshots take this share of the time on average


@dataclasses.dataclass
class FrameClock:
    """When the next frame may go: frames in flight, the display rate and the snapshot share.

    Frames can only go between two steps. While training they follow an ideal schedule, one per
    interval, each sent at the step nearest to its ideal time: the average rate is then the one asked
    for even when a step is a large part of the interval (after the first step past the limit it
    would fall to one frame every second step, after the nearest step it would exceed the limit)."""
    in_flight: int = 0
    last_sent: float = 0.0
    ideal: float = 0.0             # the ideal time of the last frame sent while training
    snap_cost: float = 0.0         # seconds per snapshot, moving average
    step_time: float = 0.0         # seconds per training step, moving average
    max_fps: float = MAX_FPS

    def interval(self, running: bool) -> float:
        """Seconds between two frames: the display's (or the GUI's) rate, and while training also
        the snapshot share."""
        gap = 1.0 / self.max_fps
        return max(gap, self.snap_cost / SNAPSHOT_SHARE) if running else gap

    def due(self, now: float, running: bool) -> bool:
        if self.in_flight >= MAX_IN_FLIGHT:
            return False
        if now - self.last_sent < 1.0 / MAX_FPS:       # never beyond the display's rate
            return False
        if not running:
            return now - self.last_sent >= self.interval(False)
        return now >= self.ideal + self.interval(True) - 0.5 * self.step_time

    def sent(self, now: float, cost: float, running: bool) -> None:
        self.in_flight += 1
        self.last_sent = now
        if not running:
            self.ideal = now
            return
        # only frames taken while training pace training (a paused one is complete). The average
        # starts from nothing: a run's first snapshot is often its costliest (first allocations, cold
        # caches), and taken as the average it spaced the first frames of training by ten times that
        # (Sinkhorn's first, 5.5 ms: the second frame came 50 ms after the first)
        self.snap_cost = 0.8 * self.snap_cost + 0.2 * min(cost, 1.0)
        # the next ideal time follows this one; a schedule fallen behind (frames held back by the
        # GUI, a long step) restarts from now instead of sending a burst to catch up
        half = 0.5 * self.step_time
        self.ideal = min(max(self.ideal + self.interval(True), now - half), now + half)
