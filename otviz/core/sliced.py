"""Sliced p-Wasserstein distance between 2-D points and a Gaussian mixture (Kolouri et al., CVPR 2018).

A direction θ turns the points into 1-D samples ⟨x, θ⟩ and the GMM into a 1-D GMM (means ⟨μ_k, θ⟩,
variances θᵀΣ_kθ). The 1-D W_p^p between n sorted samples and the 1-D GMM is exact: the GMM is cut at
its quantiles i/n and sample i is moved onto cell i. The quantiles come from a bracketed bisection on the
mixture CDF sped up by Newton steps (vectorised over all levels and directions), differentiated with the
implicit-function rule.

Conventions: every function returns W_p^p (no root); `sliced_wasserstein_gmm` returns the mean of
W_p^p over the directions, (SW_p^p), as in ott-jax; POT's `sliced_wasserstein_distance` returns its
p-th root. Shapes: 1-D GMM parameters are (..., K) tensors, samples and levels (..., n).
"""
from __future__ import annotations

import math
import re

import numpy as np
import torch

# the presets live with SW-GMM's config, where the window reads them without importing torch
from otviz.methods.swgmm_config import FIXED_PRESETS

_SQRT2 = math.sqrt(2.0)
_INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)
QUANTILE_TOL = 1e-12      # the root finder stops when every step is smaller than this (float64)
QUANTILE_MAX_ITERS = 80     # bisection from a bracket of width 1e6 reaches 1e-12 in 60
QUAD_NODES = 8            # Gauss–Legendre nodes per half cell for p other than 1 and 2
TAIL_POWER = 3            # node clustering u = t^k in the two unbounded end cells


# ----------------------------------------------------------------------------- directions

def parse_fixed_directions(text: str) -> np.ndarray:
    """Angles in degrees from a preset name (see FIXED_PRESETS) or typed angles like "0, 90, 45".

    Raises ValueError saying what is wrong with the text.
    """
    key = " ".join(str(text).strip().lower().split())
    key = re.sub(r"\s*,\s*", ",", key)
    if key in ("", "none"):
        return np.zeros(0)
    if key in FIXED_PRESETS:
        return np.asarray(FIXED_PRESETS[key], dtype=np.float64)
    angles = []
    for part in re.split(r"[,\s;]+", key):
        if not part:
            continue
        try:
            a = float(part)
        except ValueError:
            raise ValueError(f"fixed directions: {part!r} is not an angle in degrees; use one of "
                             f"{', '.join(FIXED_PRESETS)} or angles like 0,90,45") from None
        if not math.isfinite(a):
            raise ValueError(f"fixed directions: {part!r} is not a finite angle")
        angles.append(a)
    if len(angles) > 64:
        raise ValueError(f"fixed directions: {len(angles)} angles given; at most 64")
    return np.asarray(angles, dtype=np.float64)


def angles_to_directions(degrees, dtype=torch.float64, device=None) -> torch.Tensor:
    """Unit vectors (cos a, sin a) for angles in degrees, shape (L, 2)."""
    a = torch.as_tensor(np.radians(np.asarray(degrees, dtype=np.float64)), dtype=dtype, device=device)
    return torch.stack([torch.cos(a), torch.sin(a)], -1)


def random_directions(n: int, gen: torch.Generator, dtype=torch.float64, device=None) -> torch.Tensor:
    """n unit vectors uniform on the circle (angles in [0, π): θ and −θ give the same slice)."""
    a = torch.rand(n, generator=gen, dtype=torch.float64) * math.pi
    return torch.stack([torch.cos(a), torch.sin(a)], -1).to(dtype=dtype, device=device)


# ----------------------------------------------------------------------------- projections

def project_points(x: torch.Tensor, dirs: torch.Tensor) -> torch.Tensor:
    """⟨x_i, θ_l⟩ for points (n, D) and directions (L, D): shape (L, n)."""
    return dirs @ x.T


