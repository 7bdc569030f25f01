"""One tab: a method's views, its generated control panel, run controls, history and status, and its worker."""
from __future__ import annotations

import time
from collections import deque

from PySide6 import QtCore, QtWidgets

from otviz.core.devices import device_status
from otviz.gui.control_panel import ControlPanel
from otviz.gui.export import Recorder
from otviz.gui.history_plot import HistoryPlot
from otviz.gui.view_base import refit_views
from otviz.gui.worker import REDRAW_SHARE, TrainingWorker
from otviz.methods import method_class, view_class
from otviz.methods.session import Session


class RunControls(QtWidgets.QWidget):
    """Play/Pause, Step, Reset, steps per frame, seed, device."""

    def __init__(self, parent=None):
        super().__init__(parent)
        grid = QtWidgets.QGridLayout(self)
        grid.setContentsMargins(4, 4, 4, 4)
        self.play = QtWidgets.QPushButton("▶ Play")
        self.play.setCheckable(True)
        self.play.setToolTip("Play / pause training (Space)")
        self.step = QtWidgets.QPushButton("Step ▸")
        self.step.setToolTip("One training step (→)")
        self.reset = QtWidgets.QPushButton("⟲ Reset")
        self.reset.setToolTip("Start again from the initial state with the seed below (R)")
        grid.addWidget(self.play, 0, 0)
        grid.addWidget(self.step, 0, 1)
        grid.addWidget(self.reset, 0, 2)
        self.speed = QtWidgets.QSpinBox()
        self.speed.setRange(0, 100_000)
        self.speed.setSpecialValueText("max")
        self.speed.setToolTip("Training steps per redraw: 'max' trains as fast as it can; N waits for each "
                              "frame after N steps (slow motion for demos)")
        self.seed = QtWidgets.QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setToolTip("Random seed used by Reset")
        self.device = QtWidgets.QComboBox()
        # the unavailable devices carry their reason in the text: do not let it widen the panel
        self.device.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.device.setMinimumContentsLength(10)
        for name, ok, why in device_status():
            self.device.addItem(name)
            item = self.device.model().item(self.device.count() - 1)
            item.setEnabled(ok)
            item.setToolTip(why if not ok else (why or name))
            if not ok:
                item.setText(f"{name} — {why}")
        grid.addWidget(QtWidgets.QLabel("steps/frame"), 1, 0)
        grid.addWidget(self.speed, 1, 1, 1, 2)
        self.budget = QtWidgets.QSpinBox()
        self.budget.setRange(1, 100)
        self.budget.setValue(round(100 * REDRAW_SHARE))
        self.budget.setSuffix(" %")
        self.budget.setToolTip(f"While training, how much of the time the views may spend redrawing: "
                               f"{100 * REDRAW_SHARE:.0f} % keeps training at ≥ 90 % of its headless speed; "
                               f"raise it for a smoother animation in a demo")
        grid.addWidget(QtWidgets.QLabel("redraw share"), 4, 0)
        grid.addWidget(self.budget, 4, 1, 1, 2)
        grid.addWidget(QtWidgets.QLabel("seed"), 2, 0)
        grid.addWidget(self.seed, 2, 1, 1, 2)
        grid.addWidget(QtWidgets.QLabel("device"), 3, 0)
        grid.addWidget(self.device, 3, 1, 1, 2)


