"""Topic 8, timeline: per method at its default sizes, the keyframes a run keeps (interval, bytes per
keyframe, memory per 10,000 steps before thinning and as held at the default budget), the time a
keyframe costs per step, the session file with and without the timeline, and the time to fork: from a
keyframe itself, and from the step just before the next one (the longest replay)."""
from __future__ import annotations

import io
import statistics
import time

from benchmarks.common import Row

FORK_TARGET_S = 0.3


def measure(name: str, seconds: float, repeat: int) -> dict:
    import torch

    from otviz.methods import method_class
    from otviz.session.file import _document
    from otviz.session.session import Session
    from otviz.session.timeline import DEFAULT_BUDGET

    s = Session(method_class(name)(seed=0))
    tl = s.timeline
    spent = [0.0]
    record = tl.record

    def timed_record(session, seconds=None):
        t0 = time.perf_counter()
        record(session, seconds)
        spent[0] += time.perf_counter() - t0

    tl.record = timed_record
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds or len(tl.branches[0].keyframes) < 4:
        s.step()
    steps = s.step_count
    tl.record = record
    kfs = tl.branches[0].keyframes
    later = [k.nbytes for k in kfs[1:]]
    every = tl.every
    per_10k = kfs[0].nbytes + 10_000 / every * statistics.mean(later)

    files = {}
    for with_tl in (True, False):
        buf = io.BytesIO()
        torch.save(_document(s, timeline=with_tl), buf)
        files[with_tl] = len(buf.getvalue())

    # forks: at a keyframe (a restore alone), and at the step before the next keyframe is due (the
    # longest replay); each time back to the original branch afterwards, untimed
    at_kf = kfs[-2].step
    worst = min(kfs[-2].step + every - 1, kfs[-1].step - 1)
    times = {}
    for label, step in (("keyframe", at_kf), ("replay", worst)):
        ts = []
        for _ in range(repeat):
            f0 = time.perf_counter()
            s.fork(step)
            ts.append(time.perf_counter() - f0)
            s.switch(0)
        times[label] = (statistics.median(ts), step - tl.keyframe_at(step, 0).step)
    return {"steps": steps, "every": every, "n_kf": len(kfs), "first": kfs[0].nbytes,
            "later": statistics.mean(later), "per_10k": per_10k, "held": min(per_10k, DEFAULT_BUDGET),
            "budget": DEFAULT_BUDGET, "record_ms": 1e3 * spent[0] / steps,
            "step_ms": 1e3 * (time.perf_counter() - t0) / steps, "files": files, "times": times,
            "memory": tl.memory_bytes()}


def run(quick: bool = False) -> list[Row]:
    from otviz.methods import method_names

    rows = []
    for name in method_names():
        r = measure(name, 2.0 if quick else 6.0, 2 if quick else 5)
        mb = 1e6
        rows.append(Row("timeline", f"{name}: keyframe memory per 10,000 steps (default budget)", r["held"] / mb, "MB",
                        target=f"<= {r['budget'] / mb:.0f} MB", ok=r["held"] <= r["budget"],
                        note=f"{r['per_10k'] / mb:.1f} MB before thinning: a keyframe every {r['every']} steps, "
                             f"{r['later'] / 1e3:.0f} kB each after the first ({r['first'] / 1e3:.0f} kB, with the "
                             f"data); measured over {r['steps']} steps"))
        rows.append(Row("timeline", f"{name}: keyframes' cost per step", r["record_ms"], "ms",
                        note=f"a step takes {r['step_ms']:.1f} ms here"))
        rows.append(Row("timeline", f"{name}: session file with the timeline", r["files"][True] / mb, "MB",
                        baseline=r["files"][False] / mb, baseline_name="without",
                        note=f"{r['n_kf']} keyframes, {r['memory'] / mb:.1f} MB in memory"))
        for label, what in (("keyframe", "fork at a keyframe"), ("replay", "fork, longest replay")):
            t, replayed = r["times"][label]
            rows.append(Row("timeline", f"{name}: {what}", t, "s", target=f"<= {FORK_TARGET_S} s",
                            ok=t <= FORK_TARGET_S, note=f"{replayed} steps replayed"))
    return rows


if __name__ == "__main__":
    from benchmarks.run import topic_main

    topic_main(run)
