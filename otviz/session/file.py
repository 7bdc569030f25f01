"""Save a whole run (config, data, model and optimiser state, RNG states, history) to one file, and open it.

The file is a torch zip archive read with `weights_only=True` (no arbitrary code runs on load);
numpy arrays are stored as tagged tensors. A damaged file, or one written by a newer otviz, is
refused with a message naming the file and the problem.
"""
from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from otviz import __version__
from otviz.util.atomic import atomic_path
from otviz.methods import method_class
from otviz.session.session import Session

FORMAT = "otviz-session"
# 2: the timeline (keyframes and branches); files of version 1 open with a timeline that begins at
# their state
VERSION = 2
# A session file carries at most this much of the run's past: its keyframes are thinned as a full
# memory budget would thin them, so a fork stays possible at every step (replaying a little further).
# The whole past of a GAN trained a few minutes is a hundred megabytes: too much for a file to share.
SAVED_TIMELINE_BYTES = 25_000_000


def _encode(obj: Any, memo: dict | None = None) -> Any:
    # `memo`: one encoded copy per array or tensor object, so what the timeline's keyframes share (the
    # data, unchanged weights) is written to the file once
    memo = {} if memo is None else memo
    if isinstance(obj, (np.ndarray, torch.Tensor)):
        hit = memo.get(id(obj))
        if hit is None:
            if isinstance(obj, np.ndarray):
                enc = {"__ndarray__": torch.from_numpy(np.ascontiguousarray(obj)).clone()}
            else:
                enc = obj.detach().cpu().clone()
            hit = memo[id(obj)] = (obj, enc)          # (obj kept alive: its id stays its own)
        return hit[1]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return {k: _encode(v, memo) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_encode(v, memo) for v in obj)
    return obj


def _decode(obj: Any, memo: dict | None = None) -> Any:
    memo = {} if memo is None else memo
    if isinstance(obj, dict):
        if set(obj) == {"__ndarray__"}:
            # one array for one stored object (pickle gives a shared object back as one object)
            hit = memo.get(id(obj))
            if hit is None:
                hit = memo[id(obj)] = (obj, obj["__ndarray__"].numpy())
            return hit[1]
        return {k: _decode(v, memo) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_decode(v, memo) for v in obj)
    return obj


def save_session(path: str | Path, session: Session, extra: dict | None = None,
                 timeline_bytes: int | None = None) -> None:
    """Write the session atomically, its timeline included, thinned to `timeline_bytes` (by default
    SAVED_TIMELINE_BYTES) for a lighter file. `extra` holds view settings worth restoring (plain values)."""
    if timeline_bytes is None:
        timeline_bytes = SAVED_TIMELINE_BYTES
    with atomic_path(path) as tmp:
        torch.save(_document(session, extra, timeline_bytes=timeline_bytes), tmp)


def _document(session: Session, extra: dict | None = None, timeline: bool = True,
              timeline_bytes: int | None = None) -> dict:
    """What a session file holds, encoded for torch.save. The present state is taken as the timeline
    takes a keyframe, sharing what did not change with the newest one, so it is written once."""
    tl = session.timeline
    branch = tl.branches[tl.current]
    now = tl.capture(session, like=branch.keyframes[-1] if branch.keyframes else None)
    doc = {"format": FORMAT, "version": VERSION, "otviz": __version__,
           "method": session.method.name, "device": str(session.method.device),
           "state": now.state, "history": session.history.state_dict(), "extra": extra or {}}
    if timeline:
        doc["timeline"] = tl.state_dict(timeline_bytes)
    return _encode(doc)


def read_session_file(path: str | Path) -> dict:
    """The decoded document, or ValueError naming the file and what is wrong with it."""
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise ValueError(f"{name}: no such session file")
    _check_archive(path)
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        # weights_only refuses any class outside plain data: this file was pickled by something else
        raise ValueError(f"{name} is not an otviz session: it holds Python objects that otviz does not open") from None
    except Exception:       # the archive was whole, its contents were not: torch's text would only confuse
        raise ValueError(f"{name} is damaged: its contents cannot be read") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise ValueError(f"{name} is not an otviz session file (it was saved by another program)")
    version = raw.get("version")
    if not isinstance(version, int):
        raise ValueError(f"{name} is damaged: it does not say which session format it uses")
    if version > VERSION:
        raise ValueError(f"{name} was written by a newer otviz ({raw.get('otviz', '?')}, session format "
                         f"{version}); this otviz ({__version__}) reads format {VERSION}, update it to open the file")
    for key in ("method", "state", "history"):
        if key not in raw:
            raise ValueError(f"{name} is incomplete: the session has no {key}")
    return _decode(raw)


def _check_archive(path: Path) -> None:
    """ValueError unless `path` is a whole zip archive laid out as torch.save writes one.

    Checked before torch reads it, so that each kind of wrong file gets its own plain sentence."""
    name = path.name
    if path.stat().st_size == 0:
        raise ValueError(f"{name} is empty, not an otviz session")
    with open(path, "rb") as f:
        head = f.read(4)
    if not zipfile.is_zipfile(path):
        if head == b"PK\x03\x04":          # a zip archive's start without its end: cut short
            raise ValueError(f"{name} is truncated: the file ends before the session does")
        raise ValueError(f"{name} is not an otviz session file")
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            broken = z.testzip()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
        broken = True
    if broken:
        raise ValueError(f"{name} is damaged: parts of it do not read back as they were written")
    if not any(n.endswith("/data.pkl") or n == "data.pkl" for n in names):
        raise ValueError(f"{name} is a zip archive but not an otviz session")


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
        if doc.get("timeline") is not None:
            session.timeline.load_state_dict(doc["timeline"])
            _check_timeline(session)
    except ValueError as e:            # otviz's own reason: a refused value, an unknown method
        raise ValueError(f"{name}: the session cannot be restored ({e})") from None
    except KeyError as e:
        raise ValueError(f"{name}: the session cannot be restored (it has no {e.args[0]!r})") from None
    except (TypeError, RuntimeError, AttributeError, IndexError):
        raise ValueError(f"{name}: the session cannot be restored (its saved state does not fit this "
                         f"otviz's {doc.get('method', 'method')})") from None
    return session, doc.get("extra", {})


def _check_timeline(session: Session) -> None:
    """ValueError unless the loaded timeline fits the loaded run."""
    tl = session.timeline
    current = tl.branches[tl.current]
    if current.keyframes[-1].step > session.step_count:
        raise ValueError("its timeline goes beyond its state")
    for b in tl.branches.values():
        if any(kf.state.get("method") != session.method.name for kf in b.keyframes):
            raise ValueError("its timeline holds another method's states")


def dump_session(session: Session, timeline: bool = False) -> bytes:
    """The session file's bytes (a worker's checkpoint, kept by the GUI in case the worker dies): written
    in memory, since a worker checkpoints at every pause. Without its timeline unless asked: the
    keyframes may weigh a hundred megabytes, too much to send at every pause; a run restored from the
    checkpoint keeps its present and its history, and its timeline starts there."""
    import io

    buf = io.BytesIO()
    torch.save(_document(session, timeline=timeline), buf)
    return buf.getvalue()


def load_session_bytes(data: bytes, name: str = "checkpoint") -> Session:
    """A Session from dump_session's bytes; errors name `name` like a file's."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="otviz-") as d:
        path = Path(d) / name
        path.write_bytes(data)
        return load_session(path)[0]
