"""RealNVP: a stack of affine coupling layers between 2-D data and a standard Gaussian base (Dinh et al. 2017).

Layer k splits its input into halves (a, b), keeps a and maps b -> b·exp(s(a)) + t(a), with s passed
through tanh (an unbounded s lets exp(s) blow up and training turns to NaN), then swaps the halves so
the next layer transforms the other coordinate. log|det J| of one layer is Σ s(a).
`forward(x, n_layers)` / `inverse(z, n_layers)` pass only the first n_layers layers, so views can show
the intermediate stages.
"""
from __future__ import annotations

import math

import torch
from torch import nn


class Coupling(nn.Module):
    """The conditioner of one coupling layer: a -> (s, t), two hidden ReLU layers, s through tanh."""

    def __init__(self, n_half: int, hidden: int, bound_s: bool = True):
        super().__init__()
        self.bound_s = bound_s
        self.body = nn.Sequential(nn.Linear(n_half, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.head = nn.Linear(hidden, 2 * n_half)
        # Zero head: every layer starts as the identity, so training starts from the data itself.
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s, t = self.head(self.body(a)).chunk(2, dim=1)
        # unbounded (bound_s False), exp(s) can overflow: kept as an option to watch training break
        return (torch.tanh(s) if self.bound_s else s), t


class RealNVP(nn.Module):
    """`n_flows` affine coupling layers with `hidden` units, on `dim`-D points (dim even)."""

    def __init__(self, n_flows: int = 4, hidden: int = 256, dim: int = 2, bound_s: bool = True):
        super().__init__()
        if dim % 2:
            raise ValueError(f"RealNVP needs an even dimension, got {dim}")
        if n_flows < 1:
            raise ValueError(f"RealNVP needs at least one coupling layer, got {n_flows}")
        self.n_flows, self.hidden, self.dim, self.n_half = int(n_flows), int(hidden), dim, dim // 2
        self.layers = nn.ModuleList(Coupling(self.n_half, hidden, bound_s) for _ in range(n_flows))

    def _n(self, n_layers: int | None) -> int:
        n = self.n_flows if n_layers is None else int(n_layers)
        if not 0 <= n <= self.n_flows:
            raise ValueError(f"n_layers must be in 0…{self.n_flows}, got {n}")
        return n

    # -- one layer each way ---------------------------------------------------
    def layer_forward(self, x: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Layer k: (a, b) -> (b·exp(s(a)) + t(a), a) — the halves come out swapped. Returns (y, log|det|)."""
        a, b = x[:, : self.n_half], x[:, self.n_half:]
        s, t = self.layers[k](a)
        return torch.cat([b * torch.exp(s) + t, a], dim=1), s.sum(1)

    def layer_inverse(self, y: torch.Tensor, k: int) -> torch.Tensor:
        """The inverse of layer k: the untouched half is now second; s, t need no inverting."""
        b, a = y[:, : self.n_half], y[:, self.n_half:]
        s, t = self.layers[k](a)
        return torch.cat([a, (b - t) * torch.exp(-s)], dim=1)

    # -- the stack ------------------------------------------------------------
    def forward(self, x: torch.Tensor, n_layers: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """x after the first n_layers layers (all by default) and log|det J| of that map, per point."""
        logdet = x.new_zeros(x.shape[0])
        for k in range(self._n(n_layers)):
            x, ld = self.layer_forward(x, k)
            logdet = logdet + ld
        return x, logdet

    def inverse(self, z: torch.Tensor, n_layers: int | None = None) -> torch.Tensor:
        """The inverse of forward(·, n_layers): inverse(forward(x, k)[0], k) == x for every k."""
        for k in reversed(range(self._n(n_layers))):
            z = self.layer_inverse(z, k)
        return z

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) = log N(f(x); 0, I) + log|det ∂f/∂x|, per point (nats)."""
        z, logdet = self.forward(x)
        return base_log_prob(z) + logdet

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n points drawn from the model: base samples (drawn on the CPU generator) mapped back."""
        p = next(self.parameters())
        z = torch.randn(n, self.dim, generator=generator, dtype=p.dtype).to(p.device)
        return self.inverse(z)

    # -- intermediate stages, for the views -------------------------------------
    def forward_stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        """[x, x after 1 layer, …, z]: n_flows + 1 arrays, each as the layer outputs it (halves swapped)."""
        out = [x]
        for k in range(self.n_flows):
            x, _ = self.layer_forward(x, k)
            out.append(x)
        return out

    def inverse_stages(self, z: torch.Tensor) -> list[torch.Tensor]:
        """[z, z after undoing the last layer, …, x]: generation seen from the base, one layer at a time.

        Stage j equals forward_stages(x)[n_flows - j] of the generated x.
        """
        out = [z]
        for k in reversed(range(self.n_flows)):
            z = self.layer_inverse(z, k)
            out.append(z)
        return out


def base_log_prob(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I) per point."""
    return -0.5 * (z * z).sum(1) - 0.5 * z.shape[1] * math.log(2 * math.pi)


def unswap(y: torch.Tensor, n_swaps: int) -> torch.Tensor:
    """Undo n_swaps half-swaps, so a stage is drawn in the data's own (x, y) order.

    Each layer only relabels its halves; drawn in the original order, layer 1 moves only y and layer
    2 only x, instead of every frame also flipping the picture about the diagonal.
    """
    if n_swaps % 2 == 0:
        return y
    half = y.shape[1] // 2
    return torch.cat([y[:, half:], y[:, :half]], dim=1)
