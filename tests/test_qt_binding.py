"""The installed Qt binding must not corrupt None's reference count (PySide6 6.12.0 does, and aborts)."""
import gc
import sys

from PySide6 import QtCore, QtGui


def test_void_qt_calls_keep_none_refcount(qapp):
    img = QtGui.QImage(64, 64, QtGui.QImage.Format.Format_RGB32)
    p = QtGui.QPainter(img)
    pen = QtGui.QPen(QtGui.QColor("red"))
    gc.collect()
    before = sys.getrefcount(None)
    for _ in range(2000):
        p.setPen(pen)
        p.drawLine(QtCore.QPointF(0, 0), QtCore.QPointF(5, 5))
    gc.collect()
    after = sys.getrefcount(None)
    p.end()
    assert after - before > -100, f"None lost {before - after} references in 4000 void calls"
