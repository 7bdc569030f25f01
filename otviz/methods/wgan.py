"""The WGAN method: weight-clipped WGAN, WGAN-GP or a plain GAN trained on 2-D toy data (Qt-free)."""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch

from otviz.core import datasets, yardstick
from otviz.core.metrics import mode_coverage
from otviz.core.wgan import (clip_weights, critic_loss, field_on_grid, generator_loss,
                             gradient_penalty, make_nets, point_push)
from otviz.methods.base import Method, load_module_weights, module_weights
from otviz.methods.heat_extent import checked_view_rect, heat_grid
from otviz.methods.wgan_config import (DATASETS, INFO, MODE_DEFAULTS, N_EVAL,  # noqa: F401  (re-exported)
                                       WGANConfig, WGANSnapshot)

RING_RADIUS, RING_STD = 2 / 1.414, 0.02 / 1.414      # WGAN-GP toy scaling of the 8 Gaussians
GRID_SPACING, GRID_STD = 1.0, 0.05                   # a 5×5 grid at a scale the toy nets handle
N_ARROWS = 120


class WGANMethod(Method, info=INFO):
    checkpoint_every = 5
    Snapshot = WGANSnapshot
    # What the critic's plot shows, as the view last said ("view_rect" edit); None: the data box. It
    # is about the window, not the run, so a reset or a rebuild keeps it.
    heat_view: tuple[float, float, float, float] | None = None

    def __init__(self, config: WGANConfig | None = None, **kw: Any):
        # A config built as Config(mode="clip") (the CLI's --set) gets clip's optimiser settings too,
        # for the fields left at the defaults — the same rule as a mode switch in update().
        super().__init__(with_mode_defaults(config) if config is not None else None, **kw)

    # ------------------------------------------------------------------ config
    def _check_config(self, cfg: WGANConfig) -> None:
        if cfg.dataset == "csv" and not cfg.csv_path.strip():
            raise ValueError("dataset csv: choose a CSV file of points (csv_path)")
        if cfg.dataset == "csv":
            datasets.load_points_csv(cfg.csv_path)      # a bad file is refused here, not half-way through a reset
        if cfg.dataset != "csv" and cfg.batch_size > cfg.n_points:   # (a small CSV is sampled with replacement)
            raise ValueError(f"batch_size: {cfg.batch_size} is more than the {cfg.n_points} real points")

    def update(self, changes: dict[str, Any]) -> bool:
        """As Method.update; a mode switch also moves optimiser/lr/n_critic to the new mode's defaults
        where they still hold the old mode's defaults. They are added to `changes` itself, so the
        session's change marker names them too."""
        new = changes.get("mode")
        if new in MODE_DEFAULTS and new != self.config.mode:
            old_d, new_d = MODE_DEFAULTS[self.config.mode], MODE_DEFAULTS[new]
            for k, v in new_d.items():
                if k not in changes and getattr(self.config, k) == old_d[k]:
                    changes[k] = v
        return super().update(changes)

    # ------------------------------------------------------------------ building
    def _build(self) -> None:
        cfg = self.config
        self.drawn: np.ndarray | None = None        # a target drawn in the view replaces the dataset
        self.G, self.D = make_nets(cfg.noise_dim, cfg.width, cfg.depth)
        self.G.to(self.device)
        self.D.to(self.device)
        self._make_optimizers()
        # Fixed noise for drawing and evaluation, from its own generator so it never shifts training draws.
        g = torch.Generator().manual_seed(self.seed + 7919)
        self.z_show = torch.randn(10000, cfg.noise_dim, generator=g).to(self.device)
        self.last_w = float("nan")
        # the yardstick's noise: a generator of its own, so measuring w2 never shifts training draws
        g = torch.Generator().manual_seed(yardstick.noise_seed(self.seed))
        self._z_w2 = torch.randn(yardstick.N_W2, cfg.noise_dim, generator=g).to(self.device)
        self._set_data(*self._make_data(cfg))

    def _set_data(self, x: np.ndarray, centers: np.ndarray | None, std: float) -> None:
        self.data_np, self.centers, self.mode_std = x, centers, std
        self.data = torch.as_tensor(x, dtype=torch.float32, device=self.device)
        # the drawn real points: a fixed random subset (the grid's points come ordered by centre)
        self.real_show = x[np.random.default_rng(0).permutation(len(x))[:10000]].astype(np.float32)
        self.rect = _view_rect(x)
        self.coverage: tuple[float, float] | None = None
        # held-out points of the dataset (a drawn target: a fixed subset of its own points)
        cfg = self.config
        held = (yardstick.subset(x, self.seed) if self.drawn is not None else
                yardstick.held_out(cfg.dataset, self.seed, **_options(cfg)))
        self._w2 = yardstick.W2Meter(held)

    def edit(self, action: str, payload: Any) -> None:
        """'points': train on these (N, 2) points (a target drawn in the view) from now on, keeping the
        networks, so the generator is seen moving to the new shape. Mode coverage is off for them.
        'view_rect': (x0, y0, width, height) the critic's plot shows: the heatmap covers it from the
        next fields on (`rect`, the data box the arrows are scaled to, stays)."""
        if action == "view_rect":
            self.heat_view = checked_view_rect(payload, self.title)
            return
        if action != "points":
            super().edit(action, payload)
        pts = np.asarray(payload, dtype=np.float64)
        if pts.ndim != 2 or pts.shape[1:] != (2,) or len(pts) < 10 or not np.isfinite(pts).all():
            raise ValueError("WGAN: a drawn target needs at least 10 finite (x, y) points")
        self.drawn = pts.copy()
        self._set_data(self.drawn, None, 0.0)

    @staticmethod
    def _make_data(cfg: WGANConfig) -> tuple[np.ndarray, np.ndarray | None, float]:
        x = datasets.make(cfg.dataset, cfg.n_points, np.random.default_rng(_data_seed(cfg)), **_options(cfg))
        # the mixtures' true centres and spread, for mode coverage
        if cfg.dataset == "ring8":
            return x, datasets.ring8_centers(RING_RADIUS), RING_STD
        if cfg.dataset == "grid25":
            return x, datasets.grid25_centers(GRID_SPACING), GRID_STD
        return x, None, 0.0

    def _make_optimizers(self) -> None:
        cfg = self.config
        if cfg.optimizer == "adam":
            make = lambda ps: torch.optim.Adam(ps, lr=cfg.lr, betas=(0.5, 0.9))  # noqa: E731
        else:
            make = lambda ps: torch.optim.RMSprop(ps, lr=cfg.lr)  # noqa: E731
        self.opt_g = make(self.G.parameters())
        self.opt_d = make(self.D.parameters())

    def _on_live_change(self, keys: set[str]) -> None:
        if "optimizer" in keys:
            self._make_optimizers()        # a different optimiser starts with fresh moments
        elif "lr" in keys:
            for opt in (self.opt_g, self.opt_d):
                for group in opt.param_groups:
                    group["lr"] = self.config.lr

    # ------------------------------------------------------------------ training
    def _noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.config.noise_dim, generator=self.gen).to(self.device)

    def _real(self, n: int) -> torch.Tensor:
        idx = torch.randint(len(self.data), (n,), generator=self.gen)
        return self.data[idx.to(self.device)]

    def critic_iterations(self) -> int:
        """n_critic, or 100 early on and every 500th step under Arjovsky's schedule (clip mode)."""
        cfg = self.config
        if cfg.mode == "clip" and cfg.boost_critic and (self.step_count < 25 or self.step_count % 500 == 0):
            return max(100, cfg.n_critic)
        return cfg.n_critic

    def _step(self) -> dict[str, float]:
        cfg = self.config
        b = cfg.batch_size
        self.D.requires_grad_(True)
        for _ in range(self.critic_iterations()):
            real = self._real(b)
            with torch.no_grad():
                fake = self.G(self._noise(b))
            f_real, f_fake = self.D(real), self.D(fake)
            d_loss = critic_loss(cfg.mode, f_real, f_fake)
            w_est = f_real.detach().mean() - f_fake.detach().mean()
            if cfg.mode == "gp":
                u = torch.rand(b, 1, generator=self.gen).to(self.device)
                penalty, _ = gradient_penalty(self.D, real, fake, u)
                d_loss = d_loss + cfg.gp_lambda * penalty
            self.opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            self.opt_d.step()
            if cfg.mode == "clip":
                clip_weights(self.D, cfg.clip)
        # Generator: the critic's weights need no gradient here (saves half the backward pass).
        self.D.requires_grad_(False)
        g_loss = generator_loss(cfg.mode, self.D(self.G(self._noise(b))))
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()
        self.D.requires_grad_(True)

        self.last_w = float(w_est)
        out = {"w_estimate": self.last_w, "d_loss": float(d_loss.detach()), "g_loss": float(g_loss.detach())}
        if self.centers is not None:
            if self.coverage is None or (self.step_count + 1) % cfg.coverage_every == 0:
                self.coverage = self.evaluate_coverage()
            out["modes"], out["high_quality"] = self.coverage
        out.update(self._w2.metrics(self.step_count + 1, cfg.w2_every, self.w2_samples))
        return out

    @torch.no_grad()
    def w2_samples(self) -> np.ndarray:
        """The generator at the yardstick's fixed noise, as many points as held-out ones."""
        return self.G(self._z_w2[:self._w2.n]).double().cpu().numpy()

    @torch.no_grad()
    def generate(self, n: int) -> np.ndarray:
        """The generator's image of the first n fixed noise vectors (numpy, float32)."""
        return self.G(self.z_show[:n]).float().cpu().numpy()

    def evaluate_coverage(self) -> tuple[float, float]:
        """(modes captured, fraction of high-quality samples) of N_EVAL generated samples (ring, grid)."""
        if self.centers is None:
            raise ValueError(f"{self.config.dataset} has no known modes")
        modes, hq = mode_coverage(self.generate(N_EVAL), self.centers, self.mode_std)
        return float(modes), float(hq)

    # ------------------------------------------------------------------ views
    def _snapshot(self) -> WGANSnapshot:
        cfg = self.config
        return WGANSnapshot(
            real=self.real_show[: cfg.n_show], rect=self.rect, mode=cfg.mode, dataset=cfg.dataset,
            optimizer_settings={"optimizer": cfg.optimizer, "lr": cfg.lr, "n_critic": cfg.n_critic},
            centers=self.centers if self.centers is not None else np.zeros((0, 2)),
            w_estimate=self.last_w, coverage=self.coverage,
            n_modes=0 if self.centers is None else len(self.centers))

    def _compute_frame_fields(self) -> dict[str, Any]:
        """The generated points and the critic's push on some of them, as arrows."""
        fake = self.generate(self.config.n_show)
        xa = torch.as_tensor(fake[:N_ARROWS], device=self.device)
        push = point_push(self.config.mode, self.D, xa).cpu().numpy()
        norms = np.linalg.norm(push, axis=1)
        # Arrows: a typical long push is drawn at 8 % of the view, so tiny (clipped) gradients stay visible.
        ref = float(np.percentile(norms, 90)) if len(norms) else 0.0
        scale = 0.08 * max(self.rect[2], self.rect[3]) / ref if ref > 0 else 0.0
        seg = np.empty((2 * len(push), 2), dtype=np.float32)
        seg[0::2] = fake[:N_ARROWS]
        seg[1::2] = fake[:N_ARROWS] + scale * push
        return {"fake": fake, "arrows": seg,
                "push_mean": float(norms.mean()) if len(norms) else 0.0, "arrow_scale": scale}

    def _compute_fields(self) -> dict[str, Any]:
        """The critic at the pixel centres of an image over what its plot shows (the data box until the
        view says), with robust colour levels."""
        rect, shape = heat_grid(self.heat_view, self.rect, self.config.heatmap_res)
        x0, y0, w, h = rect
        values = field_on_grid(self.D, (x0, x0 + w, y0, y0 + h), shape, self.device)
        values = values.cpu().numpy()
        # A critic is defined up to a constant (it cancels in E f(real) − E f(fake)): drawing f − mean
        # keeps the colour bar readable when clipping makes f a tiny ripple on a large offset.
        values -= values.mean()
        lo, hi = np.percentile(values, [1, 99])
        # The critic's steepest slope over the data box (finite differences between pixel centres): a
        # lower bound of its Lipschitz constant L, so w_estimate / L estimates W₁ even when clipping
        # shrinks f. Only the pixels in the data box count (the part of it in view), so zooming out
        # over empty space, where nothing constrains the critic, leaves the estimate alone.
        dx, dy = w / values.shape[1], h / values.shape[0]
        gy, gx = np.gradient(values.astype(np.float64), dy, dx)
        slope = np.sqrt(gx ** 2 + gy ** 2)[self._in_data_box(rect, values.shape)]
        return {"field": values, "field_rect": rect, "field_levels": (float(lo), float(max(hi, lo + 1e-9))),
                "lipschitz": float(slope.max())}

    def _in_data_box(self, rect: tuple[float, float, float, float], shape: tuple[int, int]) -> tuple[slice, slice]:
        """The pixels of a (rows, columns) image over `rect` whose centres lie in the data box, as an
        index for the image; all of them when fewer than 3 along an axis do (a view far from the data:
        the slope over what is shown is then the best there is)."""
        x0, y0, w, h = rect
        bx, by, bw, bh = self.rect
        xs = x0 + (np.arange(shape[1]) + 0.5) * (w / shape[1])
        ys = y0 + (np.arange(shape[0]) + 0.5) * (h / shape[0])
        cols = np.flatnonzero((xs >= bx) & (xs <= bx + bw))
        rows = np.flatnonzero((ys >= by) & (ys <= by + bh))
        if len(cols) < 3 or len(rows) < 3:
            return np.s_[:, :]
        return np.s_[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]

    def _field_state(self) -> dict[str, Any]:
        # both networks, the data box (a drawn target moves it; the points themselves are not
        # needed) and what the critic's plot shows
        return {"G": module_weights(self.G), "D": module_weights(self.D),
                "rect": tuple(float(v) for v in self.rect), "heat_view": self.heat_view}

    def _load_field_state(self, state: dict[str, Any]) -> None:
        load_module_weights(self.G, state["G"])
        load_module_weights(self.D, state["D"])
        self.rect = tuple(float(v) for v in state["rect"])
        view = state.get("heat_view")
        self.heat_view = None if view is None else tuple(float(v) for v in view)

    # ------------------------------------------------------------------ state
    def _state(self) -> dict[str, Any]:
        return {"G": self.G.state_dict(), "D": self.D.state_dict(), "opt_g": self.opt_g.state_dict(),
                "opt_d": self.opt_d.state_dict(), "coverage": self.coverage, "drawn": self.drawn,
                "w2": self._w2.state()}

    def _load_state(self, state: dict[str, Any]) -> None:
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        drawn = state.get("drawn")
        if drawn is not None and (self.drawn is None or not np.array_equal(drawn, self.drawn)):
            self.drawn = np.array(drawn)
            self._set_data(self.drawn, None, 0.0)
        elif drawn is None and self.drawn is not None:       # back to before the drawing
            self.drawn = None
            self._set_data(*self._make_data(self.config))
        self.coverage = state.get("coverage")
        self._w2.load_state(state.get("w2"))


