"""The tab's QThread that owns its training process's connection: commands out, frames and messages in.

The thread blocks on the connection and keeps only the newest frame: a frame that arrives before
the GUI took the previous one replaces it (and is acknowledged at once, so the worker keeps going).
The GUI thread is told a frame is waiting, takes it when it can, draws it and acknowledges it.
Commands are sent from the GUI thread directly (the channel's sends are thread-safe).
"""
from __future__ import annotations

import threading
from typing import Any

import numpy as np

from PySide6 import QtCore

from otviz.worker.pool import Handle, stop_all
from otviz.worker.protocol import ChannelClosed


class WorkerLink(QtCore.QThread):
    frame_ready = QtCore.Signal()          # take_frame() has a frame
    message = QtCore.Signal(str, object)   # (kind, payload): ready, failed, running, notice, loaded
    died = QtCore.Signal(str)              # the process ended without being asked: one sentence why
    checkpointed = QtCore.Signal(int)      # a checkpoint came (its step): `checkpoint` holds it

    def __init__(self, handle: Handle, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.handle = handle
        self._lock = threading.Lock()
        self._pending: dict | None = None
        self._notified = False
        self._closing = False
        self.checkpoint: dict | None = None    # {"step", "data"}: the newest one the worker sent

    # ---------------------------------------------------------------- GUI thread
    def send(self, kind: str, payload: Any = None) -> bool:
        """Send a command; False if the process is gone (its death is reported by `died`)."""
        try:
            self.handle.channel.send(kind, payload)
            return True
        except ChannelClosed:
            return False

    def take_frame(self) -> dict | None:
        with self._lock:
            f, self._pending, self._notified = self._pending, None, False
        return f

    def frame_drawn(self, frame: dict) -> None:
        self.send("ack", frame["id"])

    def request_stop(self) -> None:
        """First half of closing: stop listening for deaths (the quit is sent by stop_all)."""
        self._closing = True

    def close(self, timeout: float = 1.5) -> None:
        self.request_stop()
        stop_all([self.handle], timeout)
        self.wait(2000)

    @property
    def alive(self) -> bool:
        return self.isRunning() and self.handle.alive()

    # ---------------------------------------------------------------- the thread
    def run(self) -> None:
        ch = self.handle.channel
        while True:
            try:
                kind, payload = ch.recv()
            except ChannelClosed:
                break
            if kind == "frame":
                with self._lock:
                    stale, self._pending = self._pending, payload
                    notify = not self._notified
                    self._notified = True
                if stale is not None:
                    _carry_over(stale, payload)             # what only the dropped one carried
                    self.send("ack", stale["id"])          # dropped unseen: the newer one replaces it
                if notify:
                    self.frame_ready.emit()
            elif kind == "checkpoint":
                self.checkpoint = payload
                self.checkpointed.emit(int(payload["step"]))
            else:
                self.message.emit(kind, payload)
        if not self._closing:
            self.handle.process.join(1.0)
            code = self.handle.process.exitcode
            how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited with code {code}"
            self.died.emit(f"The training process {how}.")


def _carry_over(stale: dict, new: dict) -> None:
    """A frame dropped unseen may carry what later frames do not repeat: the history rows since the
    previous frame (or the whole history after a restart), the config, the events, the fields of a
    full snapshot and the state the field helper needs. Put them into the frame that replaces it."""
    restarted = "history" in new                          # after a restart the new frame has it all
    if not restarted:
        if "history" in stale:
            new["history"] = stale["history"]
        if "rows" in stale:
            new["rows"] = (stale["rows"] if "rows" not in new
                           else np.concatenate([stale["rows"], new["rows"]]))
    for key in ("config", "events", "field_state"):
        if new.get(key) is None and stale.get(key) is not None:
            new[key] = stale[key]
    if stale["snap"].fields_step is not None and new["snap"].fields_step is None and not restarted:
        new["snap"] = new["snap"].replace(**stale["snap"].fields_part())
