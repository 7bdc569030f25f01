"""The registry of methods: one line per method (its Qt-free class and its Qt view), in tab order."""
from __future__ import annotations

import importlib

# name: (method class, view class) as "module:attribute" strings, so nothing is imported until used.
REGISTRY: dict[str, tuple[str, str]] = {
    "swgmm": ("otviz.methods.swgmm:SWGMMMethod", "otviz.gui.swgmm_view:SWGMMView"),
    "wgan": ("otviz.methods.wgan:WGANMethod", "otviz.gui.wgan_view:WGANView"),
    "sinkhorn": ("otviz.methods.sinkhorn:SinkhornMethod", "otviz.gui.sinkhorn_view:SinkhornView"),
    "realnvp": ("otviz.methods.realnvp:RealNVPMethod", "otviz.gui.realnvp_view:RealNVPView"),
    "coulomb": ("otviz.methods.coulomb:CoulombMethod", "otviz.gui.coulomb_view:CoulombView"),
}

# The order of the tabs in the window (SPEC §1); only registered methods appear.
TAB_ORDER = ("swgmm", "wgan", "sinkhorn", "realnvp", "coulomb")


def _load(path: str):
    module, attr = path.split(":")
    return getattr(importlib.import_module(module), attr)


def method_names() -> list[str]:
    order = [n for n in TAB_ORDER if n in REGISTRY]
    return order + [n for n in REGISTRY if n not in order]


def method_class(name: str):
    if name not in REGISTRY:
        raise ValueError(f"unknown method {name!r} (choose from {', '.join(method_names())})")
    return _load(REGISTRY[name][0])


def view_class(name: str):
    return _load(REGISTRY[name][1])
