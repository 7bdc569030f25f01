"""One tab: a method's views, its generated control panel, run controls, history and status.

Training runs in a worker process the tab takes on its first command (a tab never used has none);
the tab's WorkerLink thread owns the connection. The tab draws the newest frame as it comes, merges
in the expensive fields computed by the shared helper, and keeps a copy of the run's history.
"""
from __future__ import annotations

import dataclasses
import time
from collections import deque

from PySide6 import QtCore, QtWidgets

from otviz.gui.control_panel import ControlPanel
from otviz.gui.export import Recorder
from otviz.gui.history_plot import HistoryPlot
from otviz.gui.run_controls import RunControls
from otviz.gui.tab_compare import TabCompare
from otviz.gui.tab_fields import TabFields
from otviz.gui.tab_layout import layout_tab
from otviz.gui.tab_recording import TabRecording
from otviz.gui.tab_timeline import FRAMES_SHARE, TabTimeline
from otviz.gui.timeline_bar import TimelineBar
from otviz.gui.view_base import refit_views
from otviz.gui.views import view_class
from otviz.gui.worker import WorkerLink
from otviz.methods import method_info
from otviz.session.history import History

MAX_FPS = 60.0            # frames a second of the tab on screen
HIDDEN_FPS = 4.0          # of a tab training out of sight: its status and history, at little cost to it
MIN_FPS = 10.0            # however costly a frame, the tab on screen keeps moving
GUI_SHARE = 0.45          # of the GUI thread's time the frames of the tab on screen may take


