"""SW-GMM tab's method: fit a Gaussian mixture to 2-D points by the sliced p-Wasserstein distance."""
from __future__ import annotations

import math
import os

import numpy as np
import torch

from otviz.core import datasets
from otviz.core import gmm as G
from otviz.core import yardstick
from otviz.core.sliced import (angles_to_directions, gmm_cdf, gmm_quantile, max_sliced_direction,
                               parse_fixed_directions, project_gmm, random_directions, sliced_wasserstein_gmm,
                               wasserstein_to_gmm_1d)
from otviz.methods.base import Method
from otviz.methods.swgmm_config import AXES, INFO, SWGMMConfig, SWGMMSnapshot  # noqa: F401  (re-exported)

CDF_GRID = 200              # points of the GMM CDF curve in view (c)
MAX_SLICED_STEPS = 5        # Adam ascent steps on the angle per training step
# The EM reference is fitted at every rebuild, in the worker: its cost grows with points × K × iterations
# and a rebuild waits for it, so points, iterations and tolerance are bounded (small data sets converge
# long before the bounds; a big one would otherwise hold the rebuild for minutes).
EM_RESTARTS = 3
EM_TOL, EM_MAX_ITER, EM_MAX_POINTS = 1e-5, 300, 4000
NLL_MAX_POINTS = 5000       # the nll metric on a fixed random subset beyond this many points (exact below)


