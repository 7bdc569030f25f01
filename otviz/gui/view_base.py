"""The base of every method's plot area, and small helpers shared by the views (heatmaps, plots)."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from otviz.methods.snapshot import Snapshot

pg.setConfigOptions(antialias=True, background="w", foreground="k")
# Pens of items with many segments (assignment lines, long curves) stay 1 px wide: Qt draws 1-px
# antialiased lines on a fast path, while 1.2 px already means stroking every segment as an outline
# and filling it, an order of magnitude slower. Wider pens are for items with a handful of segments.

# Colours shared by all tabs, so "real" and "generated" mean the same everywhere.
REAL = (40, 110, 220, 170)
FAKE = (230, 90, 30, 170)
ACCENT = (20, 150, 70, 220)

VIEW_RECT_DELAY_MS = 150   # a pan or zoom is told to the method once it has settled this long


class MethodView(QtWidgets.QWidget):
    """A method's views. Build pyqtgraph items once in __init__; update_snapshot only calls setData/setImage.

    `edit_requested(action, payload)` asks the worker to call Method.edit between two steps.
    `param_requested(dict)` asks for a parameter change as if made in the control panel (e.g. a
    view-local axis selector that is also a config field).
    `restart_requested(dict)` asks for those changes and then a fresh start of the run, as Reset does
    (a lesson that only makes sense watched from its beginning).
    `view_edits` holds the last payload of each edit that describes the views rather than the run
    (the rectangle a heatmap covers, see follow_view_rect): the tab holds them back while it has no
    worker and gives them to every worker it starts.
    """

    edit_requested = QtCore.Signal(str, object)
    param_requested = QtCore.Signal(dict)
    restart_requested = QtCore.Signal(dict)

    def __init__(self, info, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        # the method's MethodInfo (name, title, Config, specs, metrics): the training itself runs
        # elsewhere, so a view knows the method only by its description and its snapshots
        self.method_info = info
        self.view_edits: dict[str, Any] = {}
        self._followed: pg.ViewBox | None = None
        self._view_rect_timer: QtCore.QTimer | None = None

    def follow_view_rect(self, plot: pg.PlotWidget) -> None:
        """Tell the method, by the edit ("view_rect", (x0, y0, width, height)), what `plot` shows, so that
        it computes its heatmap over that: once the plot is laid out, and again after each pan or zoom.
        A drag or a wheel turn changes the range many times, and plots linked to this one follow it
        axis by axis: it is told once, when the range has settled."""
        self._followed = plot.getPlotItem().getViewBox()
        timer = self._view_rect_timer = QtCore.QTimer(self)
        timer.setSingleShot(True)
        timer.setInterval(VIEW_RECT_DELAY_MS)
        timer.timeout.connect(self._send_view_rect)
        self._followed.sigRangeChanged.connect(lambda *_: timer.start())
        self._followed.sigResized.connect(lambda *_: timer.start())

    def flush_view_edits(self) -> bool:
        """Tell a pan, zoom or first layout still waiting out the delay now (a renderer with no event loop
        to wait in). True if a new rectangle went out."""
        if self._view_rect_timer is None or not self._view_rect_timer.isActive():
            return False
        self._view_rect_timer.stop()
        return self._send_view_rect()

    def _send_view_rect(self) -> bool:
        vb = self._followed
        r = vb.viewRect()
        rect = (r.x(), r.y(), r.width(), r.height())
        if vb.width() < 2 or vb.height() < 2 or not (np.isfinite(rect).all() and rect[2] > 0 and rect[3] > 0):
            return False                  # not laid out yet: its first layout will call again
        if rect == self.view_edits.get("view_rect"):
            return False
        self.view_edits["view_rect"] = rect
        self.edit_requested.emit("view_rect", rect)
        return True

    def update_snapshot(self, snap: Snapshot) -> None:
        """Draw the method's snapshot (an instance of its Snapshot dataclass): read its fields as attributes."""
        raise NotImplementedError

    def set_history(self, history: tuple[np.ndarray, dict[str, np.ndarray]], events: list[tuple[int, str]]) -> None:
        """The run's whole metric history ((steps, {metric: values}), events), for a view with a panel of
        its own over steps: it then shows the run, not only the frames it happened to see (a snapshot
        sees one). Called after update_snapshot, with what the history plot gets."""

    def plots(self) -> dict[str, QtWidgets.QWidget]:
        """Named views (for exporting one of them); the default is the whole view."""
        return {"view": self}


