"""A | B without a window: two runs of one method from the same data and seed, differing in the
parameters side B changes, stepped in turn; their differences, one history CSV for both, and the
presets that replay the contrasts each tab is about.

The window's Compare (its tab_compare module) trains each side in a worker process of its own; the CLI
(`otviz run METHOD --compare KEY=VALUE`, `--preset NAME`) drives a `Compare` of two Sessions here.
The window's process reads PRESETS, `differences` and the CSV writer from this module too: it imports
no torch (the training side is imported when a Compare is made).
"""
from __future__ import annotations

import csv
import dataclasses
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from otviz.methods import method_class, method_info
from otviz.util.atomic import atomic_write_text

if TYPE_CHECKING:
    from otviz.session.history import History
    from otviz.session.session import Session

SIDES = ("A", "B")


@dataclass(frozen=True)
class Preset:
    """A contrast in one click: side A's parameters and side B's, both from the method's defaults."""
    key: str                         # what `--preset` takes
    title: str                       # what a button says
    a: dict[str, Any]
    b: dict[str, Any]


# The contrasts each tab is about. Each side names every parameter it relies on (WGAN's modes their
# optimiser settings too), so what a preset sets is what it says.
PRESETS: dict[str, tuple[Preset, ...]] = {
    "coulomb": (Preset("coulomb-vs-gan", "Coulomb vs plain GAN", {"mode": "coulomb"}, {"mode": "gan"}),),
    "wgan": (Preset("clip-vs-gp", "WGAN clip vs GP",
                    {"mode": "clip", "optimizer": "rmsprop", "lr": 5e-5, "n_critic": 5},
                    {"mode": "gp", "optimizer": "adam", "lr": 1e-4, "n_critic": 5}),),
    "sinkhorn": (Preset("eps-0.01-vs-1", "Sinkhorn ε 0.01 vs 1", {"eps": 0.01}, {"eps": 1.0}),),
    # no random directions: the fixed ones alone show what the diagonals add
    "swgmm": (Preset("axes-vs-diagonals", "SW-GMM x+y vs x+y+diagonals",
                     {"directions": 0, "fixed_directions": "x,y"},
                     {"directions": 0, "fixed_directions": "x,y,both diagonals"}),),
    "realnvp": (Preset("2-vs-8-layers", "RealNVP 2 vs 8 coupling layers", {"n_flows": 2}, {"n_flows": 8}),),
}


def find_preset(method: str, name: str) -> Preset:
    """The preset of `method` whose key or title is `name` (any case); ValueError naming the choices."""
    presets = PRESETS.get(method, ())
    for p in presets:
        if name.strip().lower() in (p.key.lower(), p.title.lower()):
            return p
    known = ", ".join(p.key for p in presets)
    raise ValueError(f"--preset {name!r}: {method} has " + (f"the presets {known}" if known else "no presets"))


def parse_changes(method: str, items: list[str], flag: str = "--compare") -> dict[str, Any]:
    """`KEY=VALUE` strings into typed values of `method`'s parameters; ValueError in one sentence that
    names the item at fault."""
    info = method_info(method)
    known = {s.name: s for s in info.specs()}
    changes: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"{flag} {item!r}: expected KEY=VALUE, e.g. {flag} {next(iter(known))}=…")
        if key not in known:
            raise ValueError(f"{flag} {item!r}: {method} has no parameter {key!r} "
                             f"(`otviz params {method}` lists them)")
        try:
            changes[key] = known[key].coerce(value)
        except ValueError as e:
            raise ValueError(f"{flag} {item!r}: {e}") from None
    return changes


def differences(a: Any, b: Any) -> dict[str, tuple[Any, Any]]:
    """{parameter: (A's value, B's value)} for the values that differ between two configs."""
    return {f.name: (getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a)
            if getattr(a, f.name) != getattr(b, f.name)}


