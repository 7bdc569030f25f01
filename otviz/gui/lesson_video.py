"""A whole lesson rendered offscreen into an animation: each step's caption over the method's views,
the view it talks about framed, and a bar along the bottom for the lesson's progress."""
from __future__ import annotations

from typing import Callable

from otviz.lessons.format import Lesson
from otviz.lessons.runner import LessonRun

FRAMES_PER_PLAY = 60        # frames drawn while a step trains (fewer if it trains fewer steps)
READ_WORDS_PER_S = 3.5      # a caption stays on screen long enough to be read at this pace
HOLD_MIN_S, HOLD_MAX_S = 2.0, 7.0
END_HOLD_S = 1.0


class LessonRenderer:
    """The lesson's run drawn into an unshown widget: HeadlessRenderer's views and history, the
    caption and frame of the window's lesson player (StageOverlay), and a progress bar."""

    def __init__(self, run: LessonRun, size: tuple[int, int] = (1280, 800)):
        from PySide6 import QtCore, QtWidgets

        from otviz.gui.headless import HeadlessRenderer
        from otviz.gui.stage_overlay import StageOverlay

        self.run = run
        self.inner = HeadlessRenderer(run.session, size=(size[0], size[1] - 24))
        self.widget = QtWidgets.QWidget()
        self.widget.setAttribute(QtCore.Qt.WidgetAttribute.WA_DontShowOnScreen)
        self.widget.setStyleSheet("background: white;")
        lay = QtWidgets.QVBoxLayout(self.widget)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.inner.widget, 1)
        self.bar = QtWidgets.QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(True)
        self.bar.setFixedHeight(20)
        lay.addWidget(self.bar)
        self.widget.resize(*size)
        self.widget.show()
        self.stage = StageOverlay(self.inner.view)
        self.stage.set_scale(1.3)

    def show_step(self, index: int, progress: float, trained: str = "") -> None:
        lesson = self.run.lesson
        step = lesson.steps[index]
        self.stage.set_caption(f"{index + 1}/{len(lesson.steps)}  {' '.join(step.caption.split())}")
        self.stage.highlight(self.inner.view.plots().get(step.highlight) if step.highlight else None)
        self.set_progress(progress, trained)

    def set_progress(self, progress: float, trained: str = "") -> None:
        self.bar.setValue(round(1000 * min(max(progress, 0.0), 1.0)))
        step = self.run.session.step_count
        self.bar.setFormat(f"{self.run.lesson.title}   ·   step {step}{trained}")

    def frame(self):
        from otviz.gui.export import image_to_rgb, render_image

        self.inner.draw()
        self.stage.place()
        return image_to_rgb(render_image(self.widget))

    def close(self) -> None:
        self.inner.close()
        self.widget.close()
        self.widget.deleteLater()


def hold_frames(text: str, fps: float) -> int:
    seconds = min(HOLD_MAX_S, max(HOLD_MIN_S, len(text.split()) / READ_WORDS_PER_S))
    return max(1, round(seconds * fps))


def record_lesson(lesson: Lesson, path: str, fps: float = 15.0, device: str = "cpu",
                  progress: Callable[[int, int], None] | None = None,
                  size: tuple[int, int] = (1280, 800)) -> tuple[LessonRun, int]:
    """Play `lesson` and write it to `path` (.mp4, .gif, .apng); `progress(done, total)` counts the
    lesson's training steps. Returns the run (its outcomes) and the number of frames written."""
    from otviz.util.recording import AnimationWriter

    run = LessonRun(lesson, device=device)
    r = LessonRenderer(run, size)
    writer = AnimationWriter(path, fps=fps)
    total = max(1, lesson.total_steps())
    done = 0
    n_steps = len(lesson.steps)
    try:
        for i, step in enumerate(lesson.steps):
            # the step's changes and reset come first, then its caption on the state they made
            shown = {"n": 0}
            every = max(1, step.play // FRAMES_PER_PLAY)

            def on_step(k: int, i=i, step=step, every=every, shown=shown) -> None:
                if shown["n"] == 0:
                    _hold(r, writer, i, i / n_steps, hold_frames(step.caption, fps))
                    shown["n"] = 1
                if k % every == 0 or k == step.play:
                    r.set_progress((i + k / max(step.play, 1)) / n_steps)
                    writer.add(r.frame())
                if progress:
                    progress(done + k, total)

            if step.play:
                run.play_step(i, on_step)
            else:
                run.play_step(i)
            if shown["n"] == 0:                  # nothing trained: the caption over the changed state
                _hold(r, writer, i, i / n_steps, hold_frames(step.caption, fps))
            done += step.play
            r.set_progress((i + 1) / n_steps)
            image = r.frame()
            for _ in range(max(1, round(END_HOLD_S * fps))):
                writer.add(image)
        writer.close()
    finally:
        writer.abort()
        r.close()
    return run, writer.frames


def _hold(r: LessonRenderer, writer, index: int, progress: float, n: int) -> None:
    r.show_step(index, progress)
    image = r.frame()
    for _ in range(n):
        writer.add(image)
