"""Which Qt view draws each method's snapshots (the GUI side of the method registry)."""
from __future__ import annotations

import importlib

# method name: view class as "module:Class", imported only when a tab or a renderer needs it
VIEWS: dict[str, str] = {
    "swgmm": "otviz.gui.swgmm_view:SWGMMView",
    "wgan": "otviz.gui.wgan_view:WGANView",
    "sinkhorn": "otviz.gui.sinkhorn_view:SinkhornView",
    "realnvp": "otviz.gui.realnvp_view:RealNVPView",
    "coulomb": "otviz.gui.coulomb_view:CoulombView",
}


def view_class(name: str) -> type:
    """The MethodView subclass for a method; it is built with the method's MethodInfo."""
    if name not in VIEWS:
        raise ValueError(f"no view for method {name!r} (views exist for {', '.join(VIEWS)})")
    module, attr = VIEWS[name].split(":")
    return getattr(importlib.import_module(module), attr)
