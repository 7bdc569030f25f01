"""The layout of a method tab: its widgets are built by MethodTab, placed here."""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets


def layout_tab(tab) -> None:
    """Views and banner over the history, the timeline under them, the controls and panel at the right."""
    tab.view_host = QtWidgets.QWidget()
    QtWidgets.QVBoxLayout(tab.view_host).setContentsMargins(0, 0, 0, 0)
    left = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
    top = QtWidgets.QWidget()
    tl = QtWidgets.QVBoxLayout(top)
    tl.setContentsMargins(0, 0, 0, 0)
    tl.addWidget(tab.banner)
    tl.addWidget(tab.view_host, 1)
    left.addWidget(top)
    left.addWidget(tab.history_plot)
    left.setStretchFactor(0, 3)
    left.setStretchFactor(1, 1)
    left.setSizes([640, 220])
    tab.plot_area = left               # what a recording captures: the plots and the history
    past = QtWidgets.QWidget()
    pl = QtWidgets.QVBoxLayout(past)
    pl.setContentsMargins(0, 0, 0, 0)
    pl.addWidget(left, 1)
    pl.addWidget(tab.timeline)
    right = QtWidgets.QWidget()
    rl = QtWidgets.QVBoxLayout(right)
    rl.setContentsMargins(0, 0, 0, 0)
    rl.addWidget(tab.controls)
    rl.addWidget(tab.panel, 1)
    tab.panel_column = rl               # where Compare puts the A and B panels
    scroll = QtWidgets.QScrollArea()
    scroll.setWidget(right)
    scroll.setWidgetResizable(True)
    scroll.setMinimumWidth(300)
    scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    side = QtWidgets.QWidget()          # the panel's refusals and staged changes stay in sight above it
    sl = QtWidgets.QVBoxLayout(side)
    sl.setContentsMargins(0, 0, 0, 0)
    sl.setSpacing(0)
    sl.addWidget(tab.panel.top_bar)
    sl.addWidget(scroll, 1)
    split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
    split.addWidget(past)
    split.addWidget(side)
    split.setStretchFactor(0, 5)
    split.setStretchFactor(1, 0)
    split.setSizes([1000, 400])
    lay = QtWidgets.QVBoxLayout(tab)
    lay.setContentsMargins(2, 2, 2, 2)
    lay.addWidget(split, 1)