class SWGMMMethod(Method, info=INFO):
    Snapshot = SWGMMSnapshot

    def _check_config(self, cfg: SWGMMConfig) -> None:
        fixed = parse_fixed_directions(cfg.fixed_directions)
        if cfg.directions + len(fixed) == 0:
            raise ValueError("0 directions: use at least one random direction or one fixed direction")
        if cfg.dataset == "csv":
            if not cfg.csv_path:
                raise ValueError("dataset csv: choose a CSV file of points")
            # refused here, not mid-reset (the file is read once: the catalogue keeps it for the build)
            n = len(_zscored(datasets.load_points_csv(cfg.csv_path), os.path.basename(cfg.csv_path)))
        else:
            n = datasets.CATALOGUE[cfg.dataset].size or cfg.n_points
        if n < cfg.n_components:
            raise ValueError(f"components K: {cfg.n_components} components need at least as many points ({n})")

    # ------------------------------------------------------------------ data and model
    def _load_points(self) -> np.ndarray:
        """The data, z-scored; the yardstick's held-out points are drawn here too, in the same units."""
        cfg = self.config
        options = {"path": cfg.csv_path} if cfg.dataset == "csv" else {}
        x = datasets.make(cfg.dataset, cfg.n_points, self.rng, **options)
        z = _zscored(x, cfg.dataset)
        held = (yardstick.held_out(cfg.dataset, self.seed, **options) - x.mean(0)) / x.std(0)
        self._w2 = yardstick.W2Meter(held)
        # fixed draws for the mixture's samples, from their own generator (the training stream is untouched)
        rng = np.random.default_rng(yardstick.noise_seed(self.seed))
        self._w2_noise = rng.random(len(held)), rng.standard_normal((len(held), 2))
        return z

    def _build(self) -> None:
        cfg = self.config
        if self.device.type == "mps":
            raise ValueError("SW-GMM needs float64 (quantiles to 1e-12), which MPS does not have; use the CPU")
        self.x_np = self._load_points()
        self.x = torch.tensor(self.x_np, dtype=torch.float64, device=self.device)
        init = G.dirichlet_init(self.x_np, cfg.n_components, self.rng, cfg.covariance)
        t = lambda a: torch.tensor(a, dtype=torch.float64, device=self.device)
        self.logits = t(np.log(init.weights)).requires_grad_()
        self.means = t(init.means).requires_grad_()
        if cfg.covariance == "diag":
            self.log_var = t(np.log(init.covs)).requires_grad_()       # (K, 2)
            self.params = [self.logits, self.means, self.log_var]
        else:
            # Σ = LLᵀ with L lower-triangular, log-parametrised diagonal: always positive definite.
            chol = np.linalg.cholesky(init.covs)
            self.chol_log_diag = t(np.log(np.diagonal(chol, axis1=1, axis2=2))).requires_grad_()
            self.chol_off = t(chol[:, 1, 0]).requires_grad_()
            self.params = [self.logits, self.means, self.chol_log_diag, self.chol_off]
        restarts = EM_RESTARTS if len(self.x_np) * cfg.n_components <= 20_000 else 1
        self.em = G.em_fit(self.x_np, cfg.n_components, cfg.covariance, seed=self.seed, n_init=restarts,
                           tol=EM_TOL, max_iter=EM_MAX_ITER, max_points=EM_MAX_POINTS)
        sub = np.random.default_rng(self.seed).permutation(len(self.x_np))[:NLL_MAX_POINTS]
        self.x_nll = self.x_np if len(self.x_np) <= NLL_MAX_POINTS else self.x_np[np.sort(sub)]
        self.em_nll = G.mean_nll(self.x_nll, self.em)
        self.em_ellipses = (G.ellipse_polyline(self.em.means, self.em.covs),
                            G.ellipse_polyline(self.em.means, self.em.covs, _weight_scales(self.em.weights)))
        self._fixed = parse_fixed_directions(cfg.fixed_directions)
        self._max_angle = 0.0
        self._last_dirs = np.zeros((0, 2))
        self._last_sw = math.nan
        self._make_optimizer()

    def _make_optimizer(self) -> None:
        cfg = self.config
        if cfg.optimizer == "adam":
            self.opt = torch.optim.Adam(self.params, lr=cfg.lr)
        else:
            self.opt = torch.optim.RMSprop(self.params, lr=cfg.lr, centered=True)
        self._opt_kind = cfg.optimizer

    def _on_live_change(self, keys: set[str]) -> None:
        if "optimizer" in keys:
            self._make_optimizer()
        if "lr" in keys:
            for g in self.opt.param_groups:
                g["lr"] = self.config.lr
        if "fixed_directions" in keys:
            self._fixed = parse_fixed_directions(self.config.fixed_directions)

    def gmm_tensors(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(weights, means, covariances) as differentiable tensors; covariances (K,2) or (K,2,2)."""
        w = torch.softmax(self.logits, 0)
        if self.config.covariance == "diag":
            return w, self.means, torch.exp(self.log_var) + G.VAR_FLOOR
        d = torch.exp(self.chol_log_diag)
        zero = torch.zeros_like(self.chol_off)
        chol = torch.stack([torch.stack([d[:, 0], zero], -1), torch.stack([self.chol_off, d[:, 1]], -1)], -2)
        eye = torch.eye(2, dtype=chol.dtype, device=chol.device)
        return w, self.means, chol @ chol.transpose(-1, -2) + G.VAR_FLOOR * eye

    def current_gmm(self) -> G.GMM:
        with torch.no_grad():
            w, m, c = self.gmm_tensors()
        return G.GMM(*(t.detach().cpu().numpy().copy() for t in (w, m, c)))

    # ------------------------------------------------------------------ training
    def _directions(self, w, m, c) -> torch.Tensor:
        cfg = self.config
        rand = random_directions(cfg.directions, self.gen)
        fixed = angles_to_directions(self._fixed)
        if cfg.max_sliced:
            starts = np.concatenate([[self._max_angle], np.arctan2(rand[:, 1].numpy(), rand[:, 0].numpy()),
                                     np.radians(self._fixed)])
            self._max_angle, _ = max_sliced_direction(self.x, w, m, c, cfg.p, starts, steps=MAX_SLICED_STEPS)
            rand = angles_to_directions([math.degrees(self._max_angle)])
        return torch.cat([rand, fixed]).to(self.device)

    def _step(self) -> dict[str, float]:
        """One optimiser step on SW_p^p; `sw` is (SW_p^p)^(1/p) over this step's directions, before the update."""
        cfg = self.config
        w, m, c = self.gmm_tensors()
        dirs = self._directions(w, m, c)
        loss = sliced_wasserstein_gmm(self.x, w, m, c, dirs, cfg.p)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        self._last_dirs = dirs.cpu().numpy()
        sw_pp = loss.item()
        self._last_sw = max(sw_pp, 0.0) ** (1.0 / cfg.p)          # the plotted value: (SW_p^p)^(1/p)
        return {"sw": self._last_sw, "nll": G.mean_nll(self.x_nll, self.current_gmm()), "em_nll": self.em_nll,
                **self._w2.metrics(self.step_count + 1, cfg.w2_every, self.w2_samples)}

    def w2_samples(self) -> np.ndarray:
        """Draws from the fitted mixture at the yardstick's fixed randomness (as many as held-out points)."""
        g = self.current_gmm()
        return yardstick.gmm_samples(g.weights, g.means, g.full_covs, *self._w2_noise)

    # ------------------------------------------------------------------ views
    def _snapshot(self) -> SWGMMSnapshot:
        cfg = self.config
        g = self.current_gmm()
        covs = g.full_covs
        em = None
        if cfg.show_em:
            em = {"weights": self.em.weights, "means": self.em.means, "covs": self.em.full_covs,
                  "ellipses": self.em_ellipses[0], "ellipses_weighted": self.em_ellipses[1], "nll": self.em_nll}
        return SWGMMSnapshot(
            points=self.x_np, weights=g.weights, means=g.means, covs=covs,
            ellipses=G.ellipse_polyline(g.means, covs),
            ellipses_weighted=G.ellipse_polyline(g.means, covs, _weight_scales(g.weights)),
            directions=self._last_dirs, n_fixed=len(self._fixed), max_sliced=cfg.max_sliced,
            sw=self._last_sw, nll=G.mean_nll(self.x_nll, g), p=cfg.p, axis=cfg.axis,
            fixed_text=cfg.fixed_directions, dataset=cfg.dataset, em=em)

    def _compute_fields(self) -> dict:
        return self._axis_views(self.current_gmm())

    def _field_state(self) -> dict:
        # the mixture's free parameters: the data come from config and seed, and there are no edits
        return {"params": [p.detach().cpu().numpy().copy() for p in self.params]}

    def _load_field_state(self, state: dict) -> None:
        with torch.no_grad():
            for p, v in zip(self.params, state["params"]):
                p.copy_(torch.from_numpy(np.asarray(v)))

    def _axis_views(self, g: G.GMM) -> dict:
        """Per-point transport cost and CDF alignment along the chosen axis (views b and c)."""
        cfg = self.config
        d = angles_to_directions([AXES[cfg.axis]])
        x = torch.as_tensor(self.x_np)
        with torch.no_grad():
            m, v = project_gmm(torch.as_tensor(g.means), torch.as_tensor(g.covs), d)
            w = torch.as_tensor(g.weights)
            proj = (x @ d.T)[:, 0]
            total, cost = wasserstein_to_gmm_1d(proj, w, m[0], v[0], cfg.p, per_point=True)
            xs = proj.sort().values
            n = len(xs)
            levels = (torch.arange(n, dtype=torch.float64) + 0.5) / n
            q = gmm_quantile(levels, w, m[0], v[0])
            lo, hi = float(min(xs[0], q[0])), float(max(xs[-1], q[-1]))
            pad = 0.1 * (hi - lo) + 1e-9
            grid = torch.linspace(lo - pad, hi + pad, CDF_GRID, dtype=torch.float64)
            cdf = gmm_cdf(grid, w, m[0], v[0])
        return {"proj_axis": cfg.axis, "axis_dir": d[0].numpy(), "proj": proj.numpy(), "cost": cost.numpy(),
                "axis_wpp": float(total),
                "cdf_x": xs.numpy(), "cdf_levels": levels.numpy(), "gmm_quantiles": q.numpy(),
                "cdf_grid": grid.numpy(), "gmm_cdf": cdf.numpy()}

    # ------------------------------------------------------------------ state
    def _state(self) -> dict:
        s = {"params": [p.detach().clone() for p in self.params], "opt": self.opt.state_dict(),
             "opt_kind": self._opt_kind, "max_angle": torch.tensor(self._max_angle, dtype=torch.float64),
             "w2": self._w2.state()}
        return s

    def _load_state(self, state: dict) -> None:
        with torch.no_grad():
            for p, v in zip(self.params, state["params"]):
                p.copy_(v.to(self.device))
        if state["opt_kind"] == self.config.optimizer:
            self._make_optimizer()
            self.opt.load_state_dict(state["opt"])
        else:
            self._make_optimizer()
        self._max_angle = float(state["max_angle"])
        self._w2.load_state(state.get("w2"))


def _zscored(x: np.ndarray, name: str) -> np.ndarray:
    sd = x.std(0)
    if len(x) < 2 or (sd < 1e-12).any():
        raise ValueError(f"{name}: the points need a spread in both columns to be z-scored")
    return (x - x.mean(0)) / sd


def _weight_scales(weights: np.ndarray) -> np.ndarray:
    """The faint weight-scaled ellipses: σ scaled by √(π_k / mean π)."""
    return np.sqrt(weights / weights.mean())
