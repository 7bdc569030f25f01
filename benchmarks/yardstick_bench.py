"""Topic 9, yardstick: the w2 metric of the generative tabs. (1) Exact assignment against the debiased
Sinkhorn divergence at the yardstick's n a side (500; the assignment also at 1,000, the size it had before),
time and accuracy against POT's ot.emd2; (2) per method at its
defaults, what one w2 measurement costs beside a training step, and its share of training time at the
method's default w2_every."""
from __future__ import annotations

import dataclasses
import math
import statistics
import time

import numpy as np

from benchmarks.common import Row, timed

GENERATIVE = ("swgmm", "wgan", "realnvp", "coulomb")


def _clouds(name: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Held-out points and a model-like cloud: another sample of the dataset, slightly off."""
    from otviz.core import datasets, yardstick

    options = {"ring8": dict(radius=1.414, std=0.0141)}.get(name, {})
    y = yardstick.held_out(name, 0, n, **options)
    x = datasets.make(name, n, np.random.default_rng(1), **options)
    return x * 1.05 + 0.05, y


def solver_rows(quick: bool) -> list[Row]:
    import torch

    from otviz.core.sinkhorn import sinkhorn_divergence
    from otviz.core.yardstick import N_W2, w2
    try:
        import ot
    except ImportError:                        # POT is a test dependency: the reference is then the exact w2
        ot = None
    rows = []
    for name, n in [(name, n) for name in ("two_moons", "ring8") for n in (N_W2, 1000)]:
        x, y = _clouds(name, n)
        t_exact, c_exact, _ = timed(lambda: w2(x, y), repeat=3 if quick else 5, warmup=1)
        exact = w2(x, y)
        if ot is not None:
            ref = math.sqrt(ot.emd2([], [], ot.dist(x, y)))
            t_pot, _, _ = timed(lambda: ot.emd2([], [], ot.dist(x, y)), repeat=3, warmup=1)
        else:
            ref, t_pot = exact, math.nan
        rows.append(Row("yardstick", f"{name} n={n}: exact assignment", t_exact, "s",
                        note=f"w2 {exact:.5f}, error {abs(exact / ref - 1):.1e} against ot.emd2 "
                             f"(POT itself: {t_pot * 1e3:.0f} ms); CPU {c_exact * 1e3:.0f} ms"))
        if n != N_W2:
            continue
        xt, yt = torch.tensor(x), torch.tensor(y)
        for eps in (0.01, 0.001):
            t_s, _, _ = timed(lambda: sinkhorn_divergence(xt, yt, eps, tol=1e-6), repeat=1 if quick else 2, warmup=0)
            value = math.sqrt(max(float(sinkhorn_divergence(xt, yt, eps, tol=1e-6).value), 0.0))
            rows.append(Row("yardstick", f"{name} n={n}: debiased Sinkhorn, eps {eps}", t_s, "s",
                            baseline=t_exact, baseline_name="exact", ratio=t_s / t_exact,
                            note=f"sqrt(S_eps) {value:.5f}, error {abs(value / ref - 1):.1%} against ot.emd2"))
    return rows


def share_rows(quick: bool) -> list[Row]:
    from otviz.core.yardstick import w2
    from otviz.methods import method_class

    rows = []
    for name in GENERATIVE:
        cls = method_class(name)
        m = cls(dataclasses.replace(cls.Config(), w2_every=0), seed=0)
        warm = 50 if quick else 200
        for _ in range(warm):                      # past the first steps, where a GAN's samples are one blob
            m.step()
        steps = []
        for _ in range(30 if quick else 100):
            t0 = time.perf_counter()
            m.step()
            steps.append(time.perf_counter() - t0)
        step = statistics.median(steps)
        t_w2, _, _ = timed(lambda: w2(m.w2_samples(), m._w2.held_out), repeat=3 if quick else 5, warmup=1)
        every = cls.Config().w2_every
        share = t_w2 / (every * step + t_w2)
        rows.append(Row("yardstick", f"{name}: w2 share of training (w2_every {every})", share * 100, "%",
                        target="<= 5 %", ok=share <= 0.05,
                        note=f"one w2 ({m._w2.n} points) {t_w2 * 1e3:.0f} ms = {t_w2 / step:.0f} steps of "
                             f"{step * 1e3:.1f} ms; measured every {every * step:.1f} s of training"))
    return rows


def run(quick: bool = False, flags: set[str] | None = None) -> list[Row]:
    return solver_rows(quick) + share_rows(quick)


if __name__ == "__main__":
    from benchmarks.run import topic_main

    topic_main(run)
