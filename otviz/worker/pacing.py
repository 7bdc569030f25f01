"""When a training worker sends its next frame: undrawn frames, the display's rate, the snapshot share."""
from __future__ import annotations

import dataclasses

MAX_FPS = 60.0
MAX_IN_FLIGHT = 2          # one frame on screen, one on its way: the GUI never waits for the next one
SNAPSHOT_SHARE = 0.1       # frames are spaced so that snapshots take this share of the time on average


@dataclasses.dataclass
class FrameClock:
    """When the next frame may go: frames in flight, the display rate and the snapshot share."""
    in_flight: int = 0
    last_sent: float = 0.0
    snap_cost: float = 0.0         # seconds per snapshot, moving average
    step_time: float = 0.0         # seconds per training step, moving average
    max_fps: float = MAX_FPS

    def due(self, now: float, running: bool) -> bool:
        if self.in_flight >= MAX_IN_FLIGHT:
            return False
        gap = now - self.last_sent
        if gap < 1.0 / self.max_fps:         # the display's (or the GUI's) rate: a hard limit
            return False
        if not running:
            return True
        # frames can only go between two steps: the snapshot share is kept on average by sending at
        # the step nearest to its ideal time rather than the first one after it (a step as long as the
        # interval gets a frame after every step, not after every second one)
        return gap >= self.snap_cost / SNAPSHOT_SHARE - 0.5 * self.step_time

    def sent(self, now: float, cost: float, running: bool) -> None:
        self.in_flight += 1
        self.last_sent = now
        if running:          # only frames taken while training pace training (a paused one is complete)
            self.snap_cost = cost if not self.snap_cost else 0.8 * self.snap_cost + 0.2 * min(cost, 1.0)
