"""Entropic optimal transport between point clouds: stabilised Sinkhorn, debiased divergence, exact plan.

Conventions (used everywhere in otviz):
  cost        C_ij = ||x_i - y_j||_2^p   (p = 2: squared Euclidean)
  plan        P_ij = a_i b_j exp((f_i + g_j - C_ij) / eps)   with dual potentials f, g
  cost        <P, C>                       (1.000 / 1.408 for two rows of 5 points at eps 0.1 / 1)
  objective   <P, C> + eps KL(P | a x b)   (the regularised OT_eps used by the divergence)

The iterations themselves (absorption, eps-scaling, Anderson acceleration) are in sinkhorn_iterations.
A result passed as `init=` continues that solve: the Sinkhorn tab re-solves from the previous result
each time a point is dragged, and the new solve goes on from the old one's acceleration history and
re-derives the potential of the cloud that changed (see `sinkhorn`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from otviz.core.exact import ExactPlan, exact_plan  # noqa: F401  (re-exported: the exact overlay's solver)
from otviz.core.sinkhorn_iterations import solve, work_buffer

__all__ = ["SinkhornResult", "SinkhornDivergence", "ExactPlan", "cost_matrix", "sinkhorn",
           "sinkhorn_divergence", "exact_plan"]


@dataclass(frozen=True)
class _Resume:
    """The part of a solve that a later solve from it (init=result) goes on from."""
    key: tuple                    # shapes, dtype, device, eps, p: what the history is valid for
    x: torch.Tensor               # copies of the clouds (B, N, D), (B, M, D): which one changed since?
    y: torch.Tensor
    history: object               # the Anderson history (sinkhorn_iterations.solve's `history`)


@dataclass
class SinkhornResult:
    """Output of `sinkhorn`. Tensors carry a leading batch dimension only if the input had one."""
    cost: torch.Tensor            # <P, C>, shape () or (B,)
    objective: torch.Tensor       # <P, C> + eps KL(P | a x b), shape () or (B,)
    plan: torch.Tensor            # P, (N, M) or (B, N, M)
    cost_matrix: torch.Tensor     # C, same shape as P
    f: torch.Tensor               # dual potential of x, (N,) or (B, N); usable in init=(f, g)
    g: torch.Tensor               # dual potential of y, (M,) or (B, M)
    n_iter: int                   # Sinkhorn iterations done, eps-scaling ones included
    marginal_error: float         # final sum_i |(P 1)_i - a_i| after the column update (max over batch)
    errors: np.ndarray            # per iteration (max over the batch): the L1 column error after the
                                  # row update (free to compute); the last entry is marginal_error
    converged: bool               # marginal_error <= tol
    eps: float
    n_scaling_iter: int = 0       # how many of the first entries of `errors` were at a larger eps
    # the potentials at full (float64) precision: a float32 f, g would blur a warm start at small eps
    f_full: torch.Tensor | None = field(default=None, repr=False)
    g_full: torch.Tensor | None = field(default=None, repr=False)
    # what a solve continuing this one (init=this result) needs besides f, g (None if not kept)
    resume: _Resume | None = field(default=None, repr=False, compare=False)

    @property
    def init(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(f, g), to pass as `init=` to warm-start the next solve."""
        if self.f_full is not None and self.g_full is not None:
            return self.f_full, self.g_full
        return self.f, self.g


@dataclass
class SinkhornDivergence:
    """Output of `sinkhorn_divergence`: the value (differentiable) and its three solves."""
    value: torch.Tensor           # S_eps(x, y), shape () or (B,)
    xy: SinkhornResult
    xx: SinkhornResult
    yy: SinkhornResult

    @property
    def init(self):
        """Potentials of the three solves, to pass as `init=` to warm-start the next divergence."""
        return self.xy.init, self.xx.init, self.yy.init


# ----------------------------------------------------------------------------- cost

