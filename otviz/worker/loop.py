"""The training worker process: steps one Session between commands and sends frames of plain data back.

Commands arrive in order on the channel and are applied between two steps; consecutive parameter
changes are merged (the last write wins), every other command (an edit, a reset…) keeps its place.
A frame is sent when the GUI is ready for one: at most MAX_IN_FLIGHT undrawn frames, at most the
display rate, and spaced so that taking snapshots costs training at most SNAPSHOT_SHARE of its time.
Expensive view fields are computed elsewhere while training (see fields.py): the frames then carry
the small state the helper needs, a few times a second.
"""
from __future__ import annotations

import dataclasses
import os
import time
import traceback
from collections import deque
from typing import Any

import numpy as np

from otviz.worker.painter import FramePainter
from otviz.worker.pacing import MAX_FPS, MAX_IN_FLIGHT, FrameClock
from otviz.worker.protocol import Channel, ChannelClosed, open_child_channel

FIELD_INTERVAL = 0.25      # s between two field states sent to the helper while training
INLINE_FIELD_INTERVAL = 0.5  # s between fields computed here while training when no helper runs
CHECKPOINT_INTERVAL = 10.0   # s of training between two checkpoints kept by the GUI side
# commands about the frames themselves (their pace, their acknowledgement, where fields come from)
QUIET_COMMANDS = frozenset({"ack", "max_fps", "pace", "fields_remote", "prepare", "checkpoint"})
IDLE_POLL = 0.5            # s a paused worker waits for a command (it also notices a closed GUI)


def worker_main(conn, nice: int = 0) -> None:
    """Entry point of a worker process: warm up, say ready, then serve one tab until told to quit."""
    channel = open_child_channel(conn, nice)
    try:
        devices = warm_up()
        channel.send("ready", {"pid": os.getpid(), "devices": devices})
        TrainingLoop(channel).run()
    except ChannelClosed:
        pass                     # the GUI is gone: nothing left to serve


def warm_up() -> list:
    """Import torch and every method, and run one optimiser step of each kind, so that the first Play
    does not wait for imports that torch defers to the first use (its optimisers load the compiler
    front end on their first step)."""
    import torch

    from otviz.core.devices import device_status
    from otviz.methods import method_class, method_names

    for name in method_names():
        method_class(name)
    p = torch.nn.Parameter(torch.zeros(4))
    for opt in (torch.optim.Adam([p], lr=1e-3), torch.optim.Adam([p], lr=1e-3, fused=True),
                torch.optim.RMSprop([p], lr=1e-3, centered=True)):
        (p * p).sum().backward()
        opt.step()
        opt.zero_grad()
    return device_status()