class RangeFollower(QtCore.QObject):
    """`follower` shows `leader`'s ranges, and a pan or zoom done by hand on either moves both.

    pyqtgraph's links pass every range change both ways. Two aspect-locked plots of different sizes
    (a heatmap beside the points, its colour bar making it narrower; side B beside side A) then each
    widened their range to keep their own aspect and passed it on: the plane zoomed out without end
    while training drew frames. Here a range goes from the leader to the follower, and back only when
    the user moved the follower by hand."""

    def __init__(self, leader: pg.ViewBox, follower: pg.ViewBox):
        super().__init__(follower)
        self.leader, self.follower = leader, follower
        leader.sigRangeChanged.connect(self._from_leader)
        follower.sigRangeChangedManually.connect(self._from_user)
        self._from_leader()

    def _from_leader(self, *_) -> None:
        self.follower.setRange(rect=self.leader.viewRect(), padding=0)

    def _from_user(self, *_) -> None:
        self.leader.setRange(rect=self.follower.viewRect(), padding=0)

    def unlink(self) -> None:
        self.leader.sigRangeChanged.disconnect(self._from_leader)
        self.follower.sigRangeChangedManually.disconnect(self._from_user)
        self.setParent(None)


class StickyViewBox(pg.ViewBox):
    """A ViewBox whose auto-range moves only when it has to: along an axis the data leave, or fill less
    than half of (with a locked aspect: along both); a re-fit then leaves a little headroom, and more on
    the side the data left by.

    pyqtgraph re-fits on every data change, so while training every frame moved the axes: their ticks
    and labels were laid out again (about half of a frame's cost in the SW-GMM and WGAN tabs) and the
    plots jittered. Turning auto-range back on (the "A" button) or `refit()` fits tightly once.
    """

    HEADROOM = 0.05     # share of the span left free on each side by a re-fit
    GROWTH = 0.25       # and on the side where the data left the view
    SHRINK = 0.5        # re-fit an axis when the data span less than this share of it

    def __init__(self, *args, **kwargs):
        self._in_auto = False
        self._refit = [True, True]       # per axis: fit the next auto-range tightly
        # pixels at the bottom that the data are kept out of (a line of numbers there), or None
        self.keep_clear: Callable[[], float] | None = None
        super().__init__(*args, **kwargs)

    def _kept_clear(self) -> float:
        """The share of the view's height kept clear at its bottom (at most half of it)."""
        height = self.height()
        if self.keep_clear is None or self.state["yInverted"] or height <= 0:
            return 0.0
        return min(max(self.keep_clear() / height, 0.0), 0.5)

    def refit(self) -> None:
        """Fit the next auto-range tightly (new data: a reset, another dataset)."""
        self._refit = [True, True]

    def enableAutoRange(self, axis=None, enable=True, x=None, y=None):
        # only the axes turned on fit tightly: a plot that hands y back to auto-range (a history
        # leaving its robust range) must not re-fit x too, or a growing step axis is laid out again
        if x is not None or y is not None:
            on = [bool(x), bool(y)]
        elif enable is False:
            on = [False, False]
        else:
            on = [axis in (None, pg.ViewBox.XAxis, pg.ViewBox.XYAxes, 0),
                  axis in (None, pg.ViewBox.YAxis, pg.ViewBox.XYAxes, 1)]
        self._refit = [r or o for r, o in zip(self._refit, on)]
        super().enableAutoRange(axis, enable, x, y)

    def updateAutoRange(self):
        self._in_auto = True
        try:
            super().updateAutoRange()
        finally:
            self._in_auto = False

    def setRange(self, rect=None, xRange=None, yRange=None, padding=None, update=True, disableAutoRange=True):
        if self._in_auto and rect is None:
            wanted, current = [xRange, yRange], self.viewRange()
            clear = self._kept_clear()
            if clear:                    # the data's part of the view is above the band kept clear
                (y0, y1) = current[1]
                current = [current[0], [y0 + clear * (y1 - y0), y1]]
            # the wanted range includes pyqtgraph's padding, which may reach below a lower limit (a step
            # axis starts at 0) that the view never shows: compare within the limit, or the data would
            # seem to leave the view on every frame
            lows = (self.state["limits"]["xLimits"][0], self.state["limits"]["yLimits"][0])
            wanted = [r if r is None or low is None or r[0] >= low else (low, max(r[1], low))
                      for r, low in zip(wanted, lows)]
            grow = [(0.0, 0.0), (0.0, 0.0)]
            refit = [rf and r is not None for rf, r in zip(self._refit, wanted)]
            if not all(rf or r is None for rf, r in zip(refit, wanted)):
                out = [r is not None and (r[0] < c[0], r[1] > c[1]) for r, c in zip(wanted, current)]
                # (a single value, span 0, cannot tell: it would re-fit on every frame)
                loose = [r is not None and 0 < r[1] - r[0] < self.SHRINK * (c[1] - c[0])
                         for r, c in zip(wanted, current)]
                if self.state["aspectLocked"]:
                    # the locked aspect widens one axis beyond its data: shrink only if both are loose
                    both = all(lo or r is None for lo, r in zip(loose, wanted))
                    loose = [lo and both for lo in loose]
                # only the axes that must move do (each new range lays an axis out again), with more
                # room on the side the data left by: they tend to go on (a step axis, a drift)
                move = [bool(o and any(o)) or lo or rf for o, lo, rf in zip(out, loose, refit)]
                if not any(move):
                    return                   # the data still fit the view well: leave the axes alone
                wanted = [r if m else None for r, m in zip(wanted, move)]
                grow = [(self.GROWTH * o[0], self.GROWTH * o[1]) if o and not lo and not rf else (0.0, 0.0)
                        for o, lo, rf in zip(out, loose, refit)]
            self._refit = [rf and r is None for rf, r in zip(self._refit, wanted)]
            xRange, yRange = [None if r is None else
                              (r[0] - (self.HEADROOM + g[0]) * (r[1] - r[0]),
                               r[1] + (self.HEADROOM + g[1]) * (r[1] - r[0]))
                              for r, g in zip(wanted, grow)]
            if clear and yRange is not None:
                yRange = (yRange[0] - clear / (1 - clear) * (yRange[1] - yRange[0]), yRange[1])
            # headroom stops at a lower limit (steps start at 0): cut there, since the ViewBox would
            # shift the whole range up and leave the room on the other side instead
            xRange, yRange = [r if r is None or low is None or r[0] >= low else (low, max(r[1], low))
                              for r, low in zip((xRange, yRange), lows)]
        super().setRange(rect, xRange, yRange, padding, update, disableAutoRange)


