"""The registry of methods: each one's torch-free MethodInfo, in tab order; `register` adds one."""
from __future__ import annotations

import pickle
import re

from otviz.methods import coulomb_config, realnvp_config, sinkhorn_config, swgmm_config, wgan_config
from otviz.methods.params import MethodInfo

# One line per method. Only the configs are imported here: the training side (torch) is loaded by
# method_class, in the process that trains.
BUILT_IN: tuple[MethodInfo, ...] = (
    swgmm_config.INFO,
    wgan_config.INFO,
    sinkhorn_config.INFO,
    realnvp_config.INFO,
    coulomb_config.INFO,
)
# The window shows one tab per entry, in this order: the built-in methods, then those registered since.
REGISTRY: dict[str, MethodInfo] = {}
# Methods that the process which started this one had registered, but which cannot be loaded here: why.
_UNAVAILABLE: dict[str, str] = {}
# a name is a CLI argument and part of file names
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


def register(info: MethodInfo) -> MethodInfo:
    """Add a method: its tab (after those registered before it), `otviz run NAME`, session files, and the
    processes the window starts from now on. Its Config and its training class (info.method, "module:Class")
    must be importable by module name: processes that train import them. The same info again is a no-op."""
    if not isinstance(info, MethodInfo):
        raise TypeError(f"register() takes a MethodInfo, not {type(info).__name__}")
    if not _NAME.fullmatch(info.name):
        raise ValueError(f"method name {info.name!r}: letters, digits, '_' and '-', starting with a letter")
    if info.method.count(":") != 1:
        raise ValueError(f"{info.name}: method {info.method!r} is not 'module:Class'")
    if not info.metrics:
        raise ValueError(f"{info.name}: a method records at least one metric")
    info.specs()                         # a Config that is no dataclass of `param` fields fails here, not in a tab
    try:
        pickle.dumps(info)               # as it will be sent to every process the window starts
    except Exception as e:
        raise ValueError(f"{info.name}: its Config must be a module-level class, importable by name "
                         f"({e})") from None
    known = REGISTRY.get(info.name)
    if known is not None and known != info:
        raise ValueError(f"a method named {info.name!r} is already registered ({known.title})")
    REGISTRY[info.name] = info
    _UNAVAILABLE.pop(info.name, None)
    return info


def unregister(name: str) -> None:
    """Remove a registered method (its tab is not in windows built from now on)."""
    method_info(name)
    del REGISTRY[name]


for _info in BUILT_IN:
    register(_info)


def registrations() -> list[tuple[str, bytes]]:
    """The methods registered beyond the built-in ones, as (name, pickled MethodInfo), for a process
    started from this one: a registration lives only in the process that made it, and the processes
    that train and draw fields build methods by name."""
    return [(name, pickle.dumps(info)) for name, info in REGISTRY.items() if info not in BUILT_IN]


def adopt_registrations(items: list[tuple[str, bytes]]) -> None:
    """Register what `registrations()` gave in the starting process. Unpickling imports the module that
    defines the method's Config; where that fails, naming the method later says why."""
    for name, blob in items:
        try:
            register(pickle.loads(blob))
        except Exception as e:           # one method that cannot be loaded must not cost the process
            _UNAVAILABLE[name] = f"{type(e).__name__}: {e}"


def method_names() -> list[str]:
    return list(REGISTRY)


def method_info(name: str) -> MethodInfo:
    """The method's description (title, parameters, metrics) without importing its training code."""
    if name not in REGISTRY:
        if name in _UNAVAILABLE:
            raise ValueError(f"method {name!r} cannot be loaded in this process ({_UNAVAILABLE[name]})")
        raise ValueError(f"unknown method {name!r} (choose from {', '.join(method_names())})")
    return REGISTRY[name]


def method_class(name: str):
    """The method's training class (imports torch)."""
    return method_info(name).load()
