"""Reliability: parameter fuzz, NaN recovery, devices, and every tab hammered at once under pytest-qt."""
import math
import os
import random

import numpy as np
import pytest
import torch

from otviz.cli import main
from otviz.methods import method_class, method_names
from otviz.methods.base import Diverged
from otviz.methods.session import Session

# 12 cases per method by default; OTVIZ_FUZZ_CASES=100 runs the long fuzz (500 cases over five methods)
FUZZ_PER_METHOD = int(os.environ.get("OTVIZ_FUZZ_CASES", "12"))


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


@pytest.mark.parametrize("name", method_names())
def test_parameter_fuzz_gives_clean_runs_or_clean_refusals(name):
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


@pytest.mark.parametrize("name", method_names())
def test_nan_pauses_at_last_good_state(name, monkeypatch):
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

    monkeypatch.setattr(cls, "_step", going_bad)
    with pytest.raises(Diverged) as e:
        s.step()
    monkeypatch.setattr(cls, "_step", original)
    assert "NaN/Inf" in str(e.value) and "step 2" in str(e.value)
    assert m.step_count == 2 and s.error
    assert not m._nonfinite_state()                  # the last good state is back
    for (k, a), b in zip(good.items(), m._state().values()):
        if isinstance(a, torch.Tensor):
            assert torch.equal(a, b), k
    s.step()                                         # and training continues from it
    assert m.step_count == 3


@pytest.mark.parametrize("name", method_names())
def test_guard_rechecks_every_tensor_that_changed(name):
    # the guard skips tensors it found finite and that were not modified since: any in-place change
    # to any of them (the last one is usually a dataset, not a parameter) must be seen again
    from otviz.methods.base import Method

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


def _floats(state):
    out = []
    for v in state.values():
        if isinstance(v, torch.Tensor) and v.is_floating_point() and v.numel():
            out.append(v)
        elif isinstance(v, dict):
            out += _floats(v)
    return out


@pytest.mark.parametrize("name", method_names())
def test_device_switch_keeps_the_run(name):
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


def test_cli_divergence_exits_nonzero_with_the_message(monkeypatch, capsys):
    from otviz.methods.sinkhorn import SinkhornMethod

    original = SinkhornMethod._step

    def exploding(self):
        out = original(self)
        if self.step_count >= 2:
            out["cost"] = float("inf")
        return out

    monkeypatch.setattr(SinkhornMethod, "_step", exploding)
    code = main(["run", "sinkhorn", "--steps", "10", "--quiet"])
    assert code == 3
    err = capsys.readouterr().err
    assert "cost became NaN/Inf at step 3" in err and "last good state (step 2)" in err


def test_all_tabs_at_once_hammered_then_closed(qtbot):
    from otviz.gui.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    tabs = list(win.tab_by_name.values())
    for t in tabs:
        t.controls.play.click()
    # every tab trains in its own process, and each one's frames reach its tab
    qtbot.waitUntil(lambda: all(t.step >= 1 for t in tabs), timeout=120_000)
    assert len({t.link.handle.pid for t in tabs}) == len(tabs)
    for t in tabs:
        # the highest rate a slider can send: many changes between two steps, the last one must win
        live = [s for s in t.info.specs() if s.live and s.type is float and s.lo is not None and s.hi is not None]
        if live:
            spec = live[0]
            values = np.linspace(spec.lo if not spec.lo_open else spec.hi / 100, spec.hi, 200)
            last = float(f"{spec.default * 1.1:.6g}")
            last = last if last <= spec.hi else float(f"{spec.default * 0.9:.6g}")
            for v in values:
                t.send_params({spec.name: float(f"{v:.6g}")})
            t.send_params({spec.name: last})
            qtbot.waitUntil(lambda t=t, spec=spec, last=last: getattr(t.config, spec.name) == last,
                            timeout=20_000)
        for _ in range(5):                          # Reset and Play/Pause pressed many times in a row
            t.reset()
            t.controls.play.click()
        win.tabs.setCurrentWidget(t)
    # five clicks from playing: every worker ends paused, on a fresh run, in the order of the clicks
    qtbot.waitUntil(lambda: all(not t.running and not t.last_frame["running"] and t.step < 50 for t in tabs),
                    timeout=60_000)
    assert not any(t.controls.play.isChecked() for t in tabs)
    for t in tabs:
        t.controls.play.click()
    # and each one trains again, its frames (and the GUI's copy of its history) following
    qtbot.waitUntil(lambda: all(t.running and t.last_frame["running"] and 2 <= t.step == len(t.history)
                                and t.history.steps[-1] == t.step for t in tabs), timeout=120_000)
    for t in tabs:
        assert not t.banner.isVisible(), f"{t.name}: {t.banner.text()}"
        assert t.view is not None                   # each tab was shown once: its views draw its frames
    links = [t.link for t in tabs]
    assert all(lk.alive for lk in links)
    handles = [lk.handle for lk in links] + win.processes.handles()
    win.close()
    for lk in links:
        assert not lk.isRunning()
    for h in handles:
        assert not h.alive(), f"process {h.pid} still running after the window closed"


@pytest.mark.parametrize("name, changes, reason", [
    ("realnvp", {"n_data": 500, "batch_size": 1000}, "more than the 500 training points"),
    ("wgan", {"n_points": 1000, "batch_size": 4000}, "more than the 1000 real points"),
    ("coulomb", {"samples_per_mode": 10, "batch_size": 4096}, "more than the 250 training points"),
    ("swgmm", {"dataset": "two_moons", "n_points": 10, "n_components": 20}, "20"),
])
def test_batch_or_components_larger_than_the_data_are_refused(name, changes, reason):
    m = method_class(name)(seed=0)
    with pytest.raises(ValueError, match=reason):
        m.validate(changes)
