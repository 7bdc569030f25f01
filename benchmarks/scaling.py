"""Topic 7, scaling: each registered method's step time as its number of points grows (the points a step
touches: the batch for the GANs and the flow, the clouds for Sinkhorn and SW-GMM), so the limits of a
2-core laptop are known. New methods are picked up from the registry; the size parameter is found by
name (batch_size, n_points, n_data, n_samples)."""
from __future__ import annotations

import dataclasses
import time

import numpy as np

from benchmarks.common import Row

SIZE_PARAMS = ("batch_size", "n_points", "n_data", "n_samples")
# methods whose size parameter needs another setting to mean anything (Old Faithful has 272 points)
EXTRA = {"swgmm": {"dataset": "gaussian", "show_em": False}}
SIZES = (128, 512, 2048, 8192, 32768)
BUDGET_S = 4.0                # per method and size; bigger sizes are skipped once a step takes longer


def size_param(cls) -> str | None:
    names = [s.name for s in cls.specs()]
    if "batch_size" in names and cls.name not in ("swgmm", "sinkhorn"):
        return "batch_size"
    for n in SIZE_PARAMS:
        if n in names:
            return n
    return None


def step_time(cls, overrides: dict, budget_s: float) -> tuple[float, int]:
    """Median seconds per Session.step() for a run built with `overrides` (first step excluded)."""
    from otviz.session.session import Session

    spec = {s.name: s for s in cls.specs()}
    cfg = dataclasses.replace(cls.Config(), **{k: spec[k].coerce(v) for k, v in overrides.items() if k in spec})
    s = Session(cls(cfg, seed=0))
    s.step()
    times = []
    start = time.perf_counter()
    while len(times) < 20 and (time.perf_counter() - start < budget_s or len(times) < 2):
        t0 = time.perf_counter()
        s.step()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), len(times)


def run(quick: bool = False, flags: set[str] | None = None) -> list[Row]:
    from otviz.methods import method_class, method_names

    rows = []
    budget = BUDGET_S / 2 if quick else BUDGET_S
    for name in method_names():
        cls = method_class(name)
        pname = size_param(cls)
        if pname is None:
            rows.append(Row("scaling", f"{name}: no size parameter found", float("nan"), "s"))
            continue
        spec = cls.spec(pname)
        sizes = [n for n in SIZES if (spec.lo is None or n >= spec.lo) and (spec.hi is None or n <= spec.hi)]
        if spec.hi is not None and spec.hi not in sizes and spec.hi > max(sizes, default=0):
            sizes.append(int(spec.hi))
        base = None
        for n in sizes:
            try:
                t, k = step_time(cls, {**EXTRA.get(name, {}), pname: n}, budget)
            except Exception as e:  # a size the method refuses: say so and go on
                rows.append(Row("scaling", f"{name}: {pname}={n} refused", float("nan"), "s", note=str(e)[:200]))
                continue
            base = base or (t, n)
            rows.append(Row("scaling", f"{name}: {pname}={n}", t, "s", baseline=base[0],
                            baseline_name=f"{pname}={base[1]}", ratio=t / base[0],
                            note=f"{1 / t:.1f} steps/s ({k} steps timed)"))
            if t > (0.5 if quick else 1.0):        # the next size would be over a few seconds a step
                break
    return rows


if __name__ == "__main__":
    from benchmarks.run import topic_main

    topic_main(run)