def cost_matrix(x: torch.Tensor, y: torch.Tensor, p: float = 2) -> torch.Tensor:
    """C_ij = ||x_i - y_j||^p for (..., N, D), (..., M, D) -> (..., N, M); differentiable.

    Built from explicit coordinate differences (not |x|^2 + |y|^2 - 2xy) so that C(x, x) has an exact
    zero diagonal and float32 keeps its precision at small eps.
    """
    d = x.shape[-1]
    grad = torch.is_grad_enabled() and (x.requires_grad or y.requires_grad)
    if d <= 8:
        # one coordinate at a time, from contiguous copies (strided broadcasting is several times slower)
        xs, ys = x.movedim(-1, 0).contiguous(), y.movedim(-1, 0).contiguous()
        xk, yk = xs[0].unsqueeze(-1), ys[0].unsqueeze(-2)
        if grad:
            diff = xk - yk
            sq = diff * diff
            for k in range(1, d):
                diff = xs[k].unsqueeze(-1) - ys[k].unsqueeze(-2)
                sq = sq.addcmul_(diff, diff)
        else:
            # no graph: one fresh tensor (the result), the other differences in a reused buffer (each
            # fresh N x M one costs page faults), same arithmetic
            shape = torch.broadcast_shapes(xk.shape, yk.shape)
            sq = torch.sub(xk, yk, out=torch.empty(shape, dtype=x.dtype, device=x.device)).square_()
            if d > 1:
                diff = work_buffer("cost differences", shape, x.dtype, x.device)
                for k in range(1, d):
                    torch.sub(xs[k].unsqueeze(-1), ys[k].unsqueeze(-2), out=diff)
                    sq.addcmul_(diff, diff)
    else:
        sq = (x.unsqueeze(-2) - y.unsqueeze(-3)).square().sum(-1)
    if p == 2:
        return sq
    # clamp keeps the gradient finite (zero) where two points coincide
    return sq.clamp_min(torch.finfo(sq.dtype).tiny).pow(p / 2) if sq.requires_grad else sq.pow_(p / 2)


# ----------------------------------------------------------------------------- helpers

def _as_batch(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, bool]:
    if not (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)):
        raise TypeError("x and y must be torch tensors")
    if x.dim() != y.dim() or x.dim() not in (2, 3):
        raise ValueError(f"x and y must both be (N, D) or (B, N, D); got {tuple(x.shape)} and {tuple(y.shape)}")
    batched = x.dim() == 3
    if not batched:
        x, y = x.unsqueeze(0), y.unsqueeze(0)
    if x.shape[0] != y.shape[0] or x.shape[-1] != y.shape[-1]:
        raise ValueError(f"batch size and dimension must agree; got {tuple(x.shape)} and {tuple(y.shape)}")
    if x.shape[1] == 0 or y.shape[1] == 0:
        raise ValueError("both clouds need at least one point")
    dtype = torch.promote_types(x.dtype, y.dtype)
    if dtype not in (torch.float32, torch.float64):
        raise TypeError(f"points must be float32 or float64, got {dtype}")
    if not (torch.isfinite(x).all() and torch.isfinite(y).all()):
        raise ValueError("points must be finite (found NaN or Inf)")
    return x.to(dtype), y.to(dtype), batched


def _weights(w, batch: int, n: int, like: torch.Tensor, name: str) -> torch.Tensor:
    """(B, n) weights on like's device/dtype, normalised to sum 1 per batch item (uniform if None)."""
    if w is None:
        return torch.full((batch, n), 1.0 / n, dtype=like.dtype, device=like.device)
    w = torch.as_tensor(w, dtype=like.dtype, device=like.device).detach()
    if w.dim() == 1:
        w = w.unsqueeze(0)
    if w.shape[-1] != n or w.shape[0] not in (1, batch):
        raise ValueError(f"weights {name} have shape {tuple(w.shape)}, expected ({n},) or ({batch}, {n})")
    if not torch.isfinite(w).all() or (w <= 0).any():
        raise ValueError(f"weights {name} must be finite and strictly positive")
    w = w / w.sum(-1, keepdim=True)
    return w.expand(batch, n).contiguous()


