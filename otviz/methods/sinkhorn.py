"""Sinkhorn tab's method: entropic OT between two point clouds, re-solved live, and a gradient flow."""
from __future__ import annotations

import numpy as np
import torch

from otviz.core import datasets
from otviz.core.sinkhorn import exact_plan, sinkhorn, sinkhorn_divergence
from otviz.methods.base import Method
from otviz.methods.sinkhorn_config import INFO, SinkhornConfig, SinkhornSnapshot  # noqa: F401  (re-exported)

MAX_LINES = 20_000          # assignment segments sent to the view at most
BATCH_SHIFTS = (1.0, 2.0, 3.0, 4.0)


class SinkhornMethod(Method, info=INFO):
    Snapshot = SinkhornSnapshot

    def _check_config(self, cfg: SinkhornConfig) -> None:
        if cfg.dataset == "csv" and not (cfg.source_csv and cfg.target_csv):
            raise ValueError("dataset csv: choose both a source and a target CSV file")
        if cfg.dataset == "csv":      # a bad file is refused here, not half-way through a reset
            for path in (cfg.source_csv, cfg.target_csv):
                datasets.load_points_csv(path)

    # ------------------------------------------------------------------ data
    def _build(self) -> None:
        cfg = self.config
        options = {"csv": dict(paths=(cfg.source_csv, cfg.target_csv))}.get(cfg.dataset, {})
        x, y = datasets.make_pair(cfg.dataset, cfg.n_points, self.rng, **options)
        self.x = torch.tensor(x, dtype=torch.float64, device=self.device)
        self.y = torch.tensor(y, dtype=torch.float64, device=self.device)
        self._pots = None            # warm start of the displayed solve
        self._div_pots = None        # warm starts of the divergence's three solves
        self._div_shapes = None
        self._solve()

    def _solve(self, resume: bool = False):
        """Solve warm from the saved potentials. resume (edits, e.g. a drag): continue the last result
        itself, i.e. also from its acceleration history -- a third of the iterations, but the path then
        depends on more than the saved state, so training steps, which a loaded session must replay
        exactly, do not."""
        cfg = self.config
        init = self._pots if self._pots is not None and self._pots[0].shape[-1] == len(self.x) \
            and self._pots[1].shape[-1] == len(self.y) else None
        if resume and init is not None and getattr(self, "result", None) is not None \
                and self.result.f.shape[-1] == len(self.x) and self.result.g.shape[-1] == len(self.y):
            init = self.result
        self.result = sinkhorn(self.x, self.y, cfg.eps, p=cfg.p, max_iter=cfg.max_iter, tol=cfg.tol, init=init)
        self._warm = init is not None
        self._pots = (self.result.f, self.result.g)
        return self.result

    def _on_live_change(self, keys: set[str]) -> None:
        if keys & {"eps", "p", "max_iter", "tol"}:
            self._solve()             # warm-started: the old potentials are a good start for a new eps

    # ------------------------------------------------------------------ training: gradient flow
    def _step(self) -> dict[str, float]:
        cfg = self.config
        x = self.x.clone().requires_grad_(True)
        init = self._div_pots if self._div_pots is not None and self._div_shapes == (len(self.x), len(self.y)) else None
        sd = sinkhorn_divergence(x, self.y, cfg.eps, p=cfg.p, max_iter=cfg.max_iter, tol=cfg.tol, init=init)
        self._div_pots, self._div_shapes = sd.init, (len(self.x), len(self.y))
        div = sd.value
        (grad,) = torch.autograd.grad(div, x)
        with torch.no_grad():
            # each point carries mass 1/n: scale by n so lr is a per-point step independent of n
            self.x = self.x - cfg.lr * len(self.x) * grad
        res = self._solve()
        return {"cost": float(res.cost), "divergence": float(div.detach())}

    # ------------------------------------------------------------------ edits from the view
    def edit(self, action: str, payload) -> None:
        which = payload.get("which", "source")
        pts = self.x if which == "source" else self.y
        if action == "move_point":
            i = int(payload["index"])
            if not 0 <= i < len(pts):
                raise ValueError(f"no {which} point {i}")
            pts = pts.clone()
            pts[i] = torch.as_tensor(payload["xy"], dtype=pts.dtype, device=pts.device)
        elif action == "add_point":
            new = torch.as_tensor(np.asarray(payload["xy"], dtype=np.float64).reshape(1, 2), device=pts.device)
            pts = torch.cat([pts, new])
        elif action == "set_points":
            arr = np.asarray(payload["points"], dtype=np.float64)
            if arr.ndim != 2 or arr.shape[1] != 2 or len(arr) < 1 or not np.isfinite(arr).all():
                raise ValueError("points must be a finite (n, 2) array with at least one point")
            pts = torch.tensor(arr, device=pts.device)
        else:
            super().edit(action, payload)
        if which == "source":
            self.x = pts
        else:
            self.y = pts
        self._solve(resume=True)

    # ------------------------------------------------------------------ views
    def _snapshot(self) -> SinkhornSnapshot:
        cfg = self.config
        r = self.result
        x, y = self.x.cpu().numpy(), self.y.cpu().numpy()
        P = r.plan.cpu().numpy()
        lines, line_alpha = _assignment_lines(x, y, P)
        # C and P go to the view in display order (row k is source point order_source[k]): sorted
        # here, with the training, because reordering an n x n matrix is work the GUI should not do
        src, tgt, angle = display_order(x, y)
        exact = {}
        if cfg.show_exact and len(x) == len(y) and len(x) <= 2000:
            ex = exact_plan(x, y, p=cfg.p)
            exact = dict(exact_lines=np.stack([x, y[ex.perm]], 1).reshape(-1, 2), exact_cost=ex.cost)
        return SinkhornSnapshot(
            x=x, y=y, errors=np.asarray(r.errors, dtype=np.float64), n_iter=int(r.n_iter),
            marginal_error=float(r.marginal_error), cost=float(r.cost), eps=cfg.eps, warm=self._warm,
            lines=lines, line_alpha=line_alpha, order_angle=angle, order_source=src, order_target=tgt,
            plan=P[np.ix_(src, tgt)], cost_matrix=r.cost_matrix.cpu().numpy()[np.ix_(src, tgt)],
            batch=self._batch_example(), **exact)

    def _batch_example(self) -> dict:
        """The batch example: 4 pairs of rows shifted by 1..4, solved together at the current eps (cached)."""
        cfg = self.config
        key = (cfg.eps, cfg.p, cfg.max_iter, cfg.tol)
        if getattr(self, "_batch_cache", (None,))[0] != key:
            self._batch_cache = (key, self._solve_batch())
        return self._batch_cache[1]

    def _solve_batch(self) -> dict:
        a, _ = datasets.seed_rows(5)
        xb = torch.tensor(np.stack([a] * len(BATCH_SHIFTS)), dtype=torch.float64)
        yb = torch.tensor(np.stack([datasets.seed_rows(5, s)[1] for s in BATCH_SHIFTS]), dtype=torch.float64)
        r = sinkhorn(xb, yb, self.config.eps, p=self.config.p, max_iter=self.config.max_iter, tol=self.config.tol)
        return {"plans": r.plan.numpy(), "costs": r.cost.numpy(), "shifts": np.array(BATCH_SHIFTS)}

    # ------------------------------------------------------------------ state
    def _state(self) -> dict:
        # the warm-start potentials are state too: a continued run must iterate from the same start
        return {"x": self.x, "y": self.y, "pots": self._pots, "div_pots": self._div_pots,
                "div_shapes": self._div_shapes}

    def _load_state(self, state: dict) -> None:
        dev = self.device
        move = lambda t: None if t is None else (t.to(dev) if isinstance(t, torch.Tensor) else tuple(move(u) for u in t))
        self.x = state["x"].to(dev)
        self.y = state["y"].to(dev)
        self._div_pots = move(state["div_pots"])
        self._div_shapes = tuple(state["div_shapes"]) if state["div_shapes"] is not None else None
        self._pots = move(state["pots"])
        pots = self._pots
        self._solve()
        self._pots = pots         # keep the saved warm start so the next step matches an uninterrupted run


