"""The window's background processes: the warm spare worker, the shared field helper, the device list.

Both are started after the window is on screen: they import torch, which the GUI process never does.
"""
from __future__ import annotations

from PySide6 import QtCore

from otviz.gui.fields_link import FieldsLink
from otviz.worker.pool import SparePool, spawn_fields, stop_all
from otviz.worker.protocol import ChannelClosed


class Processes(QtCore.QObject):
    devices_changed = QtCore.Signal(list)         # [(name, available, reason)] as the workers see them
    fields_alive = QtCore.Signal(bool)
    _helper_spawned = QtCore.Signal(object)       # from the pool's thread: the field helper's Handle

    def __init__(self, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.pool = SparePool()
        self.fields: FieldsLink | None = None
        self.devices: list | None = None
        self.started = False
        self._tick = QtCore.QTimer(self, interval=250)
        self._tick.timeout.connect(self._on_tick)
        self._helper_spawned.connect(self._adopt_helper)
        self._prepare: dict | None = None
        self._prepared_for = None

    def start(self) -> None:
        """Start the spare worker and the field helper (idempotent)."""
        if self.started:
            return
        self.started = True
        # both start in the pool's thread (the first start waits for the fork server's imports); the
        # helper's handle comes back to this thread, which owns its FieldsLink
        self.pool.start(then=lambda: self.pool.closed or self._helper_spawned.emit(spawn_fields()))
        self._tick.start()

    def _adopt_helper(self, handle) -> None:
        if self.pool.closed:
            stop_all([handle], 0.5)
            return
        self.fields = FieldsLink(handle, self)
        self.fields.alive_changed.connect(self.fields_alive)
        self.fields.start()

    def take_worker(self):
        self.start()
        return self.pool.take()

    def prepare(self, init: dict | None) -> None:
        """Have the spare build the run the tab on screen would start, so that its Play starts at once."""
        self._prepare = init
        self._prepared_for = None
        self._send_prepare()

    def _send_prepare(self) -> None:
        spare = self.pool.spare
        if spare is not None and self._prepare is not None and self._prepared_for is not spare:
            self._prepared_for = spare
            try:
                spare.channel.send("prepare", self._prepare)
            except ChannelClosed:
                pass

    def _on_tick(self) -> None:
        self.pool.tick()
        self._send_prepare()                # a replacement spare prepares what is on screen

    @property
    def fields_ready(self) -> bool:
        return self.fields is not None and self.fields.ready

    def set_devices(self, devices: list) -> None:
        if devices != self.devices:
            self.devices = devices
            self.devices_changed.emit(devices)

    def handles(self) -> list:
        """Every process this object owns (for closing them together with the tabs' workers)."""
        out = []
        if self.pool.spare is not None:
            out.append(self.pool.spare)
        if self.fields is not None:
            out.append(self.fields.handle)
        return out

    def shutdown(self, others: list, timeout: float = 1.5) -> None:
        """End every process (the tabs' workers in `others` too) within about `timeout` seconds."""
        self._tick.stop()
        self.pool.closed = True
        if self.fields is not None:
            self.fields._closing = True
        stop_all(list(others) + self.handles(), timeout)
        self.pool.spare = None
        if self.fields is not None:
            with self.fields._cv:
                self.fields._cv.notify()
            self.fields.wait(1000)
