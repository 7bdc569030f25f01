"""Checks every registered method must pass, by name: shared by the built-in methods' tests and test_toy_method."""
import math
import os
import random
import tempfile
from pathlib import Path

import pytest
import torch

from otviz.methods import method_class, method_info
from otviz.methods.base import Diverged, Method
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
            assert isinstance(snap, dict) and snap["step"] == m.step_count
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


CHECKS = [check_registry_entry, check_parameter_fuzz, check_nan_pauses_at_last_good_state,
          check_guard_rechecks_every_tensor_that_changed, check_device_switch_keeps_the_run,
          check_session_round_trip_continues_exactly]