def display_order(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The order of the source and the target points along the clouds' main axis (the first principal
    direction of both together, pointing right), and that axis' angle in degrees.

    In storage order C and P look like noise; in this order a plan that keeps points' relative
    positions is a band along the diagonal, and C shows its gradient from near to far."""
    pts = np.vstack([x, y])
    centred = pts - pts.mean(0)
    if len(pts) < 2 or not np.isfinite(centred).all():
        return np.arange(len(x)), np.arange(len(y)), 0.0
    d = np.linalg.eigh(centred.T @ centred)[1][:, -1]
    if d[0] < 0 or (d[0] == 0 and d[1] < 0):
        d = -d
    angle = float(np.degrees(np.arctan2(d[1], d[0]))) + 0.0
    return np.argsort(x @ d, kind="stable"), np.argsort(y @ d, kind="stable"), angle


def _assignment_lines(x: np.ndarray, y: np.ndarray, P: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Segments (2k, 2) for the pairs with P_ij ≥ 1% of max P (the largest MAX_LINES), and their alpha."""
    pmax = P.max() if P.size else 0.0
    if pmax <= 0:
        return np.zeros((0, 2)), np.zeros(0)
    rel = P / pmax
    i, j = np.nonzero(rel >= 0.01)
    w = rel[i, j]
    if len(w) > MAX_LINES:
        keep = np.argpartition(-w, MAX_LINES)[:MAX_LINES]
        i, j, w = i[keep], j[keep], w[keep]
    seg = np.stack([x[i], y[j]], 1).reshape(-1, 2)
    return seg, w
