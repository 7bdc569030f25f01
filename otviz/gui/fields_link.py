"""The QThread that owns the shared field helper process: newest request per tab, the visible tab first.

Tabs hand it the small state their expensive fields depend on; a request that has not been sent yet
is replaced by a newer one from the same tab, so the helper always works on the latest weights and
nothing queues up. Replies come back as signals for the tab that asked.
"""
from __future__ import annotations

import threading

from PySide6 import QtCore

from otviz.worker.pool import Handle, stop_all
from otviz.worker.protocol import ChannelClosed


class FieldsLink(QtCore.QThread):
    fields_ready = QtCore.Signal(str, object)     # tab key, {"step", "fields"}
    preview_ready = QtCore.Signal(str, object)    # tab key, {"snap", "config"}
    failed = QtCore.Signal(str, str)              # tab key, message
    alive_changed = QtCore.Signal(bool)

    def __init__(self, handle: Handle, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.handle = handle
        self._cv = threading.Condition()
        self._requests: dict[str, tuple[str, dict]] = {}    # key -> (kind, payload), newest only
        self.visible: str | None = None
        self.ready = False
        self._closing = False

    def request(self, kind: str, payload: dict) -> None:
        """kind 'fields' or 'preview'; payload has key, method, config, seed (and step, state)."""
        with self._cv:
            self._requests[payload["key"]] = (kind, payload)
            self._cv.notify()

    def set_visible(self, key: str | None) -> None:
        self.visible = key

    def close(self, timeout: float = 1.0) -> None:
        self._closing = True
        with self._cv:
            self._cv.notify()
        stop_all([self.handle], timeout)
        self.wait(2000)

    def _next(self) -> tuple[str, dict] | None:
        with self._cv:
            while not self._requests and not self._closing:
                self._cv.wait(0.5)
            if self._closing:
                return None
            key = self.visible if self.visible in self._requests else next(iter(self._requests))
            return self._requests.pop(key)

    def run(self) -> None:
        ch = self.handle.channel
        try:
            kind, _ = ch.recv()                 # "ready": torch and the methods are imported
            self.ready = True
            self.alive_changed.emit(True)
            while True:
                req = self._next()
                if req is None:
                    return
                ch.send(*req)
                kind, reply = ch.recv()
                if kind == "fields":
                    self.fields_ready.emit(reply["key"], reply)
                elif kind == "preview":
                    self.preview_ready.emit(reply["key"], reply)
                elif kind == "error":
                    self.failed.emit(reply.get("key") or "", reply["message"])
        except ChannelClosed:
            pass
        self.ready = False
        if not self._closing:
            self.alive_changed.emit(False)
