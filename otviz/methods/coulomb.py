"""Coulomb GAN on the 5×5 grid of Gaussians, with a plain-GAN (BCE) toggle for contrast."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.mixture import GaussianMixture

from otviz.core import coulomb as cp
from otviz.core import yardstick
from otviz.core.datasets import grid25, grid25_centers
from otviz.core.gan import keras_lr, mlp, sample_noise, set_requires_grad
from otviz.core.gmm import ellipse_polyline
from otviz.core.metrics import mode_coverage
from otviz.core.wgan import field_on_grid
from otviz.methods.base import Method, load_module_weights, module_weights
from otviz.methods.coulomb_config import INFO, CoulombConfig, CoulombSnapshot  # noqa: F401  (re-exported)
from otviz.methods.heat_extent import checked_view_rect, heat_grid

GRID_STD = math.sqrt(0.1)          # each Gaussian's variance is 0.1
EXTENT = 30.0                      # the heatmap covers [−30, 30]² until the view says what it shows
N_EVAL = 2500                      # generated samples for mode coverage (the usual 100 per mode)
GRID_SPACING = 10.5                # the centres' lattice: grid25_centers()


class CoulombMethod(Method, info=INFO):
    checkpoint_every = 10            # a deep copy of both nets and optimisers each step would cost more than the step
    Snapshot = CoulombSnapshot
    # What the potential's plot shows, as the view last said ("view_rect" edit); None: [−EXTENT, EXTENT]².
    # It is about the window, not the run, so a reset or a rebuild keeps it.
    heat_view: tuple[float, float, float, float] | None = None

    # -- building ---------------------------------------------------------------
    def _build(self) -> None:
        cfg, dev = self.config, self.device
        self.centers = grid25_centers()
        # drawn from the run's seed itself (not the running rng), so a rebuild on another device keeps the data
        data = grid25(25 * cfg.samples_per_mode, np.random.default_rng(self.seed), std=GRID_STD)
        self.data = torch.as_tensor(data, dtype=torch.float32, device=dev)
        self.G = mlp(4, 2, generator=self.gen).to(dev)
        self.D = mlp(2, 1, generator=self.gen).to(dev)
        betas = (cfg.beta1, 0.999)
        fused = dict(fused=True) if dev.type == "cpu" else {}    # one kernel for all tensors, not several per tensor
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr, betas=betas, **fused)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr, betas=betas, **fused)
        self.epoch, self.cursor = 0, 0
        self._shuffled = self._epoch_data()
        # fixed noise for the metrics and the view, from its own generator so showing more points
        # never changes the training draws
        self._z_show = self._show_noise(cfg.n_show)
        self.last = {"d_loss": 0.0, "g_loss": 0.0, "modes": 0.0, "high_quality": 0.0}
        self._eval_at = -1
        # the yardstick: held-out points of the grid and fixed noise, each from a generator of its own
        self._w2 = yardstick.W2Meter(yardstick.held_out("grid25", self.seed, spacing=GRID_SPACING, std=GRID_STD))
        g = torch.Generator().manual_seed(yardstick.noise_seed(self.seed))
        self._z_w2 = sample_noise(self._w2.n, 4, cfg.noise, g).to(dev)
        self._gmm: dict[str, Any] | None = None
        self._gmm_asked_at = -1          # step of the last "fit_gmm" edit (-1: none since the reset)

    def _epoch_data(self) -> torch.Tensor:
        """The data shuffled for the current epoch (re-derived from seed and epoch, so it needs no
        saving); batches are then contiguous slices, cheaper than a gather every step."""
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        return self.data[torch.randperm(len(self.data), generator=g).to(self.device)]

    def _show_noise(self, n: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed + 7919)
        return sample_noise(max(n, N_EVAL), 4, self.config.noise, g).to(self.device)

    def _real_batch(self, b: int) -> torch.Tensor:
        """Sequential mini-batches of a per-epoch shuffle (no duplicates in a batch)."""
        if self.cursor + b > len(self.data):
            self.epoch, self.cursor = self.epoch + 1, 0
            self._shuffled = self._epoch_data()
        batch = self._shuffled[self.cursor:self.cursor + b]
        self.cursor += b
        return batch

    def _check_config(self, cfg: CoulombConfig) -> None:
        if cfg.batch_size > 25 * cfg.samples_per_mode:
            raise ValueError(f"batch_size: {cfg.batch_size} is more than the {25 * cfg.samples_per_mode} "
                             "training points")

    def _on_live_change(self, keys: set[str]) -> None:
        if "n_show" in keys:
            self._z_show = self._show_noise(self.config.n_show)

    # -- training -----------------------------------------------------------------
    @property
    def eps(self) -> float:
        return cp.eps_at(self.step_count, self.config.eps0, self.config.half_life)

    def _step(self) -> dict[str, float]:
        cfg, b = self.config, self.config.batch_size
        lr = keras_lr(cfg.lr, cfg.lr_decay, self.step_count)
        for opt in (self.opt_d, self.opt_g):
            for group in opt.param_groups:
                group["lr"], group["betas"] = lr, (cfg.beta1, 0.999)
        real = self._real_batch(b)
        # One batch of fakes serves both updates, in the Coulomb GAN authors' order: G first descends
        # the D of the previous step at these fakes, then D is fitted to the potential at them. (The
        # authors draw fresh noise for G; sharing saves a third generator pass, and G never follows a
        # D that has just been fitted to the very same points.)
        fake = self.G(self._noise(b))

        # generator: descend D's potential (Coulomb) or fool D (non-saturating GAN loss)
        set_requires_grad(self.D, False)
        try:
            score = self.D(fake).squeeze(1)
            if cfg.mode == "coulomb":
                g_loss = score.mean()
            else:
                g_loss = F.binary_cross_entropy_with_logits(score, torch.ones_like(score))
            self.opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            self.opt_g.step()
        finally:
            set_requires_grad(self.D, True)

        # discriminator: regress the potential (Coulomb) or classify real/fake (GAN)
        fake = fake.detach()
        out = self.D(torch.cat([real, fake])).squeeze(1)
        if cfg.mode == "coulomb":
            pot_real, pot_fake = cp.potentials(real, fake, self.eps, cfg.d, cfg.exclude_self,
                                                cfg.normalize == "mean")
            d_loss = F.mse_loss(out, torch.cat([pot_real, pot_fake]))
        else:
            labels = torch.cat([out.new_ones(b), out.new_zeros(b)])
            d_loss = F.binary_cross_entropy_with_logits(out, labels)
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()

        self.last["d_loss"], self.last["g_loss"] = d_loss.item(), g_loss.item()
        if (self.step_count + 1) % cfg.eval_every == 0 or self._eval_at < 0:
            self._evaluate()
        return {**self.last, "eps": self.eps if cfg.mode == "coulomb" else 0.0,
                **self._w2.metrics(self.step_count + 1, cfg.w2_every, self.w2_samples)}

    @torch.no_grad()
    def w2_samples(self) -> np.ndarray:
        """The generator at the yardstick's fixed noise."""
        return self.G(self._z_w2).double().cpu().numpy()

    def _noise(self, n: int) -> torch.Tensor:
        return sample_noise(n, 4, self.config.noise, self.gen).to(self.device)

    @torch.no_grad()
    def _generated(self, n: int) -> np.ndarray:
        return self.G(self._z_show[:n]).double().cpu().numpy()

    def _evaluate(self) -> None:
        """Mode coverage on the fixed evaluation batch; between evaluations the last value is repeated."""
        modes, hq = mode_coverage(self._generated(N_EVAL), self.centers, GRID_STD)
        self.last["modes"], self.last["high_quality"] = float(modes), hq
        self._eval_at = self.step_count + 1

    # -- views --------------------------------------------------------------------
    def edit(self, action: str, payload: Any) -> None:
        if action == "fit_gmm":          # a GMM fit at the next fields, whichever instance computes them
            self._gmm_asked_at = self.step_count
            return
        if action == "view_rect":        # (x0, y0, width, height) the potential's plot shows
            self.heat_view = checked_view_rect(payload, self.title)
            return
        super().edit(action, payload)

    def _snapshot(self) -> CoulombSnapshot:
        return CoulombSnapshot(mode=self.config.mode, centers=self.centers, eps=self.eps)

    def _compute_frame_fields(self) -> dict[str, Any]:
        with torch.no_grad():
            fake = self.G(self._z_show[:self.config.n_show]).float().cpu().numpy()
        counts = lattice_counts(fake[:N_EVAL], GRID_STD)          # the evaluation batch, now
        return {"fake": fake, "captured": counts > 0, "modes": int((counts > 0).sum()),
                "high_quality": float(counts.sum() / N_EVAL)}

    def _compute_fields(self) -> dict[str, Any]:
        if self._gmm is not None and self._gmm["step"] > self.step_count:
            self._gmm = None             # fitted to a later state than this one: a reset or a restore
        if self._gmm_due():
            self._gmm = fit_gmm_ellipses(self._generated(N_EVAL), self.step_count, self.seed)
        return {**self._heatmap(), "gmm": None if self._gmm is None else self._gmm["ellipses"],
                "gmm_step": None if self._gmm is None else self._gmm["step"]}

    def _gmm_due(self) -> bool:
        """Asked for since the last fit, or a multiple of gmm_every passed since it (the first fit as soon
        as training has begun). Decided from the step alone, so that an instance that only computes the
        fields, and sees only some of the steps, fits when the training instance would."""
        fitted = -1 if self._gmm is None else self._gmm["step"]
        if self._gmm_asked_at > fitted:
            return True
        every, step = self.config.gmm_every, self.step_count
        return every > 0 and step > 0 and (fitted < 0 or step // every > fitted // every)

    def _field_state(self) -> dict[str, Any]:
        # D for the potential, over what its plot shows; G for the GMM of the generated points, when
        # one is due
        return {"G": module_weights(self.G), "D": module_weights(self.D), "gmm_asked_at": self._gmm_asked_at,
                "heat_view": self.heat_view}

    def _load_field_state(self, state: dict[str, Any]) -> None:
        load_module_weights(self.G, state["G"])
        load_module_weights(self.D, state["D"])
        self._gmm_asked_at = int(state["gmm_asked_at"])
        view = state.get("heat_view")
        self.heat_view = None if view is None else tuple(float(v) for v in view)

    def _frame_state(self) -> dict[str, Any]:
        return {"G": module_weights(self.G)}        # the shown points need the generator only

    def _load_frame_state(self, state: dict[str, Any]) -> None:
        load_module_weights(self.G, state["G"])

    @torch.no_grad()
    def _heatmap(self) -> dict[str, Any]:
        """D over what its plot shows (rows are y, columns x). The colour levels are centred on the map's
        median (G follows only D's gradient, so the offset carries no meaning) and span its robust
        extremes, so wells and hills stand out against whatever D extrapolates into empty space."""
        rect, shape = heat_grid(self.heat_view, (-EXTENT, -EXTENT, 2 * EXTENT, 2 * EXTENT), self.config.heatmap_res)
        x0, y0, w, h = rect
        z = field_on_grid(self.D, (x0, x0 + w, y0, y0 + h), shape, self.device).cpu().numpy()
        mid = float(np.median(z))
        half = float(np.percentile(np.abs(z - mid), 99.5)) or 1.0
        return {"potential": z.astype(np.float32), "potential_levels": (mid - half, mid + half),
                "potential_rect": rect}

    def _nonfinite_state(self) -> list[str]:
        """NaN/Inf in the weights (one reduction per network; Adam's moments go bad only after them)."""
        bad = []
        for name, net in (("G", self.G), ("D", self.D)):
            total = torch.stack([p.detach().sum() for p in net.parameters()]).sum()
            if not torch.isfinite(total):
                bad.append(f"{name} weights")
        return bad

    # -- state --------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {"G": self.G.state_dict(), "D": self.D.state_dict(), "opt_g": self.opt_g.state_dict(),
                "opt_d": self.opt_d.state_dict(), "epoch": self.epoch, "cursor": self.cursor,
                "last": dict(self.last), "eval_at": self._eval_at, "w2": self._w2.state()}

    def _load_state(self, state: dict[str, Any]) -> None:
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        if state["epoch"] != self.epoch:
            self.epoch = state["epoch"]
            self._shuffled = self._epoch_data()
        self.cursor = state["cursor"]
        self.last = dict(state["last"])
        # when the restored metrics were measured (-1: never, so the next step measures them); files
        # from before it was kept: the restored metrics stand until the next evaluation
        self._eval_at = int(state.get("eval_at", max(self._eval_at, 0)))
        self._w2.load_state(state.get("w2"))


