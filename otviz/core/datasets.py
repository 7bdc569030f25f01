"""The app's 2-D datasets (numpy, float64): the one catalogue every method draws from, and the CSV loader.

Every generator takes `n` and a numpy Generator and returns an (n, 2) array. The grid and ring
datasets also expose their true centres and per-axis standard deviation for mode coverage.
"""
from __future__ import annotations

import csv
import functools
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from otviz.util.resources_path import resource_path

MAX_CSV_POINTS = 200_000
MAX_CSV_BYTES = 64 * 2**20


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


# ----------------------------------------------------------------------------- the catalogue

@dataclass(frozen=True)
class Dataset:
    """One dataset of the catalogue, in the forms it has: `one(n, rng, **options)` makes one cloud,
    `pair(n, rng, **options)` a (source, target) couple for the methods that carry one onto the other.
    `size`: the number of points of a dataset that does not depend on n (None: n)."""
    name: str
    one: Callable[..., np.ndarray] | None = None
    pair: Callable[..., tuple[np.ndarray, np.ndarray]] | None = None
    size: int | None = None


def _gaussian_pair(n: int, rng: np.random.Generator, source=((-1.5, 0.0), 0.5),
                   target=((1.5, 0.5), 0.8)) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian clouds, each given as (mean, std): the source is drawn first."""
    return gaussian(n, rng, *source), gaussian(n, rng, *target)


def _csv_one(n: int, rng: np.random.Generator, path: str = "") -> np.ndarray:
    return load_points_csv(path)


def _csv_pair(n: int, rng: np.random.Generator, paths: tuple[str, str] = ("", "")) -> tuple[np.ndarray, np.ndarray]:
    return load_points_csv(paths[0]), load_points_csv(paths[1])


CATALOGUE: dict[str, Dataset] = {d.name: d for d in (
    Dataset("two_moons", two_moons, two_moons_split),
    Dataset("gaussians", gaussian, _gaussian_pair),
    Dataset("ring8", ring8),
    Dataset("grid25", grid25),
    Dataset("swiss_roll", swiss_roll),
    Dataset("parallel_lines", parallel_lines),
    Dataset("old_faithful", lambda n, rng: old_faithful(), size=272),
    Dataset("seed_rows", pair=lambda n, rng, offset=1.0: seed_rows(5, offset), size=5),
    Dataset("csv", _csv_one, _csv_pair),
)}
NAMES = tuple(CATALOGUE)

# Names the methods once gave their datasets: configs, command lines and session files that say them
# still open, as the catalogue's name.
ALIASES = {"moons": "two_moons", "gaussian": "gaussians"}


def canonical(name: str) -> str:
    """The catalogue's name for `name` (an old name is mapped); ValueError for a name it does not hold."""
    name = ALIASES.get(name, name)
    if name not in CATALOGUE:
        raise ValueError(f"dataset: {name!r} is not one of {', '.join(NAMES)}")
    return name


def offered(*names: str, pair: bool = False) -> tuple[str, ...]:
    """A method's dataset choices, in its order; checked when its config is imported, so a name the
    catalogue does not hold (or holds without the form the method needs) fails at once."""
    for name in names:
        d = CATALOGUE.get(name)
        if d is None or (d.pair if pair else d.one) is None:
            raise ValueError(f"dataset: the catalogue has no {'pair' if pair else 'single'} form of {name!r}")
    return names


def make(name: str, n: int, rng: np.random.Generator, **options) -> np.ndarray:
    """The points of dataset `name`: n of them (or its fixed size) drawn from rng. `options` go to its
    generator: noise, std, radius, spacing, mean, theta; path for csv."""
    d = CATALOGUE[canonical(name)]
    if d.one is None:
        raise ValueError(f"dataset: {d.name} is a pair of clouds, not one")
    return d.one(n, rng, **options)


def make_pair(name: str, n: int, rng: np.random.Generator, **options) -> tuple[np.ndarray, np.ndarray]:
    """(source, target) of dataset `name`, n points each (or its fixed size); `options` as in make,
    paths=(source file, target file) for csv."""
    d = CATALOGUE[canonical(name)]
    if d.pair is None:
        raise ValueError(f"dataset: {d.name} has no source/target form")
    return d.pair(n, rng, **options)


def load_points_csv(path: str | Path, max_points: int = MAX_CSV_POINTS) -> np.ndarray:
    """Points from a CSV file: two numeric columns (more are ignored), an optional header line.

    Read once per version of the file: configs are checked again at every change, and editing the file
    (a new modification time or size) reloads it. Raises ValueError in one sentence that names the
    file, and the line when one line is at fault.
    """
    if not str(path).strip():
        raise ValueError("no CSV file chosen")
    path = os.path.abspath(path)
    try:
        st = os.stat(path)
    except OSError as e:
        raise ValueError(_unreadable(Path(path).name, e)) from None
    # a copy: callers permute and edit their points, the cached ones must stay as read
    return _read_points(path, st.st_mtime_ns, st.st_size, max_points).copy()


@functools.lru_cache(maxsize=4)
def _read_points(path: str, mtime_ns: int, size: int, max_points: int) -> np.ndarray:
    name = Path(path).name
    if size > MAX_CSV_BYTES:
        raise ValueError(f"{name}: the file is {size / 2**20:.0f} MiB; at most "
                         f"{MAX_CSV_BYTES // 2**20} MiB of points can be loaded")
    rows, line = [], 1          # line: where the record being read starts (a quoted cell may span lines)
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            for r in reader:
                if any(c.strip() for c in r):
                    rows.append((line, r))
                line = reader.line_num + 1
    except UnicodeDecodeError:
        raise ValueError(f"{name}: not a text CSV file") from None
    except csv.Error:
        raise ValueError(f"{name}, line {line}: not readable as CSV text") from None
    except OSError as e:
        raise ValueError(_unreadable(name, e)) from None
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
        try:
            out[i] = float(r[0]), float(r[1])
        except (ValueError, IndexError):
            raise ValueError(f"{name}, line {line}: expected two numbers, found {_first_bad(r)}") from None
    bad = np.flatnonzero(~np.isfinite(out).all(1))
    if len(bad):
        line, r = rows[bad[0]]
        raise ValueError(f"{name}, line {line}: expected two finite numbers, found {_first_bad(r)}")
    return out


def _first_bad(row: list[str]) -> str:
    """The cell of `row` that is not a finite number, as an error message shows it."""
    if len(row) < 2:
        return f"only {row[0].strip()!r}"
    for c in row[:2]:
        if not _numeric(c) or not math.isfinite(float(c)):
            return repr(c.strip()) if c.strip() else "an empty cell"
    return repr(",".join(row[:2]))


def _unreadable(name: str, e: OSError) -> str:
    if isinstance(e, FileNotFoundError):
        return f"{name}: no such file"
    if isinstance(e, IsADirectoryError):
        return f"{name} is a folder, not a CSV file"
    if isinstance(e, PermissionError):
        return f"{name}: not allowed to read this file"
    return f"{name}: the file cannot be read"


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
