"""Topic 6, Coulomb GAN: steps/s at the default batch of 512 (the method's defaults, metrics included), and
with `--flag modes` (python -m benchmarks --coulomb-modes) the wall time until >= 24 of 25 modes are
captured, training headless with the method's defaults."""
from __future__ import annotations

import time

from benchmarks.common import Row

TARGET_MODES = 24
TARGET_HQ = 0.5               # a spread-out generator touches many modes early: also ask for quality
MODES_CAP_S = 480.0           # give up after 8 minutes


def step_rate(seconds: float, batch: int = 512) -> dict:
    from otviz.methods import method_class
    from otviz.session.session import Session

    s = Session(method_class("coulomb")(seed=0))
    s.update({"batch_size": batch})
    for _ in range(5):                           # warm-up: allocator, first metric evaluation
        s.step()
    n0, t0, c0 = s.step_count, time.perf_counter(), time.process_time()
    while time.perf_counter() - t0 < seconds:
        s.step()
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    n = s.step_count - n0
    return {"rate": n / dt, "cpu_ms": 1e3 * cpu / n, "steps": n}


def time_to_modes(cap_s: float = MODES_CAP_S, seed: int = 0) -> dict:
    """Wall time until >= 24/25 modes (the method's coverage metric: a centre counts once one high-quality sample
    is nearest to it), and until that holds with >= 50 % of the samples high-quality as well."""
    from otviz.methods import method_class
    from otviz.session.session import Session

    s = Session(method_class("coulomb")(seed=seed))
    t0 = time.perf_counter()
    first = None                                  # (seconds, steps) when 24 modes were first seen
    modes = hq = 0.0
    done = False
    while time.perf_counter() - t0 < cap_s and not done:
        m = s.step()
        modes, hq = m.get("modes", 0.0), m.get("high_quality", 0.0)
        if modes >= TARGET_MODES and first is None:
            first = (time.perf_counter() - t0, s.step_count, hq)
        done = modes >= TARGET_MODES and hq >= TARGET_HQ
    return {"time": time.perf_counter() - t0, "steps": s.step_count, "modes": modes, "hq": hq,
            "reached": done, "first": first}


def run(quick: bool = False, flags: set[str] | None = None) -> list[Row]:
    flags = flags or set()
    rows = []
    r = step_rate(4.0 if quick else 10.0)
    rows.append(Row("coulomb", "steps/s at batch 512 (headless, defaults)", r["rate"], "steps/s",
                    note=f"{r['steps']} steps; {r['cpu_ms']:.1f} ms CPU per step"))
    r128 = step_rate(3.0, batch=128)
    rows.append(Row("coulomb", "steps/s at batch 128", r128["rate"], "steps/s", baseline=r["rate"],
                    baseline_name="batch 512", ratio=r128["rate"] / r["rate"]))
    if "modes" in flags:
        m = time_to_modes()
        if m["first"] is not None:
            t, n, hq = m["first"]
            rows.append(Row("coulomb", f"wall time to >= {TARGET_MODES}/25 modes (one sample nearest each)", t, "s",
                            target="minutes, not hours", ok=True,
                            note=f"step {n}; only {100 * hq:.0f} % of the samples were high-quality then"))
        rows.append(Row("coulomb", f"... and >= {100 * TARGET_HQ:.0f} % high-quality samples", m["time"], "s",
                        target="minutes, not hours", ok=m["reached"],
                        note=f"{m['steps']} steps, then {m['modes']:.0f}/25 modes, {100 * m['hq']:.0f} % high-quality"
                             + ("" if m["reached"] else f" (stopped at the {MODES_CAP_S:.0f} s cap)")))
    else:
        rows.append(Row("coulomb", f"time to >= {TARGET_MODES}/25 modes: not run", float("nan"), "s",
                        note="python -m benchmarks --only coulomb --coulomb-modes (several minutes); "
                             f"at the measured rate the ~20,000 steps a full run takes would need "
                             f"{20000 / r['rate'] / 60:.0f} min"))
    return rows


if __name__ == "__main__":
    from benchmarks.run import topic_main

    topic_main(run)
