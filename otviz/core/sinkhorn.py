"""Entropic optimal transport between point clouds: stabilised Sinkhorn, debiased divergence, exact plan.

Conventions (used everywhere in otviz):
  cost        C_ij = ||x_i - y_j||_2^p   (p = 2: squared Euclidean, like the seed article)
  plan        P_ij = a_i b_j exp((f_i + g_j - C_ij) / eps)   with dual potentials f, g
  cost        <P, C>                       (what the seed prints: 1.000 / 1.408 for its two rows)
  objective   <P, C> + eps KL(P | a x b)   (the regularised OT_eps used by the divergence)

The solver is the kernel form of Sinkhorn with absorption (Schmitzer 2019): scalings u, v act on a
stabilised kernel exp((f_i + g_j - C_ij)/eps), so an iteration is two matrix-vector products instead of
two log-sum-exp passes; whenever the scalings leave [e^-tau, e^tau] they are absorbed into f, g and the
kernel is rebuilt (one pass of exp, rows normalised to a maximum of 1), so small eps never under- or
overflows. Cold starts anneal eps geometrically from the scale of C down to the target (eps-scaling);
warm starts go straight to eps. Plain Sinkhorn needs thousands of iterations at eps = 0.01 on point
clouds (its slow modes are smooth shifts of the potentials), so the iterations are Anderson-accelerated.
The kernel is stored in the input dtype; potentials and scalings are float64 vectors.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

__all__ = ["SinkhornResult", "SinkhornDivergence", "ExactPlan", "cost_matrix", "sinkhorn",
           "sinkhorn_divergence", "exact_plan"]

# exp() of float32 below about -88 (float64: -708) takes the slow denormal path; kernel entries this
# small (relative to the row maximum 1) carry no mass anyway, so the exponent is clamped here.
_EXP_FLOOR = {torch.float32: -58.0, torch.float64: -580.0}
# Largest |log u|, |log v| tolerated before absorbing them into the potentials.
_TAU = {torch.float32: 20.0, torch.float64: 100.0}


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


@dataclass
class ExactPlan:
    """Exact (unregularised) OT between two equal-size uniform clouds: a permutation."""
    perm: np.ndarray              # x_i is sent to y_perm[i]
    cost: float                   # <P, C> with weights 1/n
    plan: np.ndarray              # P (n, n), entries 0 or 1/n


# ----------------------------------------------------------------------------- cost

def cost_matrix(x: torch.Tensor, y: torch.Tensor, p: float = 2) -> torch.Tensor:
    """C_ij = ||x_i - y_j||^p for (..., N, D), (..., M, D) -> (..., N, M); differentiable.

    Built from explicit coordinate differences (not |x|^2 + |y|^2 - 2xy) so that C(x, x) has an exact
    zero diagonal and float32 keeps its precision at small eps.
    """
    d = x.shape[-1]
    if d <= 8:
        # one coordinate at a time, from contiguous copies (strided broadcasting is several times slower)
        xs, ys = x.movedim(-1, 0).contiguous(), y.movedim(-1, 0).contiguous()
        diff = xs[0].unsqueeze(-1) - ys[0].unsqueeze(-2)
        sq = diff * diff
        for k in range(1, d):
            diff = xs[k].unsqueeze(-1) - ys[k].unsqueeze(-2)
            sq = sq.addcmul_(diff, diff)
    else:
        sq = (x.unsqueeze(-2) - y.unsqueeze(-3)).square().sum(-1)
    if p == 2:
        return sq
    # clamp keeps the gradient finite (zero) where two points coincide
    return sq.clamp_min(torch.finfo(sq.dtype).tiny).pow(p / 2) if sq.requires_grad else sq.pow(p / 2)


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
    if dtype not in _TAU:
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


# ----------------------------------------------------------------------------- solver

# Tuning (see the module docstring). Cold starts anneal eps by `eps_scaling` per level and iterate each level
# until its marginal error is below _LEVEL_TOL (at most _LEVEL_ITERS iterations): work done at a larger
# eps is cheap, and it leaves the last level close to its solution.
_LEVEL_TOL = 1e-3
_LEVEL_ITERS = 30
_AA_MEMORY = 30           # Anderson acceleration: number of past iterates mixed
_AA_PAUSE = 5             # plain iterations after the acceleration misbehaved
_STALL_ITERS = 200         # stop when the error has not improved for this many iterations
_REBUILD_BLOCK = 1 << 16  # float64 elements per block of the float32 kernel rebuild
_ACCEL = True             # Anderson acceleration on (False: plain Sinkhorn, for comparisons)


class _Kernel:
    """The stabilised kernel K_ij = exp((f_i + g_j - C_ij)/eps) of one batch, with fast products.

    K is stored in the dtype of C; the potentials and scalings (vectors) are kept in float64. A float32
    kernel is still built from a float64 exponent: rounding (g_j - C_ij)/eps in float32 would perturb
    the kernel by ulp(C)/eps (1e-3 at eps = 1e-3) differently at every rebuild, undoing convergence.
    """

    def __init__(self, C: torch.Tensor, vdtype: torch.dtype):
        self.C, self.vdtype = C, vdtype
        self.K = torch.empty_like(C)
        self.single = C.shape[0] == 1               # torch.mv is much cheaper than batched matmul
        self.floor = _EXP_FLOOR[C.dtype]
        B, N, M = C.shape
        # a float32 kernel's exponent is computed in float64 a block of rows at a time, in a small
        # cache-resident buffer (a fresh N x M float64 buffer cost 15 ms of page faults per call)
        self.rows = max(1, min(N, _REBUILD_BLOCK // (B * M)))
        self.arg = None if C.dtype == vdtype else torch.empty(B, self.rows, M, dtype=vdtype, device=C.device)

    def rebuild(self, g: torch.Tensor, e: float) -> torch.Tensor:
        """Kernel for potential g at eps e, with f_i = -e max_j (g_j - C_ij)/e so each row's max is 1."""
        C, K = self.C, self.K
        gs = (g * (1.0 / e)).unsqueeze(-2)
        if self.arg is None:
            torch.add(gs, C, alpha=-1.0 / e, out=K)                 # (g_j - C_ij)/e
            m = K.amax(-1, keepdim=True)
            K.sub_(m)
            f = m.squeeze(-1)
        else:
            N, r = C.shape[1], self.rows
            f = torch.empty(C.shape[:2], dtype=self.vdtype, device=C.device)
            for i0 in range(0, N, r):
                i1 = min(N, i0 + r)
                arg = self.arg[:, : i1 - i0]
                torch.add(gs, C[:, i0:i1], alpha=-1.0 / e, out=arg)
                m = arg.amax(-1, keepdim=True)
                K[:, i0:i1] = arg.sub_(m)
                f[:, i0:i1] = m.squeeze(-1)
        K.clamp_(min=self.floor).exp_()
        return f.mul_(-e)

    def mv(self, z: torch.Tensor) -> torch.Tensor:       # (B, M) -> (B, N): K z
        z = z.to(self.K.dtype)
        out = torch.mv(self.K[0], z[0]).unsqueeze(0) if self.single else \
            torch.matmul(self.K, z.unsqueeze(-1)).squeeze(-1)
        return out.to(self.vdtype)

    def mvt(self, z: torch.Tensor) -> torch.Tensor:      # (B, N) -> (B, M): K^T z
        z = z.to(self.K.dtype)
        out = torch.mv(self.K[0].t(), z[0]).unsqueeze(0) if self.single else \
            torch.matmul(z.unsqueeze(-2), self.K).squeeze(-2)
        return out.to(self.vdtype)


