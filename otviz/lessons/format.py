"""Guided lessons as data: one TOML file per lesson, read and checked here (no Qt, no torch).

A lesson file::

    title = "Which directions does a sliced fit need?"
    method = "swgmm"                 # a registered method
    summary = "One paragraph shown before the first step."
    seed = 0                         # optional (default 0): the seed of every reset
    [config]                         # optional: parameters on top of the method's defaults
    n_components = 5

    [[step]]                         # one [[step]] per slide, played in order
    caption = "What to look at now."  # required
    set = { directions = 0, fixed_directions = "x" }   # optional parameter changes
    reset = true                     # optional: start the run again (same seed) after `set`
    play = 100                       # optional: training steps (0: none)
    until = { metric = "nll", below = 2.0 }            # optional: stop playing once this holds
    expect = [{ field = "cost", above = 2.5 }]         # optional: must hold when the step ends
    highlight = "fit"                # optional: the view to frame (a name from the view's plots())

A condition reads `metric` (the newest value the run recorded of one of the method's metrics) or
`field` (a number in the method's current snapshot), compared with `below` or `above` (strict), or
is `{ diverged = true }`: the NaN guard stopped the run. With `until`, `play` is the most steps to
wait for it; a step whose `until` or `expect` does not hold is reported, and a lesson played to its
end with every condition holding is what the tests ask of each shipped lesson.
"""
from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:          # Python 3.10: the same parser, as a package
    import tomli as tomllib

STEP_KEYS = {"caption", "set", "reset", "play", "until", "expect", "highlight"}
LESSON_KEYS = {"title", "method", "summary", "seed", "config", "step"}
MAX_PLAY = 1_000_000


class LessonError(ValueError):
    """A lesson file that cannot be used: the message names the file and the reason."""


@dataclass(frozen=True)
class Condition:
    source: str                   # "metric", "field" or "diverged"
    name: str = ""
    op: str = ""                  # "below" or "above"
    value: float = 0.0

    def describe(self) -> str:
        if self.source == "diverged":
            return "the run diverged (NaN/Inf)"
        return f"{self.name} {'<' if self.op == 'below' else '>'} {self.value:g}"

    def holds(self, value: float | None, diverged: bool) -> bool:
        if self.source == "diverged":
            return diverged
        if value is None or value != value:         # not yet recorded, or NaN
            return False
        return value < self.value if self.op == "below" else value > self.value


@dataclass(frozen=True)
class LessonStep:
    caption: str
    set: dict[str, Any] = field(default_factory=dict)
    reset: bool = False
    play: int = 0
    until: Condition | None = None
    expect: tuple[Condition, ...] = ()
    highlight: str = ""


@dataclass(frozen=True)
class Lesson:
    name: str                     # the file's stem: `otviz lesson NAME`
    path: Path
    title: str
    method: str
    summary: str
    seed: int
    config: dict[str, Any]
    steps: tuple[LessonStep, ...]

    def start_config(self) -> dict[str, Any]:
        """Every parameter of the method: its default, or the lesson's value (a lesson always starts
        from the same place, whatever the knobs were turned to before)."""
        from otviz.methods import method_info

        info = method_info(self.method)
        return {s.name: self.config.get(s.name, s.default) for s in info.specs()}

    def total_steps(self) -> int:
        return sum(s.play for s in self.steps)


