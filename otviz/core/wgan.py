"""WGAN building blocks: generator/critic MLPs, the three losses (clip, gp, gan), gradient penalty, clipping."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def mlp(n_in: int, width: int, depth: int, n_out: int) -> nn.Sequential:
    """`depth` hidden ReLU layers of `width` units (the WGAN-GP toy nets: depth 3, width 512)."""
    layers: list[nn.Module] = []
    d = n_in
    for _ in range(depth):
        layers += [nn.Linear(d, width), nn.ReLU()]
        d = width
    layers.append(nn.Linear(d, n_out))
    return nn.Sequential(*layers)


def make_nets(noise_dim: int, width: int, depth: int) -> tuple[nn.Module, nn.Module]:
    """(generator: noise → 2-D point, critic: 2-D point → one number)."""
    return mlp(noise_dim, width, depth, 2), mlp(2, width, depth, 1)


def critic_loss(mode: str, f_real: torch.Tensor, f_fake: torch.Tensor) -> torch.Tensor:
    """What the critic minimises (without the penalty).

    clip/gp: E f(fake) − E f(real) (it maximises the Kantorovich–Rubinstein gap);
    gan: binary cross-entropy with f as the logit, real = 1, fake = 0.
    """
    if mode == "gan":
        return F.softplus(-f_real).mean() + F.softplus(f_fake).mean()
    return f_fake.mean() - f_real.mean()


def generator_loss(mode: str, f_fake: torch.Tensor) -> torch.Tensor:
    """What the generator minimises: −E f(G(z)), or the non-saturating −log D(G(z)) for the plain GAN."""
    if mode == "gan":
        return F.softplus(-f_fake).mean()
    return -f_fake.mean()


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, u: torch.Tensor,
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """E[(‖∇f(x̂)‖ − 1)²] at x̂ = u·real + (1−u)·fake (Gulrajani et al.), and the gradient norms.

    `u` (shape (n, 1), uniform on [0, 1]) is passed in so the caller's generator owns the randomness.
    The graph is kept (create_graph) so the penalty can be back-propagated into the critic's weights.
    """
    x_hat = (u * real + (1 - u) * fake.detach()).requires_grad_(True)
    f = critic(x_hat)
    (grad,) = torch.autograd.grad(f.sum(), x_hat, create_graph=True)
    norms = grad.norm(dim=1)
    return ((norms - 1) ** 2).mean(), norms.detach()


@torch.no_grad()
def clip_weights(module: nn.Module, c: float) -> None:
    """Clamp every parameter (weights and biases, as in Arjovsky's code) into [−c, c]."""
    for p in module.parameters():
        p.clamp_(-c, c)


def point_push(mode: str, critic: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """−∂L_G/∂x per point: the direction (and strength) in which the generator's loss pushes each
    generated point. For the WGANs it is ∇f(x); for the GAN, σ(−f)·∇f."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        f = critic(x)
        loss = F.softplus(-f).sum() if mode == "gan" else -f.sum()
        (g,) = torch.autograd.grad(loss, x)
    return -g


@torch.no_grad()
def field_on_grid(critic: nn.Module, rect: tuple[float, float, float, float], res: int | tuple[int, int],
                  device: torch.device) -> torch.Tensor:
    """f at the pixel centres of a res×res (or res = (nx, ny): nx wide, ny high) image covering
    rect = (x0, x1, y0, y1).

    Rows are y and columns x (row-major, as the app's heatmaps are drawn): image[j, i] = f(x_i, y_j).
    """
    x0, x1, y0, y1 = rect
    nx, ny = (res, res) if isinstance(res, int) else res
    xs = x0 + (torch.arange(nx, device=device, dtype=torch.float32) + 0.5) * ((x1 - x0) / nx)
    ys = y0 + (torch.arange(ny, device=device, dtype=torch.float32) + 0.5) * ((y1 - y0) / ny)
    gx, gy = torch.meshgrid(xs, ys, indexing="xy")
    pts = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)
    return critic(pts).reshape(ny, nx)
