"""A worker's frame painter: a child process that completes frames with the method's per-frame fields.

Some methods need a network pass at every frame (a generator at the shown noise). Done between two
steps, that pass is time the training loses; a thread beside the training loop does not help either,
as the two then take turns on the interpreter lock. So the pass runs in a child process forked from
the worker, on a shadow instance of the method (same class, config and seed, never trained) loaded
with the weights of the frame's step. The child sends the finished frame to the GUI itself, over the
worker's own connection, and then tells the worker it is done: the worker pays for handing the frame
over, and nothing else.

A frame's arrays (the weights, the lean snapshot) reach the child through a block of shared memory
mapped before the fork, not through the pipe: a pipe holds 64 KB, so a larger frame would make the
worker wait until the child, busy or not yet scheduled, had read it all.

The two processes never write to the GUI at the same time: the worker hands over one frame at a
time and sends nothing else to the GUI until the child has said it is done (see TrainingLoop._send).
That also keeps the GUI's messages in the order the worker meant them.
"""
from __future__ import annotations

import dataclasses
import mmap
import multiprocessing as mp
import os
import pickle
import signal
import sys
import time
import traceback

from otviz.worker.protocol import Channel, ChannelClosed

ARENA_BYTES = 64 * 2**20     # address space only: pages are used as the largest frame touches them
_ALIGN = 64
# Below the worker: woken by every frame handed over, a painter of equal rank would often take the
# worker's core at once instead of waiting for the other one.
PAINTER_NICE = 5


class FramePainter:
    """One frame at a time: `submit` hands a frame over, `collect` learns whether it has gone."""

    def __init__(self, gui: Channel):
        """`gui` is the worker's channel to the GUI: the child sends finished frames on it."""
        ours, theirs = mp.Pipe()
        self._arena = mmap.mmap(-1, ARENA_BYTES)      # anonymous and shared: the child maps it too
        # A plain fork: the child starts at once with the worker's memory (torch and the methods
        # already loaded), and multiprocessing does not let a worker, a daemon, start processes. The
        # worker's training runs on its main thread only, so no lock is held by a thread the child lacks.
        self.pid = os.fork()
        if self.pid == 0:
            try:
                _painter_main(theirs, ours, gui.conn, self._arena)
            finally:
                os._exit(0)      # never the worker's exit handlers
        theirs.close()
        self._ch = Channel(ours)
        self._config = None
        self._key: tuple | None = None
        self.busy = False
        self.error: str | None = None       # why the last frame was not sent, for the worker to tell

    def prime(self, method) -> None:
        """Build the shadow of `method` now, so that the first frame does not wait for it."""
        job = self._method_job(method)
        if job:
            self._post("shadow", job)

    def submit(self, method, state: dict, frame: dict) -> None:
        """Complete `frame["snap"]` with the frame fields of `method` at `state` (its frame_state(),
        taken now), and send the frame to the GUI."""
        self.wait_idle()
        job = self._method_job(method)
        job.update(state=state, frame=frame)
        if self._post("paint", pack(job, self._arena)):
            self.busy = True

    def collect(self, timeout: float = 0.0) -> bool:
        """Whether the painter is idle, after waiting at most `timeout` for the frame in hand."""
        if self.busy:
            try:
                if self._ch.poll(timeout):
                    kind, payload = self._ch.recv()
                    self.busy = False
                    if kind == "error":
                        self._lost(payload)
            except ChannelClosed:
                self.busy = False
                self._lost("the frame painter process has stopped")
        return not self.busy

    def wait_idle(self) -> None:
        self.collect(timeout=None)

    def close(self) -> None:
        try:
            self._ch.send("quit")
        except ChannelClosed:
            pass
        self._ch.close()
        self._arena.close()
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

    def _method_job(self, method) -> dict:
        """The method's name, seed and config if the child does not have them yet."""
        key = (method.name, method.seed)
        if key == self._key and method.config is self._config:
            return {}         # configs are replaced, never changed in place: an unchanged one is the same object
        self._key, self._config = key, method.config
        return {"method": method.name, "seed": method.seed, "config": dataclasses.asdict(method.config)}

    def _post(self, kind: str, job: dict) -> bool:
        try:
            self._ch.send(kind, job)
            return True
        except ChannelClosed:
            self._lost("the frame painter process has stopped")
            return False

    def _lost(self, message: str) -> None:
        self.error = message
        self._key = None          # whatever the child held is gone


def pack(job: dict, arena: mmap.mmap) -> tuple[bytes, list]:
    """The job pickled, its arrays copied into the arena (the child reads them there); an array
    that does not fit travels in the message itself. The arena is reused by every job: a job is only
    packed once the child has finished with the one before (FramePainter.submit waits for that)."""
    buffers: list[pickle.PickleBuffer] = []
    head = pickle.dumps(job, protocol=5, buffer_callback=buffers.append)
    placed, at = [], 0
    for b in buffers:
        raw = b.raw()
        n = raw.nbytes
        if at + n <= len(arena):
            arena[at:at + n] = raw
            placed.append((at, n))
            at += -(-n // _ALIGN) * _ALIGN
        else:
            placed.append(bytes(raw))
    return head, placed


def unpack(packed: tuple[bytes, list], arena: mmap.mmap) -> dict:
    """The job `pack` made; its arrays are views of the arena, valid until the next job."""
    head, placed = packed
    view = memoryview(arena)
    return pickle.loads(head, buffers=[view[p[0]:p[0] + p[1]] if isinstance(p, tuple) else p for p in placed])


def _painter_main(conn, worker_end, gui_conn, arena) -> None:
    """The child: keep a shadow of the worker's method, finish frames and send them to the GUI."""
    worker_end.close()
    _die_with_parent()
    try:
        os.nice(PAINTER_NICE)
    except OSError:
        pass
    ch, gui = Channel(conn), Channel(gui_conn)
    shadow = None
    while True:
        try:
            kind, p = ch.recv()
        except ChannelClosed:
            return                # the worker is gone
        if kind == "quit":
            return
        try:
            if kind == "paint":
                p = unpack(p, arena)
            if "method" in p:
                shadow = _shadow(shadow, p["method"], p["config"], p["seed"])
            if kind == "paint":
                if shadow is None:
                    raise RuntimeError("the frame painter could not build its copy of the method")
                shadow.load_frame_state(p["state"])
                frame = p["frame"]
                frame["snap"] = frame["snap"].replace(**shadow.compute_frame_fields())
                gui.send("frame", frame)
                ch.send("done")
        except ChannelClosed:
            return
        except Exception as e:      # noqa: BLE001  (told to the worker, which paints on its own)
            traceback.print_exc()
            shadow = None
            if kind == "paint":
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
    """Linux: end this process when the worker ends, however it ends. Elsewhere the child ends when it
    next reads its closed pipe from the worker; it holds the GUI's connection open until then."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)    # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
