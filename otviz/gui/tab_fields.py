"""A tab's side of the shared field helper: previews, expensive fields merged into frames, fallbacks.

Mixed into MethodTab, whose attributes it uses: name, link, processes, config, seed, view,
last_frame and the frame bookkeeping (_full_snap, _gen, _asked_at, _inline, _preview_key).
"""
from __future__ import annotations

import dataclasses
import time

FIELDS_PATIENCE = 1.5     # s without an answer from the field helper before the worker computes fields itself


class TabFields:
    def _ask_fields(self, f: dict) -> None:
        """Hand a frame's field state to the helper (it keeps the newest per tab); when the helper has
        not answered for FIELDS_PATIENCE, the worker computes the fields itself until it answers again."""
        if f.get("field_state") is None or not self.processes.fields_ready:
            return
        now = time.perf_counter()
        if self._asked_at is None:
            self._asked_at = now
        elif not self._inline and now - self._asked_at > FIELDS_PATIENCE:
            self._inline = True                          # the helper is starved: fields come inline
            self.link.send("fields_remote", False)
        self.processes.fields.request("fields", {
            "key": self.field_key, "gen": self._gen, "method": self.name, "step": f["step"], "seed": f["seed"],
            "config": dataclasses.asdict(self.config), "state": f.pop("field_state")})

    def _on_fields(self, key: str, reply: dict) -> None:
        if key != self.field_key:
            return
        self._asked_at = None
        if self._inline and self.link is not None:
            self._inline = False                             # the helper answers again
            self.link.send("fields_remote", True)
        if reply.get("gen") != self._gen or self._full_snap is None:
            return                          # computed for a run that has since restarted
        if self._full_snap.fields_step is not None and reply["step"] < self._full_snap.fields_step:
            return                          # a fresher full snapshot came meanwhile
        self._full_snap = self._full_snap.replace(**reply["fields"])
        if self.last_frame is not None:
            self.last_frame["snap"] = self.last_frame["snap"].replace(**reply["fields"])
            if self.view is not None:
                self.view.update_snapshot(self.last_frame["snap"])

    def _on_preview(self, key: str, reply: dict) -> None:
        # (a preview replaces an earlier one: the views asked again after a pan or zoom)
        if key != self.field_key or self.link is not None or (self.last_frame is not None
                                                         and not self.last_frame.get("preview")):
            return
        self._full_snap = reply["snap"]
        self._preview_key = (reply["config"], self.seed)
        self._show({"step": 0, "snap": reply["snap"], "metrics": {}, "steps_per_s": 0.0, "running": False,
                    "preview": True})

    def _request_preview(self) -> None:
        if self.processes.fields_ready:
            edits = list(self.view.view_edits.items()) if self.view is not None else []
            self.processes.fields.request("preview", {"key": self.field_key, "gen": self._gen, "method": self.name,
                                                      "config": dataclasses.asdict(self.config), "seed": self.seed,
                                                      "edits": edits})

    def _connect_fields(self) -> None:
        f = self.processes.fields
        f.fields_ready.connect(self._on_fields)
        f.preview_ready.connect(self._on_preview)
        f.failed.connect(lambda key, message: key == self.field_key and self._on_fields_failed(message))

    def _on_fields_failed(self, message: str) -> None:
        """The helper could not draw this tab's pictures: say why; the worker draws them itself."""
        self._asked_at = None
        self.show_error(f"the pictures could not be computed: {message}")
        if self.link is not None and not self._inline:
            self._inline = True
            self.link.send("fields_remote", False)

    def _on_fields_alive(self, alive: bool) -> None:
        if alive and self.processes.fields is not None:
            self._connect_fields()
            if self.on_screen() and self.last_frame is None and self.link is None:
                self._request_preview()
        if self.link is not None:
            self.link.send("fields_remote", alive)