def load_lesson(path: str | Path) -> Lesson:
    """Read and check one lesson file; LessonError("<file>: <reason>") if it cannot be used."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise LessonError(f"{path.name}: no such lesson file") from None
    except OSError as e:
        raise LessonError(f"{path.name}: cannot be read ({(e.strerror or 'error').lower()})") from None
    except tomllib.TOMLDecodeError as e:
        raise LessonError(f"{path.name}: not valid TOML ({e})") from None
    try:
        return _lesson(path, data)
    except LessonError as e:
        raise LessonError(f"{path.name}: {e}") from None


def _lesson(path: Path, data: dict) -> Lesson:
    from otviz.methods import method_info

    unknown = set(data) - LESSON_KEYS
    if unknown:
        raise LessonError(f"unknown key {sorted(unknown)[0]!r} (a lesson has {', '.join(sorted(LESSON_KEYS))})")
    title = _text(data, "title", "the lesson")
    method = _text(data, "method", "the lesson")
    try:
        info = method_info(method)
    except ValueError as e:
        raise LessonError(str(e)) from None
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise LessonError(f"seed must be a whole number 0 or more, not {seed!r}")
    config = _params(info, data.get("config", {}), "[config]")
    raw_steps = data.get("step")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise LessonError("a lesson needs at least one [[step]]")
    steps = tuple(_step(info, s, i + 1) for i, s in enumerate(raw_steps))
    summary = data.get("summary", "")
    if not isinstance(summary, str):
        raise LessonError("summary must be text")
    return Lesson(path.stem, path, title, method, summary.strip(), seed, config, steps)


def _text(d: dict, key: str, where: str) -> str:
    v = d.get(key)
    if not isinstance(v, str) or not v.strip():
        raise LessonError(f"{where} needs a {key} (text)")
    return v.strip()


def _params(info, raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise LessonError(f"{where} must be a table of parameter = value")
    out = {}
    for k, v in raw.items():
        try:
            out[k] = info.spec(k).coerce(v)
        except ValueError as e:
            raise LessonError(f"{where}: {e}") from None
    return out


def _step(info, raw: Any, n: int) -> LessonStep:
    where = f"step {n}"
    if not isinstance(raw, dict):
        raise LessonError(f"{where} must be a table")
    unknown = set(raw) - STEP_KEYS
    if unknown:
        raise LessonError(f"{where}: unknown key {sorted(unknown)[0]!r} (a step has "
                          f"{', '.join(sorted(STEP_KEYS))})")
    caption = _text(raw, "caption", where)
    play = raw.get("play", 0)
    if isinstance(play, bool) or not isinstance(play, int) or not 0 <= play <= MAX_PLAY:
        raise LessonError(f"{where}: play must be a whole number of steps from 0 to {MAX_PLAY:,}, not {play!r}")
    reset = raw.get("reset", False)
    if not isinstance(reset, bool):
        raise LessonError(f"{where}: reset must be true or false, not {reset!r}")
    until = _condition(info, raw["until"], f"{where}: until") if "until" in raw else None
    if until is not None and play == 0:
        raise LessonError(f"{where}: until needs play, the most steps to wait for it")
    expect = raw.get("expect", [])
    expect = [expect] if isinstance(expect, dict) else expect
    if not isinstance(expect, list):
        raise LessonError(f"{where}: expect must be a condition or a list of them")
    highlight = raw.get("highlight", "")
    if not isinstance(highlight, str):
        raise LessonError(f"{where}: highlight must be the name of a view")
    return LessonStep(caption=caption, set=_params(info, raw.get("set", {}), f"{where}: set"), reset=reset,
                      play=play, until=until, highlight=highlight.strip(),
                      expect=tuple(_condition(info, c, f"{where}: expect") for c in expect))


def _condition(info, raw: Any, where: str) -> Condition:
    if not isinstance(raw, dict):
        raise LessonError(f"{where} must be a table such as {{ metric = \"{info.metrics[0]}\", below = 1.0 }}")
    if raw.get("diverged") is True and len(raw) == 1:
        return Condition("diverged")
    sources = [k for k in ("metric", "field") if k in raw]
    ops = [k for k in ("below", "above") if k in raw]
    if len(sources) != 1 or len(ops) != 1 or len(raw) != 2:
        raise LessonError(f"{where}: a condition is {{ metric = NAME or field = NAME, below = X or above = X }} "
                          "or { diverged = true }")
    source, op = sources[0], ops[0]
    name, value = raw[source], raw[op]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise LessonError(f"{where}: {op} must be a number, not {value!r}")
    if source == "metric" and name not in info.metrics:
        raise LessonError(f"{where}: {info.name} records no metric {name!r} (it has {', '.join(info.metrics)})")
    if source == "field":
        known = snapshot_fields(info)
        if known is not None and name not in known:
            raise LessonError(f"{where}: the {info.name} snapshot has no field {name!r}")
    return Condition(source, str(name), op, float(value))


def snapshot_fields(info) -> set[str] | None:
    """The field names of the method's Snapshot, found in its card (the module of its Config) without
    importing its training code; None when the card declares none to check against."""
    from otviz.methods.snapshot import Snapshot

    module = importlib.import_module(info.Config.__module__)
    for obj in vars(module).values():
        if isinstance(obj, type) and issubclass(obj, Snapshot) and obj is not Snapshot \
                and obj.__module__ == module.__name__:
            return {f.name for f in dataclasses.fields(obj)}
    return None
