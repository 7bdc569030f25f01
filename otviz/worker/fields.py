"""The field helper process: computes the expensive parts of frames (networks over a grid) for every tab.

A training worker sends, a few times a second, the small state its fields depend on; this process
keeps its own, never-trained instance of each tab's method (same class, config and seed), loads that
state and computes the fields. It runs at a lower priority, so it uses what the GUI and the training
leave of the machine, and it is shared by all tabs: only one tab is on screen at a time. It also
draws the first picture of a tab that has no worker yet (a preview of the initial state).
"""
from __future__ import annotations

import dataclasses
import os
import traceback
from typing import Any

from otviz.worker.protocol import Channel, ChannelClosed, open_child_channel


def fields_main(conn, nice: int = 0) -> None:
    """Entry point of the field helper process: serve every tab's field requests until told to quit."""
    channel = open_child_channel(conn, nice)
    try:
        from otviz.methods import method_class, method_names

        for name in method_names():
            method_class(name)
        channel.send("ready", {"pid": os.getpid()})
        FieldServer(channel).run()
    except ChannelClosed:
        pass


class FieldServer:
    def __init__(self, channel: Channel):
        self.ch = channel
        self.instances: dict[str, Any] = {}      # tab key -> method instance

    def run(self) -> None:
        while True:
            kind, p = self.ch.recv()
            if kind == "quit":
                return
            try:
                m = self._instance(p["key"], p["method"], p["config"], p["seed"])
                if kind == "fields":
                    m.load_field_state(p["state"])
                    self.ch.send("fields", {"key": p["key"], "gen": p.get("gen"), "step": p["step"],
                                            "fields": m.compute_fields()})
                elif kind == "preview":
                    for action, payload in p.get("edits", ()):     # what the views show (a heatmap's extent)
                        m.edit(action, payload)
                    self.ch.send("preview", {"key": p["key"], "gen": p.get("gen"), "snap": m.snapshot(),
                                             "config": dataclasses.asdict(m.config)})
            except ChannelClosed:
                raise
            except Exception as e:
                if not isinstance(e, ValueError):
                    traceback.print_exc()
                self.instances.pop(p.get("key"), None)
                self.ch.send("error", {"key": p.get("key"), "kind": kind, "message": str(e) or type(e).__name__})

    def _instance(self, key: str, name: str, config: dict, seed: int):
        """The tab's instance, rebuilt when method or seed change, updated when the config does."""
        from otviz.methods import method_class

        m = self.instances.get(key)
        if m is None or m.name != name or m.seed != seed:
            cls = method_class(name)
            m = cls(cls.Config(**config), seed=seed)
            self.instances[key] = m
            return m
        current = dataclasses.asdict(m.config)
        changes = {k: v for k, v in config.items() if current.get(k) != v}
        if changes:
            m.update(changes)
        return m