def _init_potential(t, batch: int, n: int, like: torch.Tensor, name: str) -> torch.Tensor:
    t = torch.as_tensor(t).detach().to(dtype=like.dtype, device=like.device)
    if t.dim() == 1:
        t = t.unsqueeze(0)
    if t.shape[-1] != n or t.shape[0] not in (1, batch):
        raise ValueError(f"init potential {name} has shape {tuple(t.shape)}, expected ({n},) or ({batch}, {n})")
    if not torch.isfinite(t).all():
        raise ValueError(f"init potential {name} is not finite")
    return t.expand(batch, n).clone()


def _warm_start(init, eps: float, B: int, N: int, M: int, like: torch.Tensor):
    """(f0, g0, start_eps, resume) from `init` (see `sinkhorn`): the potentials checked and batched, the eps
    to anneal down from (None: start at eps), and the earlier result's state to go on from."""
    if init is None:
        return None, None, None, None
    start_eps = prev = None
    if isinstance(init, SinkhornResult):
        # coming down from a larger eps (a slider moved): anneal from there
        start_eps = init.eps if init.eps > 2.0 * eps else None
        init, prev = init.init, init.resume
    f0, g0 = init
    return _init_potential(f0, B, N, like, "f"), _init_potential(g0, B, M, like, "g"), start_eps, prev


