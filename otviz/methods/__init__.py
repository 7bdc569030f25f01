"""The registry of methods: one line per method, its torch-free MethodInfo, in tab order."""
from __future__ import annotations

from otviz.methods import coulomb_config, realnvp_config, sinkhorn_config, swgmm_config, wgan_config
from otviz.methods.params import MethodInfo

# The window shows one tab per entry, in this order. Only the configs are imported here: the training
# side (torch) is loaded by method_class, in the process that trains.
REGISTRY: dict[str, MethodInfo] = {info.name: info for info in (
    swgmm_config.INFO,
    wgan_config.INFO,
    sinkhorn_config.INFO,
    realnvp_config.INFO,
    coulomb_config.INFO,
)}


def method_names() -> list[str]:
    return list(REGISTRY)


def method_info(name: str) -> MethodInfo:
    """The method's description (title, parameters, metrics) without importing its training code."""
    if name not in REGISTRY:
        raise ValueError(f"unknown method {name!r} (choose from {', '.join(method_names())})")
    return REGISTRY[name]


def method_class(name: str):
    """The method's training class (imports torch)."""
    return method_info(name).load()