def refit_views(widget: QtWidgets.QWidget) -> None:
    """Tight auto-range fit, at the next data change, of every plot in `widget` (after a reset)."""
    for w in widget.findChildren(pg.PlotWidget):
        vb = w.getPlotItem().getViewBox()
        if isinstance(vb, StickyViewBox):
            vb.refit()


def make_plot(title: str = "", *, equal: bool = True, x: str = "", y: str = "",
              view_box: pg.ViewBox | None = None) -> pg.PlotWidget:
    """A PlotWidget with the app's look: grid, optional equal aspect, axis labels, and a StickyViewBox
    (or the custom ViewBox given)."""
    w = pg.PlotWidget(title=title, viewBox=view_box if view_box is not None else StickyViewBox())
    w.showGrid(x=True, y=True, alpha=0.15)
    if equal:
        w.setAspectLocked(True)
    if x:
        w.setLabel("bottom", x)
    if y:
        w.setLabel("left", y)
    w.setMenuEnabled(False)
    # The axes draw the grid, so their bounding boxes cover the plot and every data update repainted
    # their tick labels (text layout, dearer than drawing the data). Cached as pixmaps, they are only
    # laid out again when the range changes (StickyViewBox: rarely).
    for ax in w.getPlotItem().axes.values():
        ax["item"].setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
    _shrinkable_title(w.getPlotItem().titleLabel)
    return w


