"""What a method hands to its views: a snapshot, one frozen dataclass per method, of plain data only.

A method declares its snapshot class in its torch-free card (`<name>_config.py`), beside its Config:
the window unpickles snapshots sent by the processes that train, and must be able to do so without
importing torch. The fields are numpy arrays, numbers, strings, tuples and small dicts of those:
never tensors or other live objects, which would pin memory of the training process or not cross
the pipe at all.

Some fields cost more than the rest and are computed apart, so they are declared with a default of
None and a mark saying how they arrive (the method's `fields` and `frame_fields` are read from these
marks):
- `expensive()`: too costly for every frame (a network over a grid, a model fit). Another instance of
  the method computes them from `field_state()` now and then; frames in between leave them None and
  the window shows them with the newest ones it has (`fields_part`).
- `per_frame()`: every frame shows them, but they cost a network pass; they may be computed by a
  process beside the training one and merged in before the frame reaches the window.

Partial results travel as dicts of field names and are merged with `replace`, the one idiom for it.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, TypeVar

EXPENSIVE = "fields"             # the marks' values: the Method attribute listing such fields
PER_FRAME = "frame_fields"
_MARK = "otviz_arrives"

S = TypeVar("S", bound="Snapshot")


def expensive(**kw: Any) -> Any:
    """A snapshot field computed now and then, apart from the training (None until it is)."""
    return dataclasses.field(default=None, metadata={_MARK: EXPENSIVE}, **kw)


def per_frame(**kw: Any) -> Any:
    """A snapshot field every frame carries, computed apart from the rest (None until merged in)."""
    return dataclasses.field(default=None, metadata={_MARK: PER_FRAME}, **kw)


@dataclass(frozen=True, kw_only=True)
class Snapshot:
    """The fields every snapshot has. Subclasses are `@dataclass(frozen=True)`: a snapshot is shared
    by the frames that repeat it, so it is never changed in place, only replaced."""

    step: int = 0                    # the training step it shows
    fields_step: int | None = None   # the step its `expensive()` fields show; None: it has none of them

    @classmethod
    def names(cls, arrives: str) -> tuple[str, ...]:
        """The fields marked to arrive that way (EXPENSIVE or PER_FRAME), in declaration order."""
        return tuple(f.name for f in dataclasses.fields(cls) if f.metadata.get(_MARK) == arrives)

    def replace(self: S, **changes: Any) -> S:
        """A copy with these fields changed: how partial results (dicts of field names) are merged."""
        return dataclasses.replace(self, **changes)

    def fields_part(self) -> dict[str, Any]:
        """Its `expensive()` fields and `fields_step`, by name: what a snapshot without them lacks."""
        return {n: getattr(self, n) for n in (*self.names(EXPENSIVE), "fields_step")}

    def as_dict(self) -> dict[str, Any]:
        """Every field by name (not copied)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
