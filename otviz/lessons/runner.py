"""Play a lesson on a Session, without a window: the CLI's `otviz lesson` and the tests.

The window plays the same lessons through a MethodTab (otviz/gui/lesson_panel.py); both read the
conditions with `condition_value`, from the run's history and its newest snapshot.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from otviz.lessons.format import Condition, Lesson, LessonStep


def latest_metric(history, name: str) -> float | None:
    """The newest recorded (finite) value of a metric in a History, or None."""
    if name not in history.names:
        return None
    col = np.asarray(history.column(name), dtype=float)
    ok = np.flatnonzero(np.isfinite(col))
    return float(col[ok[-1]]) if ok.size else None


def condition_value(cond: Condition, history, snapshot: Any) -> float | None:
    """What `cond` compares: a metric from the history, or a number of the snapshot."""
    if cond.source == "metric":
        return latest_metric(history, cond.name)
    if cond.source == "field" and snapshot is not None:
        v = getattr(snapshot, cond.name, None)
        if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
            return float(v)
    return None


@dataclass
class StepOutcome:
    """How one lesson step went: the run's steps before and after it, and what did not hold."""
    index: int
    start: int
    end: int
    played: int = 0
    diverged: str = ""                    # the NaN guard's message, if it stopped the run
    unmet: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.unmet


class LessonRun:
    """A lesson on its own Session (built from the lesson's method, config and seed)."""

    def __init__(self, lesson: Lesson, device: str = "cpu", session=None):
        from otviz.methods import method_class
        from otviz.session.session import Session

        self.lesson = lesson
        if session is None:
            cls = method_class(lesson.method)
            method = cls(cls.Config(**lesson.start_config()), seed=lesson.seed, device=device)
            session = Session(method)
        self.session = session
        self.outcomes: list[StepOutcome] = []

    def snapshot(self):
        return self.session.method.snapshot(fields=False)

    def value(self, cond: Condition) -> float | None:
        snap = self.snapshot() if cond.source == "field" else None
        return condition_value(cond, self.session.history, snap)

    def holds(self, cond: Condition, diverged: bool) -> bool:
        return cond.holds(None if cond.source == "diverged" else self.value(cond), diverged)

    def play_step(self, index: int, on_step: Callable[[int], None] | None = None) -> StepOutcome:
        """Lesson step `index` (0-based): its changes, its reset, its training, then its checks.
        `on_step(k)` is called after each of the k training steps it plays."""
        from otviz.methods.base import Diverged

        step: LessonStep = self.lesson.steps[index]
        s = self.session
        if step.set:
            s.update(dict(step.set))
        if step.reset:
            s.reset(self.lesson.seed)
        out = StepOutcome(index, start=s.step_count, end=s.step_count)
        met = False
        for k in range(1, step.play + 1):
            try:
                s.step()
            except Diverged as e:
                out.diverged = str(e)
                met = step.until is not None and step.until.source == "diverged"
                if on_step:
                    on_step(k)
                break
            out.played = k
            if on_step:
                on_step(k)
            if step.until is not None and self.holds(step.until, False):
                met = True
                break
        out.end = s.step_count
        if step.until is not None and not met:
            out.unmet.append(f"until {step.until.describe()} (not within {step.play} steps)")
        for cond in step.expect:
            if not self.holds(cond, bool(out.diverged)):
                v = None if cond.source == "diverged" else self.value(cond)
                now = "" if v is None else f", it is {v:.6g}"
                out.unmet.append(f"expected {cond.describe()}{now}")
        if out.diverged and not met and not any(c.source == "diverged" for c in step.expect):
            out.unmet.append(f"diverged: {out.diverged}")
        self.outcomes.append(out)
        return out

    def run(self, on_step: Callable[[int, int], None] | None = None) -> list[StepOutcome]:
        """Every step in order; `on_step(index, k)` after each training step of lesson step `index`."""
        for i in range(len(self.lesson.steps)):
            self.play_step(i, None if on_step is None else (lambda k, i=i: on_step(i, k)))
        return self.outcomes


def describe_outcomes(lesson: Lesson, outcomes: list[StepOutcome]) -> list[str]:
    """One line per step that did not go as the lesson says (empty: every condition held)."""
    return [f"{lesson.name} step {o.index + 1}: {'; '.join(o.unmet)}" for o in outcomes if o.unmet]


def fmt_value(v: float | None) -> str:
    return "—" if v is None or not math.isfinite(v) else f"{v:.4g}"