def lattice_counts(x: np.ndarray, std: float, n_std: float = 3.0) -> np.ndarray:
    """samples_per_mode for the 5×5 lattice of grid25_centers(), in the same order: the nearest centre
    of a lattice is the nearest grid line on each axis, so there is no (points × 25) distance table
    to build at every frame."""
    x = np.asarray(x, dtype=np.float64)
    finite = np.isfinite(x).all(1)
    x = np.where(finite[:, None], x, 0.0)
    ij = np.clip(np.rint(x / GRID_SPACING) + 2, 0, 4)
    off = x - (ij - 2) * GRID_SPACING
    good = finite & ((off ** 2).sum(1) <= (n_std * std) ** 2)
    idx = (ij[:, 0] * 5 + ij[:, 1]).astype(np.intp)
    return np.bincount(idx[good], minlength=25)


def fit_gmm_ellipses(x: np.ndarray, step: int, seed: int, k: int = 25, n_std: float = 2.0,
                     n_vertices: int = 48) -> dict[str, Any]:
    """A k-component full-covariance GMM fitted to points, as n_std-σ ellipse outlines joined by NaN
    rows (one polyline for all of them) plus means and weights."""
    x = x[np.isfinite(x).all(1)]
    gm = GaussianMixture(n_components=k, covariance_type="full", random_state=seed % (2**31), max_iter=100,
                         reg_covar=1e-4).fit(x)
    ellipses = ellipse_polyline(gm.means_, gm.covariances_, n_std, n=n_vertices)
    return {"step": step, "ellipses": ellipses.astype(np.float32),
            "means": gm.means_, "weights": gm.weights_}
