"""What floats over a tab's plots: a lesson's caption, the step in large type, a frame round one view."""
from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

CAPTION_STYLE = ("QLabel {{ background: rgba(20, 24, 32, 215); color: white; border-radius: 6px; "
                 "padding: {pad}px {pad2}px; font-size: {size}pt; }}")
BADGE_STYLE = ("QLabel {{ background: rgba(255, 255, 255, 225); color: #202020; border: 1px solid #888; "
               "border-radius: 5px; padding: 2px 8px; font-size: {size}pt; font-weight: bold; }}")
HIGHLIGHT_COLOR = "#ff9800"
QWIDGETSIZE_MAX = (1 << 24) - 1        # Qt's largest widget size


class StageOverlay(QtCore.QObject):
    """A caption along the top of `host` and a step badge in its top-right corner, kept in place as
    `host` is resized, in a band above what `host` lays out. Both are children of `host`, so snapshots
    and recordings of it include them."""

    def __init__(self, host: QtWidgets.QWidget):
        super().__init__(host)
        self.host = host
        self.scale = 1.0
        self.caption = QtWidgets.QLabel(host)
        self.caption.setWordWrap(True)
        self.caption.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.caption.hide()
        self.badge = QtWidgets.QLabel(host)
        self.badge.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.badge.hide()
        self._frame: QtWidgets.QFrame | None = None
        self._style()
        host.installEventFilter(self)

    def _style(self) -> None:
        s = self.scale
        self.caption.setStyleSheet(CAPTION_STYLE.format(pad=round(6 * s), pad2=round(10 * s), size=round(11 * s)))
        self.badge.setStyleSheet(BADGE_STYLE.format(size=round(10 * s)))

    def set_scale(self, scale: float) -> None:
        """Larger type (a projector): 1 is the desktop size."""
        self.scale = scale
        self._style()
        self.place()

    def set_caption(self, text: str) -> None:
        self.caption.setText(text)
        self.caption.setVisible(bool(text))
        self.place()

    def set_badge(self, text: str) -> None:
        if text != self.badge.text():
            self.badge.setText(text)
            self.badge.adjustSize()
        self.badge.setVisible(bool(text))
        self.place()

    def place(self) -> None:
        w = self.host.width()
        m = round(8 * self.scale)
        if self.badge.isVisible():
            self.badge.adjustSize()
            self.badge.move(w - self.badge.width() - m, m)
            self.badge.raise_()
        if self.caption.isVisible():
            room = w - 2 * m - (self.badge.width() + m if self.badge.isVisible() else 0)
            width = max(200, min(room, round(900 * self.scale)))
            self.caption.setFixedWidth(width)
            # a fixed height bounds what heightForWidth answers: free it first, or the caption keeps
            # the height of larger type (presenter mode) after the type is smaller again
            self.caption.setMinimumHeight(0)
            self.caption.setMaximumHeight(QWIDGETSIZE_MAX)
            self.caption.setFixedHeight(self.caption.heightForWidth(width))
            self.caption.move(m, m)
            self.caption.raise_()
        self._make_room(m)

    def _make_room(self, m: int) -> None:
        """The plots move down below the caption and the badge, which would hide their titles, legends
        and the view's own controls."""
        lay = self.host.layout()
        if lay is None:
            return
        shown = [x.height() for x in (self.caption, self.badge) if not x.isHidden()]
        top = max(shown) + 2 * m if shown else 0
        if lay.contentsMargins().top() != top:
            lay.setContentsMargins(0, top, 0, 0)

    def highlight(self, widget: QtWidgets.QWidget | None) -> None:
        """A coloured frame round `widget` (one of the views), or none."""
        if self._frame is not None:
            self._frame.parentWidget().removeEventFilter(self)
            self._frame.hide()                 # at once: an offscreen renderer runs no event loop to delete it
            self._frame.setParent(None)
            self._frame.deleteLater()
            self._frame = None
        if widget is None:
            return
        _reveal(widget)
        f = self._frame = QtWidgets.QFrame(widget)
        f.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        f.setStyleSheet(f"QFrame {{ border: {max(3, round(4 * self.scale))}px solid {HIGHLIGHT_COLOR}; "
                        "background: transparent; border-radius: 4px; }")
        f.setGeometry(widget.rect())
        f.show()
        f.raise_()
        widget.installEventFilter(self)

    def highlighted(self) -> QtWidgets.QWidget | None:
        return None if self._frame is None else self._frame.parentWidget()

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QtCore.QEvent.Type.Resize:
            if obj is self.host:
                self.place()
            elif self._frame is not None and obj is self._frame.parentWidget():
                self._frame.setGeometry(obj.rect())
        return False


def _reveal(widget: QtWidgets.QWidget) -> None:
    """Bring the page holding `widget` to the front where it sits in a tab widget (WGAN's pages)."""
    child, parent = widget, widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QtWidgets.QStackedWidget):
            tabs = parent.parentWidget()
            if isinstance(tabs, QtWidgets.QTabWidget):
                tabs.setCurrentWidget(child)      # through the tab bar, so that it follows
            else:
                parent.setCurrentWidget(child)
        child, parent = parent, parent.parentWidget()


def scaled_font(base: QtGui.QFont, scale: float) -> QtGui.QFont:
    f = QtGui.QFont(base)
    f.setPointSizeF(max(6.0, base.pointSizeF() * scale))
    return f
