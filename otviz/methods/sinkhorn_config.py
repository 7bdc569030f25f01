"""Sinkhorn's parameters and MethodInfo; importable without torch."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from otviz.core import datasets
from otviz.methods.params import MethodInfo, param
from otviz.methods.snapshot import Snapshot

# the source and target clouds come from the catalogue's (source, target) form of each dataset
DATASETS = datasets.offered("seed_rows", "two_moons", "gaussians", "csv", pair=True)


@dataclass
class SinkhornConfig:
    dataset: str = param("two_moons", choices=DATASETS, aliases=datasets.ALIASES, live=False,
                         help="Point sets: two rows of points, two moons split by class, two Gaussians, or CSV files")
    n_points: int = param(40, lo=2, hi=2000, live=False, help="Points per cloud (two_moons, gaussians)")
    source_csv: str = param("", widget="file", live=False, help="CSV of source points (dataset = csv)")
    target_csv: str = param("", widget="file", live=False, help="CSV of target points (dataset = csv)")
    eps: float = param(0.1, lo=1e-3, hi=10.0, log=True, help="Entropic regularisation ε: small is sharp, large is blurry")
    p: float = param(2.0, lo=1.0, hi=4.0, help="Cost exponent: C = ‖x − y‖^p")
    max_iter: int = param(5000, lo=10, hi=100_000, help="Cap on Sinkhorn iterations per solve")
    tol: float = param(1e-6, lo=1e-10, hi=1e-1, log=True, help="Stop when the marginal error (L1) is below this")
    lr: float = param(0.1, lo=1e-4, hi=10.0, log=True, help="Gradient-flow step: how far source points move per step")
    show_exact: bool = param(True, help="Overlay the exact OT assignment (equal uniform clouds)")


@dataclass(frozen=True)
class SinkhornSnapshot(Snapshot):
    """One solve, every part of it cheap beside the solve itself: no fields computed apart."""
    x: np.ndarray                    # (n, 2) source points
    y: np.ndarray                    # (m, 2) target points
    errors: np.ndarray               # the marginal error along the iterations
    n_iter: int
    marginal_error: float
    cost: float                      # ⟨P, C⟩
    eps: float
    warm: bool                       # the solve started from the previous potentials
    lines: np.ndarray                # (2k, 2) segments of the plan's heaviest pairs
    line_alpha: np.ndarray           # (k,) their weight relative to the heaviest
    # C and P with rows and columns sorted along the clouds' main axis, at this angle (degrees)
    order_angle: float
    order_source: np.ndarray         # row k of plan and cost_matrix is source point order_source[k]
    order_target: np.ndarray
    plan: np.ndarray                 # (n, m)
    cost_matrix: np.ndarray          # (n, m)
    batch: dict[str, Any]            # the batch example: {"plans", "costs", "shifts"} arrays
    exact_lines: np.ndarray | None = None    # the exact assignment's pairs (equal uniform clouds only)
    exact_cost: float | None = None


INFO = MethodInfo(name="sinkhorn", title="Sinkhorn", Config=SinkhornConfig,
                  metrics=("cost", "divergence"),
                  method="otviz.methods.sinkhorn:SinkhornMethod")
