"""How a training worker sends its frames: when one is due, what it holds, and who finishes it.

Mixed into TrainingLoop, whose state it uses (session, clock, painter, the frame bookkeeping). A
frame carries a lean snapshot while training; the expensive fields come from the helper process (the
frame then carries the small state it needs, a few times a second) or, without one, from here now
and then; per-frame network passes are finished by the painter process when the method has some.
"""
from __future__ import annotations

import dataclasses
import os
import time
import traceback
from typing import Any

import numpy as np

from otviz.worker.painter import FramePainter
from otviz.worker.protocol import Channel

FIELD_INTERVAL = 0.25      # s between two field states sent to the helper while training
INLINE_FIELD_INTERVAL = 0.5  # s between fields computed here while training when no helper runs


class FrameSender:
    def _maybe_send_frame(self) -> None:
        if self.painter is not None:
            idle = self.painter.collect()
            if self.painter.error is not None:
                self._painter_failed()
            elif not idle:
                return
        if not self.dirty or self.session is None:
            return
        now = time.perf_counter()
        pace_due = self.pace and self.running and self.steps_since_frame >= self.pace
        if self.pace and self.running and 0 < self.steps_since_frame < self.pace:
            return                       # demo pace: a frame after every N steps, not in between
        if not (self.clock.due(now, self.running and not pace_due)):
            return
        self._send_frame(now)

    def _send(self, kind: str, payload: Any = None) -> None:
        """Every message but a painted frame: after the frame the painter may still be finishing,
        so that nothing overtakes it (a "paused" before the last frame taken while running)."""
        if self.painter is not None:
            self.painter.wait_idle()
        self.ch.send(kind, payload)

    def settle(self) -> None:
        """Return once every frame handed to the painter has been sent."""
        if self.painter is not None:
            self.painter.wait_idle()

    def _painter_for(self, method) -> FramePainter | None:
        """The frame painter, for a method with per-frame fields, unless it has failed in this run
        (or the worker talks to no real pipe, or cannot fork)."""
        if not method.frame_fields or self.painter_failed:
            return None
        if self.painter is None:
            if not isinstance(self.ch, Channel) or not hasattr(os, "fork"):
                self.painter_failed = True
                return None
            try:
                self.painter = FramePainter(self.ch)
            except OSError as e:          # no resources for another process
                self.painter_failed = True
                self._fail(f"frames are drawn more slowly: no frame painter ({_message(e)})")
                return None
        return self.painter

    def _prime_painter(self, method) -> None:
        """Start the painter and its copy of the method ahead of the first frame."""
        painter = self._painter_for(method)
        if painter is not None:
            painter.prime(method)

    def _send_frame(self, now: float) -> None:
        s, m = self.session, self.session.method
        full = self.need_full or not self.running
        remote_fields = bool(getattr(m, "fields", ())) and not full
        self.need_full = False
        field_state = None
        painter = self._painter_for(m)
        inline = painter is None         # the per-frame fields computed here, now
        try:
            if not remote_fields:
                snap = m.snapshot(frame_fields=inline)
            elif self.fields_remote:
                snap = m.snapshot(fields=False, frame_fields=inline)
                if now - self.last_field >= self.field_interval:
                    field_state = m.field_state()
                    self.last_field = now
            else:                        # no helper: fresh fields here, now and then
                full = now - self.last_field >= INLINE_FIELD_INTERVAL
                snap = m.snapshot(fields=full, frame_fields=inline)
                if full:
                    self.last_field = now
            paint_state = None if inline else m.frame_state()
        except Exception as e:
            traceback.print_exc()
            self._set_running(False)
            self._fail(f"could not draw: {_message(e)}")
            self.dirty = False
            return
        frame = {"id": self.frame_id, "step": s.step_count, "snap": snap, "metrics": dict(s.last_metrics),
                 "steps_per_s": self.steps_per_second(), "running": self.running, "seed": m.seed,
                 "device": str(m.device), "field_state": field_state, "method": m.name}
        frame.update(self._history_update())
        timeline = getattr(s, "timeline", None)
        if timeline is not None:
            frame["past_bytes"] = timeline.memory_bytes()      # the keyframes kept to fork from
        if self.config_sent is not m.config:
            frame["config"] = dataclasses.asdict(m.config)
            self.config_sent = m.config
        self.frame_id += 1
        self.dirty = False
        self.steps_since_frame = 0
        if inline:
            self._send("frame", frame)
        else:
            painter.submit(m, paint_state, frame)
        self.clock.sent(now, time.perf_counter() - now, self.running and not full)   # sending included

    def _history_update(self) -> dict:
        """The history rows since the last frame (the GUI keeps a copy), or all of it after a restart."""
        h, out = self.session.history, {}
        if self.full_history:
            out["history"] = h.state_dict()
            self.full_history = False
        elif self.rows:
            names = h.names
            out["rows"] = np.array([[step] + [mt.get(n, np.nan) for n in names] for step, mt in self.rows],
                                   dtype=np.float64)
        self.rows.clear()
        events = list(h.events)
        if events != self.sent_events:
            out["events"] = events
            self.sent_events = events
        return out

    def _painter_failed(self) -> None:
        """The painter lost a frame: count it as drawn, paint here from now on, and say why."""
        message = self.painter.error
        self.painter.close()
        self.painter, self.painter_failed = None, True
        self.clock.in_flight = max(0, self.clock.in_flight - 1)
        self.dirty = True
        self._fail(f"frames are drawn more slowly: {message}")


def _message(e: BaseException) -> str:
    return str(e) or type(e).__name__