class TrainingLoop:
    def __init__(self, channel: Channel):
        self.ch = channel
        self.session = None
        self.running = False
        self.single = 0
        self.pace = 0                 # 0: flat out; N: N steps, then the frame, then on
        self.fields_remote = False    # a helper process computes the expensive fields
        self.clock = FrameClock()
        self.frame_id = 0
        self.dirty = False
        self.steps_since_frame = 0
        self.rows: list[tuple[int, dict]] = []
        self.full_history = True      # the next frame carries the whole history (after a reset or load)
        self.sent_events: list | None = None
        self.config_sent: Any = None
        self.rate: deque[tuple[float, int]] = deque(maxlen=256)
        self.last_field = 0.0
        self.trained_since_checkpoint = 0.0
        self.checkpoint_step = -1
        self.need_full = True
        self.prepared = None          # (run key, Session) built ahead by _cmd_prepare
        self.painter: FramePainter | None = None   # per-frame fields off the training process
        self.painter_failed = False
        self.quit = False

    # ------------------------------------------------------------------ the loop
    def run(self) -> None:
        while not self.quit:
            training = self.session is not None and (self.running or self.single) and self._may_step()
            self._read_commands(block=not training)
            if self.quit:
                return
            if training and (self.running or self.single) and self._may_step():
                t0 = time.perf_counter()
                self._step()
                dt = time.perf_counter() - t0
                self.trained_since_checkpoint += dt
                c = self.clock
                c.step_time = dt if not c.step_time else 0.9 * c.step_time + 0.1 * min(dt, 1.0)
            self._maybe_send_frame()
            if self.trained_since_checkpoint >= CHECKPOINT_INTERVAL:
                self._checkpoint()

    def _may_step(self) -> bool:
        if not self.pace or not self.running:
            return True
        # demo pace: N steps, then this frame on screen, then on
        return self.steps_since_frame < self.pace and self.clock.in_flight == 0

    def _read_commands(self, block: bool) -> None:
        timeout = 0.0
        if block:
            timeout = IDLE_POLL
            if self.dirty and self.session is not None and self.clock.in_flight < MAX_IN_FLIGHT:
                timeout = max(0.0, self.clock.last_sent + 1.0 / self.clock.max_fps - time.perf_counter())
                if self.painter is not None and self.painter.busy:
                    timeout = max(timeout, 0.001)     # the next frame waits for this one: no busy wait
        merged: dict[str, Any] = {}
        while self.ch.poll(timeout):
            timeout = 0.0
            kind, payload = self.ch.recv()
            if kind == "set":
                merged.update(payload)
                continue
            if merged:
                self._apply_changes(merged)
                merged = {}
            self._command(kind, payload)
            if self.quit:
                return
        if merged:
            self._apply_changes(merged)

    # ------------------------------------------------------------------ commands
    def _command(self, kind: str, p: Any) -> None:
        handler = getattr(self, f"_cmd_{kind}", None)
        if handler is None:
            self._fail(f"unknown command {kind!r}")
            return
        try:
            handler(p)
        except ChannelClosed:
            raise
        except Exception as e:        # a refused value, a failed edit, an unreadable file: say so, go on
            if not isinstance(e, (ValueError, OSError)):
                traceback.print_exc()
            self._fail(_message(e))
        if kind not in QUIET_COMMANDS:    # these change nothing drawn: a paused run sends no more
            self.dirty = True

    def _cmd_quit(self, _p) -> None:
        self.quit = True
        if self.painter is not None:
            self.painter.close()

    def _cmd_ack(self, _frame_id) -> None:
        self.clock.in_flight = max(0, self.clock.in_flight - 1)

    def _cmd_prepare(self, p: dict) -> None:
        """Build the run a tab on screen would start (a spare, before Play): Play then starts at once."""
        self.prepared = (_run_key(p), self._build(p, report=False))
        if self.prepared[1] is not None:
            self._prime_painter(self.prepared[1].method)

    def _cmd_init(self, p: dict) -> None:
        prepared, self.prepared = self.prepared, None
        if prepared is not None and prepared[0] == _run_key(p) and prepared[1] is not None:
            session = prepared[1]
        else:
            session = self._build(p, report=True)
        self._adopt(session)
        # the tab already shows this run's initial fields (a preview): its first frame may be lean
        self.need_full = not p.get("fields_known", False)

    def _build(self, p: dict, report: bool):
        from otviz.methods import method_class
        from otviz.session.session import Session

        cls = method_class(p["method"])
        seed = p.get("seed", 0)
        try:
            config = cls.Config(**p.get("config", {}))
            method = cls(config, seed=seed, device=p.get("device", "cpu"))
        except (TypeError, ValueError) as e:
            # keep the tab usable: the run on the CPU, or the defaults, and the reason
            if report:
                self._fail(_message(e))
            if not report:
                return None
            try:
                method = cls(config, seed=seed, device="cpu")
            except (NameError, TypeError, ValueError):
                method = cls(seed=seed)
        return Session(method)

    def _cmd_load(self, p: dict) -> None:
        """A saved session, from a file path or from checkpoint bytes kept by the GUI."""
        from otviz.session.file import load_session, load_session_bytes

        if "path" in p:
            session, _extra = load_session(p["path"], device=p.get("device"))
        else:
            session = load_session_bytes(p["data"], p.get("name", "checkpoint"))
        if p.get("method") and session.method.name != p["method"]:
            raise ValueError(f"{p.get('name') or p.get('path')}: a {session.method.name} session, "
                             f"not {p['method']}")
        self._adopt(session)
        self._send("loaded", {"method": session.method.name, "step": session.step_count,
                                "path": p.get("path")})

    def _adopt(self, session) -> None:
        self.session = session
        self.running = False
        self.single = 0
        self._restarted()
        self._prime_painter(session.method)

    def _restarted(self) -> None:
        self.rows.clear()
        self.rate.clear()
        self.full_history = True
        self.config_sent = None
        self.trained_since_checkpoint = 0.0
        self.need_full = True         # the GUI holds no fields of this run yet
        self.dirty = True

    def _cmd_play(self, _p) -> None:
        self._set_running(True)

    def _cmd_pause(self, _p) -> None:
        self._set_running(False)

    def _cmd_step(self, n) -> None:
        self._set_running(False)
        self.single += max(1, int(n or 1))

    def _cmd_reset(self, seed) -> None:
        self.session.reset(seed)
        self._restarted()

    def _cmd_device(self, name: str) -> None:
        self.session.method.set_device(name)
        self.config_sent = None

    def _cmd_pace(self, n) -> None:
        self.pace = max(0, int(n))

    def _cmd_max_fps(self, fps) -> None:
        self.clock.max_fps = min(max(float(fps), 1.0), MAX_FPS)

    def _cmd_fields_remote(self, on) -> None:
        self.fields_remote = bool(on)

    def _cmd_edit(self, p) -> None:
        action, payload = p
        self.session.method.edit(action, payload)

    def _cmd_save(self, path: str) -> None:
        from otviz.session.file import save_session

        save_session(path, self.session)
        self._send("notice", f"session saved to {path}")

    def _cmd_history_csv(self, path: str) -> None:
        self.session.history.to_csv(path)
        self._send("notice", f"history saved to {path}")

    def _cmd_checkpoint(self, _p) -> None:
        self._checkpoint()

    def _apply_changes(self, changes: dict) -> None:
        try:
            if self.session.update(changes):
                self._restarted()
        except ValueError as e:
            self._fail(_message(e))
        self.config_sent = None          # also after a refusal: the panel shows the value in force
        self.dirty = True

    # ------------------------------------------------------------------ training
    def _set_running(self, on: bool) -> None:
        if on == self.running:
            return
        self.running = on
        self.steps_since_frame = 0
        self._send("running", on)
        if not on:
            self.dirty = True            # a paused frame carries the fresh fields
            if self.session is not None and self.session.step_count != self.checkpoint_step:
                self._checkpoint()

    def _step(self) -> None:
        from otviz.methods.base import Diverged

        if self.single:
            self.single -= 1
        try:
            self.session.step()
        except Diverged as e:
            self.single = 0
            self._set_running(False)
            self._fail(str(e))
            return
        except Exception as e:
            traceback.print_exc()
            self.single = 0
            self._set_running(False)
            self._fail(f"training stopped: {_message(e)}")
            return
        s = self.session
        self.rows.append((s.step_count, s.last_metrics))
        self.rate.append((time.perf_counter(), s.step_count))
        self.steps_since_frame += 1
        self.dirty = True

    def steps_per_second(self) -> float:
        if not self.running or len(self.rate) < 2:
            return 0.0
        now = time.perf_counter()
        recent = [(t, s) for t, s in self.rate if now - t <= 1.0] or list(self.rate)[-2:]
        if len(recent) < 2:
            return 0.0
        (t0, s0), (t1, s1) = recent[0], recent[-1]
        return (s1 - s0) / max(t1 - t0, 1e-9)

    # ------------------------------------------------------------------ frames
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
                if now - self.last_field >= FIELD_INTERVAL:
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

    def _checkpoint(self) -> None:
        """The session as bytes for the GUI side to keep: a worker that dies restarts from here."""
        from otviz.session.file import dump_session

        if self.session is None:
            return
        self._send("checkpoint", {"step": self.session.step_count, "data": dump_session(self.session)})
        self.checkpoint_step = self.session.step_count
        self.trained_since_checkpoint = 0.0

    def _fail(self, message: str) -> None:
        self._send("failed", message)


def _run_key(p: dict) -> tuple:
    """What makes two runs the same at step 0: method, config, seed, device."""
    return (p["method"], sorted(p.get("config", {}).items(), key=lambda kv: kv[0]), p.get("seed", 0),
            p.get("device", "cpu"))


def _message(e: BaseException) -> str:
    return str(e) or type(e).__name__
