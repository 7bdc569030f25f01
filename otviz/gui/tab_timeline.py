"""A tab's past: the frames it drew (to scrub through), the fork from one of them, the run's branches.

The frames live here, in the GUI, as they were drawn, so scrubbing costs the training nothing; the
states to fork from (keyframes) live with the run in the worker. Mixed into MethodTab, whose
attributes it uses: timeline, view, history_plot, last_frame, running, recorder, link, _send,
pause, status_changed.
"""
from __future__ import annotations

import time

import numpy as np
from PySide6 import QtWidgets

from otviz.gui.export import Recorder
from otviz.gui.timeline_bar import DEFAULT_BUDGET_MB
from otviz.session.frames import FrameStore

FRAMES_SHARE = 0.5        # of the tab's past budget for the frames drawn; the rest for the worker's keyframes
BAR_INTERVAL = 0.25       # s between two updates of the timeline bar while the run goes on
MAX_PAST_FRAMES = 900     # a recording of the past takes at most this many frames, evenly spread (a minute at 15 fps)


class TabTimeline:
    def _init_timeline(self) -> None:
        self.past: dict[int, FrameStore] = {0: FrameStore(self._frames_budget(DEFAULT_BUDGET_MB))}
        self.branch = 0
        self.scrub: int | None = None        # index of the stored frame on screen; None: now
        self._held: dict = {}                # panel changes made while looking at the past: a fork takes them
        self._keyframe_bytes = 0
        self._bar_updated = 0.0
        bar = self.timeline
        bar.scrubbed.connect(self.scrub_to)
        bar.live_requested.connect(self.timeline_live)
        bar.fork_requested.connect(self.continue_from_here)
        bar.branch_chosen.connect(self.switch_branch)
        bar.budget_changed.connect(self._budget_changed)

    @staticmethod
    def _frames_budget(mb: int) -> int:
        return int(mb * 2**20 * FRAMES_SHARE)

    @property
    def frames(self) -> FrameStore:
        return self.past[self.branch]

    # ---------------------------------------------------------------- frames as they come
    def _remember(self, f: dict) -> None:
        """Keep a drawn frame (its snapshot with the fields it was drawn with)."""
        if f.get("preview"):
            return
        self._keyframe_bytes = int(f.get("past_bytes", self._keyframe_bytes))
        self.frames.add(f["step"], f["snap"])
        now = time.perf_counter()
        # the bar follows the run a few times a second: its labels' new widths would lay the window
        # out again at every frame. A frame drawn while paused may be the last for a while: it is shown.
        if self.scrub is not None or not f.get("running", True) or now - self._bar_updated >= BAR_INTERVAL:
            self._bar_updated = now
            self._update_bar()

    def _update_bar(self) -> None:
        bar, frames = self.timeline, self.frames
        newest = frames.steps[-1] if len(frames) else self.step
        bar.set_frames(len(frames), self.scrub)
        shown = frames.frames[self.scrub].step if self.scrub is not None and len(frames) else newest
        bar.set_position(shown, newest, self.scrub is not None)
        bar.set_memory(frames.nbytes + self._keyframe_bytes)

    # ---------------------------------------------------------------- scrubbing
    def scrub_to(self, index: int) -> None:
        """Show the run as it was at the stored frame `index` (training pauses)."""
        frames = self.frames
        if not len(frames) or self.view is None:
            return
        if self.running:
            self.pause()
        self.scrub = int(min(max(index, 0), len(frames) - 1))
        f = frames.frames[self.scrub]
        self.view.update_snapshot(f.snap)
        self.history_plot.set_cursor(f.step)
        self._update_bar()
        self.status_changed.emit(f"showing step {f.step}: “Continue from here” trains on from it as a new "
                                 f"branch, End goes back to now")
        if self.recorder is not None:
            self._capture(f.step)            # a recording of a scrub through the past

    def timeline_first(self) -> None:
        self.scrub_to(0)

    def timeline_back(self) -> None:
        self.scrub_to((len(self.frames) - 1 if self.scrub is None else self.scrub) - 1)

    def timeline_forward(self) -> None:
        if self.scrub is not None:
            if self.scrub + 1 >= len(self.frames):
                self.timeline_live()
            else:
                self.scrub_to(self.scrub + 1)

    def timeline_live(self) -> None:
        """Back to the newest frame; changes made meanwhile go to the run now."""
        if self.scrub is None:
            return
        self.scrub = None
        self.history_plot.set_cursor(None)
        if self.last_frame is not None and self.view is not None:
            self.view.update_snapshot(self.last_frame["snap"])
        held, self._held = self._held, {}
        if held:
            self._send("set", held)
        self._update_bar()

    def _hold(self, changes: dict) -> bool:
        """While the past is on screen, parameter changes wait for the fork (True: held)."""
        if self.scrub is None:
            return False
        self._held.update(changes)
        self.status_changed.emit("changed for the next branch: press “Continue from here” to train on "
                                 "with it from the step on screen")
        return True

    def record_past(self, path: str, fps: float = 15.0, scale: float = 1.0, progress=None) -> int:
        """The branch's past as an animation: its stored frames (at most MAX_PAST_FRAMES, evenly
        spread) drawn one after the other with the history marked at each, as a scrub would show them.
        `progress(done, total)` may return False to stop early. Returns the frames written."""
        frames = self.frames.frames
        if not frames or self.view is None:
            raise ValueError("nothing to record yet: play the run first")
        if self.running:
            self.pause()
        picks = np.unique(np.linspace(0, len(frames) - 1, min(len(frames), MAX_PAST_FRAMES)).round().astype(int))
        rec = Recorder(self.plot_area, path, fps=fps, scale=scale, every_steps=1)
        written = 0
        try:
            for n, i in enumerate(picks):
                f = frames[i]
                self.view.update_snapshot(f.snap)
                self.history_plot.set_cursor(f.step)
                rec.capture(f.step)
                written += 1
                if progress is not None and progress(n + 1, len(picks)) is False:
                    break
                if n % 10 == 0:
                    QtWidgets.QApplication.processEvents()
        except Exception:
            rec.abort()
            raise
        finally:
            shown = frames[self.scrub].snap if self.scrub is not None else (self.last_frame or {}).get("snap")
            if shown is not None:
                self.view.update_snapshot(shown)
            self.history_plot.set_cursor(frames[self.scrub].step if self.scrub is not None else None)
        rec.finish()
        return written

    # ---------------------------------------------------------------- forks and branches
    def continue_from_here(self) -> None:
        if self.scrub is None or not len(self.frames):
            return
        step = self.frames.frames[self.scrub].step
        changes, self._held = self._held, {}
        self.scrub = None
        self.history_plot.set_cursor(None)
        self._send("fork", {"step": step, "changes": changes})

    def switch_branch(self, branch_id: int) -> None:
        if branch_id == self.branch and self.scrub is None:
            return
        self.scrub = None
        self._held = {}
        self.history_plot.set_cursor(None)
        self._send("switch", int(branch_id))

    def _on_branches(self, p: dict) -> None:
        """The worker's branches after a fork, a switch or a new run: the frames follow the branch."""
        current = int(p["current"])
        known = {int(b["id"]): b for b in p["branches"]}
        if current not in self.past:
            b = known.get(current, {})
            parent = self.past.get(b.get("parent"))
            self.past[current] = (parent.until(int(b["fork_step"])) if parent is not None
                                  else FrameStore(self.frames.budget_bytes))
        for bid in [k for k in self.past if k not in known]:
            del self.past[bid]               # a new run or session: its past only
        self.branch = current
        self.timeline.set_branches(p["branches"], current)
        self.history_plot.set_ghosts([(np.asarray(g["steps"]), {k: np.asarray(v) for k, v in g["columns"].items()})
                                      for g in p.get("ghosts", ())])
        self._update_bar()

    def _forget_past(self) -> None:
        """Another run in this tab (a session opened, a checkpoint restored): none of its frames yet."""
        self.scrub = None
        self._held = {}
        self.history_plot.set_cursor(None)
        self.past = {self.branch: FrameStore(self.frames.budget_bytes)}
        self._update_bar()

    def _budget_changed(self, mb: int) -> None:
        for store in self.past.values():
            store.set_budget(self._frames_budget(mb))
        if self.link is not None:
            self.link.send("timeline_budget", int(mb * 2**20 * (1 - FRAMES_SHARE)))
        self._update_bar()