def _shrinkable_title(label: pg.LabelItem) -> None:
    """A title that never sets its plot's minimum width, and ends in "…" where it is cut. A label asks
    for its text's width, and a plot narrower than its title (two views side by side in A | B) was laid
    out wider than its widget: its right-hand axis and data were cut off. Now the title gives way: its
    beginning is shown from the left edge, then "…", and the tooltip holds it whole."""
    measure, set_text = label.updateMin, label.setText
    # the title set last, whole: its width, font and characters (to measure what part of it fits)
    whole: dict = {"new": True}

    def set_whole(text, **args):
        if text == label.text and not args:
            return                                 # the same title (views set theirs at every frame)
        whole["new"] = True
        set_text(text, **args)

    def update_min():
        item = label.item
        if whole["new"]:                           # a new title: setText has just put it whole in the item
            whole.update(new=False, width=item.boundingRect().width(), plain=item.toPlainText(),
                         font=_first_format(item)[1].font().resolve(item.font()), shown=None)
        # a title wider than its column may run on over the plot's right-hand axis and colour bar
        width, parent = label.rect().width(), label.parentItem()
        room = max(width, parent.boundingRect().width() - label.pos().x()) if parent is not None else width
        shown = None
        if 0 < width and room < whole["width"]:
            margin = 2 * item.document().documentMargin()
            shown = QtGui.QFontMetricsF(whole["font"]).elidedText(
                whole["plain"], QtCore.Qt.TextElideMode.ElideRight, max(room - margin, 0.0))
        if shown != whole["shown"]:
            if shown is None:                      # room again: the whole title, placed as pyqtgraph does
                whole["new"] = True
                set_text(label.text)
                return
            cursor, fmt = _first_format(item)                  # the same characters' format, fewer of them
            cursor.select(QtGui.QTextCursor.SelectionType.Document)
            cursor.insertText(shown, fmt)
            whole["shown"] = shown
        measure()
        if 0 < width < whole["width"]:             # from the left edge, so that it reads from its beginning
            rect, text = label.rect(), label.itemRect()
            item.setPos(item.pos() + QtCore.QPointF(rect.left() - text.left(), 0))
        label.setMinimumWidth(0)
        hints = getattr(label, "_sizeHint", None)
        if isinstance(hints, dict) and QtCore.Qt.SizeHint.MinimumSize in hints:
            hints[QtCore.Qt.SizeHint.MinimumSize] = (0, hints[QtCore.Qt.SizeHint.MinimumSize][1])
        label.setToolTip(whole["plain"] if shown is not None else "")
        label.updateGeometry()

    label.updateMin, label.setText = update_min, set_whole
    update_min()


def _first_format(item: QtWidgets.QGraphicsTextItem) -> tuple[QtGui.QTextCursor, QtGui.QTextCharFormat]:
    """A cursor after the text's first character, and that character's format (a title has one)."""
    cursor = QtGui.QTextCursor(item.document())
    cursor.setPosition(min(1, item.document().characterCount() - 1))
    return cursor, cursor.charFormat()