class MethodTab(TabFields, TabRecording, TabTimeline, TabCompare, QtWidgets.QWidget):
    status_changed = QtCore.Signal(str)

    def __init__(self, name: str, processes, seed: int = 0, device: str = "cpu", parent=None):
        super().__init__(parent)
        self.name = name
        self.info = method_info(name)
        self.processes = processes
        self.config = self.info.Config()
        self.seed, self.device = seed, device
        self.step = 0                       # the step of the frame on screen
        self.running = False
        self.steps_per_s = 0.0
        self.history = History(self.info.metrics)
        self.link: WorkerLink | None = None
        self.checkpoint: dict | None = None  # from a worker that died: the next one starts here
        self.last_frame: dict | None = None
        self.view = None                    # built when the tab is first shown
        self._full_snap = None              # the newest snapshot with its fields: fields fill lean frames
        self._preview_key = None            # (config, seed) of the preview on screen, if any
        self._gen = 0                       # counts restarts; fields computed before one are dropped
        self._asked_at: float | None = None  # when the oldest unanswered field request went out
        self._inline = False                # the helper is too slow: the worker computes the fields
        self._frame_times: deque[float] = deque(maxlen=120)
        self._gui_cost = 0.0                # seconds from taking a frame to its being painted (average)
        self._fps_cap = MAX_FPS
        self.recorder: Recorder | None = None
        self._init_compare()
        self.controls = RunControls()
        self.controls.seed.setValue(seed)
        if processes.devices:
            self.controls.set_devices(processes.devices)
        processes.devices_changed.connect(self.controls.set_devices)
        processes.fields_alive.connect(self._on_fields_alive)
        if processes.fields is not None:
            self._connect_fields()
        self.panel = ControlPanel(self.info.specs(), self.config)
        self.history_plot = HistoryPlot(self.info.metrics)
        self.timeline = TimelineBar()
        self.banner = QtWidgets.QLabel()
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background: #fde7e9; color: #8a0012; padding: 4px;")
        self.banner.hide()
        self._layout()
        self._init_timeline()
        c = self.controls
        c.play.toggled.connect(lambda on: self.play() if on else self.pause())
        c.step.clicked.connect(self.single_step)
        c.reset.clicked.connect(self.reset)
        c.compare.toggled.connect(self._compare_toggled)
        c.compare.setMenu(self._presets_menu())
        c.speed.valueChanged.connect(lambda n: self.link and self.link.send("pace", n))
        c.device.currentIndexChanged.connect(self._device_chosen)
        self.panel.live_changed.connect(self.send_params)
        self.panel.restart_requested.connect(self._apply_restart)
        self.panel.refused.connect(self.status_changed)

    def _layout(self) -> None:
        layout_tab(self)

    # ---------------------------------------------------------------- the views, built on first show
    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.ensure_view()
        for side in (self, self.twin):
            if side is not None and side.link is not None:
                side.link.send("max_fps", side._fps_cap)
        if self.processes.fields is not None:
            self.processes.fields.set_visible(self.name)
        if self.link is None:
            self.processes.prepare(self._init_payload())
            if self.last_frame is None:
                self._request_preview()

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        for side in (self, self.twin):
            if side is not None and side.link is not None:
                side.link.send("max_fps", HIDDEN_FPS)

    def ensure_view(self):
        if self.view is None:
            self.view = view_class(self.name)(self.info)
            self.view_host.layout().addWidget(self.view)
            self.view.edit_requested.connect(self._edit)
            self.view.param_requested.connect(self.set_params)
            self.view.restart_requested.connect(self.restart_with)
            if self.last_frame is not None:
                self.view.update_snapshot(self.last_frame["snap"])
        return self.view

    # ---------------------------------------------------------------- the worker
    def ensure_worker(self) -> WorkerLink:
        """The tab's worker process, taken from the warm spare on first use (or after one died)."""
        if self.link is not None:
            return self.link
        link = WorkerLink(self.processes.take_worker(), self)
        if self.checkpoint is not None:
            link.send("load", {"data": self.checkpoint["data"], "name": f"the checkpoint of {self.info.title}",
                               "method": self.name})
        else:
            init = self._init_payload()
            init["fields_known"] = self._preview_key == (init["config"], init["seed"])
            link.send("init", init)
        self.adopt(link)
        return link

    def _init_payload(self) -> dict:
        return {"method": self.name, "config": dataclasses.asdict(self.config), "seed": self.seed,
                "device": self.device}

    def adopt(self, link: WorkerLink) -> None:
        """Make `link` this tab's worker (a new one, or one that has just opened a session file)."""
        old, self.link = self.link, link
        if old is not None and old is not link:
            old.close(1.0)
            self._on_running(False)        # a new worker starts paused: it says so when it plays
        link.setParent(self)
        link.frame_ready.connect(self._on_frame_ready)
        link.message.connect(self._on_message)
        link.died.connect(self._on_died)
        link.send("pace", self.controls.speed.value())
        link.send("max_fps", self._fps_cap if self.on_screen() else HIDDEN_FPS)
        link.send("fields_remote", self.processes.fields_ready)
        link.send("field_interval", self.field_interval())
        link.send("timeline_budget", int(self.timeline.budget.value() * 2**20 * (1 - FRAMES_SHARE)))
        link.send("branches")               # the run's branches, also of a session opened before we listened
        for action, payload in (self.view.view_edits.items() if self.view is not None else ()):
            link.send("edit", (action, payload))    # what the views show: a new worker was never told
        if not link.isRunning():
            link.start()
        self._on_frame_ready()             # a frame may have come before we listened

    def _send(self, kind: str, payload=None) -> None:
        self.ensure_worker().send(kind, payload)

    def _edit(self, action: str, payload) -> None:
        """A view's edit for the worker. One that only says what the views show (the rectangle a heatmap
        covers) takes no worker: without one it waits in view.view_edits for the next (see adopt), and
        a preview on screen is drawn again with it."""
        if self.link is None and action in self.view.view_edits:
            if self.last_frame is None or self.last_frame.get("preview"):
                self._request_preview()
            return
        self._send("edit", (action, payload))

    def _on_message(self, kind: str, payload) -> None:
        if kind == "ready":
            self.processes.set_devices(payload["devices"])
        elif kind == "failed":
            self.show_error(payload)
        elif kind == "running":
            self._on_running(payload)
        elif kind == "branches":
            self._on_branches(payload)
        elif kind == "loaded":
            self._forget_past()
            self.banner.hide()                       # a death or a refusal told before is over
            self.panel.clear_message()
            if payload.get("path"):
                self.status_changed.emit(f"opened {payload['path']} at step {payload['step']}")
            else:
                self.status_changed.emit(f"continues from {payload.get('name') or 'a checkpoint'} "
                                         f"at step {payload['step']}")
        elif kind == "notice":
            self.status_changed.emit(payload)

    def _on_died(self, why: str) -> None:
        link, self.link = self.link, None
        if link is not None:
            self.checkpoint = link.checkpoint or self.checkpoint
            link.wait(1000)
        self._on_running(False)
        at = f"step {self.checkpoint['step']}" if self.checkpoint else "the start"
        self.show_error(f"{why} Press Play to continue from {at}.")

    # ---------------------------------------------------------------- actions
    def toggle(self) -> None:
        self.controls.play.toggle()

    def play(self) -> None:
        self.banner.hide()
        self.timeline_live()                # Play goes on from now; a fork is "Continue from here"
        self._send("play")
        if self.twin is not None:
            self.twin.play()

    def pause(self) -> None:
        if self.link is not None:
            self.link.send("pause")
        if self.twin is not None:
            self.twin.pause()

    def single_step(self) -> None:
        self._send("step", 1)
        if self.twin is not None:
            self.twin.single_step()

    def reset(self) -> None:
        self.banner.hide()
        self.panel.clear_message()
        refit_views(self.view_host)                 # new data: fit the plots tightly once
        self.seed = self.controls.seed.value()
        self.checkpoint = None
        self._send("reset", self.seed)
        if self.twin is not None:
            self.twin.controls.seed.setValue(self.seed)
            self.twin.reset()

    def send_params(self, changes: dict) -> None:
        if not self._hold(dict(changes)):
            self._send("set", dict(changes))

    def set_params(self, changes: dict) -> None:
        """Programmatic parameter change, through the same path as the control panel."""
        for k, v in changes.items():
            if k in self.panel.rows:
                self.panel.rows[k].set_value(v)
        self.banner.hide()
        self.send_params(changes)

    def restart_with(self, changes: dict) -> None:
        """Parameter changes, then a fresh start with them (a lesson seen from its beginning). The
        worker reads commands in order and applies a change before the command after it, so the
        restart already runs with the new values."""
        self.set_params(changes)
        self.reset()

    def _apply_restart(self, changes: dict) -> None:
        self.banner.hide()
        refit_views(self.view_host)
        self.send_params(changes)

    def _device_chosen(self, _index: int) -> None:
        name = self.controls.device.currentData() or "cpu"
        if name != self.device:
            self.device = name
            if self.link is not None:
                self.link.send("device", name)

    def show_error(self, message: str) -> None:
        # said once where it belongs: at the control it names, else above the views, or at the top of
        # the panel on side B of A | B, whose own banner is never shown; the status bar tells it as it comes
        if self.panel.show_message(message, top=self.host is not None):
            self.banner.hide()
        else:
            self.banner.setText(message)
            self.banner.show()
        self.status_changed.emit(message)
        self.panel.set_config(self.config)

    def _on_running(self, on: bool) -> None:
        self.running = on
        b = self.controls.play
        b.blockSignals(True)
        b.setChecked(on)
        b.blockSignals(False)
        b.setText("❚❚ Pause" if on else "▶ Play")

    # ---------------------------------------------------------------- frames
    def _on_frame_ready(self) -> None:
        link = self.link
        f = link.take_frame() if link is not None else None
        if f is None:
            return
        t0 = time.perf_counter()
        try:
            self._draw(f)
        finally:
            # acknowledged once the views are painted (the paint events queued by the draw come
            # first): the next frame never arrives before this one is on screen
            QtCore.QTimer.singleShot(0, self, lambda: self._drawn(link, f, t0))

    def _drawn(self, link: WorkerLink, f: dict, t0: float) -> None:
        """The frame is on screen: acknowledge it, and keep drawing to GUI_SHARE of the GUI's time, so
        that its event loop answers the user at once however costly a frame of this tab is."""
        link.frame_drawn(f)
        if not f.get("running", True):
            # a frame taken while paused holds every field and is often a view's first paint: at Play
            # its cost would hold the first frames of training back (one 40 ms paint: 11 frames/s)
            return
        cost = time.perf_counter() - t0
        self._gui_cost = cost if not self._gui_cost else 0.8 * self._gui_cost + 0.2 * min(cost, 1.0)
        fps = min(MAX_FPS, max(MIN_FPS, GUI_SHARE / max(self.frame_cost(), 1e-4)))
        if self.on_screen() and abs(fps - self._fps_cap) > 0.1 * self._fps_cap:
            self._fps_cap = fps
            link.send("max_fps", fps)

    def _draw(self, f: dict) -> None:
        if "config" in f:
            self.config = self.info.Config(**f["config"])
            self.panel.show_config(self.config)
        self.seed, self.step, self.steps_per_s = f["seed"], f["step"], f["steps_per_s"]
        if f["device"].split(":")[0] != self.device.split(":")[0]:
            self.device = f["device"]               # a refused device: the run stayed where it was
            self.controls.device.blockSignals(True)
            self.controls.device.setCurrentIndex(max(self.controls.device.findData(self.device), 0))
            self.controls.device.blockSignals(False)
        self.running = f["running"]
        self._update_history(f)
        snap = f["snap"]
        if snap.fields_step is not None or self._full_snap is None:
            self._full_snap = snap
        else:
            snap = snap.replace(**self._full_snap.fields_part())
        f["snap"] = snap
        self._ask_fields(f)
        self._show(f)

    def _update_history(self, f: dict) -> None:
        h = self.history
        if "history" in f:                  # a restart: field answers asked for before it are stale
            h.load_state_dict(f["history"])
            self._gen += 1
        for row in f.get("rows", ()):
            h.append(int(row[0]), dict(zip(h.names, row[1:])))
        if "events" in f:
            h.events = [tuple(e) for e in f["events"]]

    def _show(self, f: dict) -> None:
        self.last_frame = f
        self._remember(f)
        if self.view is not None and self.scrub is None:      # the past on screen stays until End or Play
            self.view.update_snapshot(f["snap"])
        hist, events = self.history.drawn()
        if self.view is not None:
            self.view.set_history(hist, events)       # views that draw the run's history too
        if self.host is not None:
            self.host._twin_drew(hist, events)        # side B's history is drawn on A's plot, not its own
        else:
            self.history_plot.set_history(hist, events)
        if self.recorder is not None and self.scrub is None:
            self._capture(f["step"])
        self._frame_times.append(time.perf_counter())

    # ---------------------------------------------------------------- status
    def frames_per_second(self) -> float:
        """Frames drawn over the last second."""
        now = time.perf_counter()
        return float(sum(1 for t in self._frame_times if now - t <= 1.0))

    def status_text(self) -> str:
        m = self.last_frame["metrics"] if self.last_frame else {}
        if self.running:
            parts = [f"step {self.step}", f"{self.steps_per_s:.1f} steps/s"]
        else:
            parts = [f"paused at step {self.step}"]
        parts.append(f"{self.frames_per_second():.0f} frames/s")
        loss = next(iter(m.items()), None)
        if loss:
            parts.append(f"{loss[0]} {loss[1]:.5g}")
        parts.append(self.device)
        if self.link is None and self.last_frame is None:
            parts.append("not started")
        return "   ·   ".join(parts)

    # ---------------------------------------------------------------- sessions
    def save_session(self, path: str) -> None:
        """Saved by the worker between two steps, so the state is consistent (while comparing, B
        beside it)."""
        self._send("save", str(path))
        if self.twin is not None:
            self.save_compare_b(path)

    def export_history(self, path: str) -> None:
        if self.twin is not None:
            self.compare_history_csv(path)
        elif self.link is None:
            self.history.to_csv(path)
            self.status_changed.emit(f"history saved to {path}")
        else:
            self.link.send("history_csv", str(path))

    def shutdown(self) -> None:
        """Stop recording; the worker processes are ended together by the window."""
        if self.recorder is not None:
            self.stop_recording()
        if self.link is not None:
            self.link.request_stop()
        if self.twin is not None:
            self.twin.shutdown()
