"""A plot's title gives way when the plot is narrow (A | B's halves): its beginning, then "…", within
the plot's width, the whole title in its tooltip; whole and centred again when there is room."""
import pytest

pytest.importorskip("pytestqt")

from PySide6 import QtWidgets  # noqa: E402

from otviz.gui.view_base import make_heatmap, make_plot  # noqa: E402

LONG = "forward: after 3 of 4 layers (x-space, the data pushed through the flow)"


def _plot(qtbot, title, width, bar=False):
    box = QtWidgets.QWidget()
    qtbot.addWidget(box)
    w = make_plot(title, equal=False)
    if bar:
        make_heatmap(w)
    QtWidgets.QVBoxLayout(box).addWidget(w)
    box.resize(width, 300)
    box.show()
    qtbot.waitExposed(box)
    qtbot.wait(20)
    w._test_box = box
    return box, w, w.getPlotItem().titleLabel


def _shown(label) -> str:
    return label.item.toPlainText()


def _right(label, w) -> float:
    """Where the shown title ends, in the plot widget's pixels."""
    item = label.item
    return w.mapFromScene(item.mapToScene(item.boundingRect().topRight())).x()


def test_a_cut_title_ends_in_an_ellipsis_inside_the_plot_and_keeps_the_whole_in_its_tooltip(qtbot):
    box, w, label = _plot(qtbot, LONG, 260)
    shown = _shown(label)
    assert shown.endswith("…") and LONG.startswith(shown[:-1]) and len(shown) > 10
    assert _right(label, w) <= w.width() + 1
    assert label.toolTip() == LONG
    assert label.text == LONG                          # what the views compare against

    # a new title while narrow is cut as well; room again: whole, with no tooltip
    label2 = LONG.replace("3 of 4", "4 of 4")
    w.getPlotItem().setTitle(label2)
    qtbot.wait(20)
    assert _shown(label).endswith("…") and label2.startswith(_shown(label)[:-1])
    assert label.toolTip() == label2
    box.resize(1200, 300)
    qtbot.waitUntil(lambda: _shown(label) == label2, timeout=2000)
    assert label.toolTip() == ""
    # centred over the plot's data column, as a whole title is
    rect, text = label.rect(), label.itemRect()
    assert abs(rect.center().x() - text.center().x()) <= 2


def test_a_short_title_is_never_cut_and_a_title_may_run_over_the_colour_bar(qtbot):
    _, w, label = _plot(qtbot, "cost", 200)
    assert _shown(label) == "cost" and label.toolTip() == ""
    # a title a little wider than the data column, but not than the plot with its colour bar: whole
    title = "learned log p(x) (nats)"
    _, w, label = _plot(qtbot, title, 250, bar=True)
    assert label.rect().width() < label.item.boundingRect().width()       # wider than its column
    assert _shown(label) == title
    assert _right(label, w) <= w.width() + 1
