"""The main window: one tab per registered method, keyboard shortcuts, status bar, clean shutdown."""
from __future__ import annotations

import gc
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from otviz import __version__
from otviz.gui.explain import install_explain
from otviz.gui.export import default_name, save_snapshot
from otviz.gui.method_tab import MethodTab
from otviz.gui.processes import Processes
from otviz.session.compare import b_session_path
from otviz.gui.worker import WorkerLink
from otviz.methods import method_info, method_names


class MainWindow(QtWidgets.QMainWindow):
    def __init__(self, methods: list[str] | None = None, seed: int = 0, device: str = "cpu"):
        super().__init__()
        self.setWindowTitle(f"otviz {__version__}")
        self.resize(1400, 900)
        self.tabs = QtWidgets.QTabWidget()
        self.setCentralWidget(self.tabs)
        self.tab_by_name: dict[str, MethodTab] = {}
        self.processes = Processes(self)
        for name in methods or method_names():
            tab = MethodTab(name, self.processes, seed=seed, device=device)
            tab.status_changed.connect(lambda text, t=tab: self._tab_status(t, text))
            self.tabs.addTab(tab, method_info(name).title)
            self.tab_by_name[name] = tab
        self.status_label = QtWidgets.QLabel()
        self.statusBar().addWidget(self.status_label, 1)
        # a tab's passing message ("compare off: kept B") is about that tab: the next one shows its own
        self.tabs.currentChanged.connect(lambda _i: self.statusBar().clearMessage())
        self.tabs.currentChanged.connect(lambda _i: QtCore.QTimer.singleShot(0, self._keep_long_lived))
        self._long_lived_views: frozenset[str] | None = None   # tabs whose views were set aside (None: nothing yet)
        # The recording's indicator: in the status bar, outside the recorded plots, and always there
        # (empty when idle) so that its appearing never changes the height of what is above it.
        self.rec_indicator = QtWidgets.QLabel()
        self.rec_indicator.setFixedHeight(self.rec_indicator.fontMetrics().height() + 4)
        self.statusBar().addPermanentWidget(self.rec_indicator)
        self._status_timer = QtCore.QTimer(self, interval=250)
        self._status_timer.timeout.connect(self._refresh_status)
        self._status_timer.start()
        self.export_dir = Path.cwd()
        self.png_scale = 2.0
        self.rec_settings = {"suffix": ".mp4", "fps": 15.0, "scale": 1.0, "every_steps": 0}
        self._shortcuts()
        self._menus()
        install_explain(self)           # F1 help, lessons, presenter mode (View and Help menus)

    @property
    def current(self) -> MethodTab:
        return self.tabs.currentWidget()

    def _shortcuts(self) -> None:
        def add(key, fn):
            sc = QtGui.QShortcut(QtGui.QKeySequence(key), self)
            sc.activated.connect(lambda: self._unless_typing(key, fn))

        add(QtCore.Qt.Key.Key_Space, lambda: self.current.toggle())
        add(QtCore.Qt.Key.Key_Right, lambda: self.current.single_step())
        add(QtCore.Qt.Key.Key_R, lambda: self.current.reset())
        # the timeline: the first stored frame, now, one stored frame back or forward
        add(QtCore.Qt.Key.Key_Home, lambda: self.current.timeline_first())
        add(QtCore.Qt.Key.Key_End, lambda: self.current.timeline_live())
        add(QtCore.Qt.Key.Key_Comma, lambda: self.current.timeline_back())
        add(QtCore.Qt.Key.Key_Period, lambda: self.current.timeline_forward())

    def _menus(self) -> None:
        m = self.menuBar().addMenu("&File")
        m.addAction("Open session…", QtGui.QKeySequence("Ctrl+O"), self._open_session_dialog)
        m.addAction("Save session…", QtGui.QKeySequence("Ctrl+Shift+S"), self._save_session_dialog)
        m.addSeparator()
        m.addAction("Export history (CSV)…", self._history_dialog)
        m.addSeparator()
        m.addAction("Quit", QtGui.QKeySequence("Ctrl+Q"), self.close)
        e = self.menuBar().addMenu("&Export")
        e.addAction("Snapshot of the tab (PNG)", QtGui.QKeySequence("Ctrl+S"), self.quick_snapshot)
        e.addAction("Snapshot of the tab as…", lambda: self._snapshot_dialog(None))
        self.view_menu = e.addMenu("Snapshot of one view as…")
        self.view_menu.aboutToShow.connect(self._fill_view_menu)
        e.addAction("Snapshot resolution…", self._scale_dialog)
        e.addSeparator()
        self.rec_action = e.addAction("Start recording", QtGui.QKeySequence("Ctrl+R"), self.toggle_recording)
        e.addAction("Recording settings…", self._rec_dialog)
        e.addAction("Record the past of the tab", self.record_past)

    def _fill_view_menu(self) -> None:
        self.view_menu.clear()
        for name, widget in self.current.view.plots().items():
            self.view_menu.addAction(name, lambda w=widget, n=name: self._snapshot_dialog(w, n))

    def _ask_path(self, title: str, name: str, filters: str, save: bool = True) -> str:
        start = str(self.export_dir / name)
        fn = QtWidgets.QFileDialog.getSaveFileName if save else QtWidgets.QFileDialog.getOpenFileName
        path, _ = fn(self, title, start, filters)
        if path:
            self.export_dir = Path(path).parent
        return path

    def _report(self, text: str, error: bool = False) -> None:
        if error:
            self.current.show_error(text)
        self.statusBar().showMessage(text, 8000)

    def quick_snapshot(self) -> str | None:
        """Ctrl+S: the whole tab as PNG at the chosen resolution, with a name from method, step and time."""
        tab = self.current
        path = self.export_dir / default_name(tab.name, tab.step, ".png")
        return self.snapshot(tab, path)

    def snapshot(self, widget, path, scale: float | None = None) -> str | None:
        try:
            save_snapshot(widget, path, self.png_scale if scale is None else scale)
        except (OSError, ValueError) as e:
            self._report(f"snapshot not saved: {e}", error=True)
            return None
        self._report(f"snapshot saved to {path}")
        return str(path)

    def _snapshot_dialog(self, widget, view_name: str = "tab") -> None:
        tab = self.current
        name = default_name(f"{tab.name}-{view_name}", tab.step, ".png")
        path = self._ask_path("Save snapshot", name, "PNG image (*.png);;SVG drawing (*.svg)")
        if path:
            self.snapshot(widget or tab, path)

    def _scale_dialog(self) -> None:
        v, ok = QtWidgets.QInputDialog.getDouble(self, "Snapshot resolution",
                                                 "PNG size, as a multiple of the on-screen size:",
                                                 self.png_scale, 0.25, 8.0, 2)
        if ok:
            self.png_scale = v

    def toggle_recording(self) -> str | None:
        tab = self.current
        if tab.recorder is not None:
            path = tab.stop_recording()
            self.refresh_recording()
            return path
        r = self.rec_settings
        path = self.export_dir / default_name(tab.name, tab.step, r["suffix"])
        try:
            tab.start_recording(str(path), fps=r["fps"], scale=r["scale"], every_steps=r["every_steps"])
        except (OSError, ValueError) as e:
            self._report(f"cannot record: {e}", error=True)
            return None
        self.refresh_recording()
        return str(path)

    def record_past(self) -> str | None:
        """The tab's stored frames, from its first to now, as an animation (a scrub through the past)."""
        tab, r = self.current, self.rec_settings
        path = self.export_dir / default_name(tab.name, tab.step, r["suffix"]).replace("-step", "-past-to-step")
        bar = QtWidgets.QProgressDialog("Recording the past…", "Stop", 0, 100, self)
        bar.setMinimumDuration(500)

        def progress(done, total):
            bar.setMaximum(total)
            bar.setValue(done)
            return not bar.wasCanceled()
        try:
            n = tab.record_past(str(path), fps=r["fps"], scale=r["scale"], progress=progress)
        except (OSError, ValueError) as e:
            self._report(f"cannot record the past: {e}", error=True)
            return None
        finally:
            bar.close()
        self._report(f"saved {n} frames of the past to {path}")
        return str(path)

    def _rec_dialog(self) -> None:
        d = QtWidgets.QDialog(self)
        d.setWindowTitle("Recording settings")
        form = QtWidgets.QFormLayout(d)
        fmt = QtWidgets.QComboBox()
        fmt.addItems([".mp4", ".gif", ".apng"])
        fmt.setCurrentText(self.rec_settings["suffix"])
        fps = QtWidgets.QDoubleSpinBox(minimum=1, maximum=60, value=self.rec_settings["fps"])
        scale = QtWidgets.QDoubleSpinBox(minimum=0.25, maximum=4, singleStep=0.25, value=self.rec_settings["scale"])
        timing = QtWidgets.QComboBox()
        timing.addItems(["real time", "time-lapse"])
        timing.setToolTip("Real time: ten seconds of recording make ten seconds of video. Time-lapse: one "
                          "frame per N training steps, played at the frame rate above.")
        timing.setCurrentIndex(1 if self.rec_settings["every_steps"] else 0)
        every = QtWidgets.QSpinBox(minimum=1, maximum=1_000_000, value=max(1, self.rec_settings["every_steps"]))
        every.setSuffix(" steps")
        every.setEnabled(timing.currentIndex() == 1)
        timing.currentIndexChanged.connect(lambda i: every.setEnabled(i == 1))
        form.addRow("format", fmt)
        form.addRow("frames per second", fps)
        form.addRow("size (× on screen)", scale)
        form.addRow("timing", timing)
        form.addRow("time-lapse: one frame per", every)
        bb = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Ok
                                        | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        bb.accepted.connect(d.accept)
        bb.rejected.connect(d.reject)
        form.addRow(bb)
        if d.exec():
            self.rec_settings = {"suffix": fmt.currentText(), "fps": fps.value(), "scale": scale.value(),
                                 "every_steps": every.value() if timing.currentIndex() == 1 else 0}

    def _history_dialog(self) -> None:
        tab = self.current
        path = self._ask_path("Export history", default_name(tab.name, tab.step, ".csv"), "CSV (*.csv)")
        if path:
            self.export_history(path)

    def export_history(self, path: str) -> None:
        self.current.export_history(path)

    def _save_session_dialog(self) -> None:
        tab = self.current
        path = self._ask_path("Save session", default_name(tab.name, tab.step, ".otviz"),
                              "otviz session (*.otviz)")
        if path:
            tab.save_session(path)

    def _open_session_dialog(self) -> None:
        path = self._ask_path("Open session", "", "otviz session (*.otviz);;All files (*)", save=False)
        if path:
            self.open_session(path, dialog=True)

    def open_session(self, path: str, dialog: bool = False) -> None:
        """Open a saved session in its method's tab. A worker process reads the file (the GUI never
        imports torch) and, once it holds the session, becomes that tab's worker; a bad file is
        refused with the reason."""
        link = WorkerLink(self.processes.take_worker(), self)
        name = Path(path).name

        def on_message(kind: str, payload) -> None:
            if kind == "failed":
                link.message.disconnect(on_message)
                link.close(1.0)
                if dialog:                  # asked for in a dialog: answered in one, not also in the tab
                    self._report(payload)
                    QtWidgets.QMessageBox.warning(self, "Cannot open session", payload)
                else:
                    self._report(payload, error=True)
            elif kind == "loaded":
                link.message.disconnect(on_message)
                tab = self.tab_by_name.get(payload["method"])
                if tab is None:
                    link.close(1.0)
                    self._report(f"{name}: its method {payload['method']!r} has no tab here", error=True)
                    return
                self.tabs.setCurrentWidget(tab)
                tab.checkpoint = None
                tab.adopt(link)
                self._report(f"opened {path} at step {payload['step']}")
                b_path = b_session_path(path)
                if b_path.is_file():              # saved while comparing: B comes back beside A
                    tab.open_compare_b(str(b_path))
                elif tab.comparing:
                    tab.compare_off("A")
            elif kind == "ready":
                self.processes.set_devices(payload["devices"])

        link.message.connect(on_message)
        link.start()
        link.send("load", {"path": str(path)})

    def _unless_typing(self, key, fn) -> None:
        """Plain-key shortcuts must not steal keys from a text field the user is typing in."""
        w = QtWidgets.QApplication.focusWidget()
        if isinstance(w, (QtWidgets.QLineEdit, QtWidgets.QAbstractSpinBox)):
            text = QtGui.QKeySequence(key).toString().lower().replace("space", " ")
            ev = QtGui.QKeyEvent(QtCore.QEvent.Type.KeyPress, key, QtCore.Qt.KeyboardModifier.NoModifier,
                                 text if len(text) == 1 else "")
            QtWidgets.QApplication.sendEvent(w, ev)
            return
        fn()

    def _tab_status(self, tab: MethodTab, text: str) -> None:
        if tab is self.current:
            self.statusBar().showMessage(text, 8000)

    def _refresh_status(self) -> None:
        if self.tabs.count():
            self.status_label.setText(self.current.status_text())
        self.refresh_recording()

    def refresh_recording(self) -> None:
        """The indicator of every tab that records, and the menu's action for the tab on screen."""
        texts = [(t.info.title, t.recording_text()) for t in self.tab_by_name.values() if t.recorder is not None]
        text = "   ".join(f"{rec} — {title}" if len(texts) > 1 else rec for title, rec in texts)
        if text != self.rec_indicator.text():
            self.rec_indicator.setText(text)
            self.rec_indicator.setStyleSheet("color: white; background: #c62828; padding: 0px 6px; "
                                             "font-weight: bold;" if text else "")
        if self.tabs.count():
            self.rec_action.setText("Stop recording" if self.current.recorder is not None else "Start recording")

    def showEvent(self, event) -> None:
        super().showEvent(event)
        # the background processes import torch: start them once the window is on screen
        QtCore.QTimer.singleShot(0, self.processes.start)
        QtCore.QTimer.singleShot(0, self._keep_long_lived)

    def _keep_long_lived(self) -> None:
        """Set what lives as long as the window (modules, widgets, a tab's newly built view) aside
        from Python's cyclic garbage collector. Its full passes scanned them all: 21–27 ms of the GUI
        thread with two tabs played (a frame or two dropped, up to 150 ms with five tabs while training
        in A | B), 1–2 ms once they were set aside. Done at the first show and at each tab's first view;
        the window's close gives them back. (No collection first: it would take that long once more, and
        little of what exists then is garbage.)"""
        views = frozenset(name for name, tab in self.tab_by_name.items() if tab.view is not None)
        if views == self._long_lived_views:      # views are only ever added: nothing new to set aside
            return
        self._long_lived_views = views
        gc.freeze()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        """End every process together: ask each to quit, terminate any still busy after a second."""
        gc.unfreeze()                     # the window's objects may be collected again
        self._status_timer.stop()
        links = []
        for tab in self.tab_by_name.values():
            tab.shutdown()
            if tab.link is not None:
                links.append(tab.link)
        links += [w for w in self.findChildren(WorkerLink) if w not in links and w.isRunning()]
        self.processes.shutdown([lk.handle for lk in links], 1.0)
        for lk in links:
            lk.wait(1000)
        super().closeEvent(event)