class MethodTab(QtWidgets.QWidget):
    status_changed = QtCore.Signal(str)

    def __init__(self, name: str, seed: int = 0, device: str = "cpu", parent=None):
        super().__init__(parent)
        self.name = name
        self.method_cls = method_class(name)
        self.session = Session(self.method_cls(seed=seed, device=device))
        self.view = view_class(name)(self.method_cls)
        self.controls = RunControls()
        self.controls.seed.setValue(seed)
        self.panel = ControlPanel(self.method_cls.specs(), self.session.method.config)
        self.history = HistoryPlot(self.method_cls.metrics)
        self.banner = QtWidgets.QLabel()
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background: #fde7e9; color: #8a0012; padding: 4px;")
        self.banner.hide()
        self.rec_label = QtWidgets.QLabel()
        self.rec_label.setStyleSheet("color: white; background: #c62828; padding: 2px 6px; font-weight: bold;")
        self.rec_label.hide()
        self.recorder: Recorder | None = None
        self._frame_times: deque[float] = deque(maxlen=30)
        self.last_frame: dict | None = None
        self._shown_config = self.session.method.config
        self._last_cpu = time.thread_time()
        self._layout()

        self.worker = TrainingWorker(self.session, parent=self)
        self.worker.frame.connect(self._on_frame)
        self.worker.failed.connect(self.show_error)
        self.worker.running_changed.connect(self._on_running)
        self.worker.notice.connect(self.status_changed)
        c = self.controls
        c.play.toggled.connect(lambda on: self.worker.play() if on else self.worker.pause())
        c.play.toggled.connect(lambda on: on and self.banner.hide())
        c.step.clicked.connect(self.worker.single_step)
        c.reset.clicked.connect(self.reset)
        c.speed.valueChanged.connect(self.worker.set_steps_per_frame)
        c.budget.valueChanged.connect(lambda v: self.worker.set_gui_budget(v / 100))
        c.device.currentTextChanged.connect(lambda t: self.worker.set_device(t.split(" ")[0]))
        self.panel.live_changed.connect(self.worker.set_params)
        self.panel.restart_requested.connect(self._apply_restart)
        self.view.edit_requested.connect(self.worker.edit)
        self.view.param_requested.connect(self.set_params)
        self.worker.start()

    def _layout(self) -> None:
        left = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        top = QtWidgets.QWidget()
        tl = QtWidgets.QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(self.banner)
        tl.addWidget(self.view, 1)
        left.addWidget(top)
        left.addWidget(self.history)
        left.setStretchFactor(0, 3)
        left.setStretchFactor(1, 1)
        left.setSizes([640, 220])
        right = QtWidgets.QWidget()
        rl = QtWidgets.QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.controls)
        rl.addWidget(self.panel, 1)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidget(right)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(300)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(scroll)
        split.setStretchFactor(0, 5)
        split.setStretchFactor(1, 0)
        split.setSizes([1000, 400])
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(split, 1)
        bottom = QtWidgets.QHBoxLayout()
        bottom.addWidget(self.rec_label)
        bottom.addStretch(1)
        lay.addLayout(bottom)

    # ---------------------------------------------------------------- actions
    def toggle(self) -> None:
        self.controls.play.toggle()

    def single_step(self) -> None:
        self.worker.single_step()

    def reset(self) -> None:
        self.banner.hide()
        self.panel.message.clear()
        refit_views(self.view)                  # new data: fit the plots tightly once
        self.worker.reset(self.controls.seed.value())

    def set_params(self, changes: dict) -> None:
        """Programmatic parameter change, through the same path as the control panel."""
        for k, v in changes.items():
            if k in self.panel.rows:
                self.panel.rows[k].set_value(v)
        live = {k: v for k, v in changes.items() if self.method_cls.spec(k).live}
        if live:
            self.worker.set_params(live)
        restart = {k: v for k, v in changes.items() if k not in live}
        if restart:
            self._apply_restart(restart)

    def _apply_restart(self, changes: dict) -> None:
        self.banner.hide()
        self.worker.set_params(changes)

    def show_error(self, message: str) -> None:
        self.banner.setText(message)
        self.banner.show()
        self.panel.show_message(message)
        self.status_changed.emit(message)
        self.panel.set_config(self.session.method.config)

    def _on_running(self, on: bool) -> None:
        b = self.controls.play
        b.blockSignals(True)
        b.setChecked(on)
        b.blockSignals(False)
        b.setText("❚❚ Pause" if on else "▶ Play")

    def _on_frame(self, f: dict) -> None:
        # the GUI thread's CPU since the last frame: this frame's handling plus the last one's painting
        cpu = time.thread_time()
        cost, self._last_cpu = cpu - self._last_cpu, cpu
        try:
            self.last_frame = f
            self.view.update_snapshot(f["snap"])
            self.history.set_history(f["history"], f["events"])
            if self.recorder is not None:
                self._capture(f["step"])
            now = time.perf_counter()
            self._frame_times.append(now)
            cfg = self.session.method.config
            if cfg != self._shown_config:       # a reset, an opened session, or a change with side effects
                self._shown_config = cfg
                self.panel.show_config(cfg)
                refit_views(self.view)
        finally:
            self.worker.frame_done(cost if self.worker.is_running else None)

    def frames_per_second(self) -> float:
        t = self._frame_times
        if len(t) < 2:
            return 0.0
        interval = max(t[-1] - t[0], 1e-9) / (len(t) - 1)
        # no frames for a while (paused): 0; but at the redraw share a frame a second is normal
        if time.perf_counter() - t[-1] > max(1.0, 3.0 * interval):
            return 0.0
        return 1.0 / interval

    def status_text(self) -> str:
        f = self.last_frame or {"step": 0, "metrics": {}, "steps_per_s": 0.0}
        m = f["metrics"]
        loss = next(iter(m.items()), None)
        parts = [f"step {f['step']}", f"{f['steps_per_s']:.1f} steps/s", f"{self.frames_per_second():.0f} frames/s"]
        if loss:
            parts.append(f"{loss[0]} {loss[1]:.5g}")
        parts.append(str(self.session.method.device))
        return "   ·   ".join(parts)

    # ---------------------------------------------------------------- recording and sessions
    def start_recording(self, path: str, fps: float = 15.0, scale: float = 1.0, every_steps: int = 0) -> None:
        """Record this tab (views, history, controls) from the next redraw on."""
        self.stop_recording()
        self.recorder = Recorder(self, path, fps=fps, scale=scale, every_steps=every_steps)
        self.rec_label.setText("● REC 0")
        self.rec_label.show()
        self.status_changed.emit(f"recording to {path}")

    def _capture(self, step: int) -> None:
        try:
            if self.recorder.capture(step):
                self.rec_label.setText(f"● REC {self.recorder.frames}")
        except Exception as e:
            self.recorder.abort()
            self.recorder = None
            self.rec_label.hide()
            self.show_error(f"recording stopped: {e}")

    def stop_recording(self) -> str | None:
        """Finish the file; returns its path (None if nothing was recording)."""
        rec, self.recorder = self.recorder, None
        self.rec_label.hide()
        if rec is None:
            return None
        try:
            path = rec.finish()
        except Exception as e:
            self.show_error(f"the recording could not be saved: {e}")
            return None
        self.status_changed.emit(f"saved {rec.frames} frames to {path}")
        return str(path)

    def save_session(self, path: str) -> None:
        """Save between two steps, in the training thread, so the state is consistent."""
        from otviz.sessionfile import save_session

        self.worker.call(lambda s: save_session(path, s), lambda _: self.worker.notice.emit(f"session saved to {path}"))

    def replace_session(self, session: Session) -> None:
        """Continue from an opened session: the worker swaps it in between two steps."""
        self.worker.pause()
        worker = self.worker

        def swap(_):
            worker.session = session
        self.worker.call(swap)
        self.session = session
        self.banner.hide()
        self.panel.set_config(session.method.config)
        self.controls.seed.setValue(session.method.seed)

    def shutdown(self) -> None:
        """Stop the training thread (closing the window)."""
        if self.recorder is not None:
            self.stop_recording()
        if self.worker.isRunning():
            self.worker.stop(3000)
