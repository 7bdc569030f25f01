"""A worker's frame painter: a child process that completes frames with the method's per-frame fields.

Some methods need a network pass at every frame (a generator at the shown noise). Done between two
steps, that pass is time the training loses. A thread beside the training loop does not help: the
two then take turns on the interpreter lock between torch's kernels, and training loses about as
much. So the pass runs in a child process forked from the worker, on a shadow instance of the method
(same class, config and seed, never trained) loaded with the weights of the frame's step. A thread
of the worker, blocked on the child's pipe most of the time, puts the fields into the frame and
sends it to the GUI.
"""
from __future__ import annotations

import dataclasses
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
import traceback
from typing import Any, Callable

from otviz.worker.protocol import Channel, ChannelClosed


class FramePainter:
    """One frame at a time: `submit` hands a frame over; it is sent once its fields are computed."""

    def __init__(self, send: Callable[[str, Any], None], inherited=()):
        """`send` sends a finished frame to the GUI; `inherited` are connections of the worker that
        the child must close (so that the GUI still sees the worker's pipe close when it dies)."""
        self._send = send
        ours, theirs = mp.Pipe()
        # A plain fork: the child starts at once with the worker's memory (torch and the methods
        # already loaded), and multiprocessing does not let a worker, a daemon, start processes.
        # The worker is single-threaded here, so no lock is held by a thread the child lacks.
        self.pid = os.fork()
        if self.pid == 0:
            try:
                _painter_main(theirs, (ours, *inherited))
            finally:
                os._exit(0)      # never the worker's exit handlers
        theirs.close()
        self._ch = Channel(ours)
        self._config = None
        self._key: tuple | None = None
        self._frame: dict | None = None
        self._wake = threading.Condition()
        self._idle = threading.Event()
        self._idle.set()
        self.error: str | None = None       # the last failure, for the training thread to take
        self._closed = False
        self._thread = threading.Thread(target=self._forward, name="otviz-frame-forward", daemon=True)
        self._thread.start()

    @property
    def busy(self) -> bool:
        return not self._idle.is_set()

    def wait_idle(self) -> None:
        self._idle.wait()

    def submit(self, method, state: dict, frame: dict) -> None:
        """Complete `frame["snap"]` with the frame fields of `method` at `state` (its field_state(),
        taken now), then send the frame."""
        self._idle.wait()
        job: dict[str, Any] = {"state": state}
        key = (method.name, method.seed)
        if key != self._key or method.config is not self._config:
            # configs are replaced, never changed in place: an unchanged one is the same object
            job["method"], job["seed"] = method.name, method.seed
            job["config"] = dataclasses.asdict(method.config)
            self._key, self._config = key, method.config
        with self._wake:
            self._idle.clear()
            self._frame = frame
            try:
                self._ch.send("paint", job)
            except ChannelClosed:
                self._frame = None
                self._key = None
                self.error = "the frame painter process has stopped"
                self._idle.set()
                return
            self._wake.notify()

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
        try:
            self._ch.send("quit")
        except ChannelClosed:
            pass
        deadline = time.monotonic() + 0.5
        while True:
            try:
                if os.waitpid(self.pid, os.WNOHANG)[0] == self.pid:
                    return
            except ChildProcessError:
                return
            if time.monotonic() > deadline:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
                return
            time.sleep(0.005)

    # ------------------------------------------------------------------ the worker's forwarding thread
    def _forward(self) -> None:
        while True:
            with self._wake:
                while self._frame is None and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
                frame = self._frame
            try:
                kind, payload = self._ch.recv()
                if kind == "error":
                    raise RuntimeError(payload)
                frame["snap"].update(payload)
                self._send("frame", frame)
            except Exception as e:      # noqa: BLE001  (the training thread reports it and goes on alone)
                self.error = ("the frame painter process has stopped" if isinstance(e, ChannelClosed)
                              else str(e) or type(e).__name__)
                self._key = None
            finally:
                with self._wake:
                    self._frame = None
                self._idle.set()


def _painter_main(conn, inherited) -> None:
    """The child: keep a shadow of the worker's method and compute its frame fields on request."""
    for c in inherited:
        c.close()
    _die_with_parent()
    ch = Channel(conn)
    shadow = None
    while True:
        try:
            kind, p = ch.recv()
        except ChannelClosed:
            return
        if kind == "quit":
            return
        try:
            if "method" in p:
                shadow = _shadow(shadow, p["method"], p["config"], p["seed"])
            shadow.load_field_state(p["state"])
            ch.send("fields", shadow.compute_frame_fields())
        except ChannelClosed:
            return
        except Exception as e:      # noqa: BLE001  (told to the worker, which paints on its own)
            traceback.print_exc()
            shadow = None
            try:
                ch.send("error", str(e) or type(e).__name__)
            except ChannelClosed:
                return


def _shadow(current, name: str, config: dict, seed: int):
    """The shadow instance for this method, config and seed: updated in place when only live values
    changed, built anew otherwise (a rebuild is what the training instance did too)."""
    from otviz.methods import method_class

    cls = method_class(name)
    if current is not None and current.name == name and current.seed == seed:
        now = dataclasses.asdict(current.config)
        changes = {k: v for k, v in config.items() if now.get(k) != v}
        if all(cls.spec(k).live for k in changes):
            if changes:
                current.update(changes)
            return current
    return cls(cls.Config(**config), seed=seed, device="cpu")


def _die_with_parent() -> None:
    """Linux: end this process when the worker ends, however it ends (the pipe's closing also tells
    it, once it next reads)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)    # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
