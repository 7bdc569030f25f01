"""RealNVP's parameters, datasets and MethodInfo; importable without torch."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from otviz.core import datasets
from otviz.methods.params import MethodInfo, param
from otviz.methods.snapshot import Snapshot, expensive

DATASETS = datasets.offered("two_moons", "ring8", "gaussians", "swiss_roll", "grid25", "csv")


@dataclass
class RealNVPConfig:
    dataset: str = param("two_moons", choices=DATASETS, aliases=datasets.ALIASES, live=False,
                         help="Target points: two moons, 8 Gaussians on a ring, one Gaussian, swiss roll, "
                              "a 5×5 grid of Gaussians (spacing 1), or a CSV file")
    noise: float = param(0.05, lo=0.0, hi=0.5, live=False,
                         help="Spread of the dataset: the moons' noise, the std of each ring/grid Gaussian, "
                              "the swiss roll's noise")
    csv_path: str = param("", widget="file", live=False, help="CSV of points (dataset = csv); 20 % are held out")
    n_data: int = param(4000, lo=100, hi=100_000, live=False, help="Training points drawn from the dataset")
    n_flows: int = param(4, lo=1, hi=16, live=False, help="Affine coupling layers (4 is the classic two-moons setting)")
    hidden: int = param(256, lo=4, hi=1024, live=False, help="Width of the two hidden ReLU layers of each s, t net")
    tanh_s: bool = param(True, live=False, label="s through tanh",
                         help="Bound each layer's log-scale s with tanh; without it exp(s) can blow up and "
                              "training turns to NaN")
    lr: float = param(1e-3, lo=1e-6, hi=1.0, log=True, help="Adam learning rate")
    batch_size: int = param(256, lo=1, hi=8192, help="Points per training step", unit="points")
    eval_every: int = param(10, lo=1, hi=1000, help="Evaluate the held-out nll every this many steps",
                            unit="steps")
    w2_every: int = param(50, lo=0, hi=100_000, unit="steps", label="w2 every",
                          help="The yardstick w2 (2-Wasserstein distance of 500 model samples to as many "
                               "held-out data points) every this many steps; 0: off")


@dataclass(frozen=True)
class RealNVPSnapshot(Snapshot):
    n_flows: int
    data: np.ndarray                 # (m, 2) the data points shown
    nll: float                       # the held-out negative log-likelihood of the last evaluation
    # every picture that passes points through the flow: the layer stages both ways, the latent
    # points, the samples and the density. Stages are (n+1, …, 2): after 0…n layers, in x/z order.
    latent: np.ndarray | None = expensive()          # the shown data mapped to z
    base: np.ndarray | None = expensive()            # draws of the base distribution
    samples: np.ndarray | None = expensive()         # those draws mapped back to x
    fwd_points: np.ndarray | None = expensive()      # the data through the layers
    fwd_grid: np.ndarray | None = expensive()        # a grid over the data through them (NaN-separated)
    inv_points: np.ndarray | None = expensive()      # the base draws through the inverse layers
    inv_grid: np.ndarray | None = expensive()
    logp: np.ndarray | None = expensive()            # log p over the data's box (rows are y)
    logp_rect: tuple[float, float, float, float] | None = expensive()
    logp_levels: tuple[float, float] | None = expensive()


INFO = MethodInfo(name="realnvp", title="RealNVP", Config=RealNVPConfig,
                  metrics=("nll", "loss", "w2"),      # nll: held-out, every eval_every steps; loss: this batch's nll
                  method="otviz.methods.realnvp:RealNVPMethod")
