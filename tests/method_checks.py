"""Checks every registered method must pass, by name: shared by the built-in methods' tests and test_toy_method."""
import dataclasses
import math
import os
import pickle
import random
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

from otviz.methods import method_class, method_info
from otviz.methods.base import Diverged, Method
from otviz.methods.snapshot import Snapshot
from otviz.session.session import Session

# 12 cases per method by default; OTVIZ_FUZZ_CASES=100 runs the long fuzz (500 cases over five methods)
FUZZ_PER_METHOD = int(os.environ.get("OTVIZ_FUZZ_CASES", "12"))


def check_registry_entry(name: str) -> None:
    """The training class reads its name, title, config and metrics from the one description; every
    parameter has help and a valid default."""
    info = method_info(name)
    cls = method_class(name)
    assert cls.name == name and cls.metrics
    assert cls.info is info and (cls.title, cls.Config, cls.metrics) == (info.title, info.Config, info.metrics)
    with pytest.raises(ValueError, match=f"{name} has no parameter 'nope' \\(known: "):
        info.spec("nope")
    for s in cls.specs():
        assert s.help, f"{name}.{s.name} has no help text"
        s.coerce(s.default)


def fuzz_value(spec, rnd: random.Random):
    """A value for `spec`: mostly valid, sometimes just beyond the range, sometimes nonsense."""
    roll = rnd.random()
    if spec.type is bool:
        return rnd.choice([True, False, "yes", "maybe"])
    if spec.choices:
        return rnd.choice(list(spec.choices) + ["nonsense"]) if roll < 0.9 else 3.5
    if spec.type in (int, float):
        lo = spec.lo if spec.lo is not None else -10.0
        hi = spec.hi if spec.hi is not None else 10.0
        if roll < 0.08:
            return rnd.choice(["nan", "inf", "-1e9", "abc", ""])
        if roll < 0.2:
            return rnd.choice([lo - abs(lo) - 1, hi * 10 + 1, 0, -1])
        # valid values: log-uniform over positive ranges, but keep the expensive top of big ranges rare
        if lo > 0 and hi / lo > 100:
            v = math.exp(rnd.uniform(math.log(lo), math.log(min(hi, lo * 1e3) if roll < 0.8 else hi)))
        else:
            v = rnd.uniform(lo, hi)
        return int(round(v)) if spec.type is int else v
    if spec.widget == "file":
        return rnd.choice(["", "/nonexistent/points.csv"])
    return rnd.choice(["", "0,90,45", "x", "??"])


def check_parameter_fuzz(name: str) -> None:
    """Random parameter changes give clean runs, clean refusals or a clean NaN report."""
    cls = method_class(name)
    rnd = random.Random(sum(map(ord, name)) + FUZZ_PER_METHOD)
    ran = refused = diverged = 0
    for case in range(FUZZ_PER_METHOD):
        specs = cls.specs()
        changes = {s.name: fuzz_value(s, rnd) for s in rnd.sample(specs, k=min(len(specs), rnd.randint(1, 4)))}
        try:
            m = cls(seed=case)
            typed = m.validate(changes)
            m.update(typed)
        except ValueError as e:
            assert str(e), f"{name}: an empty refusal for {changes}"
            refused += 1
            continue
        try:
            for _ in range(2):
                m.step()
            snap = m.snapshot()
            assert isinstance(snap, cls.Snapshot) and snap.step == m.step_count
            ran += 1
        except Diverged as e:
            assert "NaN" in str(e)
            diverged += 1
    assert ran + refused + diverged == FUZZ_PER_METHOD
    assert ran > 0, f"{name}: no fuzz case ran at all"


def _corrupt_first_float(state):
    for k, v in state.items():
        if isinstance(v, torch.Tensor) and v.is_floating_point() and v.numel():
            v.view(-1)[0] = float("nan")
            return True
        if isinstance(v, dict) and _corrupt_first_float(v):
            return True
    return False


def check_nan_pauses_at_last_good_state(name: str) -> None:
    """A parameter turning NaN inside a step: Diverged, the last good state back, training goes on."""
    cls = method_class(name)
    m = cls(seed=1)
    s = Session(m)
    for _ in range(2):
        s.step()
    good = m.checkpoint()
    original = cls._step

    def going_bad(self):                             # a parameter turns NaN inside a step (a huge lr)
        out = original(self)
        assert _corrupt_first_float(self._state())
        return out

    cls._step = going_bad
    try:
        with pytest.raises(Diverged) as e:
            s.step()
    finally:
        cls._step = original
    assert "NaN/Inf" in str(e.value) and "step 2" in str(e.value)
    assert m.step_count == 2 and s.error
    assert not m._nonfinite_state()                  # the last good state is back
    for (k, a), b in zip(good.items(), m._state().values()):
        if isinstance(a, torch.Tensor):
            assert torch.equal(a, b), k
    s.step()                                         # and training continues from it
    assert m.step_count == 3


def _floats(state):
    out = []
    for v in state.values():
        if isinstance(v, torch.Tensor) and v.is_floating_point() and v.numel():
            out.append(v)
        elif isinstance(v, dict):
            out += _floats(v)
    return out


