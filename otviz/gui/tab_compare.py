"""A | B in a tab: a second run of the same method beside the first, differing in what side B changes.

Side B is a MethodTab of its own (its worker process, frames, history and panel), never shown as a
tab: its views stand beside A's with linked axes, its panel beside A's panel, its history overlaid
dashed on A's history plot, and A's Play, Pause, Step and Reset drive both. Turned on with a run under
way, B begins as a copy of it (A's worker's checkpoint); a preset starts both from step 0. Turning
Compare off keeps the side the user chooses: keeping B hands B's worker and run to the tab. On two
cores the two workers take turns on the window's core, so that both train at the same speed. Mixed
into MethodTab, whose attributes it uses (name, processes, config, seed, device, view, view_host,
panel, panel_column, history, history_plot, link, status_changed).
"""
from __future__ import annotations

import time

import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from otviz.gui.view_base import RangeFollower
from otviz.util.cores import release_cores, share_window_core
from otviz.session.compare import (PRESETS, b_session_path, describe_differences, differences, side_text,
                                   write_compare_csv)

# s between two field states each side sends the helper: it serves both runs, so each at half the rate
# of one run (still twice a second), which leaves the two trainings that much more of the machine
COMPARE_FIELD_INTERVAL = 0.5
# s since A's last frame within which B's frame leaves its history for A's next frame to draw: while
# both train, the plot is then drawn once for both instead of once for each side's frame
HISTORY_WAIT_S = 0.1
# s each side's worker trains on the window's core before the two swap (two cores only): short enough
# that neither side is seen to pull ahead, long against a worker's move to the other core (its caches)
TURN_S = 0.5


