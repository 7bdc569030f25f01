"""Sinkhorn's parameters and MethodInfo; importable without torch."""
from __future__ import annotations

from dataclasses import dataclass

from otviz.core import datasets
from otviz.methods.params import MethodInfo, param

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


INFO = MethodInfo(name="sinkhorn", title="Sinkhorn", Config=SinkhornConfig,
                  metrics=("cost", "divergence"),
                  method="otviz.methods.sinkhorn:SinkhornMethod")
