"""KL, JS and Wasserstein between two parallel lines, in closed form and from samples.

P = {x = 0, y ~ U(0,1)} and Q_θ = {x = θ, y ~ U(0,1)}: for θ ≠ 0 the supports are disjoint, so KL is
infinite and JS is stuck at log 2 (no gradient in θ), while W₁ = |θ| moves smoothly with θ.
"""
from __future__ import annotations

import math

import numpy as np

from otviz.core.exact import exact_plan


def kl_parallel_lines(theta: float) -> float:
    """KL(P‖Q_θ) (= KL(Q_θ‖P)): 0 at θ = 0, +∞ otherwise (P puts mass where Q_θ has none)."""
    return 0.0 if theta == 0 else math.inf


def js_parallel_lines(theta: float) -> float:
    """JS(P, Q_θ) with the ½(KL(P‖M) + KL(Q‖M)) convention, M = ½(P+Q): 0 at θ = 0, log 2 otherwise."""
    return 0.0 if theta == 0 else math.log(2.0)


def w_parallel_lines(theta: float) -> float:
    """W₁(P, Q_θ) = |θ|: move every point horizontally by θ (no plan can do better, since |Δx| ≥ |θ|)."""
    return abs(float(theta))


def divergence_curves(thetas: np.ndarray) -> dict[str, np.ndarray]:
    """The three closed forms on a grid of θ (KL as +inf where it is infinite)."""
    thetas = np.asarray(thetas, dtype=np.float64)
    return {"kl": np.where(thetas == 0, 0.0, np.inf),
            "js": np.where(thetas == 0, 0.0, math.log(2.0)),
            "w": np.abs(thetas)}


def sample_lines(n: int, rng: np.random.Generator, theta: float) -> tuple[np.ndarray, np.ndarray]:
    """n samples of P and n of Q_θ, shape (n, 2) each."""
    p = np.stack([np.zeros(n), rng.random(n)], 1)
    q = np.stack([np.full(n, float(theta)), rng.random(n)], 1)
    return p, q


def exact_assignment(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The optimal W₁ plan (Euclidean ground cost) between two equal-size uniform clouds: x_i → y_perm[i].

    With n points a side and uniform weights an optimal plan is a permutation (Birkhoff), so the
    assignment problem solves it exactly: the app's exact OT solver (the Sinkhorn tab's) with p = 1.
    """
    return exact_plan(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64), p=1).perm


def empirical_w1(x: np.ndarray, y: np.ndarray, perm: np.ndarray | None = None) -> float:
    """Exact W₁ between two equal-size uniform clouds (the mean length of the optimal pairs).

    `perm`: exact_assignment(x, y) when the caller has it already (the view draws the pairs too)."""
    if perm is None:
        perm = exact_assignment(x, y)
    return float(np.linalg.norm(np.asarray(x, np.float64) - np.asarray(y, np.float64)[perm], axis=1).mean())


def histogram_js(x: np.ndarray, y: np.ndarray, bins: int = 40, span: tuple[float, float, float, float] | None = None) -> float:
    """JS of two clouds binned on a common 2-D grid (a plug-in estimate, in nats; at most log 2).

    It shows what a discriminator sees: once the lines fall in different bins, the value saturates at log 2.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if span is None:
        both = np.concatenate([x, y])
        lo, hi = both.min(0), both.max(0)
        pad = np.maximum(hi - lo, 1e-9) * 0.01
        span = (lo[0] - pad[0], hi[0] + pad[0], lo[1] - pad[1], hi[1] + pad[1])
    rng2 = [[span[0], span[1]], [span[2], span[3]]]
    p, _, _ = np.histogram2d(x[:, 0], x[:, 1], bins=bins, range=rng2)
    q, _, _ = np.histogram2d(y[:, 0], y[:, 1], bins=bins, range=rng2)
    p = p.ravel() / max(p.sum(), 1)
    q = q.ravel() / max(q.sum(), 1)
    m = 0.5 * (p + q)

    def kl(a: np.ndarray) -> float:
        nz = a > 0
        return float(np.sum(a[nz] * np.log(a[nz] / m[nz])))

    return 0.5 * (kl(p) + kl(q))
