"""Coulomb GAN's parameters and MethodInfo; importable without torch."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from otviz.methods.params import MethodInfo, param
from otviz.methods.snapshot import Snapshot, expensive, per_frame


@dataclass
class CoulombConfig:
    mode: str = param("coulomb", choices=("coulomb", "gan"), live=False, label="objective",
                      help="coulomb: D fits the Plummer potential; gan: plain BCE GAN, same networks")
    eps0: float = param(3.0, lo=0.0, lo_open=True, hi=50.0, log=True, label="ε₀",
                        help="initial Plummer softening ε (3 in the Coulomb GAN experiments)")
    half_life: float = param(5000.0, lo=0.0, lo_open=True, hi=1e7, log=True, unit="steps",
                             label="ε half-life", help="ε(t) = ε₀·2^(−t/half-life)")
    d: float = param(3.0, lo=2.0, lo_open=True, hi=12.0, label="kernel d",
                     help="Plummer kernel dimension: φ(r) = −1/(r²+ε²)^((d−2)/2)")
    exclude_self: bool = param(True, label="exclude own term",
                               help="drop φ(0) = −1/ε^(d−2) (kept, targets blow up as ε shrinks)")
    normalize: str = param("sum", choices=("sum", "mean"), label="potential",
                           help="sum over the batch or mean (as in the Coulomb GAN authors' code)")
    lr: float = param(1e-3, lo=0.0, lo_open=True, hi=1.0, log=True, help="Adam learning rate of D and G")
    lr_decay: float = param(1e-4, lo=0.0, hi=1.0, label="lr decay",
                            help="Keras-style decay: lr/(1 + decay·step)")
    beta1: float = param(0.5, lo=0.0, hi=0.999, label="Adam β₁", help="Adam's first-moment decay (0.5, as usual for GANs)")
    batch_size: int = param(512, lo=8, hi=4096, log=True, unit="points",
                            help="real and fake points per step")
    noise: str = param("uniform", choices=("uniform", "normal"), live=False,
                       help="G's 4 inputs: uniform on [−1,1] or standard normal")
    samples_per_mode: int = param(4000, lo=10, hi=20000, live=False, unit="points",
                                  help="training points per Gaussian (25 of them)")
    eval_every: int = param(50, lo=1, hi=10000, unit="steps", label="metrics every",
                            help="mode coverage of 2,500 fixed-noise samples")
    gmm_every: int = param(2000, lo=0, hi=1_000_000, unit="steps", label="GMM fit every",
                           help="25-component GMM of the samples (0: on demand)")
    # 2,500 by default: the points drawn are then exactly the batch whose mode coverage is reported,
    # and drawing them every frame costs training little
    n_show: int = param(2500, lo=100, hi=50000, unit="points", label="points shown",
                        help="generated points drawn (fixed noise; the first 2,500 are the ones whose "
                             "mode coverage is reported)")
    heatmap_res: int = param(128, lo=16, hi=400, unit="px", label="heatmap resolution",
                             help="grid on which D is drawn")
    w2_every: int = param(60, lo=0, hi=100_000, unit="steps", label="w2 every",
                          help="the yardstick w2 (2-Wasserstein distance of 500 model samples to as many "
                               "held-out data points) every this many steps; 0: off")


@dataclass(frozen=True)
class CoulombSnapshot(Snapshot):
    mode: str                        # the objective: "coulomb" or "gan"
    centers: np.ndarray              # (25, 2) the true modes
    eps: float                       # the Plummer softening at this step
    # G at the shown noise: a pass of the generator at every frame
    fake: np.ndarray | None = per_frame()              # (n_show, 2) float32
    captured: np.ndarray | None = per_frame()          # (25,) bool: a generated point within 3σ of it
    modes: int | None = per_frame()
    high_quality: float | None = per_frame()           # share of the evaluation batch within 3σ of a mode
    # D over what its plot shows (rows are y), and the GMM fit of the generated points (slow)
    potential: np.ndarray | None = expensive()
    potential_levels: tuple[float, float] | None = expensive()
    potential_rect: tuple[float, float, float, float] | None = expensive()   # x0, y0, width, height
    gmm: np.ndarray | None = expensive()               # the 2σ ellipses as one NaN-separated polyline
    gmm_step: int | None = expensive()                 # the step the GMM was fitted at (None: not yet)


INFO = MethodInfo(name="coulomb", title="Coulomb GAN", Config=CoulombConfig,
                  metrics=("d_loss", "g_loss", "eps", "modes", "high_quality", "w2"),
                  method="otviz.methods.coulomb:CoulombMethod")