class _Anderson:
    """Anderson acceleration (type II) of the fixed-point map lv -> Sinkhorn(lv) on the log scalings of
    y, i.e. GMRES-like extrapolation from the last m steps. Near the solution a Sinkhorn iteration is a
    Jacobi-preconditioned Richardson step on a symmetric system whose slow modes multiply as eps
    shrinks, so a long memory pays off. Residuals are weighted by sqrt(b) (each point by its mass);
    the Gram matrix of the residual differences is updated incrementally (O(m M) per step)."""

    def __init__(self, m: int, sqrt_b: torch.Tensor):
        B, M = sqrt_b.shape
        self.m, self.w = m, sqrt_b
        self.dG = sqrt_b.new_zeros(B, m, M)          # differences of successive images, one per row
        self.dR = sqrt_b.new_zeros(B, m, M)          # differences of successive residuals
        self.A = sqrt_b.new_zeros(B, m, m)           # Gram matrix of dR
        self.prev: tuple[torch.Tensor, torch.Tensor] | None = None
        self.k = self.pos = 0

    def clear(self):
        self.prev, self.k, self.pos = None, 0, 0

    def shift(self, delta: torch.Tensor):
        """The origin of the iterates moved by delta (an absorption); differences are unchanged."""
        if self.prev is not None:
            self.prev = (self.prev[0] - delta, self.prev[1])

    def step(self, x: torch.Tensor, gx: torch.Tensor) -> torch.Tensor:
        """The next iterate, given the current one x and its image gx (may be non-finite: caller checks)."""
        r = self.w * (gx - x)
        if self.prev is not None:
            j = self.pos
            dr = self.dR[:, j]
            torch.sub(gx, self.prev[0], out=self.dG[:, j])
            torch.sub(r, self.prev[1], out=dr)
            col = torch.matmul(self.dR, dr.unsqueeze(-1)).squeeze(-1)           # (B, m)
            self.A[:, j, :] = col
            self.A[:, :, j] = col
            self.pos = (j + 1) % self.m
            self.k = min(self.k + 1, self.m)
        self.prev = (gx, r)
        k = self.k
        if k == 0:
            return gx
        A = self.A[:, :k, :k].clone()
        diag = A.diagonal(dim1=-2, dim2=-1)
        diag.add_(1e-9 * diag.sum(-1, keepdim=True) + 1e-300)
        rhs = torch.matmul(self.dR[:, :k], r.unsqueeze(-1))                    # (B, k, 1)
        gamma, info = torch.linalg.solve_ex(A, rhs)
        return gx - torch.matmul(gamma.transpose(-1, -2), self.dG[:, :k]).squeeze(-2)


