"""The window's Help and View menus for teaching: F1 help page, lessons, presenter mode, and their keys."""
from __future__ import annotations

from PySide6 import QtCore, QtGui

from otviz.gui.help_dialog import HelpDialog
from otviz.gui.lesson_dock import LessonDock
from otviz.gui.presenter import Presenter

Key = QtCore.Qt.Key


def install_explain(window) -> None:
    """Add the help page, the lesson bar and presenter mode to a MainWindow (window.help_dialog,
    window.lesson_dock, window.presenter), with their menus and keys."""
    window.help_dialog = None
    window.lesson_dock = LessonDock(window)
    window.addDockWidget(QtCore.Qt.DockWidgetArea.BottomDockWidgetArea, window.lesson_dock)
    window.presenter = Presenter(window)
    v = window.menuBar().addMenu("&View")
    window.presenter_action = v.addAction("Presenter mode", QtGui.QKeySequence(Key.Key_F11), window.presenter.toggle)
    window.presenter_action.setCheckable(True)
    window.presenter.toggled.connect(window.presenter_action.setChecked)
    h = window.menuBar().addMenu("&Help")
    h.addAction("What am I looking at?", QtGui.QKeySequence(Key.Key_F1), lambda: show_help(window))
    h.addAction("Lessons…", QtGui.QKeySequence("L"), lambda: _show_lessons(window))
    h.addSeparator()
    h.addAction("Next lesson step", QtGui.QKeySequence(Key.Key_PageDown), window.lesson_dock.next)
    h.addAction("Previous lesson step", QtGui.QKeySequence(Key.Key_PageUp), window.lesson_dock.back)
    h.addAction("Restart the lesson", QtGui.QKeySequence("Shift+L"), window.lesson_dock.restart)
    # the menu bar is hidden in presenter mode: its actions keep their keys only if the window has them
    for action in v.actions() + h.actions():
        window.addAction(action)
    leave = QtGui.QShortcut(QtGui.QKeySequence(Key.Key_Escape), window)
    leave.activated.connect(window.presenter.leave)
    # tabs by number, for a talk that moves between methods without a mouse
    for i in range(min(9, window.tabs.count())):
        sc = QtGui.QShortcut(QtGui.QKeySequence(f"Alt+{i + 1}"), window)
        sc.activated.connect(lambda i=i: window.tabs.setCurrentIndex(i))


def show_help(window) -> HelpDialog:
    """The help page of the tab on screen (one window, following the tab)."""
    if window.help_dialog is None:
        window.help_dialog = HelpDialog(window)
        window.tabs.currentChanged.connect(lambda _i: _follow(window))
    size = 22.0 if window.presenter.active else 15.0
    window.help_dialog.show_method(window.current.name, size)
    if window.presenter.active:
        window.help_dialog.resize(1100, 1000)
    window.help_dialog.show()
    window.help_dialog.raise_()
    return window.help_dialog


def _follow(window) -> None:
    d = window.help_dialog
    if d is not None and d.isVisible():
        d.show_method(window.current.name, 22.0 if window.presenter.active else 15.0)


def _show_lessons(window) -> None:
    dock = window.lesson_dock
    dock.show()
    dock.raise_()
    # the first lesson of the tab on screen is the one offered
    for i in range(dock.choice.count()):
        lesson = dock.lessons[dock.choice.itemData(i)]
        if lesson.method == window.current.name:
            dock.choice.setCurrentIndex(i)
            break
    dock.choice.setFocus()
