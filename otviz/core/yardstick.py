"""One yardstick for every generative tab: `w2`, the 2-Wasserstein distance between model samples and
held-out data points, computed the same way on every tab so that methods and runs compare on one scale.

    w2 = sqrt( min over permutations σ of (1/n) Σ_i ‖x_i − y_σ(i)‖² )

between n model samples x (drawn at fixed noise, so the value moves only because the model does) and n
held-out points y of the method's dataset (drawn once per dataset and seed). The minimum is found
exactly, by an assignment (scipy's linear_sum_assignment on the squared-distance matrix): at these
sizes it is both faster and more accurate than the debiased Sinkhorn divergence at a small ε, whose
bias at ε = 0.01 is still a few per cent of w2 (benchmarks/yardstick_bench.py measures both).

n is 500: an assignment costs about n^2.7, 12–30 ms at 500 against 70–200 ms (a GAN's first blob:
0.5 s) at 1,000, and a live tab shows w2 about twice a second. The price is a higher floor (below).

The held-out points come from the same catalogue as the training data but from a generator stream of
their own, so adding the yardstick changed no training draw. Two empirical clouds of the same
distribution are not at distance 0: the value of a perfect model is the distance between two samples
of n points (about 0.046 on two moons at n = 500, 0.036 at 1,000), the same for every run of that
dataset.

The Sinkhorn tab has no model to sample: its yardstick is its own `divergence` metric, the debiased
Sinkhorn divergence between the flowing source points and the target.
"""
from __future__ import annotations

import math
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable

import numpy as np
from scipy.optimize import linear_sum_assignment

from otviz.core import datasets
from otviz.core.exact import cost_matrix_np

N_W2 = 500                  # model samples and held-out points of the yardstick
_STREAM = 0x5732            # tells the held-out stream apart from every other use of the run's seed


def held_out(name: str, seed: int, n: int = N_W2, **options: Any) -> np.ndarray:
    """n points of catalogue dataset `name` (generator `options` as in datasets.make), the same for the
    same dataset, options and seed, from a generator used for nothing else. A dataset of fixed size
    (Old Faithful, a CSV file) has no points beyond its own: then its points themselves, n of them at
    most (a fixed subset of a larger file)."""
    entropy = [int(seed) % 2**63, zlib.crc32(datasets.canonical(name).encode()), _STREAM]
    rng = np.random.default_rng(entropy)
    x = np.asarray(datasets.make(name, n, rng, **options), dtype=np.float64)
    if len(x) > n:
        x = x[np.sort(rng.permutation(len(x))[:n])]
    return x


def subset(points: np.ndarray, seed: int, n: int = N_W2) -> np.ndarray:
    """A fixed subset of at most n of `points` (a drawn target, a file's held-out share), chosen by seed
    from the yardstick's own stream."""
    points = np.asarray(points, dtype=np.float64)
    if len(points) <= n:
        return points.copy()
    rng = np.random.default_rng([int(seed) % 2**63, _STREAM, len(points)])
    return points[np.sort(rng.permutation(len(points))[:n])]


def noise_seed(seed: int) -> int:
    """The seed of a method's fixed yardstick noise (a torch or numpy generator of its own), derived from
    the run's seed: the model's samples are the same at every measurement and in every run of that seed."""
    return (int(seed) * 1_000_003 + _STREAM) % 2**63


def w2(x: np.ndarray, y: np.ndarray) -> float:
    """The exact 2-Wasserstein distance between two clouds of n points with equal weights (the
    square root of the mean squared distance of the optimal assignment); NaN when x holds a non-finite
    value (a model that blew up has no distance, and must not pause a run that has not diverged)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 2:
        raise ValueError(f"w2 needs two clouds of the same size; got {x.shape} and {y.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        return math.nan
    cost = cost_matrix_np(x, y)
    rows, cols = linear_sum_assignment(cost)
    return float(math.sqrt(max(cost[rows, cols].mean(), 0.0)))


class W2Meter:
    """The w2 metric of one run. The model's samples are taken at every `every`-th step and the
    assignment runs in a thread beside training (scipy's solver releases the interpreter lock, so a
    step never stalls for it); its value enters the history `lag(every)` steps later, waiting for it
    there if it is not done. So the same values stand at the same steps on any machine, and a restored
    run (its state holds the samples of a pending measurement) continues exactly."""

    def __init__(self, held: np.ndarray):
        self.held_out = np.asarray(held, dtype=np.float64)
        self.value = math.nan
        self.at = -1                 # the step whose samples gave `value` (-1: none yet)
        self._pending: tuple[int, np.ndarray] | None = None     # (step, samples) being measured
        self._future: Future | None = None

    @property
    def n(self) -> int:
        return len(self.held_out)

    @staticmethod
    def lag(every: int) -> int:
        """Steps between taking the samples and showing their w2: half the interval."""
        return max(1, every // 2)

    def metrics(self, step: int, every: int, samples: Callable[[], np.ndarray]) -> dict[str, float]:
        """{"w2": value} for step `step` (the newest measurement whose lag has passed); {} while
        switched off (every 0), before the first one, or when the model's samples were not finite."""
        if every <= 0:
            return {}
        if self._pending is not None and (step >= self._pending[0] + self.lag(every) or step % every == 0):
            self._collect()
        if step % every == 0:
            self._start(step, np.asarray(samples(), dtype=np.float64))
        return {"w2": self.value} if math.isfinite(self.value) else {}

    def _start(self, step: int, x: np.ndarray) -> None:
        self._pending = (step, x)
        self._future = _pool().submit(w2, x, self.held_out)

    def _collect(self) -> None:
        at, x = self._pending
        self.value = self._future.result() if self._future is not None else w2(x, self.held_out)
        self.at, self._pending, self._future = at, None, None

    def state(self) -> dict[str, Any]:
        pending = self._pending
        return {"value": self.value, "at": self.at, "pending_at": -1 if pending is None else pending[0],
                "pending_samples": None if pending is None else pending[1]}

    def load_state(self, state: dict[str, Any] | None) -> None:
        """Take what state() gave; None (a run saved before the yardstick existed): nothing measured."""
        state = state or {}
        self.value, self.at = float(state.get("value", math.nan)), int(state.get("at", -1))
        self._pending, self._future = None, None
        if int(state.get("pending_at", -1)) >= 0 and state.get("pending_samples") is not None:
            self._start(int(state["pending_at"]), np.asarray(state["pending_samples"], dtype=np.float64))


_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    """One thread per process for the assignments (one measurement is pending per run at most)."""
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="otviz-w2")
    return _POOL


def gmm_samples(weights: np.ndarray, means: np.ndarray, covs: np.ndarray, u: np.ndarray,
                z: np.ndarray) -> np.ndarray:
    """Draws from a Gaussian mixture at fixed randomness: u (n,) uniforms pick the components (inverse
    CDF of the weights), z (n, 2) standard normals are shaped by each component's Cholesky factor. The
    same u and z give samples that move only because the mixture does. covs: (K, 2) diagonal variances
    or (K, 2, 2) full matrices."""
    covs = np.asarray(covs, dtype=np.float64)
    if covs.ndim == 2:
        covs = np.einsum("ki,ij->kij", covs, np.eye(2))
    cdf = np.cumsum(weights)
    k = np.minimum(np.searchsorted(cdf / cdf[-1], u, side="right"), len(weights) - 1)
    chol = np.linalg.cholesky(covs)
    return means[k] + np.einsum("nij,nj->ni", chol[k], z)
