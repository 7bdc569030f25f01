"""The training thread: steps a Session, takes commands between steps, sends throttled snapshots back.

Commands (parameter changes, edits, play/pause, reset…) are merged under a lock — the last write
wins — and applied between two steps. A frame (plain numpy data) is sent only when the GUI has drawn
the previous one and at most `max_fps` times a second, so frames never queue up. While training
runs, frames are also spaced so that drawing takes at most `gui_budget` of the time (the GUI thread
reports what each frame cost it): the views share one interpreter with training, so every
millisecond they draw is a millisecond training waits.
"""
from __future__ import annotations

import sys
import threading
import time
import traceback
from collections import deque
from typing import Any, Callable

from PySide6 import QtCore

from otviz.methods.base import Diverged
from otviz.methods.session import Session


# 8 %, not 10 %: drawing costs training more than the drawing's own time (every GIL hand-off between
# the two threads waits), and at 10 % the window kept 0.84-1.05 of SW-GMM's headless speed.
REDRAW_SHARE = 0.08


class TrainingWorker(QtCore.QThread):
    frame = QtCore.Signal(object)         # dict: snap, metrics, step, steps_per_s, history, events, running
    failed = QtCore.Signal(str)           # a message for the user (divergence, refused value, error)
    running_changed = QtCore.Signal(bool)
    notice = QtCore.Signal(str)           # a success message (a file was saved)

    def __init__(self, session: Session, max_fps: float = 60.0, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.session = session
        self.max_fps = max_fps
        self.gui_budget = REDRAW_SHARE    # the share of wall time the views may take while training
        self._gui_cost = 0.0              # GUI-thread CPU seconds per frame (moving average)
        self._snap_cost = 0.0             # this thread's CPU seconds per snapshot (moving average)
        self.steps_per_frame = 0          # 0: as fast as possible; N: N steps, then wait for the frame
        self._cv = threading.Condition()
        self._changes: dict[str, Any] = {}
        self._edits: dict[str, Any] = {}
        self._calls: list[tuple[Callable, Callable | None]] = []
        self._reset_seed: int | None | bool = False
        self._device: str | None = None
        self._running = False
        self._single = 0
        self._quit = False
        self._frame_pending = False        # a frame was sent and not yet drawn
        self._dirty = True
        self._rate: deque[tuple[float, int]] = deque(maxlen=64)

    # ---------------------------------------------------------------- commands (any thread)
    def set_params(self, changes: dict[str, Any]) -> None:
        with self._cv:
            self._changes.update(changes)
            self._cv.notify()

    def edit(self, action: str, payload: Any) -> None:
        with self._cv:
            self._edits[action] = payload
            self._cv.notify()

    def call(self, fn: Callable[[Session], Any], done: Callable[[Any], None] | None = None) -> None:
        """Run fn(session) in the training thread between two steps; done(result) is called there too."""
        with self._cv:
            self._calls.append((fn, done))
            self._cv.notify()

    def play(self) -> None:
        self._set_running(True)

    def pause(self) -> None:
        self._set_running(False)

    def toggle(self) -> None:
        self._set_running(not self._running)

    def single_step(self) -> None:
        with self._cv:
            self._running = False
            self._single += 1
            self._cv.notify()
        self.running_changed.emit(False)

    def reset(self, seed: int | None = None) -> None:
        with self._cv:
            self._reset_seed = seed
            self._cv.notify()

    def set_device(self, device: str) -> None:
        with self._cv:
            self._device = device
            self._cv.notify()

    def set_gui_budget(self, share: float) -> None:
        """The share of time (0.01 … 1) drawing may take while training: higher is smoother, slower."""
        self.gui_budget = min(max(float(share), 0.01), 1.0)

    def set_steps_per_frame(self, n: int) -> None:
        with self._cv:
            self.steps_per_frame = max(0, int(n))
            self._cv.notify()

    def frame_done(self, cost: float | None = None) -> None:
        """The GUI drew the last frame (costing it `cost` CPU seconds): the next one may be sent."""
        with self._cv:
            self._frame_pending = False
            if cost is not None and cost >= 0:
                self._gui_cost = cost if not self._gui_cost else 0.8 * self._gui_cost + 0.2 * min(cost, 1.0)
            self._cv.notify()

    def stop(self, timeout_ms: int = 3000) -> bool:
        with self._cv:
            self._quit = True
            self._cv.notify()
        return self.wait(timeout_ms)

    @property
    def is_running(self) -> bool:
        return self._running

    def _set_running(self, on: bool) -> None:
        with self._cv:
            changed = self._running != on
            self._running = on
            self._cv.notify()
        if changed:
            self.running_changed.emit(on)

    # ---------------------------------------------------------------- the loop (training thread)
    def run(self) -> None:
        # The GUI thread re-enters Python for every painted item; with the default 5 ms GIL switch
        # interval each re-entry can wait a full slice behind this thread (a few frames/s at best).
        if sys.getswitchinterval() > 0.0005:
            sys.setswitchinterval(0.0005)
        last_frame = 0.0
        steps_since_frame = 0
        while True:
            with self._cv:
                if self._quit:
                    return
                changes, self._changes = self._changes, {}
                edits, self._edits = self._edits, {}
                calls, self._calls = self._calls, []
                reset, self._reset_seed = self._reset_seed, False
                device, self._device = self._device, None
                single, self._single = self._single, 0
                running = self._running
            self._apply(changes, edits, calls, reset, device)
            n_steps = single
            if running:
                n_steps = max(n_steps, 1)
                if self.steps_per_frame and steps_since_frame >= self.steps_per_frame:
                    n_steps = 0            # demo pace: wait until this frame is on screen
            for _ in range(n_steps):
                if not self._step():
                    break
                steps_since_frame += 1
                self._dirty = True
            now = time.perf_counter()
            interval = 1.0 / self.max_fps
            if running and not self.steps_per_frame:     # demo pace (N steps per frame) is the user's choice
                interval = max(interval, (self._gui_cost + self._snap_cost) / self.gui_budget)
            due = now - last_frame >= interval
            if self._dirty and not self._frame_pending and due:
                self._send_frame()
                last_frame = now
                steps_since_frame = 0
                continue
            if not n_steps:
                with self._cv:
                    if not (self._quit or self._changes or self._edits or self._calls or self._single
                            or self._reset_seed is not False or self._device):
                        wait = 1.0 / self.max_fps if (self._dirty and not self._frame_pending) else 0.25
                        self._cv.wait(wait)

    def _apply(self, changes, edits, calls, reset, device) -> None:
        s = self.session
        try:
            if reset is not False:
                s.reset(reset)
                self._rate.clear()
                self._dirty = True
            if device:
                s.method.set_device(device)
                self._dirty = True
            if changes:
                if s.update(changes):
                    self._rate.clear()
                self._dirty = True
            for action, payload in edits.items():
                s.method.edit(action, payload)
                self._dirty = True
            for fn, done in calls:
                result = fn(s)
                self._dirty = True
                if done is not None:
                    done(result)
        except Exception as e:  # a refused value or a failed edit: tell the user, keep the run
            self.failed.emit(_message(e))
            self._dirty = True

    def _step(self) -> bool:
        try:
            self.session.step()
        except Diverged as e:
            self._set_running(False)
            self.failed.emit(str(e))
            return False
        except Exception as e:
            self._set_running(False)
            traceback.print_exc()
            self.failed.emit(f"training stopped: {_message(e)}")
            return False
        self._rate.append((time.perf_counter(), self.session.step_count))
        return True

    def _send_frame(self) -> None:
        s = self.session
        cpu = time.thread_time()
        try:
            snap = s.method.snapshot()
            c = time.thread_time() - cpu
            self._snap_cost = c if not self._snap_cost else 0.8 * self._snap_cost + 0.2 * min(c, 1.0)
        except Exception as e:
            traceback.print_exc()
            self._set_running(False)
            self.failed.emit(f"could not draw: {_message(e)}")
            self._dirty = False
            return
        h = s.history
        self._dirty = False
        with self._cv:
            self._frame_pending = True
        self.frame.emit({
            "snap": snap, "step": s.step_count, "metrics": dict(s.last_metrics),
            "steps_per_s": self.steps_per_second(),
            "history": (h.steps, {n: h.column(n) for n in h.names}), "events": list(h.events),
            "running": self._running, "time": time.perf_counter(),
        })

    def steps_per_second(self) -> float:
        if len(self._rate) < 2:
            return 0.0
        (t0, s0), (t1, s1) = self._rate[0], self._rate[-1]
        if time.perf_counter() - t1 > 1.0:
            return 0.0
        return (s1 - s0) / max(t1 - t0, 1e-9)


def _message(e: BaseException) -> str:
    return str(e) or type(e).__name__
