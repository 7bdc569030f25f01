"""What the GUI and the CLI know of a method without its training code: typed parameters and MethodInfo."""
from __future__ import annotations

import dataclasses
import importlib
import math
import typing
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ParamSpec:
    """What the control panel and the CLI know about one config field."""
    name: str
    type: type
    default: Any
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False          # True: the value must be strictly greater than lo (eps > 0)
    choices: tuple | None = None
    log: bool = False              # shown on a log-scale slider
    live: bool = True              # applied between two steps; False: changing it resets the run
    help: str = ""
    unit: str = ""
    label: str = ""
    widget: str = ""               # "" (by type), "file" (a path picked with a file dialog), "angles" ...
    # (old, new) pairs: a choice's former name, still accepted and stored as the new one
    aliases: tuple[tuple[str, str], ...] = ()

    def renamed(self, value: Any) -> Any:
        """`value` under its current name (a former name of a choice is mapped, anything else kept)."""
        return dict(self.aliases).get(value, value) if self.aliases and isinstance(value, str) else value

    def coerce(self, value: Any) -> Any:
        """Typed, validated value, or ValueError saying why it is refused."""
        name = self.name
        if self.type is bool:
            if isinstance(value, str):
                v = value.strip().lower()
                if v not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                    raise ValueError(f"{name}: {value!r} is not a yes/no value")
                value = v in ("1", "true", "yes", "on")
            return bool(value)
        if self.type in (int, float):
            if isinstance(value, str):
                try:
                    value = float(value.strip())
                except ValueError:
                    raise ValueError(f"{name}: {value!r} is not a number") from None
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
                raise ValueError(f"{name}: {value!r} is not a number")
            value = float(value)
            if not math.isfinite(value):
                raise ValueError(f"{name}: must be a finite number, got {value}")
            if self.type is int:
                if value != int(value):
                    raise ValueError(f"{name}: must be a whole number, got {value:g}")
                value = int(value)
            if self.lo is not None:
                if self.lo_open and value <= self.lo:
                    raise ValueError(f"{name}: must be greater than {self.lo:g}, got {value:g}")
                if value < self.lo:
                    raise ValueError(f"{name}: must be at least {self.lo:g}, got {value:g}")
            if self.hi is not None and value > self.hi:
                raise ValueError(f"{name}: must be at most {self.hi:g}, got {value:g}")
            return value
        given = str(value)
        value = self.renamed(given)
        if self.choices is not None and value not in self.choices:
            raise ValueError(f"{name}: {given!r} is not one of {', '.join(map(str, self.choices))}")
        return value


def param(default: Any, *, lo: float | None = None, hi: float | None = None, lo_open: bool = False,
          choices: tuple | None = None, log: bool = False, live: bool = True, help: str = "",
          unit: str = "", label: str = "", widget: str = "", aliases: dict[str, str] | None = None) -> Any:
    """A config field with the metadata the control panel and the CLI need. `aliases`: {old name: choice}."""
    kept = tuple((k, v) for k, v in (aliases or {}).items() if choices and v in choices)
    meta = dict(lo=lo, hi=hi, lo_open=lo_open, choices=tuple(choices) if choices else None, log=log,
                live=live, help=help, unit=unit, label=label, widget=widget, aliases=kept)
    return field(default=default, metadata={"otviz": meta})


def param_specs(config_cls: type) -> list[ParamSpec]:
    """The ParamSpec of every field of a config dataclass, in declaration order."""
    hints = typing.get_type_hints(config_cls)
    out = []
    for f in dataclasses.fields(config_cls):
        meta = f.metadata.get("otviz", {})
        t = hints[f.name]
        t = t if t in (int, float, bool, str) else str
        out.append(ParamSpec(name=f.name, type=t, default=f.default, **{k: v for k, v in meta.items()}))
    return out


@dataclass(frozen=True)
class MethodInfo:
    """One method as the window sees it: its tab title, parameters and metrics, and where its training
    code lives. The GUI process reads these without importing torch; only `load()` imports the method."""
    name: str                      # registry key, CLI name, session files' "method"
    title: str                     # the tab's title
    Config: type                   # the config dataclass (fields made with `param`)
    metrics: tuple[str, ...]       # the history's metric names
    method: str                    # "module:Class" of the Method subclass that trains it

    def specs(self) -> list[ParamSpec]:
        return param_specs(self.Config)

    def spec(self, name: str) -> ParamSpec:
        specs = self.specs()
        for s in specs:
            if s.name == name:
                return s
        known = ", ".join(s.name for s in specs)
        raise ValueError(f"{self.name} has no parameter {name!r} (known: {known})")

    def load(self) -> type:
        """The Method class (imports the training side: torch and the method's maths)."""
        module, attr = self.method.split(":")
        return getattr(importlib.import_module(module), attr)
