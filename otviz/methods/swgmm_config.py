"""SW-GMM's parameters, fixed-direction presets and MethodInfo; importable without torch."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from otviz.core import datasets
from otviz.methods.params import MethodInfo, param
from otviz.methods.snapshot import Snapshot, expensive

DATASETS = datasets.offered("old_faithful", "two_moons", "ring8", "gaussians", "swiss_roll", "csv")

# Direction (degrees) of the per-point cost and CDF views
AXES = {"x": 0.0, "y": 90.0, "diagonal": 45.0, "anti-diagonal": 135.0}

# Fixed directions by name (angles in degrees): x alone never learns the y structure, the two axes fit
# the marginals but can miss the joint, adding the diagonals recovers it.
FIXED_PRESETS = {
    "none": (),
    "x": (0.0,),
    "x,y": (0.0, 90.0),
    "x,y,diagonal": (0.0, 90.0, 45.0),
    "x,y,both diagonals": (0.0, 90.0, 45.0, 135.0),
}


@dataclass
class SWGMMConfig:
    dataset: str = param("old_faithful", choices=DATASETS, aliases=datasets.ALIASES, live=False,
                         help="Data to fit (z-scored per column): Old Faithful (272 eruptions), "
                              "the app's toy sets, or a CSV file of points")
    csv_path: str = param("", widget="file", live=False, help="CSV of 2-D points (dataset = csv)")
    n_points: int = param(500, lo=10, hi=20_000, live=False, help="Points drawn for the toy datasets "
                                                                  "(Old Faithful always has 272)")
    n_components: int = param(5, lo=1, hi=50, live=False, label="components K", help="Number of Gaussians K")
    covariance: str = param("diag", choices=("diag", "full"), live=False,
                            help="diag: axis-aligned variances; full: full covariances (Kolouri's original)")
    directions: int = param(5, lo=0, hi=200, label="random directions L",
                            help="Random unit directions drawn each step (plus the fixed ones)")
    fixed_directions: str = param("none", widget="angles",
                                  help="Directions used every step: none, x, x,y, x,y,diagonal, x,y,both diagonals, "
                                       "or angles in degrees like 0,90,45")
    p: float = param(2.0, lo=1.0, hi=4.0, help="Order of the Wasserstein distance (1 and 2 in closed form, "
                                               "others by quadrature)")
    optimizer: str = param("adam", choices=("adam", "rmsprop"),
                           help="Adam (lr 0.2) or centred RMSprop (lr 0.05); switching restarts its state")
    lr: float = param(0.2, lo=1e-4, hi=2.0, log=True, help="Learning rate")
    max_sliced: bool = param(False, help="Max-sliced: train on the one direction where Wₚ is largest "
                                         "(found by a few ascent steps), plus the fixed directions")
    axis: str = param("x", choices=tuple(AXES), help="Direction of the per-point cost and CDF views")
    show_em: bool = param(True, label="show EM overlay", help="Overlay scikit-learn's EM fit of the same data")
    w2_every: int = param(100, lo=0, hi=100_000, unit="steps", label="w2 every",
                          help="The yardstick w2 (2-Wasserstein distance of 500 model samples to as many "
                               "held-out data points) every this many steps; 0: off")


@dataclass(frozen=True)
class SWGMMSnapshot(Snapshot):
    points: np.ndarray               # (n, 2) the data (z-scored)
    weights: np.ndarray              # (k,) the fitted mixture
    means: np.ndarray                # (k, 2)
    covs: np.ndarray                 # (k, 2, 2)
    ellipses: np.ndarray             # its 2σ ellipses as one NaN-separated polyline
    ellipses_weighted: np.ndarray    # the same, σ scaled by √(weight / mean weight)
    directions: np.ndarray           # (d, 2) this step's directions, the fixed ones last
    n_fixed: int
    max_sliced: bool
    sw: float                        # (SW_p^p)^(1/p) of the last step
    nll: float
    p: float
    axis: str                        # the axis chosen now (proj_axis: the one the fields are along)
    fixed_text: str                  # the fixed directions as typed
    dataset: str
    # the EM reference fit: {"weights", "means", "covs", "ellipses", "ellipses_weighted", "nll"};
    # None when it is not shown
    em: dict[str, Any] | None = None
    # Views (b) and (c) along the chosen axis: a bisection for the GMM's quantile at every data point.
    proj_axis: str | None = expensive()
    axis_dir: np.ndarray | None = expensive()
    proj: np.ndarray | None = expensive()            # (n,) the points projected on the axis
    cost: np.ndarray | None = expensive()            # (n,) each point's share of the 1-D transport cost
    axis_wpp: float | None = expensive()             # W_p^p along the axis
    cdf_x: np.ndarray | None = expensive()           # the sorted projections
    cdf_levels: np.ndarray | None = expensive()      # their empirical CDF levels
    gmm_quantiles: np.ndarray | None = expensive()   # the projected GMM's quantiles at those levels
    cdf_grid: np.ndarray | None = expensive()
    gmm_cdf: np.ndarray | None = expensive()         # the projected GMM's CDF over cdf_grid


INFO = MethodInfo(name="swgmm", title="SW-GMM", Config=SWGMMConfig,
                  metrics=("sw", "nll", "em_nll", "w2"),
                  method="otviz.methods.swgmm:SWGMMMethod")