class TabCompare:
    def _init_compare(self) -> None:
        self.twin = None                   # side B, while comparing
        self.host = None                   # (on side B) the tab it is compared in
        self.field_key = self.name         # the field helper keeps one request per key
        self._compare_widgets: dict[str, QtWidgets.QWidget] = {}
        self._linked: list[RangeFollower] = []        # B's plots of the data plane following A's
        self._fork_link = None             # A's link, while B waits for the checkpoint of A it begins from
        self._turns = QtCore.QTimer(self)  # the two workers' turns on the window's core
        self._turns.setInterval(int(TURN_S * 1000))
        self._turns.timeout.connect(self._take_turns)
        self._turn = 0
        self._turn_pids: tuple[int, ...] = ()    # the workers given a core of their own at the last turn

    @property
    def comparing(self) -> bool:
        return self.twin is not None

    def field_interval(self) -> float | None:
        """What this side's worker is told of its fields' rate (None: a single run's)."""
        return COMPARE_FIELD_INTERVAL if self.comparing or self.host is not None else None

    def frame_cost(self) -> float:
        """The GUI's seconds per frame that set this side's frame rate: its own frames' cost, or, while
        both sides of A | B train, the mean of the two. Both then draw at one rate, within the share of
        the GUI two single runs would take: with each side's own cost, the side whose frames cost more
        was drawn less often (Sinkhorn ε 0.01 against 1: 23 and 16 frames/s)."""
        other = self.twin if self.twin is not None else self.host
        if other is None or not (self.running and other.running and other._gui_cost):
            return self._gui_cost
        return 0.5 * (self._gui_cost + other._gui_cost)

    def _take_turns(self) -> None:
        """While both sides train, the one on the window's core and the one off it swap; else each may
        use every core again."""
        pids = self._training_pids()
        if pids is None:
            self._end_turns()
            return
        self._turn ^= 1
        if share_window_core(*(pids if self._turn else pids[::-1])):
            self._turn_pids = pids
        else:
            self._turns.stop()             # more cores, or no window kept to one: nothing to share

    def _training_pids(self) -> tuple[int, int] | None:
        sides = (self, self.twin)
        if self.twin is None or not all(s.running and s.link is not None for s in sides):
            return None
        pids = tuple(s.link.handle.pid for s in sides)
        return pids if None not in pids else None

    def _end_turns(self) -> None:
        if self._turn_pids:
            release_cores(*self._turn_pids)
            self._turn_pids = ()

    def _send_field_intervals(self) -> None:
        for side in (self, self.twin):
            if side is not None and side.link is not None:
                side.link.send("field_interval", side.field_interval())

    def on_screen(self) -> bool:
        """Shown: this tab, or for side B the tab it is compared in."""
        return self.isVisible() or (self.host is not None and self.host.isVisible())

    # ---------------------------------------------------------------- on
    def compare_on(self, b_changes: dict | None = None, a_changes: dict | None = None) -> None:
        """Split into A | B: B is this run's method, data and seed with `b_changes`.

        With changes (a preset), both start together from step 0, A with `a_changes`, if any. Without,
        a run under way goes on as A, and B begins as a copy of it at its present step: what B is
        then changed to shows against A from that step on, and nothing of A's run is lost."""
        self._check_button(True)
        if not (a_changes or b_changes) and self.link is not None and self.step > 0:
            self._make_twin()
            self._fork_b()
            self._show_differences()
            return
        if a_changes:
            self.set_params(a_changes)
        self._make_twin()
        if b_changes:
            self.twin.set_params(b_changes)
        self.reset()
        if self.running:
            self.twin.play()                # turned on mid-run: both go on together
        self._show_differences()

    def _fork_b(self) -> None:
        """B from A's present state: the checkpoint A's worker took at its pause, or a new one."""
        cp = self.link.checkpoint
        if cp is not None and cp["step"] == self.step and not self.running:
            self._start_b_from(cp)
            return
        self._fork_link = self.link
        self.link.checkpointed.connect(self._fork_checkpoint_came)
        self.link.send("checkpoint")

    def _fork_checkpoint_came(self, _step: int) -> None:
        link = self._end_fork_wait()
        if link is not None and link is self.link and self.twin is not None:
            self._start_b_from(link.checkpoint)

    def _end_fork_wait(self):
        """Stop waiting for A's checkpoint; the link it was asked of, if one was waited for."""
        link, self._fork_link = self._fork_link, None
        if link is not None:
            link.checkpointed.disconnect(self._fork_checkpoint_came)
        return link

    def _start_b_from(self, cp: dict) -> None:
        from otviz.gui.worker import WorkerLink

        twin = self.twin
        link = WorkerLink(self.processes.take_worker(), twin)
        link.send("load", {"data": cp["data"], "name": "side A", "method": self.name})
        twin.adopt(link)
        if self.running:
            twin.play()

    def _make_twin(self) -> None:
        from otviz.gui.method_tab import MethodTab

        if self.twin is not None:
            return
        # a child of this tab, never shown itself (its views and panel are placed here), so that the
        # window finds and ends its worker with the others
        twin = MethodTab(self.name, self.processes, seed=self.seed, device=self.device, parent=self)
        twin.hide()
        twin.host, twin.field_key = self, f"{self.name}:B"
        twin.config = self.config
        twin.panel.show_config(self.config)
        twin.status_changed.connect(lambda text: self.status_changed.emit(f"B: {text}"))
        twin.panel.restart_requested.connect(lambda _c: self.reset())    # a ⟲ change of B restarts both
        self.twin = twin
        self._place_twin()
        self._check_button(True)
        self._send_field_intervals()
        self._turns.start()

    def _place_twin(self) -> None:
        twin = self.twin
        view_b = twin.ensure_view()
        view_a = self.ensure_view()
        split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        for side, view in (("A", view_a), ("B", view_b)):
            box = QtWidgets.QWidget()
            lay = QtWidgets.QVBoxLayout(box)
            lay.setContentsMargins(0, 0, 0, 0)
            label = QtWidgets.QLabel()
            label.setStyleSheet("font-weight: bold; padding: 2px;")
            lay.addWidget(label)
            lay.addWidget(view, 1)
            split.addWidget(box)
            self._compare_widgets[f"label{side}"] = label
        self.view_host.layout().addWidget(split)
        # half the width each: left to their size hints, a side whose view had been laid out wide
        # (A's, before B came) would take most of it
        split.setSizes([1_000_000, 1_000_000])
        panels = QtWidgets.QTabWidget()
        panels.addTab(self.panel, "A")
        panels.addTab(twin.panel, "B")
        panels.setCurrentIndex(1)          # B is the side one changes
        self.panel_column.addWidget(panels, 1)
        # the refusals and staged ⟲ changes of the panel on top stand where A's alone stood, in sight
        # above the scrolled panels (B's were left in B's own layout, which is never shown)
        bars = self.panel.top_bar.parentWidget().layout()
        bars.insertWidget(bars.indexOf(self.panel.top_bar) + 1, twin.panel.top_bar)
        panels.currentChanged.connect(self._show_top_bar)
        self._show_top_bar(panels.currentIndex())
        self._compare_widgets.update(split=split, panels=panels)
        self._link_axes(view_a, view_b)

    def _link_axes(self, a: QtWidgets.QWidget, b: QtWidgets.QWidget) -> None:
        """Each plot of the data's plane in B follows the same plot in A (and back), pan and zoom
        included. Plots of other quantities (a matrix by index, a curve over iterations) keep their
        own ranges: the two runs' values differ, and each must fit its own."""
        for pa, pb in zip(a.findChildren(pg.PlotWidget), b.findChildren(pg.PlotWidget)):
            va, vb = pa.getPlotItem().getViewBox(), pb.getPlotItem().getViewBox()
            if not (va.state["aspectLocked"] and vb.state["aspectLocked"]):
                continue
            self._linked.append(RangeFollower(va, vb))

    def _show_differences(self) -> None:
        if self.twin is None:
            return
        diff = differences(self.config, self.twin.config)
        text = side_text(diff, 1) or "nothing changed yet"
        self._compare_widgets["labelA"].setText("A: " + (side_text(diff, 0) or "as configured"))
        self._compare_widgets["labelB"].setText("B: " + text)
        self.history_plot.set_overlay_label(f"A solid, B dashed · B: {text}")

    def _twin_drew(self, history: tuple, events: list) -> None:
        """Side B drew a frame: its history (steps, columns) joins A's plot, dashed, and its changes
        are marked there too: at A's next frame while A's frames are coming, else now."""
        if self.twin is None:
            return
        times = self._frame_times
        a_coming = self.running and times and time.perf_counter() - times[-1] < HISTORY_WAIT_S
        self.history_plot.set_overlay(history, events, draw=not a_coming)
        self._show_differences()

    # ---------------------------------------------------------------- off
    def compare_off(self, keep: str = "A") -> None:
        """Back to one run: A's, or B's (its worker, run, history and panel become the tab's)."""
        twin = self.twin
        if twin is None:
            return
        self._turns.stop()
        self._end_turns()
        for link in self._linked:
            link.unlink()
        self._linked.clear()
        self._end_fork_wait()
        if keep == "B" and twin.link is not None:
            link, twin.link = twin.link, None
            link.frame_ready.disconnect(twin._on_frame_ready)
            link.message.disconnect(twin._on_message)
            link.died.disconnect(twin._on_died)
            self.config = twin.config
            self.panel.show_config(twin.config)
            self.history.load_state_dict(twin.history.state_dict())
            self._full_snap, self.last_frame = twin._full_snap, twin.last_frame
            self.step, self.seed, self.running = twin.step, twin.seed, twin.running
            self.past, self.branch = twin.past, twin.branch      # B's past: its frames to scrub
            self.adopt(link)
            self._on_running(twin.running)           # the Play button says what B's run is doing
            if self.last_frame is not None:
                self._show(self.last_frame)
        elif twin.link is not None:
            twin.link.close(1.0)
            twin.link = None
        view_a = self.view
        self.view_host.layout().addWidget(view_a)
        panels = self._compare_widgets["panels"]
        panels.blockSignals(True)        # its pages go: no page change is to be followed now
        twin.panel.top_bar.setParent(twin)            # B's bar goes with B
        self.panel.top_bar.show()
        self.panel_column.addWidget(self.panel, 1)
        self.panel.show()                # A's page was hidden in the tabs while B's was on top
        panels.setParent(None)
        panels.deleteLater()
        split = self._compare_widgets["split"]
        split.setParent(None)
        split.deleteLater()
        self._compare_widgets.clear()
        self.twin = None
        twin.host = None                 # an answer still on its way to B (a preview) finds no host
        twin.deleteLater()
        self.history_plot.set_overlay(None)
        self.history_plot.set_overlay_label("")
        self._send_field_intervals()
        self._check_button(False)
        self.status_changed.emit(f"compare off: kept {keep}")

    def _show_top_bar(self, page: int) -> None:
        self.panel.top_bar.setVisible(page == 0)
        self.twin.panel.top_bar.setVisible(page == 1)

    # ---------------------------------------------------------------- the button
    def _check_button(self, on: bool) -> None:
        b = self.controls.compare
        b.blockSignals(True)
        b.setChecked(on)
        b.blockSignals(False)

    def _compare_toggled(self, on: bool) -> None:
        if on:
            self.compare_on()
        elif self.twin is not None:
            keep = self._ask_keep()
            if keep is None:
                self._check_button(True)       # cancelled: both runs go on
            else:
                self.compare_off(keep)

    def _ask_keep(self) -> str | None:
        """"A", "B", or None when the user cancels (Escape or Cancel)."""
        box = QtWidgets.QMessageBox(self)
        box.setWindowTitle("Compare off")
        box.setText("Keep which run?")
        a = box.addButton("Keep A", QtWidgets.QMessageBox.ButtonRole.AcceptRole)
        b = box.addButton("Keep B", QtWidgets.QMessageBox.ButtonRole.AcceptRole)
        cancel = box.addButton(QtWidgets.QMessageBox.StandardButton.Cancel)
        box.setEscapeButton(cancel)
        box.exec()
        clicked = box.clickedButton()
        return "A" if clicked is a else "B" if clicked is b else None

    def _presets_menu(self) -> QtWidgets.QMenu:
        menu = QtWidgets.QMenu(self)
        menu.aboutToShow.connect(lambda: self._fill_presets(menu))
        return menu

    def _fill_presets(self, menu: QtWidgets.QMenu) -> None:
        menu.clear()
        for preset in PRESETS.get(self.name, ()):
            menu.addAction(preset.title, lambda p=preset: self.apply_preset(p))
        if menu.isEmpty():
            menu.addAction("no ready-made contrast for this method").setEnabled(False)

    def apply_preset(self, preset) -> None:
        """A ready-made contrast: A and B set exactly as the preset says, both from step 0."""
        self.compare_on(b_changes=dict(preset.b), a_changes=dict(preset.a))
        self.status_changed.emit(f"compare: {preset.title}")

    # ---------------------------------------------------------------- both sides
    def save_compare_b(self, path: str) -> str:
        """Side B's session beside A's file (NAME-B.otviz); opening A's file opens it too."""
        b_path = str(b_session_path(path))
        self.twin.save_session(b_path)
        return b_path

    def open_compare_b(self, b_path: str) -> None:
        """Side B from its session file (saved beside A's)."""
        from otviz.gui.worker import WorkerLink

        self._make_twin()
        link = WorkerLink(self.processes.take_worker(), self.twin)
        link.send("load", {"path": str(b_path), "method": self.name})
        self.twin.adopt(link)
        self._show_differences()

    def compare_history_csv(self, path: str) -> None:
        """Both sides' histories in one CSV: step, A.metric…, B.metric…, and which side changed what."""
        diff = differences(self.config, self.twin.config)
        started = describe_differences(diff) if diff else ""
        write_compare_csv(path, self.history, self.twin.history, started)
        self.status_changed.emit(f"history of A and B saved to {path}")
