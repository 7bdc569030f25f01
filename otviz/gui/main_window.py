"""The main window: one tab per registered method, keyboard shortcuts, status bar, clean shutdown."""
from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from otviz import __version__
from otviz.gui.method_tab import MethodTab
from otviz.methods import method_class, method_names


class MainWindow(QtWidgets.QMainWindow):
    def __init__(self, methods: list[str] | None = None, seed: int = 0, device: str = "cpu"):
        super().__init__()
        self.setWindowTitle(f"otviz {__version__}")
        self.resize(1400, 900)
        self.tabs = QtWidgets.QTabWidget()
        self.setCentralWidget(self.tabs)
        self.tab_by_name: dict[str, MethodTab] = {}
        for name in methods or method_names():
            tab = MethodTab(name, seed=seed, device=device)
            tab.status_changed.connect(lambda text, t=tab: self._tab_status(t, text))
            self.tabs.addTab(tab, method_class(name).title)
            self.tab_by_name[name] = tab
        self.status_label = QtWidgets.QLabel()
        self.statusBar().addWidget(self.status_label, 1)
        self._status_timer = QtCore.QTimer(self, interval=250)
        self._status_timer.timeout.connect(self._refresh_status)
        self._status_timer.start()
        self._shortcuts()

    @property
    def current(self) -> MethodTab:
        return self.tabs.currentWidget()

    def _shortcuts(self) -> None:
        def add(key, fn):
            sc = QtGui.QShortcut(QtGui.QKeySequence(key), self)
            sc.activated.connect(lambda: self._unless_typing(key, fn))

        add(QtCore.Qt.Key.Key_Space, lambda: self.current.toggle())
        add(QtCore.Qt.Key.Key_Right, lambda: self.current.single_step())
        add(QtCore.Qt.Key.Key_R, lambda: self.current.reset())

    def _unless_typing(self, key, fn) -> None:
        """Plain-key shortcuts must not steal keys from a text field the user is typing in."""
        w = QtWidgets.QApplication.focusWidget()
        if isinstance(w, (QtWidgets.QLineEdit, QtWidgets.QAbstractSpinBox)):
            text = QtGui.QKeySequence(key).toString().lower().replace("space", " ")
            ev = QtGui.QKeyEvent(QtCore.QEvent.Type.KeyPress, key, QtCore.Qt.KeyboardModifier.NoModifier,
                                 text if len(text) == 1 else "")
            QtWidgets.QApplication.sendEvent(w, ev)
            return
        fn()

    def _tab_status(self, tab: MethodTab, text: str) -> None:
        if tab is self.current:
            self.statusBar().showMessage(text, 8000)

    def _refresh_status(self) -> None:
        if self.tabs.count():
            self.status_label.setText(self.current.status_text())

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self._status_timer.stop()
        for tab in self.tab_by_name.values():
            tab.shutdown()
        super().closeEvent(event)
