"""Keyframes that share what did not change: a state's tensors and arrays equal, bit for bit, to the
previous keyframe's are that keyframe's objects, so a run's data and frozen parts are held once."""
from __future__ import annotations

import copy
from typing import Any, Iterator

import numpy as np
import torch

from otviz.session import frames


def leaves(obj: Any) -> Iterator[Any]:
    """The tensors and arrays in nested dicts, lists and tuples."""
    return frames.leaves(obj, (torch.Tensor, np.ndarray))


def unique(xs: Iterator[Any]) -> list[Any]:
    seen, out = set(), []
    for x in xs:
        if id(x) not in seen:
            seen.add(id(x))
            out.append(x)
    return out


def nbytes(x: Any) -> int:
    if isinstance(x, torch.Tensor):
        return x.numel() * x.element_size()
    return int(x.nbytes)


def share(new: Any, old: Any) -> Any:
    """`new` with every tensor or array that is bit for bit the one at the same place in `old` replaced
    by `old`'s object. Containers are copied, never changed: `new` may be another keyframe's."""
    if isinstance(new, torch.Tensor):
        return old if isinstance(old, torch.Tensor) and _same_tensor(new, old) else new
    if isinstance(new, np.ndarray):
        return old if isinstance(old, np.ndarray) and _same_array(new, old) else new
    if isinstance(new, dict):
        if not isinstance(old, dict):
            return new
        out = copy.copy(new)                  # (keeps an OrderedDict one)
        for k, v in new.items():
            if k in old:
                out[k] = share(v, old[k])
        return out
    if isinstance(new, list):
        if isinstance(old, list) and len(old) == len(new):
            return [share(a, b) for a, b in zip(new, old)]
        return new
    if isinstance(new, tuple) and isinstance(old, tuple) and len(old) == len(new):
        items = [share(a, b) for a, b in zip(new, old)]
        return type(new)(*items) if hasattr(new, "_fields") else type(new)(items)
    return new


def _same_tensor(a: torch.Tensor, b: torch.Tensor) -> bool:
    # bitwise, not ==: 0.0 and -0.0 compare equal but would not continue a run bit for bit
    if (a.dtype, a.shape, a.device, a.requires_grad, a.layout) != (b.dtype, b.shape, b.device, b.requires_grad, b.layout):
        return False
    if a.layout != torch.strided or a.stride() != b.stride() or not (a.is_contiguous() and b.is_contiguous()):
        return False
    if a.numel() == 0:
        return True
    return torch.equal(_bytes_of(a), _bytes_of(b))


def _bytes_of(t: torch.Tensor) -> torch.Tensor:
    flat = t.detach().reshape(-1)
    if flat.stride(0) != 1:                   # one element, whose size-1 dimensions may carry any stride
        flat = flat.as_strided((flat.numel(),), (1,))
    return flat.view(torch.uint8)


def _same_array(a: np.ndarray, b: np.ndarray) -> bool:
    if a.dtype != b.dtype or a.shape != b.shape or a.dtype.hasobject:
        return False
    return np.array_equal(np.ascontiguousarray(a).reshape(-1).view(np.uint8),
                          np.ascontiguousarray(b).reshape(-1).view(np.uint8))