def check_guard_rechecks_every_tensor_that_changed(name: str) -> None:
    # the guard skips tensors it found finite and that were not modified since: any in-place change
    # to any of them (the last one is usually a dataset, not a parameter) must be seen again
    m = method_class(name)(seed=1)
    if type(m)._nonfinite_state is not Method._nonfinite_state:
        pytest.skip("this method checks only its weights, with its own guard")
    for _ in range(2):
        m.step()
    assert not m._nonfinite_state()
    floats = _floats(m._state())
    checked = 0
    for t in floats:
        keep = t.view(-1)[0].item()
        t.view(-1)[0] = float("inf")
        live = any(u.data_ptr() == t.data_ptr() for u in _floats(m._state()))
        if live:                                     # (a tensor _state() builds afresh is no state)
            assert m._nonfinite_state()
            checked += 1
        t.view(-1)[0] = keep
        assert not m._nonfinite_state()
    assert checked >= 2


def check_device_switch_keeps_the_run(name: str) -> None:
    m = method_class(name)(seed=2)
    for _ in range(2):
        m.step()
    before = {k: v.clone() for k, v in m._state().items() if isinstance(v, torch.Tensor)}
    with pytest.raises(ValueError, match="not available|unknown device"):
        m.set_device("cuda:7" if not torch.cuda.is_available() else "tpu")
    m.set_device("cpu")
    assert m.step_count == 2
    for k, v in before.items():
        assert torch.equal(v, m._state()[k]), k
    m.step()


def check_session_round_trip_continues_exactly(name: str) -> None:
    from otviz.session.file import load_session, save_session

    cls = method_class(name)
    s = Session(cls(seed=7))
    for _ in range(3):
        s.step()
    with tempfile.TemporaryDirectory(prefix="otviz-test-") as d:
        path = Path(d) / "run.otviz"
        save_session(path, s)
        expected = [s.step() for _ in range(2)]
        s2, _ = load_session(path)
    assert s2.step_count == 3 and len(s2.history) == len(s.history) - 2
    got = [s2.step() for _ in range(2)]
    assert got == expected
    for (k, a), b in zip(s.method._state().items(), s2.method._state().values()):
        if isinstance(a, torch.Tensor):
            assert torch.equal(a, b), k


def not_plain(obj, path: str = "snap") -> list[str]:
    """Paths of whatever in a snapshot is not plain data: numpy arrays (not of Python objects), numbers,
    strings, None, and snapshots, dicts, lists and tuples of those."""
    if isinstance(obj, Snapshot):
        return [p for k, v in obj.as_dict().items() for p in not_plain(v, f"{path}.{k}")]
    if isinstance(obj, dict):
        return [p for k, v in obj.items() for p in not_plain(v, f"{path}[{k!r}]")]
    if isinstance(obj, (list, tuple)):
        return [p for i, v in enumerate(obj) for p in not_plain(v, f"{path}[{i}]")]
    if isinstance(obj, np.ndarray):
        return [] if obj.dtype != object else [f"{path}: an array of objects"]
    ok = (np.generic, bool, int, float, str, type(None))
    return [] if isinstance(obj, ok) else [f"{path}: {type(obj).__module__}.{type(obj).__name__}"]


def check_snapshot_contract(name: str) -> None:
    """The method names its snapshot dataclass; the fields it computes apart (`fields`, `frame_fields`)
    are fields of it that default to None; snapshot() gives an instance of it that holds plain data only
    and crosses a pipe intact, with and without the fields."""
    from otviz.worker.protocol import find_tensors

    cls = method_class(name)
    S = cls.Snapshot
    assert isinstance(S, type) and issubclass(S, Snapshot) and S is not Snapshot, f"{name} names no Snapshot"
    assert dataclasses.is_dataclass(S) and S.__dataclass_params__.frozen, f"{S.__name__} is not frozen"
    declared = {f.name: f for f in dataclasses.fields(S)}
    assert not set(cls.fields) & set(cls.frame_fields)
    for key in (*cls.fields, *cls.frame_fields):
        assert key in declared, f"{name}: {key!r} is no field of {S.__name__}"
        assert declared[key].default is None, f"{name}: {S.__name__}.{key} must default to None"
    m = cls(seed=0)
    for _ in range(2):
        m.step()
    for fields in (True, False):
        for frame_fields in (True, False):
            snap = m.snapshot(fields=fields, frame_fields=frame_fields)
            what = f"{name}: snapshot(fields={fields}, frame_fields={frame_fields})"
            assert type(snap) is S and snap.step == m.step_count, what
            assert find_tensors(snap) == [], (what, find_tensors(snap))
            assert not_plain(snap) == [], (what, not_plain(snap))
            left_out = (() if fields else cls.fields) + (() if frame_fields else cls.frame_fields)
            assert all(getattr(snap, k) is None for k in left_out), what
            assert (snap.fields_step == m.step_count) if fields else snap.fields_step is None, what
            back = pickle.loads(pickle.dumps(snap, protocol=5))
            assert type(back) is S and back.as_dict().keys() == snap.as_dict().keys(), what


CHECKS = [check_registry_entry, check_parameter_fuzz, check_snapshot_contract, check_nan_pauses_at_last_good_state,
          check_guard_rechecks_every_tensor_that_changed, check_device_switch_keeps_the_run,
          check_session_round_trip_continues_exactly]
