"""Reliability: parameter fuzz, NaN recovery, devices, and every tab hammered at once under pytest-qt."""
import numpy as np
import pytest

from method_checks import (check_device_switch_keeps_the_run, check_guard_rechecks_every_tensor_that_changed,
                           check_nan_pauses_at_last_good_state, check_parameter_fuzz)
from otviz.cli import main
from otviz.methods import method_class, method_names

# The checks themselves are shared (method_checks.py): a method a test registers runs them too.


@pytest.mark.parametrize("name", method_names())
def test_parameter_fuzz_gives_clean_runs_or_clean_refusals(name):
    check_parameter_fuzz(name)


@pytest.mark.parametrize("name", method_names())
def test_nan_pauses_at_last_good_state(name):
    check_nan_pauses_at_last_good_state(name)


@pytest.mark.parametrize("name", method_names())
def test_guard_rechecks_every_tensor_that_changed(name):
    check_guard_rechecks_every_tensor_that_changed(name)


@pytest.mark.parametrize("name", method_names())
def test_device_switch_keeps_the_run(name):
    check_device_switch_keeps_the_run(name)


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
