"""Topic 5, SW-GMM: the default run (100 steps, 5 random directions, K = 5, Old Faithful) through the
registered method, and how one step (SW_2^2 to a 5-component GMM over 5 directions, its gradient and an
Adam update) grows with the data: 1k, 10k and 100k points."""
from __future__ import annotations

import time

import numpy as np
import torch

from benchmarks.common import Row

TARGET_S = 1.0


def default_run(steps: int = 100, repeat: int = 3) -> dict:
    """Best of `repeat` wall times of `steps` Session steps with the method's defaults."""
    from otviz.methods import method_class
    from otviz.session.session import Session

    cls = method_class("swgmm")
    times, cpus, builds = [], [], []
    for k in range(repeat):
        t0 = time.perf_counter()
        s = Session(cls(seed=k))
        builds.append(time.perf_counter() - t0)
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(steps):
            s.step()
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    cfg = s.method.config
    return {"time": min(times), "cpu": min(cpus), "build": min(builds), "sw": s.last_metrics.get("sw", float("nan")),
            "config": f"dataset {cfg.dataset}, {len(s.method.x_np)} points, K={cfg.n_components}, "
                      f"L={cfg.directions}, p={cfg.p:g}, {cfg.optimizer} lr {cfg.lr:g}"}


def core_step_time(n: int, steps: int = 5, k: int = 5, n_dirs: int = 5) -> float:
    """Median seconds of one SW-GMM training step on n points (core functions, as the method calls them)."""
    from otviz.core.sliced import random_directions, sliced_wasserstein_gmm

    gen = torch.Generator().manual_seed(0)
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.normal(size=(n, 2)) * [1.0, 0.6] + rng.integers(0, 3, size=(n, 1)), dtype=torch.float64)
    logits = torch.zeros(k, dtype=torch.float64, requires_grad=True)
    means = torch.tensor(rng.normal(size=(k, 2)), requires_grad=True)
    log_var = torch.zeros(k, 2, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([logits, means, log_var], lr=0.05)
    times = []
    for i in range(steps + 1):
        t0 = time.perf_counter()
        dirs = random_directions(n_dirs, gen)
        loss = sliced_wasserstein_gmm(x, torch.softmax(logits, 0), means, log_var.exp(), dirs, 2.0)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i:                                   # the first step pays one-off costs
            times.append(time.perf_counter() - t0)
    return float(np.median(times))


def run(quick: bool = False, flags: set[str] | None = None) -> list[Row]:
    rows = []
    r = default_run(repeat=2 if quick else 3)
    rows.append(Row("swgmm", "100 steps, 5 directions, Old Faithful", r["time"], "s", target=f"<= {TARGET_S:g} s",
                    ok=r["time"] <= TARGET_S,
                    note=f"CPU {r['cpu']:.2f} s; {r['config']}; building the run (Dirichlet start, EM overlay fit) {r['build']:.2f} s; "
                         f"final SW_2 {r['sw']:.3f}"))
    base = None
    for n in (1_000, 10_000, 100_000):
        t = core_step_time(n, steps=3 if (quick or n >= 100_000) else 5)
        base = base or t
        rows.append(Row("swgmm", f"one step, {n // 1000}k points (K=5, L=5)", t, "s", baseline=base,
                        baseline_name="1k", ratio=t / base,
                        note=f"{t / n * 1e9:.0f} ns per point; 100 steps would take {100 * t:.1f} s"))
    return rows


if __name__ == "__main__":
    from benchmarks.run import topic_main

    topic_main(run)