def project_gmm(means: torch.Tensor, covs: torch.Tensor, dirs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """1-D means ⟨μ_k, θ⟩ and variances θᵀΣ_kθ, each (L, K).

    covs is (K, D) for diagonal covariances (the variances) or (K, D, D) for full ones.
    """
    m = dirs @ means.T
    if covs.dim() == 2:
        v = (dirs * dirs) @ covs.T
    else:
        v = torch.einsum("ld,kde,le->lk", dirs, covs, dirs)
    return m, v


# ----------------------------------------------------------------------------- 1-D mixture

def _ncdf(z: torch.Tensor) -> torch.Tensor:
    return 0.5 * torch.erfc(-z / _SQRT2)          # erfc keeps the lower tail accurate


def _npdf(z: torch.Tensor) -> torch.Tensor:
    return torch.exp(-0.5 * z * z) * _INV_SQRT2PI


def _z(x, means, variances):
    return (x[..., :, None] - means[..., None, :]) / torch.sqrt(variances)[..., None, :]


def gmm_cdf(x, weights, means, variances) -> torch.Tensor:
    """Mixture CDF at x (..., n) for a 1-D GMM (..., K)."""
    return (_ncdf(_z(x, means, variances)) * weights[..., None, :]).sum(-1)


def gmm_pdf(x, weights, means, variances) -> torch.Tensor:
    """Mixture density at x (..., n)."""
    sd = torch.sqrt(variances)[..., None, :]
    return (_npdf(_z(x, means, variances)) / sd * weights[..., None, :]).sum(-1)


def _solve_quantiles(levels, weights, means, variances, tol, max_iters):
    """Quantiles by safeguarded Newton on the strictly increasing mixture CDF (no autograd).

    Every element keeps a bracket [lo, hi] with F(lo) ≤ u ≤ F(hi); a Newton step that leaves it (flat
    CDF between far-apart components) is replaced by bisection, so it converges like bisection at
    worst and quadratically near the root (about 5 iterations instead of 40 for 1e-12).
    """
    sd = torch.sqrt(variances)
    # Each component's own quantile brackets the mixture's: F ≤ u at the smallest, ≥ u at the largest.
    zq = torch.special.ndtri(levels)[..., :, None]
    comp = means[..., None, :] + sd[..., None, :] * zq
    margin = 0.01 * sd.amax(-1, keepdim=True) + 1e-9           # room for weights not summing exactly to 1
    lo = comp.amin(-1) - margin
    hi = comp.amax(-1) + margin
    x = (comp * weights[..., None, :]).sum(-1) / weights.sum(-1, keepdim=True)
    x = torch.minimum(torch.maximum(x, lo), hi)
    # Lower half of the levels: F(x) − u = ½Σ w_k erfc(−t_k) − u; upper half: F(x) − u = (Σw − u) −
    # ½Σ w_k erfc(t_k), t_k = (x − m_k)/(s_k√2): erfc of the small side keeps the tails exact.
    lower = levels < 0.5
    sign = torch.where(lower, -1.0, 1.0).to(levels.dtype)[..., None]      # (..., n, 1)
    scale = sign / (sd * _SQRT2)[..., None, :]
    shift = sign * (-means / (sd * _SQRT2))[..., None, :]
    wsum = weights.sum(-1, keepdim=True)
    target = torch.where(lower, levels, wsum - levels)
    half_w = (0.5 * weights)[..., :, None]
    pdf_w = (weights / (sd * math.sqrt(2.0 * math.pi)))[..., :, None]     # f(x) = Σ pdf_w exp(−t²)
    rsign = -sign[..., 0]
    step_tol = tol * (1.0 + float(torch.maximum(lo.abs(), hi.abs()).max())) if x.numel() else tol
    for _ in range(max_iters):
        t = torch.addcmul(shift, x[..., None], scale)
        resid = rsign * ((torch.erfc(t) @ half_w)[..., 0] - target)       # F(x) − u
        f = (torch.exp(t.square().neg_()) @ pdf_w)[..., 0]
        above = resid >= 0
        hi = torch.where(above, x, hi)
        lo = torch.where(above, lo, x)
        new = x - resid / f
        inside = (new >= lo) & (new <= hi)                                 # false for f = 0 (inf/nan) too
        new = torch.where(inside, new, 0.5 * (lo + hi))
        done = float((new - x).abs().max()) <= step_tol if x.numel() else True
        x = new
        if done:
            break
    return x


def _sum_to(g: torch.Tensor, shape) -> torch.Tensor:
    """Reduce a broadcast gradient back to an input's shape."""
    while g.dim() > len(shape):
        g = g.sum(0)
    for i, s in enumerate(shape):
        if s == 1 and g.shape[i] != 1:
            g = g.sum(i, keepdim=True)
    return g


class _GMMQuantile(torch.autograd.Function):
    """q = F⁻¹(u): forward by a bracketed root search, backward by the implicit-function rule dq = −∂F / f(q)."""

    @staticmethod
    def forward(ctx, levels, weights, means, variances):
        q = _solve_quantiles(levels, weights, means, variances, QUANTILE_TOL, QUANTILE_MAX_ITERS)
        ctx.save_for_backward(q, levels, weights, means, variances)
        return q

    @staticmethod
    def backward(ctx, g):
        q, levels, weights, means, variances = ctx.saved_tensors
        sd = torch.sqrt(variances)[..., None, :]
        z = (q[..., :, None] - means[..., None, :]) / sd
        wpdf = _npdf(z) / sd * weights[..., None, :]               # w_k φ(z_k)/s_k, (..., n, K)
        f = wpdf.sum(-1).clamp_min(1e-300)
        gf = (g / f)[..., None]                                     # (..., n, 1)
        gl = gw = gm = gv = None
        if ctx.needs_input_grad[0]:
            gl = _sum_to(g / f, levels.shape)
        if ctx.needs_input_grad[1]:
            gw = _sum_to((-gf * _ncdf(z)).sum(-2), weights.shape)
        if ctx.needs_input_grad[2]:
            gm = _sum_to((gf * wpdf).sum(-2), means.shape)
        if ctx.needs_input_grad[3]:
            gv = _sum_to((gf * wpdf * z / (2.0 * sd)).sum(-2), variances.shape)
        return gl, gw, gm, gv


def gmm_quantile(levels, weights, means, variances) -> torch.Tensor:
    """Quantiles F⁻¹(u) of a 1-D GMM at levels u ∈ (0, 1), differentiable in all arguments.

    levels (..., n) and parameters (..., K) broadcast over the leading dimensions (directions);
    weights should sum to 1. Float64 gives quantiles to ~1e-12.
    """
    shape = torch.broadcast_shapes(levels.shape[:-1], weights.shape[:-1], means.shape[:-1], variances.shape[:-1])
    levels = levels.expand(shape + levels.shape[-1:])
    return _GMMQuantile.apply(levels, weights.expand(shape + weights.shape[-1:]),
                              means.expand(shape + means.shape[-1:]), variances.expand(shape + variances.shape[-1:]))


# ----------------------------------------------------------------------------- 1-D W_p^p

def _moments(y, weights, means, variances):
    """G(y), E[Y; Y ≤ y] and E[Y²; Y ≤ y] of the mixture, each (..., n)."""
    sd = torch.sqrt(variances)[..., None, :]
    m = means[..., None, :]
    z = (y[..., :, None] - m) / sd
    cdf, pdf = _ncdf(z), _npdf(z)
    w = weights[..., None, :]
    g = (w * cdf).sum(-1)
    c1 = (w * (m * cdf - sd * pdf)).sum(-1)
    c2 = (w * ((m * m + sd * sd) * cdf - sd * pdf * (m + y[..., :, None]))).sum(-1)
    return g, c1, c2


def _cells(q, total):
    """Values at the left and right ends of the n cells from the n−1 inner cut values and the two ends."""
    lo = torch.cat([torch.zeros_like(q[..., :1]), q], -1)
    hi = torch.cat([q, torch.full_like(q[..., :1], 0.0) + total[..., None]], -1)
    return lo, hi


def _cost_p2(xs, q, weights, means, variances):
    n = xs.shape[-1]
    _, c1, c2 = _moments(q, weights, means, variances)
    c1a, c1b = _cells(c1, (weights * means).sum(-1))
    c2a, c2b = _cells(c2, (weights * (means * means + variances)).sum(-1))
    return xs * xs / n - 2.0 * xs * (c1b - c1a) + (c2b - c2a)


def _cost_p1(xs, q, weights, means, variances):
    n = xs.shape[-1]
    ga = torch.arange(n, dtype=xs.dtype, device=xs.device) / n
    inf = torch.full_like(q[..., :1], math.inf)
    a = torch.cat([-inf, q], -1)
    b = torch.cat([q, inf], -1)
    c = torch.minimum(torch.maximum(xs, a), b)                     # where x_i sits in its cell
    gc, cc, _ = _moments(c, weights, means, variances)
    _, c1, _ = _moments(q, weights, means, variances)
    ca, cb = _cells(c1, (weights * means).sum(-1))
    # ∫_a^c (x − y) dG + ∫_c^b (y − x) dG with G(a) = (i−1)/n, G(b) = i/n
    return xs * (2.0 * gc - 2.0 * ga - 1.0 / n) + ca + cb - 2.0 * cc


def _cost_quad(xs, weights, means, variances, p):
    """Any p ≥ 1: Gauss–Legendre in the level u on each cell, split where Q(u) crosses x_i (the kink)."""
    n = xs.shape[-1]
    r, wr = np.polynomial.legendre.leggauss(QUAD_NODES)
    r = torch.as_tensor((r + 1) / 2, dtype=xs.dtype, device=xs.device)
    wr = torch.as_tensor(wr / 2, dtype=xs.dtype, device=xs.device)
    i = torch.arange(n, dtype=xs.dtype, device=xs.device)
    lo, hi = i / n, (i + 1) / n
    with torch.no_grad():                  # the split point carries no gradient: the integrand is 0 there
        us = torch.minimum(torch.maximum(gmm_cdf(xs, weights, means, variances), lo), hi)
    # The end cells reach u = 0 and u = 1 where Q(u) → ∓∞: cluster their nodes there (u = t^k).
    k = TAIL_POWER
    tl, wl = r.repeat(n, 1), wr.repeat(n, 1)
    tr, wrr = tl.clone(), wl.clone()
    # Both halves of the first cell cluster at their left ends, both of the last at their right
    # ends, so the unbounded end is covered whichever half (possibly of zero width) holds it.
    tl[0], wl[0] = r ** k, k * r ** (k - 1) * wr
    tr[0], wrr[0] = tl[0], wl[0]
    tr[-1], wrr[-1] = 1 - (1 - r) ** k, k * (1 - r) ** (k - 1) * wr
    tl[-1], wl[-1] = tr[-1], wrr[-1]
    left = lo[..., :, None] + (us - lo)[..., :, None] * tl
    right = us[..., :, None] + (hi - us)[..., :, None] * tr
    u = torch.cat([left, right], -1).clamp(1e-300, 1 - 1e-16)
    wts = torch.cat([(us - lo)[..., :, None] * wl, (hi - us)[..., :, None] * wrr], -1)
    qq = gmm_quantile(u.flatten(-2), weights, means, variances).unflatten(-1, u.shape[-2:])
    return ((xs[..., :, None] - qq).abs() ** p * wts).sum(-1)


def wasserstein_to_gmm_1d(samples, weights, means, variances, p: float = 2.0, *, per_point: bool = False):
    """Exact W_p^p between the empirical measure of `samples` (..., n) and a 1-D GMM (..., K).

    Closed forms per quantile cell for p = 1 and p = 2; quadrature for any other real p ≥ 1.
    With per_point=True returns (W_p^p, cost) where cost (..., n) is each sample's share of W_p^p,
    in the samples' original order.
    """
    p = float(p)
    if not p >= 1.0:
        raise ValueError(f"p must be at least 1, got {p:g}")
    xs, order = samples.sort(-1)
    n = xs.shape[-1]
    shape = torch.broadcast_shapes(xs.shape[:-1], weights.shape[:-1], means.shape[:-1], variances.shape[:-1])
    weights, means, variances = (t.expand(shape + t.shape[-1:]) for t in (weights, means, variances))
    xs = xs.expand(shape + xs.shape[-1:])
    if p in (1.0, 2.0):
        levels = torch.arange(1, n, dtype=xs.dtype, device=xs.device) / n
        q = gmm_quantile(levels, weights, means, variances)
        cost = (_cost_p2 if p == 2.0 else _cost_p1)(xs, q, weights, means, variances)
    else:
        cost = _cost_quad(xs, weights, means, variances, p)
    total = cost.sum(-1)
    if not per_point:
        return total
    out = torch.empty_like(cost)
    out.scatter_(-1, order.expand_as(cost), cost)
    return total, out


def sliced_wasserstein_gmm(x, weights, means, covs, dirs, p: float = 2.0, *, per_direction: bool = False):
    """SW_p^p: mean over directions (L, D) of W_p^p between points x (n, D) and the GMM.

    weights (K,), means (K, D), covs (K, D) diagonal variances or (K, D, D) full covariances.
    With per_direction=True returns the (L,) values instead of their mean.
    """
    m, v = project_gmm(means, covs, dirs)
    w = wasserstein_to_gmm_1d(project_points(x, dirs), weights, m, v, p)
    return w if per_direction else w.mean()


def max_sliced_direction(x, weights, means, covs, p: float = 2.0, start_angles=(0.0,), steps: int = 10,
                         lr: float = 0.1) -> tuple[float, float]:
    """(angle in radians, W_p^p) of the direction that maximises W_p^p (max-sliced Wasserstein, 2-D).

    The best of `start_angles` is refined by `steps` Adam ascent steps on the angle; the GMM is held fixed.
    """
    x, weights, means, covs = (t.detach() for t in (x, weights, means, covs))
    a0 = torch.as_tensor(np.asarray(start_angles, dtype=np.float64), dtype=x.dtype, device=x.device)
    with torch.no_grad():
        w0 = sliced_wasserstein_gmm(x, weights, means, covs, torch.stack([a0.cos(), a0.sin()], -1), p,
                                    per_direction=True)
    best = int(torch.argmax(w0))
    best_a, best_w = float(a0[best]), float(w0[best])
    angle = torch.tensor(best_a, dtype=x.dtype, device=x.device, requires_grad=True)
    opt = torch.optim.Adam([angle], lr=lr)
    for _ in range(steps):
        d = torch.stack([angle.cos(), angle.sin()])[None]
        w = sliced_wasserstein_gmm(x, weights, means, covs, d, p)
        if w.item() > best_w:
            best_a, best_w = angle.item(), w.item()
        opt.zero_grad()
        (-w).backward()
        opt.step()
    return best_a % math.pi, best_w
