"""SW-GMM's parameters, fixed-direction presets and MethodInfo; importable without torch."""
from __future__ import annotations

from dataclasses import dataclass

from otviz.core import datasets
from otviz.methods.params import MethodInfo, param

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
    max_sliced: bool = param(False, help="Max-sliced: train on the one direction where W_p is largest "
                                         "(found by a few ascent steps), plus the fixed directions")
    axis: str = param("x", choices=tuple(AXES), help="Direction of the per-point cost and CDF views")
    show_em: bool = param(True, label="show EM overlay", help="Overlay scikit-learn's EM fit of the same data")


INFO = MethodInfo(name="swgmm", title="SW-GMM", Config=SWGMMConfig,
                  metrics=("sw", "nll", "em_nll"),
                  method="otviz.methods.swgmm:SWGMMMethod")
