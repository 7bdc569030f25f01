"""A layout that lines its widgets up in rows and wraps to the next row when the width runs out.

A view's row of buttons and boxes then never sets the window's minimum width: side by side in A | B,
two such rows would otherwise make the window wider than the screen.
"""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets


class FlowLayout(QtWidgets.QLayout):
    def __init__(self, parent: QtWidgets.QWidget | None = None, spacing: int = 6):
        super().__init__(parent)
        self._items: list[QtWidgets.QLayoutItem] = []
        self.setSpacing(spacing)

    # ---------------------------------------------------------------- QLayout's interface
    def addItem(self, item: QtWidgets.QLayoutItem) -> None:
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int):
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int):
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> QtCore.Qt.Orientation:
        return QtCore.Qt.Orientation(0)

    def setGeometry(self, rect: QtCore.QRect) -> None:
        """Place the items, and make the widget as tall as its rows. (Its height is set, rather than
        given as a height for its width: a grid asked for that in one cell takes the height from the
        other rows' plots.)"""
        super().setGeometry(rect)
        height = self._arrange(rect)
        owner = self.parentWidget()
        if owner is not None and owner.minimumHeight() != height:
            owner.setMinimumHeight(height)

    def sizeHint(self) -> QtCore.QSize:
        """One row of everything."""
        m = self.contentsMargins()
        w = sum(i.sizeHint().width() for i in self._items) + self.spacing() * max(len(self._items) - 1, 0)
        h = max((i.sizeHint().height() for i in self._items), default=0)
        return QtCore.QSize(w + m.left() + m.right(), h + m.top() + m.bottom())

    def minimumSize(self) -> QtCore.QSize:
        """The widest single widget: everything else wraps."""
        m = self.contentsMargins()
        w = max((i.minimumSize().width() for i in self._items), default=0)
        h = max((i.minimumSize().height() for i in self._items), default=0)
        return QtCore.QSize(w + m.left() + m.right(), h + m.top() + m.bottom())

    # ---------------------------------------------------------------- placing
    def _arrange(self, rect: QtCore.QRect) -> int:
        """Place the items row by row inside rect; the height they take."""
        m = self.contentsMargins()
        area = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())
        x, y, row_h = area.x(), area.y(), 0
        for item in self._items:
            if item.widget() is not None and item.widget().isHidden():
                continue
            size = item.sizeHint()
            if x > area.x() and x + size.width() > area.right() + 1:
                x, y, row_h = area.x(), y + row_h + self.spacing(), 0     # wrap
            item.setGeometry(QtCore.QRect(QtCore.QPoint(x, y), size))
            x += size.width() + self.spacing()
            row_h = max(row_h, size.height())
        return y + row_h - rect.y() + m.bottom()
