"""Small building blocks for 2-D GANs: Keras-like MLPs, noise samplers, Keras-style lr decay."""
from __future__ import annotations

import torch
from torch import nn

ACTIVATIONS = {"elu": nn.ELU, "relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "tanh": nn.Tanh}


def mlp(n_in: int, n_out: int, hidden: int = 128, depth: int = 3, act: str = "elu",
        generator: torch.Generator | None = None) -> nn.Sequential:
    """n_in → hidden (× depth, with `act`) → n_out, Glorot-uniform weights and zero biases (Keras Dense
    defaults, as in the Keras originals of these GANs), drawn from `generator` so a seed reproduces the
    networks."""
    layers: list[nn.Module] = []
    sizes = [n_in] + [hidden] * depth
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), ACTIVATIONS[act]()]
    layers.append(nn.Linear(sizes[-1], n_out))
    net = nn.Sequential(*layers)
    for m in net:
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight, generator=generator)
            nn.init.zeros_(m.bias)
    return net


def sample_noise(n: int, dim: int, kind: str, generator: torch.Generator) -> torch.Tensor:
    """Generator input: "uniform" on [−1, 1]^dim or standard "normal", drawn on the CPU generator."""
    if kind == "uniform":
        return torch.rand(n, dim, generator=generator).mul_(2.0).sub_(1.0)
    if kind == "normal":
        return torch.randn(n, dim, generator=generator)
    raise ValueError(f"noise must be 'uniform' or 'normal', got {kind!r}")


def keras_lr(lr: float, decay: float, iterations: int) -> float:
    """Keras (≤ 2.2) optimiser decay: lr / (1 + decay · iterations)."""
    return lr / (1.0 + decay * iterations)


def set_requires_grad(net: nn.Module, flag: bool) -> None:
    """Freeze/unfreeze a network (the generator step need not build D's weight gradients)."""
    for p in net.parameters():
        p.requires_grad_(flag)
