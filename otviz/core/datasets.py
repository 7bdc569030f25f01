"""The app's 2-D datasets (numpy, float64) and a strict CSV point loader.

Every generator takes `n` and a numpy Generator and returns an (n, 2) array. The grid and ring
datasets also expose their true centres and per-axis standard deviation for mode coverage.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from otviz.resources_path import resource_path

MAX_CSV_POINTS = 200_000


def seed_rows(n: int = 5, offset: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """The two-rows example: points (i, 0) and (i, offset), i = 0..n-1."""
    i = np.arange(n, dtype=np.float64)
    return np.stack([i, np.zeros(n)], 1), np.stack([i, np.full(n, float(offset))], 1)


def two_moons(n: int, rng: np.random.Generator, noise: float = 0.05) -> np.ndarray:
    # scikit-learn is imported on first use: only the process that trains makes moons, and the rest of
    # this module (the CSV loader, the grid and ring centres) stays light for the window
    from sklearn.datasets import make_moons

    x, _ = make_moons(n_samples=n, noise=noise, random_state=int(rng.integers(2**31 - 1)))
    return x.astype(np.float64)


def two_moons_split(n: int, rng: np.random.Generator, noise: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Two moons split by class: (upper moon, lower moon), n points each."""
    from sklearn.datasets import make_moons

    x, y = make_moons(n_samples=2 * n, noise=noise, random_state=int(rng.integers(2**31 - 1)))
    return x[y == 0].astype(np.float64), x[y == 1].astype(np.float64)


def gaussian(n: int, rng: np.random.Generator, mean=(0.0, 0.0), std: float = 1.0) -> np.ndarray:
    return rng.normal(size=(n, 2)) * std + np.asarray(mean, dtype=np.float64)


def ring8_centers(radius: float = 2.0) -> np.ndarray:
    a = np.arange(8) * (2 * math.pi / 8)
    return radius * np.stack([np.cos(a), np.sin(a)], 1)


def ring8(n: int, rng: np.random.Generator, radius: float = 2.0, std: float = 0.02) -> np.ndarray:
    """8 Gaussians on a circle (the WGAN-GP toy set uses radius 2, std 0.02)."""
    c = ring8_centers(radius)
    return c[rng.integers(0, 8, n)] + rng.normal(size=(n, 2)) * std


def grid25_centers(spacing: float = 10.5) -> np.ndarray:
    """The 5×5 grid {−2s, −s, 0, s, 2s}² (s = 10.5 gives the Coulomb GAN grid {−21 … 21}²)."""
    g = np.arange(-2, 3) * spacing
    xx, yy = np.meshgrid(g, g, indexing="ij")
    return np.stack([xx.ravel(), yy.ravel()], 1)


def grid25(n: int, rng: np.random.Generator, spacing: float = 10.5, std: float = math.sqrt(0.1)) -> np.ndarray:
    """25 Gaussians on a grid; `n` is the total, drawn evenly (n // 25 each, the rest at random)."""
    c = grid25_centers(spacing)
    idx = np.concatenate([np.repeat(np.arange(25), n // 25), rng.integers(0, 25, n % 25)])
    return c[idx] + rng.normal(size=(n, 2)) * std


def swiss_roll(n: int, rng: np.random.Generator, noise: float = 0.25) -> np.ndarray:
    """A 2-D swiss roll scaled to about [−2, 2]²."""
    t = 1.5 * math.pi * (1 + 2 * rng.random(n))
    x = np.stack([t * np.cos(t), t * np.sin(t)], 1) + noise * rng.normal(size=(n, 2))
    return x / 7.5


def parallel_lines(n: int, rng: np.random.Generator, theta: float = 1.0) -> np.ndarray:
    """The parallel-lines example: half the points on {x = 0, y ~ U(0,1)}, half on {x = theta}."""
    y = rng.random(n)
    x = np.where(np.arange(n) % 2 == 0, 0.0, theta)
    return np.stack([x, y], 1)


def old_faithful(zscore: bool = True) -> np.ndarray:
    """Old Faithful (272 eruptions: duration, waiting), z-scored per column by default."""
    x = load_points_csv(resource_path("old_faithful.csv"))
    if zscore:
        x = (x - x.mean(0)) / x.std(0)
    return x


def load_points_csv(path: str | Path, max_points: int = MAX_CSV_POINTS) -> np.ndarray:
    """Points from a CSV file: two numeric columns (more are ignored), an optional header line.

    Raises ValueError with the file name and the problem (empty, one column, text, NaN, too large).
    """
    path = Path(path)
    name = path.name
    try:
        size = path.stat().st_size
    except OSError as e:
        raise ValueError(f"{name}: cannot read the file ({e.strerror or e})") from None
    if size > 64 * 2**20:
        raise ValueError(f"{name}: the file is {size / 2**20:.0f} MiB; at most 64 MiB of points can be loaded")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"{name}: not a text CSV file") from None
    rows = [(i + 1, r) for i, r in enumerate(csv.reader(text.splitlines())) if any(c.strip() for c in r)]
    if not rows:
        raise ValueError(f"{name}: the file is empty")
    if _is_header(rows[0][1]):
        rows = rows[1:]
    if not rows:
        raise ValueError(f"{name}: a header but no points")
    if len(rows) > max_points:
        raise ValueError(f"{name}: {len(rows)} points; at most {max_points} can be loaded")
    out = np.empty((len(rows), 2))
    for i, (line, r) in enumerate(rows):
        if len(r) < 2:
            raise ValueError(f"{name}: line {line} has {len(r)} column; two numeric columns (x, y) are needed")
        try:
            out[i] = float(r[0]), float(r[1])
        except ValueError:
            raise ValueError(f"{name}: line {line} is not numeric: {','.join(r[:2])!r}") from None
        if not np.isfinite(out[i]).all():
            raise ValueError(f"{name}: line {line} holds a NaN or infinite value")
    return out


def _is_header(row: list[str]) -> bool:
    try:
        [float(c) for c in row[:2]]
        return False
    except ValueError:
        return any(c.strip() and not _numeric(c) for c in row)


def _numeric(c: str) -> bool:
    try:
        float(c)
        return True
    except ValueError:
        return False
