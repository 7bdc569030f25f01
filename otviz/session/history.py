"""A bounded metric history: every metric per step, decimated so hours of training stay small."""
from __future__ import annotations

import csv
import io
import math

import numpy as np

from otviz.util.atomic import atomic_write_text


class History:
    """Rows of (step, metrics...) plus parameter-change events.

    When `cap` rows are stored, every second row is dropped and from then on only every
    `stride`-th step is kept (stride doubles each time), so memory is bounded for any run length.
    Decimation thins the metric rows, never the changes: the row of a step where a parameter
    changed is always kept (with that step's own metrics), so the CSV shows every change at its step.
    """

    def __init__(self, names: tuple[str, ...] | list[str], cap: int = 20_000, max_events: int = 2_000):
        self.names = tuple(names)
        self.cap = cap
        self.max_events = max_events
        self.clear()

    def clear(self) -> None:
        self._data = np.full((self.cap, 1 + len(self.names)), np.nan)
        self._n = 0
        self.stride = 1
        self.events: list[tuple[int, str]] = []
        # the newest step's row, kept or not: a change made after a step that decimation skipped
        # keeps that step's row after all
        self._seen = np.full(1 + len(self.names), np.nan)

    def __len__(self) -> int:
        return self._n

    def append(self, step: int, metrics: dict[str, float]) -> None:
        seen = self._seen
        seen[0] = step
        for i, name in enumerate(self.names):
            seen[1 + i] = metrics.get(name, math.nan)
        if step % self.stride == 0:
            self._store(seen, event=False)

    def _store(self, row: np.ndarray, event: bool) -> None:
        if self._n == self.cap:
            self._halve()
            if not event and int(row[0]) % self.stride:
                return
        self._data[self._n] = row
        self._n += 1

    def _halve(self) -> None:
        """Double the stride: keep the first row, the rows on the new stride and those of changes."""
        stride = self.stride * 2
        steps = self._data[: self._n, 0].astype(np.int64)
        # the rows of the newest cap/4 changes (all of them unless max_events is near cap): memory
        # stays bounded however often a parameter is changed
        changes = [s for s, _ in self.events[-(self.cap // 4):]] if self.cap >= 4 else []
        keep = (steps % stride == 0) | np.isin(steps, changes)
        keep[0] = True
        kept = self._data[: self._n][keep].copy()
        self._n = len(kept)
        self._data[: self._n] = kept
        self._data[self._n:] = np.nan
        self.stride = stride

    def add_event(self, step: int, text: str) -> None:
        """A parameter change at `step` (shown as a marker; several at one step merge into one)."""
        if self.events and self.events[-1][0] == step:
            self.events[-1] = (step, self.events[-1][1] + ", " + text)
        else:
            self.events.append((step, text))
            if len(self.events) > self.max_events:
                del self.events[: len(self.events) - self.max_events]
        last = self._data[self._n - 1, 0] if self._n else -math.inf
        if self._seen[0] == step and last < step:      # decimation skipped this step: keep its row after all
            self._store(self._seen, event=True)

    def truncate(self, step: int, metrics: dict[str, float] | None = None) -> None:
        """Forget the rows and changes after `step`, as if the run had just reached it (a fork going back
        to it); `metrics` are that step's own, which a change made right there marks."""
        n = int(np.searchsorted(self._data[: self._n, 0], step, side="right"))
        self._data[n: self._n] = np.nan
        self._n = n
        self.events = [e for e in self.events if e[0] <= step]
        self._seen[:] = np.nan
        if metrics:
            self._seen[0] = step
            for i, name in enumerate(self.names):
                self._seen[1 + i] = metrics.get(name, math.nan)

    @property
    def steps(self) -> np.ndarray:
        return self._data[: self._n, 0].copy()

    def column(self, name: str) -> np.ndarray:
        return self._data[: self._n, 1 + self.names.index(name)].copy()

    def drawn(self) -> tuple[tuple[np.ndarray, dict[str, np.ndarray]], list[tuple[int, str]]]:
        """((steps, {metric: column}), events): what a plot of the history draws."""
        return (self.steps, {n: self.column(n) for n in self.names}), list(self.events)

    def last(self) -> dict[str, float]:
        if not self._n:
            return {}
        return {n: float(self._data[self._n - 1, 1 + i]) for i, n in enumerate(self.names)}

    def to_csv_text(self) -> str:
        """step, one column per metric, and `changes`. Every change has a row at its own step; if
        that step's metrics were not recorded (none are, e.g., for a change made right after a
        session was opened from an older file), its metric cells are empty."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(("step",) + self.names + ("changes",))
        events = dict(self.events)
        rows = [(int(row[0]), [f"{v:.9g}" for v in row[1:]]) for row in self._data[: self._n]]
        stored = {step for step, _ in rows}
        rows += [(step, [""] * len(self.names)) for step in events if step not in stored]
        rows.sort(key=lambda r: r[0])
        for step, values in rows:
            w.writerow([step] + values + [events.get(step, "")])
        return buf.getvalue()

    def to_csv(self, path: str) -> None:
        atomic_write_text(path, self.to_csv_text())

    def state_dict(self) -> dict:
        return {"names": self.names, "data": self._data[: self._n].copy(), "stride": self.stride,
                "events": list(self.events), "seen": self._seen.copy()}

    def load_state_dict(self, d: dict) -> None:
        self.names = tuple(d["names"])
        self.clear()
        n = len(d["data"])
        self._data[:n] = d["data"]
        self._n = n
        self.stride = int(d["stride"])
        self.events = [tuple(e) for e in d["events"]]
        seen = d.get("seen")                  # (files from before it was saved: none)
        if seen is not None and len(seen) == len(self._seen):
            self._seen[:] = seen
