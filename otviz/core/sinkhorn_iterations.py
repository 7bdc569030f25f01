"""Sinkhorn iterations for `otviz.core.sinkhorn`: a batched, stabilised, accelerated solver on a cost matrix.

The kernel form of Sinkhorn with absorption (Schmitzer 2019): scalings u, v act on a stabilised kernel
exp((f_i + g_j - C_ij)/eps), so an iteration is two matrix-vector products instead of two log-sum-exp
passes; whenever the scalings leave [e^-tau, e^tau] they are absorbed into f, g and the kernel is rebuilt
(one pass of exp, rows normalised to a maximum of 1), so small eps never under- or overflows. Cold
starts anneal eps geometrically from the scale of C down to the target (eps-scaling); warm starts go
straight to eps. Plain Sinkhorn needs thousands of iterations at eps = 0.01 on point clouds (its slow
modes are smooth shifts of the potentials), so the iterations are Anderson-accelerated. The kernel is
stored in the input dtype; potentials and scalings are float64 vectors.

Warm re-solves (a point dragged: the same problem, slightly changed, every frame) are cheap because
  - a solve hands back its Anderson history, and the next one goes on from it: the slow modes of the
    changed problem are nearly the same, so the extrapolation works from the first iteration (at
    eps = 0.001, n = 1,000: ~17 iterations instead of ~45);
  - the warm start can re-derive either potential: from g (f_i recomputed, right when x moved) or,
    given f0, from f (g_j recomputed, right when only y moved); the caller knows which moved;
  - the kernel lives in a buffer kept between solves (a fresh N x M one is page-faulted in each time)
    and its exp is numpy's (vectorised, faster than torch's on the CPU, as accurate).
"""
from __future__ import annotations

import math
import threading

import numpy as np
import torch
from scipy.linalg.lapack import dposv as _posv

# exp() of float32 below about -88 (float64: -708) takes the slow denormal path; kernel entries this
# small (relative to the row maximum 1) carry no mass anyway, so the exponent is clamped here.
_EXP_FLOOR = {torch.float32: -58.0, torch.float64: -580.0}
# Largest |log u|, |log v| tolerated before absorbing them into the potentials.
_TAU = {torch.float32: 20.0, torch.float64: 100.0}

# Tuning. Cold starts anneal eps by `scaling` per level and iterate each level
# until its marginal error is below _LEVEL_TOL (at most _LEVEL_ITERS iterations): work done at a larger
# eps is cheap, and it leaves the last level close to its solution.
_LEVEL_TOL = 1e-3
_LEVEL_ITERS = 30
_AA_MEMORY = 30           # Anderson acceleration: number of past iterates mixed
_AA_PAUSE = 5             # plain iterations after the acceleration misbehaved
_AA_WARM_MEMORY = 60      # ... when going on from an earlier solve's history (near-linear, so longer pays)
_STALL_ITERS = 200        # stop when the error has not improved for this many iterations
_REBUILD_BLOCK = 1 << 16  # float64 elements per block of the float32 kernel rebuild
_ACCEL = True             # Anderson acceleration on (False: plain Sinkhorn, for comparisons)
# work buffers up to this many bytes are kept between solves (per thread), larger ones are allocated
_BUFFER_MAX = 32 << 20
# a result carries its Anderson history (for a later solve to go on from) up to this many bytes
_HISTORY_MAX = 4 << 20

_local = threading.local()


