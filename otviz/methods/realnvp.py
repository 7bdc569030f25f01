"""RealNVP tab's method: a normalizing flow trained by maximum likelihood on 2-D points, seen layer by layer."""
from __future__ import annotations

import math

import numpy as np
import torch
from scipy.ndimage import zoom

from otviz.core import datasets, yardstick
from otviz.core.flows import RealNVP, unswap
from otviz.methods.base import Method, load_module_weights, module_weights
from otviz.methods.realnvp_config import INFO, RealNVPConfig, RealNVPSnapshot  # noqa: F401  (re-exported)

N_HELD_OUT = 1000           # fixed held-out sample for the nll metric (built-in datasets)
N_SHOWN = 1000              # data / base points drawn and pushed through the layers
GRID_LINES, GRID_PTS = 21, 30
GRID_REACH = 1.0            # the warped grid is kept in the cells (this many grid cells wide) next to points
HEAT_RES, HEAT_UP = 80, 4   # log-density on 80 points along the box's long side, shown upsampled 4×


class RealNVPMethod(Method, info=INFO):
    checkpoint_every = 20          # a deep copy of ~0.8 M floats per step would cost more than the step
    Snapshot = RealNVPSnapshot

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
        x = datasets.make(cfg.dataset, n, rng, **_options(cfg))
        if cfg.dataset in ("grid25", "csv"):          # both come ordered (by centre, as in the file)
            x = rng.permutation(x)
        if cfg.dataset == "csv":
            n_test = max(2, len(x) // 5)
            return x[n_test:], x[:n_test]
        return x[: cfg.n_data], x[cfg.n_data:]

    def _build(self) -> None:
        cfg = self.config
        self.flow = RealNVP(cfg.n_flows, cfg.hidden, bound_s=cfg.tanh_s).to(self.device)
        self.opt = torch.optim.Adam(self.flow.parameters(), lr=cfg.lr)
        train, test = self._make_data()
        # the yardstick's held-out points (a CSV file's: its held-out share) and fixed base draws, each
        # from a generator of its own: measuring w2 never shifts training draws
        self._held_builtin = None if cfg.dataset == "csv" else yardstick.held_out(cfg.dataset, self.seed,
                                                                                   **_options(cfg))
        g = torch.Generator().manual_seed(yardstick.noise_seed(self.seed))
        self._z_w2 = torch.randn(yardstick.N_W2, 2, generator=g).to(self.device)
        self._set_data(train, test)
        self._view_built = self._view
        # fixed base draws, so generated samples move only because the model does
        self.z_shown = torch.randn(N_SHOWN, 2, generator=self.gen)
        self.last_nll = math.nan

    def _set_data(self, train: np.ndarray, test: np.ndarray, drawn: bool = False) -> None:
        self.x_train = torch.tensor(train, dtype=torch.float32, device=self.device)
        self.x_test = torch.tensor(test, dtype=torch.float32, device=self.device)
        self.shown_idx = np.sort(self.rng.permutation(len(train))[:N_SHOWN])
        self._view = self._view_of_data()
        self._new_w2_meter(drawn)

    def _new_w2_meter(self, drawn: bool) -> None:
        """The yardstick against the dataset's held-out points, or, for a drawn target or a CSV file,
        against the held-out share of its own points."""
        self._drawn = drawn
        builtin = None if drawn else self._held_builtin
        self._w2 = yardstick.W2Meter(builtin if builtin is not None else
                                     yardstick.subset(self.x_test.double().cpu().numpy(), self.seed))

    def _view_of_data(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What the pictures are drawn over: the shown data points and the data's box (lo, hi)."""
        x = self.x_train.cpu().numpy()
        return (x[self.shown_idx].copy(), *_box(x))

    def _on_live_change(self, keys: set[str]) -> None:
        if "lr" in keys:
            for g in self.opt.param_groups:
                g["lr"] = self.config.lr

    # ------------------------------------------------------------------ training
    def _step(self) -> dict[str, float]:
        cfg = self.config
        idx = torch.randint(len(self.x_train), (cfg.batch_size,), generator=self.gen).to(self.device)
        loss = -self.flow.log_prob(self.x_train[idx]).mean()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        out = {"loss": loss.item()}
        if self.step_count == 0 or (self.step_count + 1) % cfg.eval_every == 0:
            out["nll"] = self.held_out_nll()
        out.update(self._w2.metrics(self.step_count + 1, cfg.w2_every, self.w2_samples))
        return out

    @torch.no_grad()
    def w2_samples(self) -> np.ndarray:
        """Samples of the flow: the yardstick's fixed base draws mapped back to x."""
        return self.flow.inverse(self._z_w2[:self._w2.n]).double().cpu().numpy()

    @torch.no_grad()
    def held_out_nll(self) -> float:
        """Mean negative log-likelihood of the held-out points under the current model (nats)."""
        self.last_nll = -self.flow.log_prob(self.x_test).mean().item()
        return self.last_nll

    # ------------------------------------------------------------------ edits
    def edit(self, action: str, payload) -> None:
        """'points': train on these (N, 2) points instead (drawn in the view), 20 % held out."""
        if action != "points":
            super().edit(action, payload)
        pts = np.asarray(payload, dtype=np.float64)
        if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 10 or not np.isfinite(pts).all():
            raise ValueError("RealNVP: a drawn target needs at least 10 finite (x, y) points")
        pts = self.rng.permutation(pts)
        n_test = max(2, len(pts) // 5)
        self._set_data(pts[n_test:], pts[:n_test], drawn=True)

    # ------------------------------------------------------------------ state
    def _state(self) -> dict:
        return {"flow": self.flow.state_dict(), "opt": self.opt.state_dict(), "x_train": self.x_train,
                "x_test": self.x_test, "z_shown": self.z_shown, "shown_idx": self.shown_idx,
                "last_nll": self.last_nll, "w2": {**self._w2.state(), "drawn": self._drawn}}

    def _load_state(self, state: dict) -> None:
        self.flow.load_state_dict(state["flow"])
        self.opt.load_state_dict(state["opt"])
        self._on_live_change({"lr"})            # the config's lr wins over the saved one
        self.x_train = state["x_train"].to(self.device)
        self.x_test = state["x_test"].to(self.device)
        self.z_shown = state["z_shown"].cpu()
        self.shown_idx = np.asarray(state["shown_idx"])
        self.last_nll = float(state["last_nll"])
        self._view = self._view_of_data()
        w2 = state.get("w2") or {}
        self._new_w2_meter(bool(w2.get("drawn", False)))
        self._w2.load_state(w2)

    # ------------------------------------------------------------------ pictures
    def _snapshot(self) -> RealNVPSnapshot:
        return RealNVPSnapshot(n_flows=self.config.n_flows, data=self._view[0], nll=self.last_nll)

    def _field_state(self) -> dict:
        state = {"flow": module_weights(self.flow)}
        shown, lo, hi = self._view
        built = self._view_built
        if not (np.array_equal(shown, built[0]) and np.array_equal(lo, built[1]) and np.array_equal(hi, built[2])):
            state["shown"], state["box"] = shown, np.stack([lo, hi])      # a drawn target replaced the data
        return state

    def _load_field_state(self, state: dict) -> None:
        load_module_weights(self.flow, state["flow"])
        if "shown" in state:
            box = np.asarray(state["box"])
            self._view = (np.asarray(state["shown"]), box[0], box[1])
        else:
            self._view = self._view_built

    @torch.no_grad()
    def _compute_fields(self) -> dict:
        shown, lo, hi = self._view
        fwd = self._stages(shown, forward=True)                 # data after 0…n layers: (n+1, m, 2)
        inv = self._stages(self.z_shown.numpy(), forward=False)  # base draws after 0…n inverse layers
        # Each direction's grid is drawn, at each stage, only where its cloud is (data and samples going
        # forward, base draws and the latent going back): away from them the flow is unconstrained,
        # folds the plane, and the grid there is a tangle that hides the bending of the rest.
        fwd_cloud, inv_cloud = np.concatenate([fwd, inv[::-1]], 1), np.concatenate([inv, fwd[::-1]], 1)
        fwd_grid = _keep_near(self._stages(_grid_over(fwd_cloud[0]), forward=True), fwd_cloud)
        inv_grid = _keep_near(self._stages(_grid_over(inv_cloud[0]), forward=False), inv_cloud)
        logp, levels = self._density(lo, hi)
        return {
            "latent": fwd[-1],
            "base": inv[0],
            "samples": inv[-1],
            "fwd_points": fwd,
            "fwd_grid": _nan_separate(fwd_grid),                   # (n+1, lines·(pts+1), 2)
            "inv_points": inv,
            "inv_grid": _nan_separate(inv_grid),
            "logp": logp,
            "logp_rect": (float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1])),
            "logp_levels": levels,
        }

    def _stages(self, x: np.ndarray, forward: bool) -> np.ndarray:
        """Points (NaN rows stay NaN, unevaluated) after 0…n layers of the flow or of its inverse, in
        x/z coordinates (the layers swap the halves; the stages are shown unswapped)."""
        n, dev = self.config.n_flows, self.device
        out = np.full((n + 1, *x.shape), np.nan, dtype=np.float32)
        ok = np.isfinite(x).all(1)
        pts = torch.as_tensor(x[ok], dtype=torch.float32, device=dev)
        if forward:
            stages = [unswap(s, k) for k, s in enumerate(self.flow.forward_stages(pts))]
        else:
            stages = [unswap(s, n - j) for j, s in enumerate(self.flow.inverse_stages(unswap(pts, n)))]
        out[:, ok] = np.stack([s.cpu().numpy() for s in stages])
        return out

    def _density(self, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
        """log p on square cells over the data's box (its corners included), upsampled smoothly, and its
        colour levels. The upsampling is a cubic B-spline without prefilter: each pixel a weighted mean of
        its neighbours with positive weights, so it cannot ring at the sharp moon edges as an
        interpolating cubic does, and a fold thinner than a cell reads as a line, not as a row of beads."""
        span = hi - lo
        nx, ny = np.maximum(2, np.round(HEAT_RES * span / span.max())).astype(int)
        xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], nx), np.linspace(lo[1], hi[1], ny))  # rows = y
        pts = torch.tensor(np.stack([xx.ravel(), yy.ravel()], 1), dtype=torch.float32, device=self.device)
        logp = self.flow.log_prob(pts).cpu().numpy().reshape(ny, nx).astype(np.float64)
        logp = zoom(logp, HEAT_UP, order=3, prefilter=False, mode="nearest")
        # levels from percentiles: a few thin folds of very high density must not wash the rest out
        top = float(np.percentile(logp, 99.5))
        return logp.astype(np.float32), (max(float(np.percentile(logp, 2)), top - 12.0), top)


