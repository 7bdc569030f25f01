"""Which torch devices this machine has, and why the others are not available."""
from __future__ import annotations

import torch


def device_status() -> list[tuple[str, bool, str]]:
    """(name, available, reason) for cpu, cuda and mps."""
    out = [("cpu", True, "")]
    if torch.cuda.is_available():
        out.append(("cuda", True, torch.cuda.get_device_name(0)))
    else:
        why = "this torch build has no CUDA support" if torch.version.cuda is None else "no CUDA GPU found"
        out.append(("cuda", False, why))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        out.append(("mps", True, "Apple GPU"))
    else:
        out.append(("mps", False, "MPS needs an Apple-silicon Mac with a torch built for it"))
    return out


def resolve_device(name: str | torch.device) -> torch.device:
    """A torch.device for `name`, or ValueError saying why it cannot be used here."""
    name = str(name).strip().lower()
    base = name.split(":")[0]
    for dev, ok, why in device_status():
        if dev == base:
            if not ok:
                raise ValueError(f"device {name!r} is not available: {why}")
            return torch.device(name)
    raise ValueError(f"unknown device {name!r} (choose from cpu, cuda, mps)")
