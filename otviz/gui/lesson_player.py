"""A lesson played in the window: it drives a MethodTab through its public actions, as a user would.

Each lesson step sets its parameters through the control panel (set_params), restarts the run with
the lesson's seed if it says so, and asks the worker for its training steps (the "step" command: an
exact count). A step with `until` is watched frame by frame and paused once the condition holds
(a few steps may pass before the pause lands: the headless runner is the exact one). The knobs stay
usable meanwhile; Play, Step and the panel work as ever between lesson steps.
"""
from __future__ import annotations

from PySide6 import QtCore

from otviz.lessons.format import Condition, Lesson, LessonStep
from otviz.lessons.runner import condition_value, fmt_value

POLL_MS = 60


class LessonPlayer(QtCore.QObject):
    """Plays `lesson` on `tab`; `changed` fires whenever the step, its progress or its checks change."""

    changed = QtCore.Signal()

    def __init__(self, lesson: Lesson, tab, parent=None):
        super().__init__(parent)
        self.lesson, self.tab = lesson, tab
        self.index = -1                    # -1: the summary, before the first step
        self.base = 0                      # the run's step when this lesson step's training began
        self.target = 0                    # ... and when it will end
        self.until_met: bool | None = None
        self._gen_at_go = 0
        self._fresh = True                 # a frame of the run this step set up has been drawn
        self._timer = QtCore.QTimer(self, interval=POLL_MS)
        self._timer.timeout.connect(self._poll)

    # ------------------------------------------------------------------ navigation
    @property
    def step(self) -> LessonStep | None:
        return self.lesson.steps[self.index] if 0 <= self.index < len(self.lesson.steps) else None

    def start(self) -> None:
        """From the beginning: every parameter to the lesson's start, the lesson's seed, a reset."""
        tab = self.tab
        tab.pause()
        tab.set_params(self.lesson.start_config())
        tab.controls.seed.setValue(self.lesson.seed)
        tab.reset()
        self.index = -1
        self._watch(reset=True)
        self.changed.emit()

    def next(self) -> None:
        if self.index + 1 < len(self.lesson.steps):
            self.go(self.index + 1)

    def back(self) -> None:
        """The previous step again: its settings, its reset if it has one, its training."""
        if self.index > 0:
            self.go(self.index - 1)
        elif self.index == 0:
            self.start()

    def go(self, index: int) -> None:
        tab, step = self.tab, self.lesson.steps[index]
        self.index = index
        tab.pause()                                    # (also cancels steps still asked for)
        if step.set:
            tab.set_params(dict(step.set))
        if step.reset:
            tab.controls.seed.setValue(self.lesson.seed)
            tab.reset()
        self._watch(reset=step.reset)
        if step.play:
            tab.ensure_worker().send("step", step.play)
        self.changed.emit()

    def stop(self) -> None:
        self._timer.stop()
        self.index = -1

    # ------------------------------------------------------------------ watching the run
    def _watch(self, reset: bool) -> None:
        self.base = 0 if reset else self.tab.step
        self.target = self.base + (self.step.play if self.step else 0)
        self.until_met = None if self.step is None or self.step.until is None else False
        # the tab counts the restarts it has drawn (_gen): the values of the run this step set up count
        # only once one more has been drawn (frames come faster than they are looked at here)
        self._gen_at_go = getattr(self.tab, "_gen", 0)
        self._fresh = not reset
        self._timer.start()

    def _poll(self) -> None:
        tab = self.tab
        if not self._fresh and getattr(tab, "_gen", 0) != self._gen_at_go:
            self._fresh = True
        step = self.step
        if step is not None and step.until is not None and self._fresh and not self.until_met \
                and tab.step > self.base and self._holds(step.until):
            self.until_met = True
            tab.pause()
        self.changed.emit()

    def _holds(self, cond: Condition) -> bool:
        if cond.source == "diverged":
            return self.diverged()
        snap = self.tab.last_frame["snap"] if self.tab.last_frame else None
        return cond.holds(condition_value(cond, self.tab.history, snap), False)

    def diverged(self) -> bool:
        b = self.tab.banner
        return not b.isHidden() and "NaN/Inf" in b.text()

    def played(self) -> int:
        return max(0, min(self.tab.step, self.target) - self.base) if self._fresh else 0

    def finished(self) -> bool:
        """The step's training is done (all its steps, its condition met, or stopped by the NaN guard)."""
        step = self.step
        if step is None or not step.play:
            return True
        return self._fresh and (self.tab.step >= self.target or bool(self.until_met)
                                or (self.diverged() and self.played() > 0))

    def status(self) -> str:
        """One line: where the lesson is and how its checks stand."""
        step = self.step
        if step is None:
            return f"{self.lesson.title} — {len(self.lesson.steps)} steps; Next (PgDn) to begin"
        parts = [f"step {self.index + 1} / {len(self.lesson.steps)}"]
        if step.play:
            parts.append(f"trained {self.played()} / {step.play}" + ("" if self.finished() else " …"))
        if step.until is not None:
            parts.append(f"until {step.until.describe()}: {'reached' if self.until_met else 'not yet'}")
        if self.finished():
            for cond in step.expect:
                parts.append(self._check_text(cond))
        return "   ·   ".join(parts)

    def _check_text(self, cond: Condition) -> str:
        if cond.source == "diverged":
            return f"{cond.describe()}: {'yes' if self.diverged() else 'no'}"
        snap = self.tab.last_frame["snap"] if self.tab.last_frame else None
        v = condition_value(cond, self.tab.history, snap)
        ok = cond.holds(v, False)
        return f"{cond.describe()}: {fmt_value(v)} {'✓' if ok else '✗'}"

    def caption(self) -> str:
        step = self.step
        if step is None:
            return f"{self.lesson.title}: {' '.join(self.lesson.summary.split())}"
        return f"{self.index + 1}/{len(self.lesson.steps)}  {' '.join(step.caption.split())}"
