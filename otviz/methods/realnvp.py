"""RealNVP tab's method: a normalizing flow trained by maximum likelihood on 2-D points, seen layer by layer."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from scipy.ndimage import zoom

from otviz.core import datasets
from otviz.core.flows import RealNVP, unswap
from otviz.methods.base import Method, param

DATASETS = ("moons", "ring8", "gaussian", "swiss_roll", "grid25", "csv")
N_HELD_OUT = 1000           # fixed held-out sample for the nll metric (built-in datasets)
N_SHOWN = 1000              # data / base points drawn and pushed through the layers
GRID_LINES, GRID_PTS = 15, 40
HEAT_RES, HEAT_UP = 64, 3   # log-density evaluated on 64², shown smoothly upsampled to 192²
Z_BOX = 3.0                 # the z-space grid spans [-3, 3]²


@dataclass
class RealNVPConfig:
    dataset: str = param("moons", choices=DATASETS, live=False,
                         help="Target points: two moons, 8 Gaussians on a ring, one Gaussian, swiss roll, "
                              "a 5×5 grid of Gaussians (spacing 1), or a CSV file")
    noise: float = param(0.05, lo=0.0, hi=0.5, live=False,
                         help="Spread of the dataset: the moons' noise, the std of each ring/grid Gaussian, "
                              "the swiss roll's noise")
    csv_path: str = param("", widget="file", live=False, help="CSV of points (dataset = csv); 20 % are held out")
    n_data: int = param(4000, lo=100, hi=100_000, live=False, help="Training points drawn from the dataset")
    n_flows: int = param(4, lo=1, hi=16, live=False, help="Affine coupling layers (the seed uses 4)")
    hidden: int = param(256, lo=4, hi=1024, live=False, help="Width of the two hidden ReLU layers of each s, t net")
    lr: float = param(1e-3, lo=1e-6, hi=1.0, log=True, help="Adam learning rate")
    batch_size: int = param(256, lo=1, hi=8192, help="Points per training step", unit="points")
    eval_every: int = param(10, lo=1, hi=1000, help="Evaluate the held-out nll every this many steps",
                            unit="steps")


class RealNVPMethod(Method):
    name = "realnvp"
    title = "RealNVP"
    Config = RealNVPConfig
    metrics = ("nll", "loss")      # nll: held-out, every eval_every steps; loss: this batch's nll
    checkpoint_every = 20          # a deep copy of ~0.8 M floats per step would cost more than the step

    # Fraction of the time the pictures may take while training streams frames (the GUI asks for 0.1
    # with the edit "snapshot_budget"); None: every snapshot is fresh (CLI, recording, tests).
    snapshot_budget: float | None = None

    def _check_config(self, cfg: RealNVPConfig) -> None:
        if cfg.dataset == "csv":
            if not cfg.csv_path:
                raise ValueError("dataset csv: choose a CSV file of points")
            n = len(datasets.load_points_csv(cfg.csv_path))
            if n < 10:
                raise ValueError(f"{cfg.csv_path}: {n} points; a flow needs at least 10 (2 are held out)")
        elif cfg.batch_size > cfg.n_data:     # (a small CSV file is sampled with replacement)
            raise ValueError(f"batch_size: {cfg.batch_size} is more than the {cfg.n_data} training points")

    # ------------------------------------------------------------------ data and model
    def _make_data(self) -> tuple[np.ndarray, np.ndarray]:
        cfg, rng = self.config, self.rng
        n = cfg.n_data + N_HELD_OUT
        if cfg.dataset == "moons":
            x = datasets.two_moons(n, rng, noise=cfg.noise)
        elif cfg.dataset == "ring8":
            x = datasets.ring8(n, rng, radius=2.0, std=cfg.noise)
        elif cfg.dataset == "gaussian":
            x = datasets.gaussian(n, rng, mean=(1.0, -0.5), std=0.5)
        elif cfg.dataset == "swiss_roll":
            x = datasets.swiss_roll(n, rng, noise=cfg.noise * 7.5)   # swiss_roll divides by 7.5
        elif cfg.dataset == "grid25":
            x = rng.permutation(datasets.grid25(n, rng, spacing=1.0, std=cfg.noise))
        else:
            x = rng.permutation(datasets.load_points_csv(cfg.csv_path))
            n_test = max(2, len(x) // 5)
            return x[n_test:], x[:n_test]
        return x[: cfg.n_data], x[cfg.n_data:]

    def _build(self) -> None:
        cfg = self.config
        self.flow = RealNVP(cfg.n_flows, cfg.hidden).to(self.device)
        self.opt = torch.optim.Adam(self.flow.parameters(), lr=cfg.lr)
        train, test = self._make_data()
        self._set_data(train, test)
        # fixed base draws, so generated samples move only because the model does
        self.z_shown = torch.randn(N_SHOWN, 2, generator=self.gen)
        self.last_nll = math.nan

    def _set_data(self, train: np.ndarray, test: np.ndarray) -> None:
        self.x_train = torch.tensor(train, dtype=torch.float32, device=self.device)
        self.x_test = torch.tensor(test, dtype=torch.float32, device=self.device)
        self.shown_idx = np.sort(self.rng.permutation(len(train))[:N_SHOWN])
        self._cache = None
        self._busy = 0.0              # training time since the pictures were last computed

    def _on_live_change(self, keys: set[str]) -> None:
        if "lr" in keys:
            for g in self.opt.param_groups:
                g["lr"] = self.config.lr

    # ------------------------------------------------------------------ training
    def _step(self) -> dict[str, float]:
        t0 = time.perf_counter()
        cfg = self.config
        idx = torch.randint(len(self.x_train), (cfg.batch_size,), generator=self.gen).to(self.device)
        loss = -self.flow.log_prob(self.x_train[idx]).mean()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        out = {"loss": loss.item()}
        if self.step_count == 0 or (self.step_count + 1) % cfg.eval_every == 0:
            out["nll"] = self.held_out_nll()
        self._busy += time.perf_counter() - t0
        return out

    @torch.no_grad()
    def held_out_nll(self) -> float:
        """Mean negative log-likelihood of the held-out points under the current model (nats)."""
        self.last_nll = -self.flow.log_prob(self.x_test).mean().item()
        return self.last_nll

    # ------------------------------------------------------------------ edits
    def edit(self, action: str, payload) -> None:
        """'points': train on these (N, 2) points instead (drawn in the view), 20 % held out;
        'refresh': recompute the pictures at the next snapshot; 'snapshot_budget': a fraction in
        (0, 1] of the time the pictures may take, or None for fresh pictures at every snapshot."""
        if action == "refresh":
            self._cache = None
            return
        if action == "snapshot_budget":
            if payload is not None and not 0 < float(payload) <= 1:
                raise ValueError(f"RealNVP: snapshot budget must be in (0, 1], got {payload}")
            self.snapshot_budget = None if payload is None else float(payload)
            return
        if action != "points":
            super().edit(action, payload)
        pts = np.asarray(payload, dtype=np.float64)
        if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 10 or not np.isfinite(pts).all():
            raise ValueError("RealNVP: a drawn target needs at least 10 finite (x, y) points")
        pts = self.rng.permutation(pts)
        n_test = max(2, len(pts) // 5)
        self._set_data(pts[n_test:], pts[:n_test])

    # ------------------------------------------------------------------ state
    def _state(self) -> dict:
        return {"flow": self.flow.state_dict(), "opt": self.opt.state_dict(), "x_train": self.x_train,
                "x_test": self.x_test, "z_shown": self.z_shown, "shown_idx": self.shown_idx,
                "last_nll": self.last_nll}

    def _load_state(self, state: dict) -> None:
        self.flow.load_state_dict(state["flow"])
        self.opt.load_state_dict(state["opt"])
        self._on_live_change({"lr"})            # the config's lr wins over the saved one
        self.x_train = state["x_train"].to(self.device)
        self.x_test = state["x_test"].to(self.device)
        self.z_shown = state["z_shown"].cpu()
        self.shown_idx = np.asarray(state["shown_idx"])
        self.last_nll = float(state["last_nll"])
        self._cache = None

    # ------------------------------------------------------------------ pictures
    def _snapshot(self) -> dict:
        """Fresh pictures, unless a snapshot budget is set (the GUI sets it through an edit) and they are due
        neither by the budget nor by idle time; then the last ones again, `flow_step` telling their age."""
        c, b = self._cache, self.snapshot_budget
        due = c is None or c["flow_step"] != self.step_count
        if due and c is not None and b is not None:
            wall = time.perf_counter() - self._cache_t
            idle = wall - self._busy      # time the caller spent waiting (demo pace, single steps)
            due = wall >= c["cost_s"] / b or idle >= c["cost_s"]
        if due:
            t0 = time.perf_counter()
            c = self._pictures()
            self._cache_t = time.perf_counter()
            self._busy = 0.0
            c["cost_s"] = self._cache_t - t0
            self._cache = c
        return {**c, "snapshot_budget": b}

    @torch.no_grad()
    def _pictures(self) -> dict:
        flow, n, dev = self.flow, self.config.n_flows, self.device
        data = self.x_train[torch.as_tensor(self.shown_idx, device=dev)]
        lo, hi = _box(self.x_train.cpu().numpy())
        gx = _grid_lines(lo, hi)
        gz = _grid_lines(np.full(2, -Z_BOX), np.full(2, Z_BOX))
        # forward: data and an x-space grid after 0…n layers; inverse: base draws and a z-space grid
        fwd_in = torch.cat([data, torch.tensor(gx, dtype=torch.float32, device=dev)])
        inv_in = unswap(torch.cat([self.z_shown.to(dev), torch.tensor(gz, dtype=torch.float32, device=dev)]), n)
        fwd = np.stack([unswap(s, k).cpu().numpy() for k, s in enumerate(flow.forward_stages(fwd_in))])
        inv = np.stack([unswap(s, n - j).cpu().numpy() for j, s in enumerate(flow.inverse_stages(inv_in))])
        m = len(data)
        # log-density on a grid over the data's box
        xs = np.linspace(lo[0], hi[0], HEAT_RES)
        ys = np.linspace(lo[1], hi[1], HEAT_RES)
        xx, yy = np.meshgrid(xs, ys)                  # rows = y, columns = x
        pts = torch.tensor(np.stack([xx.ravel(), yy.ravel()], 1), dtype=torch.float32, device=dev)
        logp = flow.log_prob(pts).cpu().numpy().reshape(HEAT_RES, HEAT_RES).astype(np.float64)
        logp = zoom(logp, HEAT_UP, order=1)          # linear: a cubic would ring at the sharp moon edges
        # levels from percentiles: a few thin folds of very high density must not wash the rest out
        top = float(np.percentile(logp, 99.5))
        levels = (max(float(np.percentile(logp, 2)), top - 12.0), top)
        return {
            "flow_step": self.step_count,
            "n_flows": n,
            "data": fwd[0, :m],
            "latent": fwd[-1, :m],
            "base": inv[0, :N_SHOWN],
            "samples": inv[-1, :N_SHOWN],
            "fwd_points": fwd[:, :m],                              # (n+1, m, 2)
            "fwd_grid": _nan_separate(fwd[:, m:]),                 # (n+1, lines·(pts+1), 2)
            "inv_points": inv[:, :N_SHOWN],
            "inv_grid": _nan_separate(inv[:, N_SHOWN:]),
            "logp": logp.astype(np.float32),
            "logp_rect": (float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1])),
            "logp_levels": levels,
            "nll": self.last_nll,
        }


def _box(x: np.ndarray, pad: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
    """The data's bounding box, padded and made square-ish so the grid is not squashed."""
    lo, hi = x.min(0), x.max(0)
    span = np.maximum(hi - lo, 1e-3)
    side = max(span.max() * (1 + 2 * pad), 1e-3)
    mid = (lo + hi) / 2
    half = np.maximum(span * (1 + 2 * pad), side * 0.6) / 2
    return mid - half, mid + half


def _grid_lines(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """GRID_LINES vertical then GRID_LINES horizontal lines of GRID_PTS points each, stacked."""
    u = np.linspace(0, 1, GRID_LINES)
    t = np.linspace(0, 1, GRID_PTS)
    gx = lo[0] + u * (hi[0] - lo[0])
    gy = lo[1] + u * (hi[1] - lo[1])
    lx = lo[0] + t * (hi[0] - lo[0])
    ly = lo[1] + t * (hi[1] - lo[1])
    vert = np.stack(np.broadcast_arrays(gx[:, None], ly[None, :]), -1)      # x fixed, y runs
    horiz = np.stack(np.broadcast_arrays(lx[None, :], gy[:, None]), -1)     # y fixed, x runs
    return np.concatenate([vert, horiz]).reshape(-1, 2)


def _nan_separate(stages: np.ndarray) -> np.ndarray:
    """(S, lines·pts, 2) -> (S, lines·(pts+1), 2) with a NaN row after each line (connect='finite')."""
    s = stages.reshape(stages.shape[0], -1, GRID_PTS, 2)
    pad = np.full(s.shape[:2] + (1, 2), np.nan, dtype=s.dtype)
    return np.concatenate([s, pad], 2).reshape(stages.shape[0], -1, 2)