def sinkhorn(x: torch.Tensor, y: torch.Tensor, eps: float, *, p: float = 2, a=None, b=None,
             max_iter: int = 10_000, tol: float = 1e-6, init=None, eps_scaling: float | None = 0.5
             ) -> SinkhornResult:
    """Entropic OT between the clouds x (N, D) and y (M, D), or batches (B, N, D) / (B, M, D).

    Minimises <P, C> + eps KL(P | a x b) over couplings with marginals a, b, with C_ij = ||x_i - y_j||^p.
    Computes in the input dtype (float32 or float64) on the input device; x and y are not differentiated
    (use `sinkhorn_divergence` for gradients).

    a, b: positive weights (N,)/(M,) or (B, N)/(B, M); uniform if None. They are normalised here to sum
        to 1, so any positive masses may be passed.
    init: (f, g) from an earlier result (`result.init`), or that result itself, to warm-start: the
        iterations start from g (f is re-derived from it) at the target eps directly -- or, given a
        result solved at an eps more than twice larger, annealed down from that eps. Without init, eps is
        annealed from max C down to eps by factors `eps_scaling` (None disables the annealing).
        A result at the same eps (same shapes and p) is continued: the iterations go on from its
        Anderson history (the slow modes of a slightly changed problem are nearly the same), and if only
        y has changed since, they start from f (g re-derived) instead: the same answer to tol, in far
        fewer iterations when a point is dragged. A plain (f, g) pair starts afresh from g.
    Stops when the L1 error of the row marginal, measured after the column update (so the columns are
        exact), is <= tol for every batch item, or after max_iter iterations in all (see `converged`).
    """
    eps = float(eps)
    if not (math.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a positive number, got {eps}")
    if not (math.isfinite(float(p)) and p > 0):
        raise ValueError(f"p must be positive, got {p}")
    if int(max_iter) < 1:
        raise ValueError(f"max_iter must be at least 1, got {max_iter}")
    x, y, batched = _as_batch(x, y)
    with torch.no_grad():
        C = cost_matrix(x.detach(), y.detach(), p).contiguous()
        B, N, M = C.shape
        # vectors (weights, potentials, scalings) in float64 unless the device has none (MPS)
        vd = C.dtype if C.device.type == "mps" else torch.float64
        like = torch.empty(0, dtype=vd, device=C.device)
        a_ = _weights(a, B, N, like, "a")
        b_ = _weights(b, B, M, like, "b")
        f0, g0, start_eps, prev = _warm_start(init, eps, B, N, M, like)
        key = (x.shape, y.shape, x.dtype, x.device, eps, float(p))
        if prev is not None and prev.key != key:
            prev = None
        # the potential of a moved point is stale: re-derive f from g0 (the default, right when x moved)
        # or, when only y moved, g from f0
        only_y = prev is not None and torch.equal(x, prev.x) and not torch.equal(y, prev.y)
        out = solve(C, a_, b_, eps, max_iter=int(max_iter), tol=float(tol), g0=g0, scaling=eps_scaling,
                    start_eps=start_eps, f0=f0 if only_y else None, history=prev and prev.history)
        history = out.pop("history")
        resume = None if history is None else _Resume(key, x.clone(), y.clone(), history)
    if not batched:
        for k in ("cost", "objective", "plan", "cost_matrix", "f", "g", "f_full", "g_full"):
            out[k] = out[k].squeeze(0)
    return SinkhornResult(**out, resume=resume)


# ----------------------------------------------------------------------------- divergence

def _ot_eps(x: torch.Tensor, y: torch.Tensor, res: SinkhornResult, p: float, batched: bool) -> torch.Tensor:
    """OT_eps(x, y) with the gradient of the envelope theorem: sum_ij P_ij grad C_ij at the solved P."""
    value = res.objective
    if not torch.is_grad_enabled() or not (x.requires_grad or y.requires_grad):
        return value
    P = res.plan.detach()
    if not batched:
        x, y, P = x.unsqueeze(0), y.unsqueeze(0), P.unsqueeze(0)
    if p == 2:
        # <P, C> = sum_i r_i |x_i|^2 + sum_j c_j |y_j|^2 - 2 tr(x^T P y): no N x M graph to keep
        r, c = P.sum(-1), P.sum(-2)
        lin = ((r * x.square().sum(-1)).sum(-1) + (c * y.square().sum(-1)).sum(-1)
               - 2.0 * (x * (P @ y)).sum((-2, -1)))
    else:
        lin = (P * cost_matrix(x, y, p)).sum((-2, -1))
    if not batched:
        lin = lin.squeeze(0)
    return value + (lin - lin.detach())


def sinkhorn_divergence(x: torch.Tensor, y: torch.Tensor, eps: float, *, p: float = 2, a=None, b=None,
                        max_iter: int = 10_000, tol: float = 1e-6, init=None,
                        eps_scaling: float | None = 0.5) -> SinkhornDivergence:
    """Debiased Sinkhorn divergence S = OT_eps(x,y) - OT_eps(x,x)/2 - OT_eps(y,y)/2.

    OT_eps is the regularised objective <P,C> + eps KL(P | a x b), so S(delta_x, delta_y) = C(x, y) for
    any eps, S >= 0 and S(x, x) = 0. `value` is differentiable with respect to x and y (not the
    weights): the three problems are solved without autograd and the gradient is the envelope-theorem
    one, sum_j P_ij grad_x C(x_i, y_j), at the solved plans, so no iteration is back-propagated.
    init: a previous SinkhornDivergence, or three inits (results or (f, g) pairs: xy, xx, yy), to
        warm-start the three solves.
    Other arguments as in `sinkhorn`.
    """
    if init is None:
        init = (None, None, None)
    elif isinstance(init, SinkhornDivergence):
        init = (init.xy, init.xx, init.yy)           # results: a larger eps is annealed down from
    if len(init) != 3:
        raise ValueError("init must be a SinkhornDivergence or three (f, g) pairs (xy, xx, yy)")
    batched = x.dim() == 3
    kw = dict(p=p, max_iter=max_iter, tol=tol, eps_scaling=eps_scaling)
    xy = sinkhorn(x, y, eps, a=a, b=b, init=init[0], **kw)
    xx = sinkhorn(x, x, eps, a=a, b=a, init=init[1], **kw)
    yy = sinkhorn(y, y, eps, a=b, b=b, init=init[2], **kw)
    value = (_ot_eps(x, y, xy, p, batched)
             - 0.5 * (_ot_eps(x, x, xx, p, batched) + _ot_eps(y, y, yy, p, batched)))
    return SinkhornDivergence(value=value, xy=xy, xx=xx, yy=yy)

