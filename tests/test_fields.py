"""The fields contract of every registered method: expensive snapshot keys computed by another instance.

The training worker sends `field_state()` to a helper process holding its own instance of the method
(same class, config and seed, never trained), which loads it and computes the fields. These tests play
both parts in one process.
"""
import dataclasses

import numpy as np
import pytest
import torch

from otviz.methods import method_class, method_names
from otviz.methods.snapshot import Snapshot
from otviz.session.frames import leaves

# Small settings, so that every method trains a few steps in well under a second.
SMALL = {
    "swgmm": {},
    "wgan": dict(width=16, n_points=1000, batch_size=32, heatmap_res=24, n_show=200),
    "sinkhorn": dict(n_points=20),
    "realnvp": dict(hidden=16, n_data=500, batch_size=64),
    "coulomb": dict(samples_per_mode=200, batch_size=128, n_show=500, heatmap_res=32, gmm_every=2),
}


def make(name: str):
    cls = method_class(name)
    cfg = dataclasses.replace(cls.Config(), **SMALL.get(name, {}))
    return cls(cfg, seed=3)


def trained(name: str, steps: int = 3):
    m = make(name)
    for _ in range(steps):
        m.step()
    return m


def tensors_in(obj, path="") -> list[str]:
    """Paths of every torch.Tensor inside snapshots, dicts, lists and tuples."""
    if isinstance(obj, torch.Tensor):
        return [path or "<top>"]
    if isinstance(obj, Snapshot):
        return tensors_in(obj.as_dict(), path)
    if isinstance(obj, dict):
        return [p for k, v in obj.items() for p in tensors_in(v, f"{path}.{k}")]
    if isinstance(obj, (list, tuple)):
        return [p for i, v in enumerate(obj) for p in tensors_in(v, f"{path}[{i}]")]
    return []


def not_plain(obj, path="") -> list[str]:
    """Paths of anything that is not numpy, a number, a string, None, or a snapshot or container of those."""
    if isinstance(obj, Snapshot):
        return not_plain(obj.as_dict(), path)
    if isinstance(obj, dict):
        return [p for k, v in obj.items() for p in not_plain(v, f"{path}.{k}")]
    if isinstance(obj, (list, tuple)):
        return [p for i, v in enumerate(obj) for p in not_plain(v, f"{path}[{i}]")]
    ok = (np.ndarray, np.generic, bool, int, float, str, type(None))
    return [] if isinstance(obj, ok) else [f"{path}: {type(obj).__name__}"]


def assert_same(a, b, path=""):
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), path
        for k in a:
            assert_same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), path
        for i, (u, v) in enumerate(zip(a, b)):
            assert_same(u, v, f"{path}[{i}]")
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.shape == b.shape and a.dtype == b.dtype, path
        if a.dtype.kind in "fc":
            np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5, equal_nan=True, err_msg=path)
        else:
            np.testing.assert_array_equal(b, a, err_msg=path)
    elif isinstance(a, float):
        assert b == pytest.approx(a, rel=1e-4, abs=1e-6, nan_ok=True), path
    else:
        assert a == b, path


def differs(a, b) -> bool:
    try:
        assert_same(a, b)
    except AssertionError:
        return True
    return False


@pytest.mark.parametrize("name", method_names())
def test_another_instance_computes_the_same_fields(name):
    a = trained(name)
    b = make(name)                                   # same class, config and seed; never trained
    expected = a.compute_fields()
    assert set(expected) == set(a.fields) | {"fields_step"} and expected["fields_step"] == 3
    fresh = b.compute_fields()
    if a.fields:                                     # training changed the fields: loading must matter
        assert any(differs(expected[k], fresh[k]) for k in a.fields)
    b.load_field_state(a.field_state())
    got = b.compute_fields()
    assert set(got) == set(expected)
    for k in expected:
        assert_same(expected[k], got[k], k)


@pytest.mark.parametrize("name", method_names())
def test_snapshots_and_field_state_are_plain_data(name):
    m = trained(name)
    for what, obj in (("field_state", m.field_state()), ("snapshot", m.snapshot()),
                      ("snapshot(fields=False)", m.snapshot(fields=False)), ("compute_fields", m.compute_fields())):
        assert not tensors_in(obj), (what, tensors_in(obj))
        assert not not_plain(obj), (what, not_plain(obj))


@pytest.mark.parametrize("name", method_names())
def test_a_cheap_snapshot_leaves_out_exactly_the_fields(name):
    m = trained(name)
    cheap, full = m.snapshot(fields=False), m.snapshot()
    assert type(cheap) is type(full) is m.Snapshot
    assert cheap.fields_step is None and all(getattr(cheap, k) is None for k in m.fields)
    for k in full.as_dict().keys() - {*m.fields, "fields_step"}:     # the rest is the same
        assert_same(getattr(cheap, k), getattr(full, k), k)
    assert full.step == cheap.step == full.fields_step == 3


@pytest.mark.parametrize("name", method_names())
def test_field_state_carries_no_optimiser_and_no_rebuilt_data(name):
    m = trained(name)
    state = m.field_state()
    assert state["step"] == 3
    weights = sum(p.numel() for v in vars(m).values() if isinstance(v, torch.nn.Module) for p in v.parameters())
    size = sum(a.nbytes for a in leaves(state))
    # the networks' weights (float32) at most, and a little besides; the optimiser's moments alone double it
    assert size <= 4 * weights + 4096, (size, weights)

