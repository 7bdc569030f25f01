"""Check the files a headless run will write before it trains, so a long run never ends in a refusal."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from otviz.util.recording import FORMATS

# option -> (suffixes it writes, what they are called in a message)
SUFFIXES = {
    "--snapshot": ((".png", ".svg"), "snapshots are .png or .svg"),
    "--record": (tuple(FORMATS), "recordings are .gif, .apng or .mp4"),
    "--history": ((".csv",), "histories are .csv files"),
    "--save": ((".otviz",), "sessions are .otviz files"),
}


def check_output(option: str, path: str | os.PathLike) -> None:
    """ValueError naming the file and the problem unless `path` can be written as `option`'s output.

    The folder is probed by creating (and removing) a temporary file in it, as the atomic write at
    the end will: permission bits alone do not tell about read-only mounts or /proc."""
    p = Path(path)
    suffixes, what = SUFFIXES[option]
    if p.suffix.lower() not in suffixes:
        raise ValueError(f"cannot write {p} ({option}): {what}")
    if p.is_dir():
        raise ValueError(f"cannot write {p} ({option}): it is a folder")
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise ValueError(f"cannot write {p} ({option}): the folder {folder} does not exist")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".probe", dir=folder)
    except OSError as e:
        reason = "is not writable" if isinstance(e, PermissionError) else "does not accept new files"
        raise ValueError(f"cannot write {p} ({option}): the folder {folder} {reason}") from None
    os.close(fd)
    os.unlink(probe)


def check_outputs(outputs: dict[str, str | None]) -> None:
    """Check every given output ({option: path or None}); also refuse one file named for two outputs."""
    seen: dict[Path, str] = {}
    for option, path in outputs.items():
        if not path:
            continue
        check_output(option, path)
        key = Path(path).resolve()
        if key in seen:
            raise ValueError(f"cannot write {path}: it is named for both {seen[key]} and {option}")
        seen[key] = option
