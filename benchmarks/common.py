"""Shared pieces of the benchmarks: result rows, timers (wall and CPU), the load, and the printed tables."""
from __future__ import annotations

import math
import os
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Callable


@dataclass
class Row:
    """One measured figure, with what it is compared against (the ratio) and its target, if any."""
    topic: str
    what: str
    value: float
    unit: str
    baseline: float | None = None      # the reference measured in the same run (ratio = baseline / value
    baseline_name: str = ""            # for times, value / baseline for rates: >1 means we are better)
    ratio: float | None = None
    target: str = ""                   # e.g. "<= 16 ms", ">= 4x", ">= 0.9"
    ok: bool | None = None             # None: no target
    note: str = ""
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def load_average() -> tuple[float, float, float]:
    try:
        return os.getloadavg()
    except OSError:
        return (math.nan, math.nan, math.nan)


def timed(fn: Callable[[], object], repeat: int = 10, warmup: int = 2, budget_s: float | None = None
          ) -> tuple[float, float, list[float]]:
    """Median wall and median process-CPU seconds of fn() over `repeat` calls after `warmup` calls.

    CPU time (all threads of this process) is reported beside the wall time because the machine may be
    shared: wall time then includes waiting for a core, CPU time does not. `budget_s` stops early.
    """
    for _ in range(warmup):
        fn()
    walls, cpus = [], []
    start = time.perf_counter()
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        if budget_s is not None and time.perf_counter() - start > budget_s:
            break
    return statistics.median(walls), statistics.median(cpus), walls


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    v = sorted(values)
    pos = (len(v) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def fmt(x: float | None, unit: str = "") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if unit in ("s",) and x < 1:
        return f"{x * 1e3:.1f} ms"
    a = abs(x)
    s = f"{x:.3g}" if a < 1000 else f"{x:,.0f}"
    return f"{s} {unit}".strip()


def print_table(rows: list[Row], title: str = "") -> None:
    """A plain-text table: what, value, baseline, ratio, target, verdict."""
    if title:
        print(f"\n== {title}")
    cols = ["topic", "measurement", "value", "compared with", "ratio", "target", ""]
    data = []
    for r in rows:
        base = f"{r.baseline_name} {fmt(r.baseline, r.unit)}".strip() if r.baseline is not None else r.baseline_name
        ratio = f"{r.ratio:.2f}x" if r.ratio is not None and not math.isnan(r.ratio) else ""
        verdict = {True: "ok", False: "MISSED", None: ""}[r.ok]
        data.append([r.topic, r.what, fmt(r.value, r.unit), base, ratio, r.target, verdict])
    widths = [max(len(str(c)) for c in col) for col in zip(cols, *data)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    print(line.format(*cols))
    print("  ".join("-" * w for w in widths))
    for d in data:
        print(line.format(*d))
    for r in rows:
        if r.note:
            print(f"   · {r.topic} / {r.what}: {r.note}")

