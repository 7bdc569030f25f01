"""Starting worker and helper processes, and the warm spare worker that makes Play start at once.

Processes are forked from multiprocessing's fork server, which has imported torch and every built-in
method once (see warm.py), or spawned as fresh interpreters where there is no fork server; nothing of
the GUI's Qt state is ever inherited. Each is given the methods registered at run time in the process
that starts it, which it registers before its work. A started worker waits, warm; taking the spare
costs nothing, and a new spare is started a little later, so that it does not compete with the run
just begun.
"""
from __future__ import annotations

import multiprocessing as mp
import sys
import threading
import time
from dataclasses import dataclass, field

from otviz.worker.protocol import Channel

# Training and its helper give way to the GUI: the window stays responsive on a machine whose
# cores are all busy. The helper gives way to training too, but not so far that two runs side by side
# starve it: a helper that has not answered for a while makes each worker compute its fields itself,
# which costs training more than the helper's share did.
WORKER_NICE = 2
FIELDS_NICE = 6


@dataclass
class Handle:
    """A started process and the GUI's end of its channel."""
    process: mp.process.BaseProcess
    channel: Channel
    started: float = field(default_factory=time.perf_counter)

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.is_alive()

    def stop(self, timeout: float = 1.0) -> None:
        """Ask the process to quit; terminate it if it has not within `timeout`, then kill it."""
        stop_all([self], timeout)


def context() -> mp.context.BaseContext:
    """Forked from a server that has imported torch and the methods where the platform has one (fast
    to start, shared pages); a fresh interpreter per process elsewhere."""
    if "forkserver" not in mp.get_all_start_methods() or getattr(sys, "frozen", False):
        return mp.get_context("spawn")       # (a frozen bundle re-enters its launcher: spawn it is)
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["otviz.worker.warm"])
    return ctx


def _spawn(target, name: str, nice: int) -> Handle:
    from otviz.methods import registrations

    ctx = context()
    ours, theirs = ctx.Pipe(duplex=True)
    p = ctx.Process(target=_child_main, args=(target, registrations(), theirs, nice), name=name, daemon=True)
    p.start()
    theirs.close()
    return Handle(p, Channel(ours))


def _child_main(target, registered: list, conn, nice: int) -> None:
    """A started process: first the methods registered at run time in the process that started it (the
    fork server imported only the built-in ones), then its work."""
    from otviz.methods import adopt_registrations

    adopt_registrations(registered)
    target(conn, nice)


def spawn_worker() -> Handle:
    from otviz.worker.loop import worker_main

    return _spawn(worker_main, "otviz-worker", WORKER_NICE)


def spawn_fields() -> Handle:
    from otviz.worker.fields import fields_main

    return _spawn(fields_main, "otviz-fields", FIELDS_NICE)


def stop_all(handles: list[Handle], timeout: float = 1.0) -> None:
    """Quit every process together: ask all, wait for all up to `timeout`, then terminate and kill."""
    from otviz.worker.protocol import ChannelClosed

    for h in handles:
        try:
            h.channel.send("quit")
        except ChannelClosed:
            pass
    end = time.monotonic() + timeout
    for h in handles:
        h.process.join(max(0.0, end - time.monotonic()))
    for h in handles:
        if h.process.is_alive():
            h.process.terminate()                 # stuck inside a long step
    end = time.monotonic() + 0.3
    for h in handles:
        h.process.join(max(0.0, end - time.monotonic()))
        if h.process.is_alive():
            h.process.kill()                      # SIGTERM waits for a stopped process; SIGKILL does not
            h.process.join(0.5)
        h.channel.close()


class SparePool:
    """Keeps one warm worker process ready; `take()` hands it out (or starts one if there is none).

    Processes are started in a thread of their own: the very first start waits for the fork server
    to import torch (seconds), and even a fork costs the caller tens of milliseconds, which the
    GUI's event loop must not spend.
    """

    def __init__(self, respawn_delay: float = 2.0):
        self.respawn_delay = respawn_delay
        self.spare: Handle | None = None
        self._due: float | None = None
        self._starting: threading.Thread | None = None
        self.closed = False

    def start(self, then=None) -> None:
        """Start a spare in the background (if there is none); `then()` runs in that thread after."""
        self._due = None
        if self.closed or self.spare is not None or (self._starting is not None and self._starting.is_alive()):
            return

        def run():
            h = spawn_worker()
            if self.closed:
                stop_all([h], 0.5)
            else:
                self.spare = h
            if then is not None:
                then()
        self._starting = threading.Thread(target=run, name="otviz-spare", daemon=True)
        self._starting.start()

    def take(self) -> Handle:
        if self._starting is not None:
            self._starting.join()        # only right after launch: the fork server is still importing
        h = self.spare if self.spare is not None and self.spare.alive() else spawn_worker()
        self.spare = None
        self._due = time.monotonic() + self.respawn_delay
        return h

    def tick(self) -> None:
        """Call now and then: starts the replacement spare once its delay has passed."""
        if self._due is not None and time.monotonic() >= self._due:
            self.start()

    def close(self) -> None:
        self.closed = True
        if self._starting is not None:
            self._starting.join(5.0)
        if self.spare is not None:
            stop_all([self.spare], 1.0)
            self.spare = None
