"""Which Qt view draws each method's snapshots (the GUI side of the method registry); `register_view` adds one."""
from __future__ import annotations

import importlib

# method name: view class as "module:Class", imported only when a tab or a renderer needs it (or the class)
VIEWS: dict[str, str | type] = {
    "swgmm": "otviz.gui.swgmm_view:SWGMMView",
    "wgan": "otviz.gui.wgan_view:WGANView",
    "sinkhorn": "otviz.gui.sinkhorn_view:SinkhornView",
    "realnvp": "otviz.gui.realnvp_view:RealNVPView",
    "coulomb": "otviz.gui.coulomb_view:CoulombView",
}


def register_view(name: str, view: str | type) -> None:
    """The view that draws the snapshots of the registered method `name`: a MethodView subclass, given as
    "module:Class" (imported when a tab first shows it) or as the class. The same view again is a no-op."""
    if isinstance(view, str):
        if view.count(":") != 1:
            raise ValueError(f"view {view!r} for {name!r} is not 'module:Class'")
    elif not isinstance(view, type):
        raise TypeError(f"register_view() takes 'module:Class' or a class, not {type(view).__name__}")
    known = VIEWS.get(name)
    if known is not None and known != view:
        raise ValueError(f"method {name!r} already has a view ({known})")
    VIEWS[name] = view


def unregister_view(name: str) -> None:
    if name not in VIEWS:
        raise ValueError(f"no view for method {name!r}")
    del VIEWS[name]


def view_class(name: str) -> type:
    """The MethodView subclass for a method; it is built with the method's MethodInfo."""
    if name not in VIEWS:
        raise ValueError(f"no view for method {name!r} (views exist for {', '.join(VIEWS)}; "
                         "otviz.gui.views.register_view adds one)")
    view = VIEWS[name]
    if isinstance(view, type):
        return view
    module, attr = view.split(":")
    return getattr(importlib.import_module(module), attr)
