"""Locate files shipped in the top-level resources/ folder (installed as otviz.resources)."""
from __future__ import annotations

from importlib import resources
from pathlib import Path


def resource_path(name: str) -> Path:
    """Path of a shipped resource file, whether otviz runs from a checkout or an install."""
    try:
        p = Path(str(resources.files("otviz.resources").joinpath(name)))
        if p.exists():
            return p
    except ModuleNotFoundError:
        pass
    # from a checkout or a bundle: <root>/resources beside <root>/otviz (this file is <root>/otviz/util/)
    p = Path(__file__).resolve().parents[2] / "resources" / name
    if p.exists():
        return p
    raise FileNotFoundError(f"otviz resource {name!r} is missing from the installation")
