"""Coulomb GAN potentials: the Plummer kernel, the batch potential at real and fake points, ε decay.

Sign convention: real points are positive charges, fake points negative ones, and the
potential is the one a *fake* (negative) charge feels,

    Φ(x) = Σ_real φ(|a − x|) − Σ_fake φ(|a − x|),      φ(r) = −1 / (r² + ε²)^((d−2)/2),

so Φ is low (negative) where real points have no fakes near them and high where fakes crowd.
The generator moves fakes down the potential.
"""
from __future__ import annotations

import torch


def eps_at(step: int | float, eps0: float, half_life: float) -> float:
    """Plummer softening after `step` iterations: ε(t) = ε₀ · 2^(−t / t_half)."""
    return float(eps0) * 2.0 ** (-float(step) / float(half_life))


def _inv_power(s: torch.Tensor, d: float) -> torch.Tensor:
    """s^(−(d−2)/2) in place on `s`; rsqrt for the usual d = 3 (several times faster than pow)."""
    if d == 3.0:
        return s.rsqrt_()
    if d == 4.0:
        return s.reciprocal_()
    return s.pow_(-(d - 2.0) / 2.0)


def sq_dists(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(n, m) squared Euclidean distances, computed from differences (exact near 0, unlike the
    ‖x‖² + ‖y‖² − 2xy expansion, which matters once ε is small)."""
    if x.shape[1] == 2:                      # the app's case: contiguous columns, no strided broadcasting
        xt, yt = x.T.contiguous(), y.T.contiguous()
        dx = xt[0, :, None] - yt[0, None, :]
        dy = xt[1, :, None] - yt[1, None, :]
        return dx.mul_(dx).addcmul_(dy, dy)
    diff = x[:, None, :] - y[None, :, :]
    return diff.mul_(diff).sum(-1)


@torch.no_grad()
def potentials(real: torch.Tensor, fake: torch.Tensor, eps: float, d: float = 3.0,
               exclude_self: bool = True, mean: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Φ at every real and every fake point of a batch (the targets D regresses).

    Three kernel blocks instead of one (n+m)² matrix: real–real, fake–fake and real–fake, whose row
    sums serve the real points and column sums the fake ones (the matrix is symmetric), so 3/4 of
    the work. `exclude_self` drops each point's own term φ(0) = −1/ε^(d−2), which otherwise
    dominates and grows without bound as ε shrinks (the reason to exclude it).
    `mean` divides each kind's sum by its count (the Coulomb GAN authors' code) instead of the
    plain sums; it only rescales Φ when both counts are equal.
    """
    real, fake = real.detach(), fake.detach()
    k_rf = kernel(real, fake, eps, d)
    k_rr = kernel(real, real, eps, d)
    k_ff = kernel(fake, fake, eps, d)
    if exclude_self:
        k_rr.fill_diagonal_(0.0)
        k_ff.fill_diagonal_(0.0)
    wr, wf = (1.0 / len(real), 1.0 / len(fake)) if mean else (1.0, 1.0)
    return wr * k_rr.sum(1) - wf * k_rf.sum(1), wr * k_rf.sum(0) - wf * k_ff.sum(1)


def kernel(x: torch.Tensor, y: torch.Tensor, eps: float, d: float = 3.0) -> torch.Tensor:
    """(n, m) matrix φ(|x_i − y_j|), built in place in one buffer."""
    return _inv_power(sq_dists(x, y).add_(eps * eps), d).neg_()


@torch.no_grad()
def potential_field(x: torch.Tensor, real: torch.Tensor, fake: torch.Tensor, eps: float,
                    d: float = 3.0, chunk: int = 4096) -> torch.Tensor:
    """Φ at arbitrary points `x` (every charge counted): the true field D tries to learn."""
    q = torch.cat([torch.ones(len(real)), -torch.ones(len(fake))]).to(x)
    pts = torch.cat([real, fake]).to(x)
    out = [kernel(xc, pts, eps, d) @ q for xc in x.split(chunk)]
    return torch.cat(out) if out else x.new_zeros(0)