class CornerText(pg.TextItem):
    """A view's line of numbers in a corner of a plot's view box (bottom-left, or top-left), kept there
    as the plot is resized and wrapped when wider than the plot: a narrow one, as in A | B, shows it
    whole on more lines instead of cutting it off. keep_clear (at the bottom of a StickyViewBox): the
    view's range leaves the numbers' band free of data, so that they never sit on the lowest points."""

    def __init__(self, vb: pg.ViewBox, top: bool = False, fill=None, keep_clear: bool = False):
        super().__init__(color=(20, 20, 20), anchor=(0, 0 if top else 1), fill=fill)
        self.setParentItem(vb)
        self._vb, self._top = vb, top
        if keep_clear and not top and isinstance(vb, StickyViewBox):
            vb.keep_clear = self.height_px
        vb.sigResized.connect(self._place)
        self._place()

    def height_px(self) -> float:
        """Pixels from the view's bottom to the top of the numbers (none when there are none)."""
        if not self.isVisible() or not self.textItem.toPlainText():
            return 0.0
        return self.textItem.boundingRect().height() + 8

    def setText(self, text: str, color=None) -> None:
        super().setText(text, color)
        if getattr(self, "_vb", None) is not None:      # (TextItem's own __init__ sets a text first)
            self._fit()

    def _fit(self) -> None:
        room = max(self._vb.width() - 12, 60.0)
        t = self.textItem
        t.setTextWidth(-1)                      # its own width, unless that is wider than the plot
        if t.boundingRect().width() > room:
            t.setTextWidth(room)
        self.updateTextPos()

    def _place(self) -> None:
        self._fit()
        if self._top:
            self.setPos(4, 4)
        else:
            self.setPos(6, self._vb.height() - 4)


def make_heatmap(plot: pg.PlotItem | pg.PlotWidget, cmap: str = "viridis", bar: bool = True,
                 bounds: bool = True) -> pg.ImageItem:
    """An ImageItem under everything else in `plot`, with a colour map (and a colour bar). bounds=False:
    auto-range ignores it (a heatmap that follows the view would widen the view at every refit)."""
    item = pg.ImageItem(axisOrder="row-major")
    item.setZValue(-100)
    item.setColorMap(pg.colormap.get(cmap))
    plot.addItem(item, ignoreBounds=not bounds)
    if bar:
        pi = plot.getPlotItem() if isinstance(plot, pg.PlotWidget) else plot
        item._otviz_bar = pi.addColorBar(item, colorMap=pg.colormap.get(cmap), interactive=False, width=12)
    return item


def nice_levels(lo: float, hi: float, steps: int = 10) -> tuple[float, float]:
    """(lo, hi) widened to multiples of a round step (1, 2, 2.5 or 5 x 10^k, about span/steps)."""
    span = hi - lo
    if not (np.isfinite(lo) and np.isfinite(hi) and span > 0):
        return lo, hi
    raw = span / steps
    mag = 10.0 ** np.floor(np.log10(raw))
    step = next(m * mag for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * mag >= raw * (1 - 1e-9))
    return float(np.floor(lo / step) * step) + 0.0, float(np.ceil(hi / step) * step) + 0.0


def set_heatmap(item: pg.ImageItem, values: np.ndarray, rect: tuple[float, float, float, float],
                levels: tuple[float, float] | None = None) -> None:
    """Show `values` (rows = y, columns = x) over rect = (x0, y0, width, height) with fixed levels
    (the data's range if None), widened to round numbers: the colour bar's axis then changes only
    when the data cross one, instead of being laid out again on every frame."""
    values = np.asarray(values, dtype=np.float32)
    if levels is None:
        finite = values[np.isfinite(values)]
        levels = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    levels = nice_levels(float(levels[0]), float(levels[1]))
    if levels[1] <= levels[0]:
        levels = (levels[0], levels[0] + 1e-9)
    item.setImage(values, levels=levels, autoLevels=False)
    item.setRect(QtCore.QRectF(*rect))
    bar = getattr(item, "_otviz_bar", None)
    if bar is not None and getattr(item, "_otviz_bar_levels", None) != levels:
        item._otviz_bar_levels = levels          # setting equal levels still lays the bar's axis out again
        bar.setLevels(levels)
