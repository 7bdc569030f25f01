"""Snapshots (PNG at a chosen scale, SVG) of a view or a whole tab, and recording a widget to an animation."""
from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pyqtgraph.exporters  # noqa: F401  (SVGExporter)
from PySide6 import QtCore, QtGui, QtWidgets

from otviz.atomic import atomic_path
from otviz.recording import AnimationWriter


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
    """Records a widget: one frame per redraw, or per `every_steps` training steps, streamed to disk."""

    def __init__(self, widget: QtWidgets.QWidget, path: str | Path, fps: float = 15.0, scale: float = 1.0,
                 every_steps: int = 0):
        self.widget = widget
        self.scale = scale
        self.every_steps = max(0, int(every_steps))
        self.writer = AnimationWriter(path, fps=fps)
        self._last_step: int | None = None
        self.started = time.perf_counter()

    @property
    def frames(self) -> int:
        return self.writer.frames

    def capture(self, step: int) -> bool:
        """Called after each redraw; returns True when a frame was taken."""
        if self.every_steps and self._last_step is not None and step - self._last_step < self.every_steps:
            return False
        self._last_step = step
        self.writer.add(image_to_rgb(render_image(self.widget, self.scale)))
        return True

    def finish(self) -> Path:
        return self.writer.close()

    def abort(self) -> None:
        self.writer.abort()
