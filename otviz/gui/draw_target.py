"""Drawing a target with the mouse (RealNVP and WGAN tabs): a spraying ViewBox and the view-side wiring."""
from __future__ import annotations

import numpy as np
from PySide6 import QtCore

from otviz.gui.view_base import StickyViewBox


class DrawViewBox(StickyViewBox):
    """A ViewBox that, while `drawing` is on, sprays points along a left-drag (a new target)."""

    stroke_finished = QtCore.Signal()

    def __init__(self):
        super().__init__()
        self.drawing = False
        self.drawn: list[np.ndarray] = []
        self._rng = np.random.default_rng(0)

    def mouseDragEvent(self, ev, axis=None):
        if not self.drawing or ev.button() != QtCore.Qt.MouseButton.LeftButton:
            return super().mouseDragEvent(ev, axis)
        ev.accept()
        a = self.mapSceneToView(ev.lastScenePos())
        b = self.mapSceneToView(ev.scenePos())
        px, py = self.viewPixelSize()
        # two points per 3 px travelled (mouse moves arrive rate-limited), sprayed 6 px around the
        # path: a stroke becomes a band of density whatever the speed of the hand
        n = max(1, int(np.hypot((b.x() - a.x()) / px, (b.y() - a.y()) / py) / 3))
        t = np.repeat(np.linspace(0, 1, n, endpoint=False) + 1 / n, 2)[:, None]
        path = np.array([a.x(), a.y()]) * (1 - t) + np.array([b.x(), b.y()]) * t
        self.drawn.append(path + self._rng.normal(size=path.shape) * (6 * px, 6 * py))
        if ev.isFinish():
            self.stroke_finished.emit()

    def points(self) -> np.ndarray:
        return np.concatenate(self.drawn) if self.drawn else np.zeros((0, 2))


class DrawTargetMixin:
    """For a MethodView with `vb` (DrawViewBox), `drawn` (FastScatter) and a checkable `draw_button`:
    toggling the button starts a drawing; each finished stroke sends all points drawn so far as the
    method's `points` edit (from 10 points on)."""

    def _draw_mode(self, on: bool) -> None:
        self.vb.drawing = on
        self.vb.drawn = []
        self.drawn.setVisible(on)       # hidden rather than emptied while not drawing
        self.draw_button.setText("✎ Drawing… (press to stop)" if on else "✎ Draw target")

    def _stroke(self) -> None:
        pts = self.vb.points()
        if len(pts):
            self.drawn.setData(pts)
        if len(pts) >= 10:
            self.edit_requested.emit("points", pts)
