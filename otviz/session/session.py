"""A run of one method: the method object, its history and the log of parameter changes.

The GUI's worker thread and the headless CLI both drive a Session, so they run the very same code.
"""
from __future__ import annotations

from typing import Any

from otviz.methods.base import Diverged, Method
from otviz.session.history import History


class Session:
    def __init__(self, method: Method):
        self.method = method
        self.history = History(method.metrics)
        self.last_metrics: dict[str, float] = {}
        self.error: str | None = None

    @property
    def step_count(self) -> int:
        return self.method.step_count

    def update(self, changes: dict[str, Any]) -> bool:
        """Apply validated parameter changes; mid-run live changes are marked in the history."""
        before = {k: getattr(self.method.config, k) for k in changes if hasattr(self.method.config, k)}
        was_reset = self.method.update(changes)
        if was_reset:
            self.history.clear()
            self.last_metrics = {}
        else:
            text = ", ".join(f"{k}={_fmt(getattr(self.method.config, k))}" for k in changes
                             if before.get(k) != getattr(self.method.config, k))
            if text and self.step_count > 0:
                self.history.add_event(self.step_count, text)
        return was_reset

    def reset(self, seed: int | None = None) -> None:
        self.method.reset(seed)
        self.history.clear()
        self.last_metrics = {}
        self.error = None

    def step(self) -> dict[str, float]:
        """One step; on NaN/Inf the method is restored, `error` set, and Diverged re-raised."""
        try:
            m = self.method.step()
        except Diverged as e:
            self.error = str(e)
            raise
        self.last_metrics = m
        self.history.append(self.step_count, m)
        return m


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)