def work_buffer(name: str, shape: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """An uninitialised tensor that later calls in this thread get again (same name): a fresh large
    tensor costs more in page faults than filling it. Never hand one to a caller."""
    n = math.prod(shape)
    if n * dtype.itemsize > _BUFFER_MAX:
        return torch.empty(shape, dtype=dtype, device=device)
    bufs = _local.__dict__.setdefault("buffers", {})
    buf = bufs.get(name)
    if buf is None or buf.numel() < n or buf.dtype != dtype or buf.device != device:
        bufs[name] = buf = torch.empty(n, dtype=dtype, device=device)
    return buf[:n].view(shape)


def exp_(t: torch.Tensor) -> torch.Tensor:
    """t.exp_(), through numpy on the CPU: its (SVML) exp is vectorised, faster than torch's, as accurate."""
    if t.device.type == "cpu" and t.is_contiguous() and not t.requires_grad:
        a = t.numpy()
        np.exp(a, out=a)
        return t
    return t.exp_()


def _bmv(A: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """(B, n, m) @ (B, m) -> (B, n); torch.mv when B = 1 (much cheaper than a batched matmul)."""
    if A.shape[0] == 1:
        return torch.mv(A[0], z[0]).unsqueeze(0)
    return torch.matmul(A, z.unsqueeze(-1)).squeeze(-1)


class _Kernel:
    """The stabilised kernel K_ij = exp((f_i + g_j - C_ij)/eps) of one batch, with fast products.

    K is stored in the dtype of C; the potentials and scalings (vectors) are kept in float64. A float32
    kernel is still built from a float64 exponent: rounding (g_j - C_ij)/eps in float32 would perturb
    the kernel by ulp(C)/eps (1e-3 at eps = 1e-3) differently at every rebuild, undoing convergence.
    """

    def __init__(self, C: torch.Tensor, vdtype: torch.dtype):
        self.C, self.vdtype = C, vdtype
        B, N, M = C.shape
        self.K = work_buffer("kernel", C.shape, C.dtype, C.device)    # not returned: the plan is a copy
        self.Kt = self.K.transpose(-1, -2)
        self.floor = _EXP_FLOOR[C.dtype]
        # a float32 kernel's exponent is computed in float64 a block of rows at a time, in a small
        # cache-resident buffer (a fresh N x M float64 buffer would be page-faulted in on every call)
        self.rows = max(1, min(N, _REBUILD_BLOCK // (B * M)))
        self.arg = None if C.dtype == vdtype else \
            work_buffer("kernel exponent", (B, self.rows, M), vdtype, C.device)

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
        exp_(K.clamp_(min=self.floor))
        return f.mul_(-e)

    def mv(self, z: torch.Tensor) -> torch.Tensor:       # (B, M) -> (B, N): K z
        return _bmv(self.K, z.to(self.K.dtype)).to(self.vdtype)

    def mvt(self, z: torch.Tensor) -> torch.Tensor:      # (B, N) -> (B, M): K^T z
        return _bmv(self.Kt, z.to(self.K.dtype)).to(self.vdtype)


class _Anderson:
    """Anderson acceleration (type II) of the fixed-point map lv -> Sinkhorn(lv) on the log scalings of
    y, i.e. GMRES-like extrapolation from the last m steps. Near the solution a Sinkhorn iteration is a
    Jacobi-preconditioned Richardson step on a symmetric system whose slow modes multiply as eps
    shrinks, so a long memory pays off. Residuals are weighted by sqrt(b) (each point by its mass);
    the Gram matrix of the residual differences is updated incrementally (O(m M) per step) and kept,
    with the small solve, on the host (numpy: a few calls where torch would dispatch a dozen small ones)."""

    def __init__(self, m: int, sqrt_b: torch.Tensor):
        B, M = sqrt_b.shape
        self.m, self.w = m, sqrt_b
        self.dG = sqrt_b.new_zeros(B, m, M)          # differences of successive images, one per row
        self.dR = sqrt_b.new_zeros(B, m, M)          # differences of successive residuals
        self.A = np.zeros((B, m, m))                 # Gram matrix of dR
        self.prev: tuple[torch.Tensor, torch.Tensor] | None = None
        self.k = self.pos = 0
        # the safeguard: (best error since the last restart, its plain update), and the iteration
        # before which plain updates are taken after a restart
        self.best: tuple[float, torch.Tensor | None] = (math.inf, None)
        self.plain_until = 0

    def resumed(self, m: int, sqrt_b: torch.Tensor) -> _Anderson:
        """A copy with room for max(m, self.m) steps, holding this one's (oldest first, so that they go
        first), to go on from in a new problem: its first step starts afresh (prev None). A copy, so that
        the result holding this history can seed any number of solves, each the same."""
        m, k = max(m, self.m), self.k
        new = _Anderson(m, sqrt_b)
        order = [(self.pos - k + i) % self.m for i in range(k)]
        new.dG[:, :k], new.dR[:, :k] = self.dG[:, order], self.dR[:, order]
        new.A[:, :k, :k] = self.A[:, order][:, :, order]
        new.k, new.pos = k, k % m
        return new

    def clear(self):
        self.prev, self.k, self.pos = None, 0, 0

    def shift(self, delta: torch.Tensor):
        """The origin of the iterates moved by delta (an absorption); differences are unchanged."""
        if self.prev is not None:
            self.prev = (self.prev[0] - delta, self.prev[1])
        if self.best[1] is not None:
            self.best = (self.best[0], self.best[1] - delta)

    def safeguarded_step(self, x: torch.Tensor, gx: torch.Tensor, err: float, n_iter: int) -> torch.Tensor:
        """The next iterate after x, whose plain update gx has the marginal error err (at iteration n_iter).
        Extrapolation can make things worse than the best iterate since the last restart: then it goes back
        to that iterate's plain update, forgets the history and takes a few plain steps."""
        if err > 2.0 * self.best[0]:
            self.clear()
            x = self.best[1]
            self.best, self.plain_until = (math.inf, None), n_iter + _AA_PAUSE
            return x
        if err < self.best[0]:
            self.best = (err, gx)
        x_aa = self.step(x, gx)
        return x_aa if n_iter >= self.plain_until else gx

    def step(self, x: torch.Tensor, gx: torch.Tensor) -> torch.Tensor:
        """The next iterate, given the current one x and its image gx (may be non-finite: caller checks)."""
        r = (gx - x).mul_(self.w)
        k = self.k
        if self.prev is not None:
            # the new difference goes to column j (the active columns are the first k)
            j, k = self.pos, min(k + 1, self.m)
            torch.sub(gx, self.prev[0], out=self.dG[:, j])
            dr = torch.sub(r, self.prev[1], out=self.dR[:, j])
            self.A[:, j, :k] = self.A[:, :k, j] = _bmv(self.dR[:, :k], dr).cpu().numpy()
            self.pos, self.k = (j + 1) % self.m, k
        self.prev = (gx, r)
        if k == 0:
            return gx
        rhs = _bmv(self.dR[:, :k], r).cpu().numpy()
        gamma = np.empty((len(rhs), k))
        for i, Ai in enumerate(self.A[:, :k, :k]):
            A = Ai.copy()
            d = A.reshape(-1)[:: k + 1]                                             # the diagonal
            d += 1e-9 * d.sum() + 1e-300
            _, gamma[i], info = _posv(A, rhs[i], overwrite_a=1)
            if info:
                return gx
        gamma = torch.from_numpy(gamma).to(device=gx.device, dtype=gx.dtype)
        if gx.shape[0] == 1:
            return torch.addmv(gx[0], self.dG[0, :k].t(), gamma[0], alpha=-1.0).unsqueeze(0)
        return gx - torch.matmul(gamma.unsqueeze(-2), self.dG[:, :k]).squeeze(-2)


def solve(C: torch.Tensor, a: torch.Tensor, b: torch.Tensor, eps: float, *, max_iter: int, tol: float,
          g0: torch.Tensor | None, scaling: float | None, start_eps: float | None = None,
          f0: torch.Tensor | None = None, history: _Anderson | None = None) -> dict:
    """Batched solver on C (B, N, M) with weights a (B, N), b (B, M) (summing to 1, float64 unless the
    device has none), eps > 0; g0 (B, M) a warm-start potential of y, start_eps the eps it was solved at
    (annealed down from when given).
    f0 (B, N): with g0 (no annealing), the first iteration takes the scaling of x from f0 and updates
        g from it, instead of re-deriving f from g0: the better start when only y changed since.
    history: the `history` of an earlier solve at this eps and these shapes, to go on from (warm starts
        without annealing); it is not changed.
    Returns the fields of a SinkhornResult as a dict, and `history`: the Anderson state of the final
    eps (None without acceleration or when large), for a later warm start."""
    it = _Iterations(C, a, b)
    sqrt_b = b.sqrt()
    G = torch.zeros_like(b) if g0 is None else g0
    if scaling is not None and 0.0 < scaling < 1.0 and (g0 is None or start_eps is not None):
        # anneal eps from the scale of the costs (or from the eps of the warm start): each level starts
        # near its solution, and iterations at a larger eps are cheap
        e = float(C.amax()) if g0 is None else float(start_eps) * scaling
        G = it.anneal(G, e, eps, scaling, max_iter, sqrt_b)
    n_scaling = it.n_iter
    warm = g0 is not None and n_scaling == 0           # the final eps starts from (f0,) g0 themselves
    aa = _final_anderson(warm, history, G, sqrt_b)
    F, G, (au, v, t) = it.run(G, eps, max(1, max_iter - it.n_iter), tol, aa, True, f0 if warm else None)
    if aa is not None and 2 * aa.dG.numel() * aa.dG.element_size() > _HISTORY_MAX:
        aa = None                                      # the result would carry too much
    err = it.errors[-1]
    return dict(**_plan_and_costs(it.ker, C, b, au, v, t, F, G), n_iter=it.n_iter,
                marginal_error=err, errors=np.asarray(it.errors, dtype=np.float64),
                converged=bool(err <= tol), eps=float(eps), n_scaling_iter=n_scaling, history=aa)


def _final_anderson(warm: bool, history: _Anderson | None, G: torch.Tensor,
                    sqrt_b: torch.Tensor) -> _Anderson | None:
    """The acceleration state the final eps starts with."""
    if not _ACCEL:
        return None
    if warm and history is not None and history.dG.shape[::2] == G.shape:
        # go on from the earlier solve's history: only its last iterate belongs to another problem
        return history.resumed(_AA_WARM_MEMORY, sqrt_b)
    return _Anderson(_AA_MEMORY, sqrt_b)


def _plan_and_costs(ker: _Kernel, C: torch.Tensor, b: torch.Tensor, au: torch.Tensor, v: torch.Tensor,
                    t: torch.Tensor, F: torch.Tensor, G: torch.Tensor) -> dict:
    """The plan, its cost and objective, and the potentials, from the final scalings and potentials."""
    # P = diag(a u) K diag(b v): a fresh tensor (the kernel buffer is reused by the next solve)
    B, dt = C.shape[0], C.dtype
    bv = b * v
    P = torch.mul(ker.K, au.to(dt).unsqueeze(-1), out=torch.empty_like(C)).mul_(bv.to(dt).unsqueeze(-2))
    n_m = C.shape[1] * C.shape[2]
    cost = torch.bmm(P.reshape(B, 1, n_m), C.reshape(B, n_m, 1)).reshape(B)
    # <P,C> + eps KL(P | a x b) = <P 1, F> + <P^T 1, G>, since log(P / ab) = (F + G - C) / eps
    objective = ((au * t * F).sum(-1) + (b * G).sum(-1)).to(dt)
    return dict(cost=cost, objective=objective, plan=P, cost_matrix=C, f=F.to(dt), g=G.to(dt), f_full=F,
                g_full=G)


class _Iterations:
    """Sinkhorn iterations on the kernel of C, counted across eps levels, each one's marginal error kept."""

    def __init__(self, C: torch.Tensor, a: torch.Tensor, b: torch.Tensor):
        self.ker = _Kernel(C, a.dtype)
        self.a, self.b = a, b
        self.tau = _TAU[C.dtype]
        self.errors: list[float] = []
        self.n_iter = 0

    def anneal(self, G: torch.Tensor, e: float, eps: float, scaling: float, max_iter: int,
               sqrt_b: torch.Tensor) -> torch.Tensor:
        """G carried down the levels e, e * scaling, ... while the next one is above eps (and the
        iteration budget leaves room for a level), each level solved loosely."""
        while e * scaling > eps and self.n_iter + _LEVEL_ITERS < max_iter:
            aa = _Anderson(_AA_MEMORY, sqrt_b) if _ACCEL else None
            _, G, _ = self.run(G, e, _LEVEL_ITERS, _LEVEL_TOL, aa, False)
            e *= scaling
        return G

    def run(self, G: torch.Tensor, e: float, n_max: int, stop_tol: float, aa: _Anderson | None, final: bool,
            F0: torch.Tensor | None = None):
        """Iterate at eps = e from the potential G of y (and F0 of x, if given) until the marginal error
        is <= stop_tol. Returns (F, G, (a u, v, K b v)); only G on a level that is not `final`."""
        g_k = G
        f_k = self.ker.rebuild(g_k, e)
        lv = torch.zeros_like(G)                     # log v: the iterate, potential g_k + e * lv
        best, since_best = math.inf, 0
        while True:
            au, lvp, err_max = self._update(lv, f_k, e, F0)
            self.n_iter += 1
            n_max -= 1
            if err_max < best:
                best, since_best = err_max, 0
            else:
                since_best += 1
            # stalled: float32 kernels reach a floor near 1e-6 at eps ~ 1e-3 (rounding of the kernel)
            done = (err_max <= stop_tol or n_max <= 0 or not math.isfinite(err_max)
                    or since_best >= _STALL_ITERS)
            if done and not final:                     # an annealing level: only G is needed
                self.errors.append(err_max)
                return None, g_k + e * lvp, None
            if done:
                # the reported error: the L1 row error after the exact column update (like POT)
                err_max, vp, t = self._row_error(au, lvp)
                done = (err_max <= stop_tol or n_max <= 0 or not math.isfinite(err_max)
                        or since_best >= _STALL_ITERS)
            self.errors.append(err_max)
            if done:
                return f_k + e * (au / self.a).log_(), g_k + e * lvp, (au, vp, t)
            if aa is None or F0 is not None:           # (the step from F0 is not one of the map's)
                lv, F0 = lvp, None
            else:
                lv = aa.safeguarded_step(lv, lvp, err_max, self.n_iter)
            g_k, f_k, lv = self._absorb(g_k, f_k, lv, lvp, e, aa)

    def _update(self, lv: torch.Tensor, f_k: torch.Tensor, e: float, F0: torch.Tensor | None):
        """One iteration from the log scaling lv of y: the row update (a u), the column update as the
        log scaling lvp (potential g_k + e * lvp), and the L1 column error of (u, v) after the row update."""
        a, b, ker = self.a, self.b, self.ker
        bv = lv.exp().mul_(b)                      # b v, for v = exp(lv)
        if F0 is None:
            au = a / ker.mv(bv)                    # row update (a u): rows exact
        else:                                      # first iteration from F0: u = exp((F0 - f_k)/e)
            au = a * ((F0 - f_k) * (1.0 / e)).clamp_(-self.tau, self.tau).exp_()
        w = ker.mvt(au)
        lvp = w.log().neg_()                       # column update: G' = g_k + e * lvp
        # a running check that costs nothing: sum_j |b_j v_j w_j - b_j| reuses both products
        err_max = float((bv * w - b).abs_().sum(-1).amax())
        return au, lvp, err_max

    def _row_error(self, au: torch.Tensor, lvp: torch.Tensor):
        """The L1 row error after the column update lvp, with v and K b v (one more product)."""
        vp = lvp.exp()
        t = self.ker.mv(self.b * vp)
        return float((au * t - self.a).abs_().sum(-1).amax()), vp, t

    def _absorb(self, g_k: torch.Tensor, f_k: torch.Tensor, lv: torch.Tensor, lvp: torch.Tensor, e: float,
                aa: _Anderson | None):
        """The next iterate made safe: the plain update where extrapolation gave non-finite values, and
        absorbed into the potentials (kernel rebuilt) once exp(lv) would leave [e^-tau, e^tau]."""
        size = float(lv.abs().amax())
        if not math.isfinite(size):                # a singular extrapolation: take the plain step
            if aa is not None:
                aa.clear()
            lv, size = lvp, float(lvp.abs().amax())
        if size > self.tau:
            # absorb the scalings into the potentials: rebuild the kernel around g_k + e lv
            g_k = g_k + e * lv
            f_k = self.ker.rebuild(g_k, e)
            if aa is not None:
                aa.shift(lv)
            lv = torch.zeros_like(lv)
        return g_k, f_k, lv
