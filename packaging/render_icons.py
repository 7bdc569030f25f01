"""Render resources/otviz.svg to the PNG icon sizes (resources/otviz-N.png) with Qt's SVG renderer."""
from __future__ import annotations

import os
import sys
from pathlib import Path

SIZES = (16, 24, 32, 48, 64, 128, 256)
ROOT = Path(__file__).resolve().parent.parent


def render(svg: Path, out_dir: Path, sizes=SIZES) -> list[Path]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import QtCore, QtGui
    from PySide6.QtSvg import QSvgRenderer

    app = QtGui.QGuiApplication.instance() or QtGui.QGuiApplication(["render_icons"])  # noqa: F841 (fonts, paint)
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg}: not a valid SVG")
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in sizes:
        img = QtGui.QImage(n, n, QtGui.QImage.Format.Format_ARGB32_Premultiplied)
        img.fill(QtCore.Qt.GlobalColor.transparent)
        p = QtGui.QPainter(img)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        p.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(p, QtCore.QRectF(0, 0, n, n))
        p.end()
        path = out_dir / f"otviz-{n}.png"
        if not img.save(str(path), "PNG"):
            raise SystemExit(f"cannot write {path}")
        paths.append(path)
    return paths


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "resources"
    for path in render(ROOT / "resources" / "otviz.svg", out):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