def _solve(C: torch.Tensor, a: torch.Tensor, b: torch.Tensor, eps: float, *, max_iter: int, tol: float,
           g0: torch.Tensor | None, scaling: float | None, start_eps: float | None = None) -> dict:
    """Batched solver on C (B, N, M) with weights a (B, N), b (B, M); everything already validated."""
    tau = _TAU[C.dtype]
    ker = _Kernel(C, a.dtype)
    errors: list[float] = []
    n_iter = 0
    sqrt_b = b.sqrt()

    def run(G: torch.Tensor, e: float, n_max: int, stop_tol: float, final: bool):
        """Iterate at eps = e from the potential G of y until the marginal error is <= stop_tol."""
        nonlocal n_iter
        g_k = G
        f_k = ker.rebuild(g_k, e)
        lv = torch.zeros_like(G)                     # log v: the iterate, potential g_k + e * lv
        aa = _Anderson(_AA_MEMORY, sqrt_b) if _ACCEL else None
        aa_best = (math.inf, None)                   # (best error since the last restart, its plain update)
        plain_until = 0
        best, since_best = math.inf, 0
        while True:
            t = ker.mv(b * lv.exp())                  # row sums / (a u), for v = exp(lv)
            u = t.reciprocal()                        # row update: rows exact
            w = ker.mvt(a * u)
            lvp = w.log().neg_()                      # column update: G' = g_k + e * lvp
            # running check, free: the L1 column error of (u, v) after the row update
            err = (b * (lv - lvp).expm1_().abs_()).sum(-1)
            n_iter += 1
            n_max -= 1
            err_max = float(err.amax())
            if err_max < best:
                best, since_best = err_max, 0
            else:
                since_best += 1
            # stalled: float32 kernels reach a floor near 1e-6 at eps ~ 1e-3 (rounding of the kernel)
            done = (err_max <= stop_tol or n_max <= 0 or not math.isfinite(err_max)
                    or since_best >= _STALL_ITERS)
            if done and not final:                     # an annealing level: only G is needed
                errors.append(err_max)
                return None, g_k + e * lvp, None
            if done:
                # the reported error: the L1 row error after the exact column update (like POT)
                vp = lvp.exp()
                t = ker.mv(b * vp)
                err_max = float((a * (u * t - 1.0).abs()).sum(-1).amax())
                done = (err_max <= stop_tol or n_max <= 0 or not math.isfinite(err_max)
                        or since_best >= _STALL_ITERS)
            errors.append(err_max)
            if done:
                return f_k + e * u.log(), g_k + e * lvp, (u, vp, t)
            if aa is None:
                lv = lvp
            elif err_max > 2.0 * aa_best[0]:
                # extrapolation made things worse than the best iterate since the last restart: go
                # back to that iterate's plain update, forget the history, take a few plain steps
                aa.clear()
                lv = aa_best[1]
                aa_best, plain_until = (math.inf, None), n_iter + _AA_PAUSE
            else:
                if err_max < aa_best[0]:
                    aa_best = (err_max, lvp)
                lv_aa = aa.step(lv, lvp)
                lv = lv_aa if n_iter >= plain_until else lvp
            size = float(lv.abs().amax())
            if not math.isfinite(size):                # a singular extrapolation: take the plain step
                if aa is not None:
                    aa.clear()
                lv, size = lvp, float(lvp.abs().amax())
            if size > tau:
                # absorb the scalings into the potentials: rebuild the kernel around g_k + e lv
                g_k = g_k + e * lv
                f_k = ker.rebuild(g_k, e)
                if aa is not None:
                    aa.shift(lv)
                if aa_best[1] is not None:
                    aa_best = (aa_best[0], aa_best[1] - lv)
                lv = torch.zeros_like(lv)

    G = torch.zeros_like(b) if g0 is None else g0
    n_scaling = 0
    if scaling is not None and 0.0 < scaling < 1.0 and (g0 is None or start_eps is not None):
        # anneal eps from the scale of the costs (or from the eps of the warm start): each level starts
        # near its solution, and iterations at a larger eps are cheap
        e = float(C.amax()) if g0 is None else float(start_eps) * scaling
        while e * scaling > eps and n_iter + _LEVEL_ITERS < max_iter:
            _, G, _ = run(G, e, _LEVEL_ITERS, _LEVEL_TOL, False)
            e *= scaling
        n_scaling = n_iter
    F, G, (u, v, t) = run(G, eps, max(1, max_iter - n_iter), tol, True)

    # P = diag(a u) K diag(b v), written over the kernel buffer
    B, dt = C.shape[0], C.dtype
    au, bv = a * u, b * v
    P = ker.K.mul_(au.to(dt).unsqueeze(-1)).mul_(bv.to(dt).unsqueeze(-2))
    n_m = C.shape[1] * C.shape[2]
    cost = torch.bmm(P.reshape(B, 1, n_m), C.reshape(B, n_m, 1)).reshape(B)
    # <P,C> + eps KL(P | a x b) = <P 1, F> + <P^T 1, G>, since log(P / ab) = (F + G - C) / eps
    objective = ((au * t * F).sum(-1) + (b * G).sum(-1)).to(dt)
    err = errors[-1]
    return dict(cost=cost, objective=objective, plan=P, cost_matrix=C, f=F.to(dt), g=G.to(dt), f_full=F,
                g_full=G, n_iter=n_iter,
                marginal_error=err, errors=np.asarray(errors, dtype=np.float64),
                converged=bool(err <= tol), eps=float(eps), n_scaling_iter=n_scaling)


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
        g0 = start_eps = None
        if init is not None:
            if isinstance(init, SinkhornResult):
                # coming down from a larger eps (a slider moved): anneal from there
                start_eps = init.eps if init.eps > 2.0 * eps else None
                init = init.init
            f0, g0 = init
            _init_potential(f0, B, N, like, "f")
            g0 = _init_potential(g0, B, M, like, "g")
        out = _solve(C, a_, b_, eps, max_iter=int(max_iter), tol=float(tol), g0=g0, scaling=eps_scaling,
                     start_eps=start_eps)
    if not batched:
        for k in ("cost", "objective", "plan", "cost_matrix", "f", "g", "f_full", "g_full"):
            out[k] = out[k].squeeze(0)
    return SinkhornResult(**out)


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


# ----------------------------------------------------------------------------- exact OT

def exact_plan(x, y, p: float = 2) -> ExactPlan:
    """Exact OT between equal-size uniform clouds x, y (n, D): an optimal permutation (scipy's
    linear_sum_assignment on C), its cost <P, C> with weights 1/n, and the plan matrix."""
    xn = (x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)).astype(np.float64)
    yn = (y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)).astype(np.float64)
    if xn.ndim != 2 or yn.ndim != 2 or xn.shape != yn.shape:
        raise ValueError(f"exact_plan needs two (n, D) clouds of the same size; got {xn.shape} and {yn.shape}")
    n = xn.shape[0]
    C = cost_matrix(torch.from_numpy(xn), torch.from_numpy(yn), p).numpy()
    rows, cols = linear_sum_assignment(C)
    perm = np.empty(n, dtype=np.int64)
    perm[rows] = cols
    plan = np.zeros((n, n))
    plan[np.arange(n), perm] = 1.0 / n
    return ExactPlan(perm=perm, cost=float(C[np.arange(n), perm].mean()), plan=plan)
