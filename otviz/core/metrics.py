"""Sample-quality metrics for 2-D GANs on mixtures of known Gaussians (mode coverage, VEEGAN/PacGAN style)."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


class ModeCoverage(NamedTuple):
    """`modes`: centres captured (out of len(centers)); `high_quality`: fraction of samples near a centre."""
    modes: int
    high_quality: float


def nearest_center(samples: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest centre of every sample and the distance to it."""
    x = np.asarray(samples, dtype=np.float64).reshape(-1, 2)
    c = np.asarray(centers, dtype=np.float64).reshape(-1, 2)
    # (n, k) squared distances; n is a few thousand and k ≤ a few dozen, so one dense block is fine.
    d2 = ((x[:, None, :] - c[None, :, :]) ** 2).sum(-1)
    idx = np.argmin(np.where(np.isnan(d2), np.inf, d2), axis=1)
    return idx, np.sqrt(d2[np.arange(len(x)), idx])


def mode_coverage(samples: np.ndarray, centers: np.ndarray, std: float | np.ndarray,
                  n_std: float = 3.0) -> ModeCoverage:
    """Mode coverage of generated `samples` against the true mixture `centers` with per-axis `std`.

    A sample is *high quality* if it lies within `n_std` (3) standard deviations (Euclidean distance)
    of its nearest centre; a centre is *captured* if it is the nearest centre of at least one
    high-quality sample. `std` is a scalar or one value per centre. NaN/Inf samples count as low quality.
    Returns ModeCoverage(modes, high_quality) — unpack it as `modes, hq = mode_coverage(...)`.
    """
    x = np.asarray(samples, dtype=np.float64).reshape(-1, 2)
    c = np.asarray(centers, dtype=np.float64).reshape(-1, 2)
    if len(c) == 0:
        raise ValueError("mode_coverage: no centres given")
    s = np.broadcast_to(np.asarray(std, dtype=np.float64), (len(c),))
    if not np.all(s > 0):
        raise ValueError("mode_coverage: std must be positive")
    if len(x) == 0:
        return ModeCoverage(0, 0.0)
    finite = np.isfinite(x).all(1)
    idx, dist = nearest_center(np.where(finite[:, None], x, 0.0), c)
    good = finite & (dist <= n_std * s[idx])
    return ModeCoverage(int(np.unique(idx[good]).size), float(good.mean()))


def samples_per_mode(samples: np.ndarray, centers: np.ndarray, std: float | np.ndarray,
                     n_std: float = 3.0) -> np.ndarray:
    """How many high-quality samples each centre holds (0 for a missed mode)."""
    x = np.asarray(samples, dtype=np.float64).reshape(-1, 2)
    c = np.asarray(centers, dtype=np.float64).reshape(-1, 2)
    s = np.broadcast_to(np.asarray(std, dtype=np.float64), (len(c),))
    finite = np.isfinite(x).all(1)
    idx, dist = nearest_center(np.where(finite[:, None], x, 0.0), c)
    good = finite & (dist <= n_std * s[idx])
    return np.bincount(idx[good], minlength=len(c))