def _options(cfg: RealNVPConfig) -> dict:
    """The dataset generator's options (datasets.make): `noise` is the one spread control, each
    dataset reads it in its own unit."""
    options = {"two_moons": dict(noise=cfg.noise), "ring8": dict(radius=2.0, std=cfg.noise),
               "gaussians": dict(mean=(1.0, -0.5), std=0.5),
               "swiss_roll": dict(noise=cfg.noise * 7.5),          # swiss_roll divides by 7.5
               "grid25": dict(spacing=1.0, std=cfg.noise), "csv": dict(path=cfg.csv_path)}
    return options[cfg.dataset]


def _box(x: np.ndarray, pad: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
    """The data's bounding box, padded and made square-ish so the grid is not squashed."""
    lo, hi = x.min(0), x.max(0)
    span = np.maximum(hi - lo, 1e-3)
    side = max(span.max() * (1 + 2 * pad), 1e-3)
    mid = (lo + hi) / 2
    half = np.maximum(span * (1 + 2 * pad), side * 0.6) / 2
    return mid - half, mid + half


def _robust_box(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The box of the points' central 98 %, padded by 5 %: a few far-flung samples do not count."""
    finite = points[np.isfinite(points).all(1)]
    lo, hi = np.percentile(finite, 1, axis=0), np.percentile(finite, 99, axis=0)
    span = np.maximum(hi - lo, 1e-3)
    return lo - 0.05 * span, hi + 0.05 * span


def _grid_over(points: np.ndarray) -> np.ndarray:
    return _grid_lines(*_robust_box(points))


def _keep_near(grid: np.ndarray, clouds: np.ndarray) -> np.ndarray:
    """grid (S, g, 2) with NaN where, at that stage, a grid point lies away from the cloud (S, c, 2):
    outside the cells (GRID_REACH cells of a grid over the stage's cloud) holding a point of the cloud
    and their neighbours. Cells, not distances: a table lookup per point instead of a search."""
    out = grid.copy()
    for g, cloud, o in zip(grid, clouds, out):
        cloud = cloud[np.isfinite(cloud).all(1)]
        lo, hi = _robust_box(cloud)
        cell = GRID_REACH * (hi - lo) / (GRID_LINES - 1)
        shape = np.ceil((hi - lo) / cell).astype(int) + 3          # a ring of empty cells around
        occupied = np.zeros(shape, dtype=bool)
        ij = np.floor((cloud - lo) / cell).astype(int) + 1
        inside = ((ij >= 1) & (ij < shape - 1)).all(1)
        occupied[ij[inside, 0], ij[inside, 1]] = True
        near = occupied.copy()
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                near |= np.roll(occupied, (di, dj), (0, 1))            # the ring keeps it from wrapping
        ok = np.isfinite(g).all(1)
        ij = np.floor((np.where(ok[:, None], g, lo) - lo) / cell).astype(int) + 1
        ok &= ((ij >= 0) & (ij < shape)).all(1)
        ok[ok] = near[ij[ok, 0], ij[ok, 1]]
        o[~ok] = np.nan
    return out


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
