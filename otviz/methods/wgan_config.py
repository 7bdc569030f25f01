"""WGAN's parameters, modes with their reference settings, and MethodInfo; importable without torch."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from otviz.core import datasets
from otviz.methods.params import MethodInfo, param
from otviz.methods.snapshot import Snapshot, expensive, per_frame

# The position in this tuple fixes each dataset's data seed (see wgan._data_seed): add at the end only.
DATASETS = datasets.offered("ring8", "grid25", "swiss_roll", "two_moons", "parallel_lines", "csv")
MODES = ("clip", "gp", "gan")                        # the losses of otviz.core.wgan

# The reference settings of each mode (Arjovsky's WGAN code; Gulrajani's WGAN-GP toy code). Switching mode
# moves optimiser, lr and n_critic to the new mode's values unless the user had changed them.
MODE_DEFAULTS: dict[str, dict[str, Any]] = {
    "clip": {"optimizer": "rmsprop", "lr": 5e-5, "n_critic": 5},
    "gp": {"optimizer": "adam", "lr": 1e-4, "n_critic": 5},
    "gan": {"optimizer": "adam", "lr": 1e-4, "n_critic": 1},
}

N_EVAL = 2500                                        # generated samples for mode coverage


@dataclass
class WGANConfig:
    dataset: str = param("ring8", choices=DATASETS, aliases=datasets.ALIASES, live=False,
                         help="Real data: 8 Gaussians on a ring, 5×5 grid, swiss roll, two moons, the "
                              "parallel lines, or a CSV file of points")
    csv_path: str = param("", live=False, widget="file", help="CSV file of 2-D points (dataset = csv)")
    mode: str = param("gp", choices=MODES,
                      help="clip: weight clipping (original WGAN); gp: gradient penalty (WGAN-GP); "
                           "gan: plain GAN with BCE, for contrast. Switching sets the mode's optimiser, lr "
                           "and n_critic unless you changed them")
    optimizer: str = param("adam", choices=("rmsprop", "adam"),
                           help="Both networks' optimiser (Adam uses β = (0.5, 0.9) as in WGAN-GP)")
    lr: float = param(1e-4, lo=1e-6, hi=1e-2, log=True, help="Learning rate of both networks")
    clip: float = param(0.01, lo=1e-4, hi=1.0, log=True, label="clip c",
                        help="clip mode: every critic weight is clamped to [−c, c] after each update")
    gp_lambda: float = param(0.1, lo=1e-3, hi=100.0, log=True, label="λ (gp)",
                             help="gp mode: weight of the penalty (‖∇f‖ − 1)²; the toy code used 0.1")
    n_critic: int = param(5, lo=1, hi=100, help="Critic updates per generator update")
    boost_critic: bool = param(True, help="clip mode: 100 critic updates for the first 25 generator steps "
                                          "and every 500th (Arjovsky's schedule)")
    batch_size: int = param(256, lo=8, hi=4096, help="Real and generated samples per update")
    width: int = param(128, lo=8, hi=1024, live=False, help="Units per hidden layer (toy code: 512)")
    depth: int = param(3, lo=1, hi=6, live=False, help="Hidden ReLU layers of both networks")
    noise_dim: int = param(2, lo=1, hi=64, live=False, help="Dimension of the generator's Gaussian noise")
    n_points: int = param(20000, lo=100, hi=200000, live=False, help="Size of the real data set")
    n_show: int = param(2000, lo=100, hi=10000, help="Generated points drawn (fixed noise, so they move smoothly)")
    heatmap_res: int = param(96, lo=16, hi=256, help="Critic heatmap resolution (pixels a side)")
    coverage_every: int = param(50, lo=1, hi=5000, help="Steps between mode-coverage evaluations "
                                                        f"({N_EVAL} samples; ring and grid only)")
    w2_every: int = param(25, lo=0, hi=100_000, unit="steps", label="w2 every",
                          help="The yardstick w2 (2-Wasserstein distance of 500 model samples to as many "
                               "held-out data points) every this many steps; 0: off")


@dataclass(frozen=True)
class WGANSnapshot(Snapshot):
    real: np.ndarray                 # (≤ n_show, 2) float32: the training points shown
    rect: tuple[float, float, float, float]             # the data's box: x0, y0, width, height
    mode: str
    dataset: str
    optimizer_settings: dict[str, Any]                  # {"optimizer", "lr", "n_critic"} in force
    centers: np.ndarray              # (k, 2) the dataset's modes; (0, 2) when it has none
    w_estimate: float                # E f(real) − E f(fake) of the last critic step
    coverage: tuple[float, float] | None               # (modes, high quality) of the last evaluation
    n_modes: int
    # G at the shown noise, and the critic's push at some of those points: at every frame
    fake: np.ndarray | None = per_frame()               # (n_show, 2) float32
    arrows: np.ndarray | None = per_frame()             # (2·arrows, 2): start and end of each, in turn
    push_mean: float | None = per_frame()
    arrow_scale: float | None = per_frame()             # drawn length over the push's norm
    # the critic over what its plot shows (rows are y)
    field: np.ndarray | None = expensive()
    field_rect: tuple[float, float, float, float] | None = expensive()
    field_levels: tuple[float, float] | None = expensive()
    lipschitz: float | None = expensive()               # its steepest slope over the data box


INFO = MethodInfo(name="wgan", title="WGAN", Config=WGANConfig,
                  metrics=("w_estimate", "d_loss", "g_loss", "modes", "high_quality", "w2"),
                  method="otviz.methods.wgan:WGANMethod")
