"""The window's lesson bar: pick a shipped lesson, then Back / Next / Restart through its steps, with the
caption over the plots of its tab and the view it talks about framed."""
from __future__ import annotations

from PySide6 import QtWidgets

from otviz.gui.lesson_player import LessonPlayer
from otviz.gui.presenter import stage
from otviz.lessons.catalogue import lesson_paths
from otviz.lessons.format import LessonError, load_lesson


class LessonDock(QtWidgets.QDockWidget):
    """A dock at the bottom of the window; hidden until Lessons (menu or L) opens it."""

    def __init__(self, window):
        super().__init__("Lesson", window)
        self.window = window
        self.setObjectName("lesson_dock")
        self.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.player: LessonPlayer | None = None
        body = QtWidgets.QWidget()
        rows = QtWidgets.QVBoxLayout(body)
        rows.setContentsMargins(6, 2, 6, 2)
        lay = QtWidgets.QHBoxLayout()
        rows.addLayout(lay)
        self.choice = QtWidgets.QComboBox()
        self.choice.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.lessons = {}
        problems = []
        for path in lesson_paths():
            try:
                lesson = load_lesson(path)
            except LessonError as e:
                problems.append(str(e))
                continue
            if lesson.method in window.tab_by_name:
                self.lessons[lesson.name] = lesson
                self.choice.addItem(f"{window.tab_by_name[lesson.method].info.title}: {lesson.title}", lesson.name)
        self.start_button = QtWidgets.QPushButton("Start")
        self.back_button = QtWidgets.QPushButton("◀ Back")
        self.next_button = QtWidgets.QPushButton("Next ▶")
        self.restart_button = QtWidgets.QPushButton("⟲ Restart")
        self.stop_button = QtWidgets.QPushButton("End")
        self.start_button.setToolTip("Start the chosen lesson in its tab, from its own settings")
        self.back_button.setToolTip("The previous step again (PgUp)")
        self.next_button.setToolTip("The next step (PgDn)")
        self.restart_button.setToolTip("The lesson from its beginning")
        self.status = QtWidgets.QLabel("" if not problems else "; ".join(problems))
        self.status.setWordWrap(True)
        for w in (self.choice, self.start_button, self.back_button, self.next_button, self.restart_button,
                  self.stop_button):
            lay.addWidget(w)
        lay.addStretch(1)
        rows.addWidget(self.status)
        self.setWidget(body)
        self.start_button.clicked.connect(self._start_clicked)
        self.back_button.clicked.connect(self.back)
        self.next_button.clicked.connect(self.next)
        self.restart_button.clicked.connect(self.restart)
        self.stop_button.clicked.connect(self.end)
        self._enable()
        self.hide()

    def _start_clicked(self) -> None:
        name = self.choice.currentData()
        lesson = self.lessons.get(name or "")
        if lesson is not None and self._may_replace(self.window.tab_by_name[lesson.method]):
            self.start(name)

    def _may_replace(self, tab) -> bool:
        """A lesson trains a run of its own from step 0: one under way in its tab is lost, so ask first."""
        if tab.step <= 0 and not tab.running:
            return True
        answer = QtWidgets.QMessageBox.question(
            self, "Start the lesson",
            f"The lesson trains a new run in the {tab.info.title} tab from step 0: the run there, at step "
            f"{tab.step}, will be replaced. Save it first (File ▸ Save session…) to keep it.",
            QtWidgets.QMessageBox.StandardButton.Ok | QtWidgets.QMessageBox.StandardButton.Cancel,
            QtWidgets.QMessageBox.StandardButton.Ok)
        return answer == QtWidgets.QMessageBox.StandardButton.Ok

    def start(self, name: str | None) -> LessonPlayer | None:
        """Play the lesson `name` in its tab, from its first caption."""
        lesson = self.lessons.get(name or "")
        if lesson is None:
            return None
        self.end()
        tab = self.window.tab_by_name[lesson.method]
        self.window.tabs.setCurrentWidget(tab)
        self.choice.setCurrentIndex(max(0, self.choice.findData(name)))
        self.player = LessonPlayer(lesson, tab, self)
        self.player.changed.connect(self._refresh)
        self.show()
        self.player.start()
        return self.player

    def next(self) -> None:
        if self.player is not None:
            self.window.tabs.setCurrentWidget(self.player.tab)
            self.player.next()

    def back(self) -> None:
        if self.player is not None:
            self.window.tabs.setCurrentWidget(self.player.tab)
            self.player.back()

    def restart(self) -> None:
        if self.player is not None:
            self.player.start()

    def end(self) -> None:
        """Stop the lesson: its caption and frame go; the run stays as it is."""
        p, self.player = self.player, None
        if p is not None:
            p.stop()
            st = stage(p.tab)
            st.set_caption("")
            st.highlight(None)
            p.deleteLater()
        self._enable()
        self.status.setText("")

    def _refresh(self) -> None:
        p = self.player
        if p is None:
            return
        st = stage(p.tab)
        caption = p.caption()
        if st.caption.text() != caption:
            st.set_caption(caption)
        step = p.step
        want = step.highlight if step is not None else ""
        view = p.tab.view.plots().get(want) if want and p.tab.view is not None else None
        if view is not st.highlighted():
            st.highlight(view)
        text = p.status()
        if text != self.status.text():
            self.status.setText(text)
        self._enable()

    def _enable(self) -> None:
        p = self.player
        on = p is not None
        self.back_button.setEnabled(on and p.index >= 0)
        self.next_button.setEnabled(on and p.index + 1 < len(p.lesson.steps))
        self.restart_button.setEnabled(on)
        self.stop_button.setEnabled(on)
        self.start_button.setEnabled(bool(self.lessons))

    def closeEvent(self, event) -> None:
        self.end()
        super().closeEvent(event)
