"""The training worker process: steps one Session between commands and sends frames of plain data back.

Commands arrive in order on the channel and are applied between two steps; consecutive parameter
changes are merged (the last write wins), every other command (an edit, a reset…) keeps its place.
A frame is sent when the GUI is ready for one: at most MAX_IN_FLIGHT undrawn frames, at most the
display rate, and spaced so that taking snapshots costs training at most SNAPSHOT_SHARE of its time.
Expensive view fields are computed elsewhere while training (see fields.py and frame_sender.py).
The Session keeps the run's keyframes and branches: "fork" and "switch" go back into them.
"""
from __future__ import annotations

import os
import time
import traceback
from collections import deque
from typing import Any

from otviz.worker.frame_sender import FIELD_INTERVAL, FrameSender, _message
from otviz.worker.painter import FramePainter
from otviz.worker.pacing import MAX_FPS, MAX_IN_FLIGHT, FrameClock
from otviz.worker.protocol import Channel, ChannelClosed, open_child_channel

CHECKPOINT_INTERVAL = 10.0   # s of training between two checkpoints kept by the GUI side
# commands about the frames themselves (their pace, their acknowledgement, where fields come from)
QUIET_COMMANDS = frozenset({"ack", "max_fps", "pace", "fields_remote", "field_interval", "prepare", "checkpoint",
                            "timeline_budget", "branches"})
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


class TrainingLoop(FrameSender):
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
        self.field_interval = FIELD_INTERVAL     # s between two field states for the helper
        self.trained_since_checkpoint = 0.0
        self.checkpoint_step = -1
        self.need_full = True
        self.prepared = None          # (run key, Session) built ahead by _cmd_prepare
        self.painter: FramePainter | None = None   # per-frame fields off the training process
        self.painter_failed = False
        self.timeline_budget: int | None = None    # bytes of keyframes the tab allows (None: the default)
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
                                "path": p.get("path"), "name": p.get("name")})

    def _adopt(self, session) -> None:
        self.session = session
        self.running = False
        self.single = 0
        self._restarted()
        self._prime_painter(session.method)
        if self.timeline_budget is not None:
            self._apply_budget()
        self._send_branches()

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
        self.single = 0                  # steps asked for and not yet done stop too: a pause holds at once
        self._set_running(False)

    def _cmd_step(self, n) -> None:
        self._set_running(False)
        self.single += max(1, int(n or 1))

    def _cmd_reset(self, seed) -> None:
        self.session.reset(seed)
        self._restarted()
        self._send_branches()

    def _cmd_fork(self, p: dict) -> None:
        """Train on from a past step with the given changes, as a new branch of the run."""
        self._set_running(False)
        self.session.fork(int(p["step"]), p.get("changes") or None)
        self._restarted()
        self._send_branches()

    def _cmd_switch(self, branch_id) -> None:
        self._set_running(False)
        self.session.switch(int(branch_id))
        self._restarted()
        self._send_branches()

    def _cmd_timeline_budget(self, nbytes) -> None:
        self.timeline_budget = int(nbytes)
        if self.session is not None:
            self._apply_budget()

    def _apply_budget(self) -> None:
        timeline = self.session.timeline
        timeline.budget_bytes = self.timeline_budget
        if timeline.memory_bytes() > timeline.budget_bytes:
            timeline.thin()

    def _cmd_branches(self, _p) -> None:
        self._send_branches()

    def _send_branches(self) -> None:
        """The run's branches, and the other branches' histories for faint curves."""
        from otviz.session.history import History

        s = self.session
        if s is None:
            return
        branches = s.branches()
        ghosts = []
        for b in branches:
            state = b.pop("history", None)
            if state is not None:
                h = History(s.method.metrics)
                h.load_state_dict(state)
                ghosts.append({"steps": h.steps, "columns": {n: h.column(n) for n in h.names}})
        self._send("branches", {"current": s.timeline.current, "branches": branches, "ghosts": ghosts})

    def _cmd_device(self, name: str) -> None:
        self.session.method.set_device(name)
        self.config_sent = None

    def _cmd_pace(self, n) -> None:
        self.pace = max(0, int(n))

    def _cmd_max_fps(self, fps) -> None:
        self.clock.max_fps = min(max(float(fps), 1.0), MAX_FPS)

    def _cmd_fields_remote(self, on) -> None:
        self.fields_remote = bool(on)

    def _cmd_field_interval(self, seconds) -> None:
        """Seconds between two field states for the helper; None: the usual interval."""
        self.field_interval = FIELD_INTERVAL if seconds is None else min(max(float(seconds), 0.05), 5.0)

    def _cmd_edit(self, p) -> None:
        action, payload = p
        self.session.edit(action, payload)

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

