"""A method's help page: the shipped file resources/help/<method>.toml, or, for a method that ships
none (one registered at run time), a page built from its parameters' help texts that says so.

A help file::

    title = "SW-GMM: …"
    about = "What the method does, in a few sentences."
    tries = ["Something to try.", …]
    [[formula]]
    tex = '$SW_p^p = …$'             # matplotlib mathtext (a subset of TeX)
    text = "What the formula says."
    [[view]]
    name = "fit"                     # a name from the view's plots()
    text = "What this view shows."
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:          # Python 3.10: the same parser, as a package
    import tomli as tomllib

from otviz.methods import method_info
from otviz.util.resources_path import resource_path

# Help files of methods registered at run time (register_help), by method name.
_EXTRA: dict[str, Path] = {}


@dataclass(frozen=True)
class HelpPage:
    method: str
    title: str
    about: str
    formulas: tuple[tuple[str, str], ...]        # (mathtext, what it says)
    views: tuple[tuple[str, str], ...]           # (view name, what it shows)
    tries: tuple[str, ...]
    params: tuple[tuple[str, str, str], ...]     # (name, range or choices, help) of every parameter
    declared: bool                               # False: the method ships no help page


def register_help(method: str, path: str | Path) -> None:
    """A help file for a method registered at run time (read when its page is first opened)."""
    _EXTRA[method] = Path(path)


def help_path(method: str) -> Path | None:
    if method in _EXTRA:
        return _EXTRA[method]
    try:
        return resource_path(f"help/{method}.toml")
    except FileNotFoundError:
        return None


def help_page(method: str) -> HelpPage:
    """The page of a registered method (ValueError for an unknown one or an unreadable help file)."""
    info = method_info(method)
    params = tuple(_param_row(s) for s in info.specs())
    path = help_path(method)
    if path is None:
        about = (f"{info.title} declares no help page of its own. Its parameters, as it describes them, "
                 f"are below; the history plot shows its metrics: {', '.join(info.metrics)}.")
        return HelpPage(method, info.title, about, (), (), (), params, declared=False)
    try:
        with open(path, "rb") as f:
            d = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ValueError(f"{path.name}: the help page cannot be read ({e})") from None
    try:
        return HelpPage(method, str(d["title"]), " ".join(str(d["about"]).split()),
                        tuple((str(f["tex"]), " ".join(str(f["text"]).split())) for f in d.get("formula", [])),
                        tuple((str(v["name"]), " ".join(str(v["text"]).split())) for v in d.get("view", [])),
                        tuple(str(t) for t in d.get("tries", [])), params, declared=True)
    except (KeyError, TypeError) as e:
        raise ValueError(f"{path.name}: the help page lacks {e}") from None


def _param_row(s) -> tuple[str, str, str]:
    if s.choices:
        rng = ", ".join(map(str, s.choices))
    elif s.lo is not None and s.hi is not None:
        rng = f"{s.lo:g} … {s.hi:g}"
    else:
        rng = s.type.__name__
    mark = "" if s.live else " (⟲ restarts)"
    return (s.label or s.name, rng + mark, s.help or "(no help text)")
