"""A bounded metric history: every metric per step, decimated so hours of training stay small."""
from __future__ import annotations

import csv
import io
import math

import numpy as np

from otviz.atomic import atomic_write_text


class History:
    """Rows of (step, metrics...) plus parameter-change events.

    When `cap` rows are stored, every second row is dropped and from then on only every
    `stride`-th step is kept (stride doubles each time), so memory is bounded for any run length.
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

    def __len__(self) -> int:
        return self._n

    def append(self, step: int, metrics: dict[str, float]) -> None:
        if step % self.stride:
            return
        if self._n == self.cap:
            half = self._data[0::2].copy()
            self._n = len(half)
            self._data[: self._n] = half
            self._data[self._n:] = np.nan
            self.stride *= 2
            if step % self.stride:
                return
        row = self._data[self._n]
        row[0] = step
        for i, name in enumerate(self.names):
            row[1 + i] = metrics.get(name, math.nan)
        self._n += 1

    def add_event(self, step: int, text: str) -> None:
        """A parameter change at `step` (shown as a marker; several at one step merge into one)."""
        if self.events and self.events[-1][0] == step:
            self.events[-1] = (step, self.events[-1][1] + ", " + text)
        else:
            self.events.append((step, text))
            if len(self.events) > self.max_events:
                del self.events[: len(self.events) - self.max_events]

    @property
    def steps(self) -> np.ndarray:
        return self._data[: self._n, 0].copy()

    def column(self, name: str) -> np.ndarray:
        return self._data[: self._n, 1 + self.names.index(name)].copy()

    def last(self) -> dict[str, float]:
        if not self._n:
            return {}
        return {n: float(self._data[self._n - 1, 1 + i]) for i, n in enumerate(self.names)}

    def to_csv_text(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(("step",) + self.names + ("changes",))
        events = dict(self.events)
        for row in self._data[: self._n]:
            step = int(row[0])
            w.writerow([step] + [f"{v:.9g}" for v in row[1:]] + [events.get(step, "")])
        return buf.getvalue()

    def to_csv(self, path: str) -> None:
        atomic_write_text(path, self.to_csv_text())

    def state_dict(self) -> dict:
        return {"names": self.names, "data": self._data[: self._n].copy(), "stride": self.stride,
                "events": list(self.events)}

    def load_state_dict(self, d: dict) -> None:
        self.names = tuple(d["names"])
        self.clear()
        n = len(d["data"])
        self._data[:n] = d["data"]
        self._n = n
        self.stride = int(d["stride"])
        self.events = [tuple(e) for e in d["events"]]