def with_mode_defaults(cfg: WGANConfig) -> WGANConfig:
    """cfg with optimiser/lr/n_critic moved to its mode's reference values where they hold the defaults."""
    base = MODE_DEFAULTS[WGANConfig.mode]
    moved = {k: v for k, v in MODE_DEFAULTS[cfg.mode].items() if getattr(cfg, k) == base[k]}
    return dataclasses.replace(cfg, **moved)


def _options(cfg: WGANConfig) -> dict[str, Any]:
    """The dataset generator's options (datasets.make) for cfg's dataset."""
    options = {"ring8": dict(radius=RING_RADIUS, std=RING_STD), "grid25": dict(spacing=GRID_SPACING, std=GRID_STD),
               "parallel_lines": dict(theta=1.0), "csv": dict(path=cfg.csv_path)}
    return options.get(cfg.dataset, {})


def _data_seed(cfg: WGANConfig) -> int:
    """The real data depend on the dataset only, not the run's seed, so runs with other seeds compare."""
    return 12345 + DATASETS.index(cfg.dataset)


def _view_rect(x: np.ndarray) -> tuple[float, float, float, float]:
    """(x0, y0, w, h): the data's central 99 % padded by 25 % — room for generated points outside."""
    lo, hi = np.percentile(x, 0.5, axis=0), np.percentile(x, 99.5, axis=0)
    span = np.maximum(hi - lo, 1e-3)
    side = float(span.max()) * 1.5
    c = (lo + hi) / 2
    return (float(c[0] - side / 2), float(c[1] - side / 2), side, side)