class Compare:
    """Two Sessions of the same method, A and B, stepped in turn (A's step, then B's)."""

    def __init__(self, a: "Session", b: "Session"):
        if a.method.name != b.method.name:
            raise ValueError(f"A | B compares two runs of one method, not {a.method.name} and {b.method.name}")
        self.a, self.b = a, b
        self._started = self.describe()      # what differed when the two runs (last) started

    @classmethod
    def start(cls, method: str, b_changes: dict[str, Any] | None = None, a_changes: dict[str, Any] | None = None,
              *, seed: int = 0, device: str = "cpu") -> "Compare":
        """A from the method's defaults with `a_changes`, B from the same with `b_changes` on top; both
        with the same seed (so the same data and the same initial draws). B is built from A's
        parameters as given, not as A's method derived them, so B reads as `--set` with the same
        changes would (WGAN's mode brings its optimiser settings, unless they were named)."""
        from otviz.session.session import Session

        mcls = method_class(method)
        base = dataclasses.replace(mcls.Config(), **(a_changes or {}))
        a = mcls(base, seed=seed, device=device)
        b = mcls(dataclasses.replace(base, **(b_changes or {})), seed=seed, device=device)
        return cls(Session(a), Session(b))

    @classmethod
    def from_preset(cls, method: str, name: str, extra_b: dict[str, Any] | None = None,
                    base: dict[str, Any] | None = None, *, seed: int = 0, device: str = "cpu") -> "Compare":
        """The preset `name` of `method` on top of `base` (e.g. the CLI's --set), `extra_b` on B's side."""
        p = find_preset(method, name)
        a = {**(base or {}), **p.a}
        return cls.start(method, {**p.b, **(extra_b or {})}, a, seed=seed, device=device)

    @property
    def sides(self) -> tuple[tuple[str, "Session"], tuple[str, "Session"]]:
        return (("A", self.a), ("B", self.b))

    @property
    def step_count(self) -> int:
        return min(self.a.step_count, self.b.step_count)

    def differences(self) -> dict[str, tuple[Any, Any]]:
        """{parameter: (A's value, B's value)} for every parameter that differs (and the seed, if it does)."""
        out = differences(self.a.method.config, self.b.method.config)
        if self.a.method.seed != self.b.method.seed:
            out["seed"] = (self.a.method.seed, self.b.method.seed)
        return out

    def describe(self) -> str:
        """The differences in one line: `A: eps=0.01; B: eps=1`, or `A and B are the same run`."""
        return describe_differences(self.differences())

    def step(self) -> tuple[dict[str, float], dict[str, float]]:
        """One step of A, then one of B: their metrics. Diverged names the side that diverged."""
        from otviz.methods.base import Diverged

        out = []
        for label, s in self.sides:
            try:
                out.append(s.step())
            except Diverged as e:
                raise Diverged(f"side {label}: {e}") from e
        return out[0], out[1]

    def update(self, side: str, changes: dict[str, Any]) -> bool:
        """Change parameters of one side ("A" or "B"), as Session.update. A change that restarts that
        side restarts the other too (same seed), so both stay at the same step: then True."""
        if side not in SIDES:
            raise ValueError(f"side {side!r}: A or B")
        this, other = (self.a, self.b) if side == "A" else (self.b, self.a)
        if not this.update(changes):
            return False
        other.reset()
        self._started = self.describe()
        return True

    def reset(self, seed: int | None = None) -> None:
        """Both sides from step 0 (a new seed for both, if given)."""
        for _, s in self.sides:
            s.reset(seed)
        self._started = self.describe()

    # -- the history of both ------------------------------------------------------
    def history_csv_text(self) -> str:
        """Both histories in one CSV (see compare_csv_text), with the differences the runs started with."""
        same = self._started == SAME_RUN
        return compare_csv_text(self.a.history, self.b.history, "" if same else self._started)

    def to_csv(self, path: str) -> None:
        atomic_write_text(path, self.history_csv_text())


def compare_csv_text(history_a: "History", history_b: "History", started: str = "") -> str:
    """`step, A.metric…, B.metric…, changes`: one row per step either side kept, and, if `started` is
    given (what differed when the runs started), a row at step 0 saying it. `changes` says which side
    changed what: `A: lr=0.01`, `B: …`, both joined by `; `."""
    rows: dict[int, dict[str, str]] = {}
    events: dict[int, list[str]] = {}
    for label, h in zip(SIDES, (history_a, history_b)):
        cols = {n: h.column(n) for n in h.names}
        for i, step in enumerate(h.steps.astype(int)):
            row = rows.setdefault(int(step), {})
            for n in h.names:
                row[f"{label}.{n}"] = f"{cols[n][i]:.9g}"          # as a single run's CSV writes it
        for step, text in h.events:
            rows.setdefault(int(step), {})
            events.setdefault(int(step), []).append(f"{label}: {text}")
    if started:
        rows.setdefault(0, {})
        events.setdefault(0, []).insert(0, started)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    header = [f"{label}.{n}" for label, h in zip(SIDES, (history_a, history_b)) for n in h.names]
    w.writerow(["step"] + header + ["changes"])
    for step in sorted(rows):
        w.writerow([step] + [rows[step].get(c, "") for c in header] + ["; ".join(events.get(step, []))])
    return buf.getvalue()


def write_compare_csv(path: str, history_a: "History", history_b: "History", started: str = "") -> None:
    """compare_csv_text written to `path` (atomically: a failed write leaves an older file as it was)."""
    atomic_write_text(path, compare_csv_text(history_a, history_b, started))


SAME_RUN = "A and B are the same run"


def side_text(diff: dict[str, tuple[Any, Any]], side: int) -> str:
    """One side's values of `differences()`: `eps=0.01, lr=0.1` (side 0: A, 1: B)."""
    return ", ".join(f"{k}={_fmt(v[side])}" for k, v in diff.items())


def describe_differences(diff: dict[str, tuple[Any, Any]]) -> str:
    """`A: eps=0.01; B: eps=1`, or SAME_RUN when nothing differs."""
    return f"A: {side_text(diff, 0)}; B: {side_text(diff, 1)}" if diff else SAME_RUN


def b_session_path(path: str | Path) -> Path:
    """Where side B's session is saved beside A's: run.otviz → run-B.otviz."""
    p = Path(path)
    return p.with_name(f"{p.stem}-B{p.suffix}")


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)
