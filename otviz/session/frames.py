"""The light past of a run: the snapshots a tab drew, by step, within a memory budget, for scrubbing.

A frame costs its arrays; arrays equal to the previous frame's (the data, a field computed a few
frames ago) are shared with it, not stored again. Over the budget, older frames are thinned (every
second one of the oldest half goes), so the whole run stays reachable at a coarser grain instead of
the oldest part disappearing.
"""
from __future__ import annotations

import bisect
import dataclasses
from typing import Any, Iterator

import numpy as np

DEFAULT_BUDGET = 100 * 2**20     # bytes per run: the other half of a tab's past goes to keyframes


@dataclasses.dataclass
class StoredFrame:
    step: int
    snap: Any                     # what the views draw: a snapshot dict or dataclass


def _items(snap: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(snap, dict):
        return iter(snap.items())
    if dataclasses.is_dataclass(snap):
        return ((f.name, getattr(snap, f.name)) for f in dataclasses.fields(snap))
    return iter(())


def _with(snap: Any, changes: dict[str, Any]) -> Any:
    if not changes:
        return snap
    if isinstance(snap, dict):
        return {**snap, **changes}
    return dataclasses.replace(snap, **changes)


def leaves(obj: Any, kinds: tuple[type, ...] = (np.ndarray,)) -> Iterator[Any]:
    """Every object of `kinds` (numpy arrays; the keyframes add tensors) inside nested dicts, lists,
    tuples and snapshot dataclasses (fields may be small dicts of arrays)."""
    if isinstance(obj, kinds):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from leaves(v, kinds)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from leaves(v, kinds)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for _, v in _items(obj):
            yield from leaves(v, kinds)


def _same(a: Any, b: Any) -> bool:
    return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
            and a.dtype == b.dtype and (a is b or np.array_equal(a, b, equal_nan=a.dtype.kind == "f")))


class FrameStore:
    """Frames in step order. Adding a frame at or before the newest step (a restart, a fork, a
    replay) first drops the frames from that step on: they belong to a past that no longer leads here."""

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET):
        self.budget_bytes = int(budget_bytes)
        self.frames: list[StoredFrame] = []
        self._steps: list[int] = []
        self._bytes: dict[int, int] = {}          # id(array) -> its bytes, each array counted once
        self._refs: dict[int, int] = {}           # id(array) -> frames holding it
        self._total = 0
        self.thinned = 0                          # frames dropped to keep to the budget

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def nbytes(self) -> int:
        return self._total

    @property
    def steps(self) -> list[int]:
        return list(self._steps)

    def add(self, step: int, snap: Any) -> StoredFrame:
        step = int(step)
        if self._steps and step <= self._steps[-1]:
            self.truncate(step - 1)
        if self.frames:
            prev = dict(_items(self.frames[-1].snap))
            snap = _with(snap, {k: prev[k] for k, v in _items(snap) if k in prev and _same(v, prev[k])})
        frame = StoredFrame(step, snap)
        self._count(frame, +1)
        self.frames.append(frame)
        self._steps.append(step)
        if self.nbytes > self.budget_bytes:
            self._thin()
        return frame

    def at(self, step: int) -> StoredFrame | None:
        """The newest frame at or before `step` (None before the first)."""
        i = bisect.bisect_right(self._steps, int(step)) - 1
        return self.frames[i] if i >= 0 else None

    def index_of(self, step: int) -> int:
        """The index of at(step) (0 before the first)."""
        return max(bisect.bisect_right(self._steps, int(step)) - 1, 0)

    def truncate(self, last_step: int) -> None:
        """Keep the frames up to `last_step`."""
        i = bisect.bisect_right(self._steps, int(last_step))
        for f in self.frames[i:]:
            self._count(f, -1)
        del self.frames[i:], self._steps[i:]

    def until(self, last_step: int) -> "FrameStore":
        """A new store holding this one's frames up to `last_step` (shared, not copied): the past of a
        branch forked there."""
        other = FrameStore(self.budget_bytes)
        i = bisect.bisect_right(self._steps, int(last_step))
        for f in self.frames[:i]:
            other._count(f, +1)
            other.frames.append(f)
            other._steps.append(f.step)
        return other

    def set_budget(self, budget_bytes: int) -> None:
        self.budget_bytes = int(budget_bytes)
        if self.nbytes > self.budget_bytes:
            self._thin()

    def _count(self, frame: StoredFrame, sign: int) -> None:
        for a in leaves(frame.snap):
            k = id(a)
            n = self._refs.get(k, 0) + sign
            if n > 0:
                if k not in self._bytes:
                    self._bytes[k] = a.nbytes
                    self._total += a.nbytes
                self._refs[k] = n
            else:
                self._refs.pop(k, None)
                self._total -= self._bytes.pop(k, 0)

    def _thin(self) -> None:
        """Drop every second frame of the oldest half until within the budget (the first frame and
        the newest stay: the start of the run and where it is now)."""
        while self.nbytes > self.budget_bytes and len(self.frames) > 2:
            half = max(len(self.frames) // 2, 2)
            drop = set(range(1, half, 2))
            if not drop:
                drop = {1}
            for i in drop:
                self._count(self.frames[i], -1)
            self.thinned += len(drop)
            self.frames = [f for i, f in enumerate(self.frames) if i not in drop]
            self._steps = [f.step for f in self.frames]
