"""Snapshots (PNG at a chosen scale, SVG) of a view or a whole tab, and recording a widget to an animation."""
from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pyqtgraph.exporters  # noqa: F401  (SVGExporter)
from PySide6 import QtCore, QtGui, QtWidgets

from otviz.util.atomic import atomic_path
from otviz.util.recording import AnimationWriter


def render_image(widget: QtWidgets.QWidget, scale: float = 1.0) -> QtGui.QImage:
    """The widget painted into an image `scale` times its on-screen size (vector items stay sharp)."""
    size = widget.size()
    w, h = max(1, round(size.width() * scale)), max(1, round(size.height() * scale))
    img = QtGui.QImage(w, h, QtGui.QImage.Format.Format_RGB32)
    img.fill(QtGui.QColor("white"))
    p = QtGui.QPainter(img)
    p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    p.scale(w / max(size.width(), 1), h / max(size.height(), 1))
    widget.render(p, QtCore.QPoint(0, 0), QtGui.QRegion(), QtWidgets.QWidget.RenderFlag.DrawChildren)
    p.end()
    return img


def image_to_rgb(img: QtGui.QImage) -> np.ndarray:
    """An (H, W, 3) uint8 copy of a QImage."""
    img = img.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), dtype=np.uint8, count=bpl * h).reshape(h, bpl)
    return buf[:, : 3 * w].reshape(h, w, 3).copy()


def save_png(widget: QtWidgets.QWidget, path: str | Path, scale: float = 2.0) -> Path:
    img = render_image(widget, scale)
    with atomic_path(path) as tmp:
        if not img.save(str(tmp), "PNG"):
            raise OSError(f"cannot write {path}: the PNG encoder failed")
    return Path(path)


def save_svg(widget: QtWidgets.QWidget, path: str | Path) -> Path:
    """SVG of one plot (pyqtgraph's exporter: true vector paths) or of a whole widget (QSvgGenerator)."""
    with atomic_path(path) as tmp:
        if isinstance(widget, pg.PlotWidget):
            pg.exporters.SVGExporter(widget.getPlotItem()).export(str(tmp))
        else:
            from PySide6.QtSvg import QSvgGenerator

            gen = QSvgGenerator()
            gen.setFileName(str(tmp))
            gen.setSize(widget.size())
            gen.setViewBox(QtCore.QRect(QtCore.QPoint(0, 0), widget.size()))
            gen.setTitle("otviz")
            p = QtGui.QPainter(gen)
            widget.render(p, QtCore.QPoint(0, 0), QtGui.QRegion(), QtWidgets.QWidget.RenderFlag.DrawChildren)
            p.end()
        if not tmp.stat().st_size:
            raise OSError(f"cannot write {path}: the SVG is empty")
    return Path(path)


def save_snapshot(widget: QtWidgets.QWidget, path: str | Path, scale: float = 2.0) -> Path:
    """PNG or SVG by the file's suffix."""
    suffix = Path(path).suffix.lower()
    if suffix == ".svg":
        return save_svg(widget, path)
    if suffix == ".png":
        return save_png(widget, path, scale)
    raise ValueError(f"{Path(path).name}: snapshots are .png or .svg")


def default_name(method: str, step: int, suffix: str) -> str:
    return f"otviz-{method}-step{step}-{datetime.now():%Y%m%d-%H%M%S}{suffix}"


class Recorder:
    """Records a widget to an animation streamed to disk, in one of two timings:

    - real time (`every_steps` 0): a frame every 1/fps s of wall clock, so the video lasts as long as the
      recording did, whatever the training's pace;
    - time-lapse (`every_steps` N): a frame on the first redraw after every N training steps, played at
      `fps`.

    `on_error(exc)` is told when a frame taken by the real-time clock cannot be written (the recording
    is then over); a time-lapse frame's error is raised by `capture`.
    """

    def __init__(self, widget: QtWidgets.QWidget, path: str | Path, fps: float = 15.0, scale: float = 1.0,
                 every_steps: int = 0, on_error=None):
        self.widget = widget
        self.scale = scale
        self.every_steps = max(0, int(every_steps))
        self.writer = AnimationWriter(path, fps=fps)
        self.fps = self.writer.fps
        self.on_error = on_error
        self._last_step: int | None = None
        self.started = time.perf_counter()
        self._timer: QtCore.QTimer | None = None
        if self.real_time:
            self._timer = QtCore.QTimer(widget)
            self._timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
            self._timer.setInterval(max(1, round(1000.0 / self.fps)))
            self._timer.timeout.connect(self._tick)
            self._timer.start()
            try:
                self._take(1)
            except Exception as e:          # no encoder, a full disk: refused at the start, nothing left behind
                self.abort()
                if isinstance(e, (OSError, ValueError)):
                    raise
                raise OSError(str(e) or type(e).__name__) from e

    @property
    def real_time(self) -> bool:
        return self.every_steps == 0

    @property
    def frames(self) -> int:
        return self.writer.frames

    @property
    def seconds(self) -> float:
        """Length of the video so far."""
        return self.frames / self.fps

    def describe(self) -> str:
        """What the video holds so far, in the user's terms: '0:07 (real time)' or '120 frames = 8.0 s at 15 fps'."""
        if self.real_time:
            s = int(self.seconds)
            return f"{s // 60}:{s % 60:02d} (real time)"
        return f"{self.frames} frames = {self.seconds:.1f} s at {self.fps:g} fps"

    def _take(self, copies: int) -> None:
        img = image_to_rgb(render_image(self.widget, self.scale))
        for _ in range(copies):
            self.writer.add(img)

    def _due(self) -> int:
        """Frames the video should hold by now to last as long as the recording has."""
        return int((time.perf_counter() - self.started) * self.fps) + 1

    def _tick(self) -> None:
        # A tick that comes late (a busy GUI, a slow encoder) repeats the picture for the frames it
        # missed: the screen did look like this meanwhile, and the video keeps the recording's length.
        missing = self._due() - self.frames
        if missing <= 0:
            return
        try:
            self._take(missing)
        except Exception as e:
            self._stop_timer()
            if self.on_error is None:
                raise
            self.on_error(e)

    def capture(self, step: int) -> bool:
        """Called after each redraw; returns True when a (time-lapse) frame was taken."""
        if self.real_time:
            return False
        if self._last_step is not None and 0 <= step - self._last_step < self.every_steps:
            return False
        self._last_step = step
        self._take(1)
        return True

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer.deleteLater()
            self._timer = None

    def finish(self) -> Path:
        if self._timer is not None:
            self._stop_timer()
            self._tick_final()
        return self.writer.close()

    def _tick_final(self) -> None:
        missing = self._due() - 1 - self.frames       # up to the moment of stopping, not a frame more
        if missing > 0:
            self._take(missing)

    def abort(self) -> None:
        self._stop_timer()
        self.writer.abort()
