"""Save a whole run (config, data, model and optimiser state, RNG states, history) to one file, and open it.

The file is a torch zip archive read with `weights_only=True` (no arbitrary code runs on load);
numpy arrays are stored as tagged tensors. A damaged file, or one written by a newer otviz, is
refused with a message naming the file and the problem.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from otviz import __version__
from otviz.atomic import atomic_path
from otviz.methods import method_class
from otviz.methods.session import Session

FORMAT = "otviz-session"
VERSION = 1
SUFFIX = ".otviz"


def _encode(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return {"__ndarray__": torch.from_numpy(np.ascontiguousarray(obj)).clone()}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().clone()
    if isinstance(obj, dict):
        return {k: _encode(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_encode(v) for v in obj)
    return obj


def _decode(obj: Any) -> Any:
    if isinstance(obj, dict):
        if set(obj) == {"__ndarray__"}:
            return obj["__ndarray__"].numpy()
        return {k: _decode(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_decode(v) for v in obj)
    return obj


def save_session(path: str | Path, session: Session, extra: dict | None = None) -> None:
    """Write the session atomically. `extra` holds view settings worth restoring (plain values)."""
    doc = {"format": FORMAT, "version": VERSION, "otviz": __version__,
           "method": session.method.name, "device": str(session.method.device),
           "state": session.method.state_dict(), "history": session.history.state_dict(),
           "extra": extra or {}}
    with atomic_path(path) as tmp:
        torch.save(_encode(doc), tmp)


def read_session_file(path: str | Path) -> dict:
    """The decoded document, or ValueError naming the file and what is wrong with it."""
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise ValueError(f"{name}: no such session file")
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # zip errors, pickle errors, truncated files all land here
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ValueError(f"{name}: not a readable otviz session (damaged or another kind of file: {first[:160]})") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise ValueError(f"{name}: not an otviz session file")
    version = raw.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise ValueError(f"{name}: written by a newer otviz ({raw.get('otviz', '?')}, session format "
                         f"{version}); this is otviz {__version__}, which reads format {VERSION}")
    for key in ("method", "state", "history"):
        if key not in raw:
            raise ValueError(f"{name}: the session is incomplete (no {key!r})")
    return _decode(raw)


def load_session(path: str | Path, device: str | None = None) -> tuple[Session, dict]:
    """Rebuild the Session saved in `path` (on `device`, default: the saved one or cpu). Returns (session, extra)."""
    doc = read_session_file(path)
    name = Path(path).name
    try:
        cls = method_class(doc["method"])
        state = doc["state"]
        typed = {k: cls.spec(k).coerce(v) for k, v in state["config"].items()}
        config = cls.Config(**typed)
        dev = device or doc.get("device", "cpu")
        try:
            method = cls(config, seed=state["seed"], device=dev)
        except ValueError:
            if device is not None:
                raise
            method = cls(config, seed=state["seed"], device="cpu")    # saved on a GPU this machine lacks
        method.load_state_dict(state)
        session = Session(method)
        session.history.load_state_dict(doc["history"])
        session.last_metrics = session.history.last()
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise ValueError(f"{name}: the session cannot be restored ({e})") from None
    return session, doc.get("extra", {})
