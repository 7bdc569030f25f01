"""The timeline: keyframes, forks that repeat a run bit for bit, branches, the memory bound, session files."""
import dataclasses

import numpy as np
import pytest
import torch

from otviz.cli import main
from otviz.methods import method_class, method_names
from otviz.session.file import FORMAT, _encode, load_session, save_session
from otviz.session.session import Session
from otviz.session.timeline import MIN_EVERY, Timeline

NAMES = method_names()
# small sizes, and the metrics evaluated often, so that a few dozen steps exercise every path of a step
# (w2 every 20 steps: a fork at 23 restores the value measured at step 20 and carries it)
SMALL = {"swgmm": {"w2_every": 20},
         "wgan": {"batch_size": 64, "heatmap_res": 16, "n_show": 200, "coverage_every": 7, "w2_every": 20},
         "sinkhorn": {}, "realnvp": {"batch_size": 64, "n_data": 400, "eval_every": 7, "w2_every": 20},
         "coulomb": {"batch_size": 64, "samples_per_mode": 50, "n_show": 200, "heatmap_res": 16, "gmm_every": 0,
                     "eval_every": 7, "w2_every": 20}}


def small(name: str) -> dict:
    names = {s.name for s in method_class(name).specs()}
    return {k: v for k, v in SMALL.get(name, {}).items() if k in names}


def session(name: str, seed: int = 3, every: int | None = 10, budget: int | None = None) -> Session:
    cls = method_class(name)
    tl = Timeline(keyframe_every=every) if budget is None else Timeline(budget, keyframe_every=every)
    return Session(cls(dataclasses.replace(cls.Config(), **small(name)), seed=seed), timeline=tl)


def leaves(obj, path=""):
    if isinstance(obj, (torch.Tensor, np.ndarray)):
        yield path, obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from leaves(v, f"{path}.{k}")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from leaves(v, f"{path}[{i}]")


def assert_same_state(a: dict, b: dict) -> None:
    """Two state_dicts hold the same config, step, RNG states and tensors, bit for bit."""
    assert a["config"] == b["config"] and a["step"] == b["step"] and a["rng"] == b["rng"]
    la, lb = list(leaves(a)), list(leaves(b))
    assert [p for p, _ in la] == [p for p, _ in lb]
    for (p, x), (_, y) in zip(la, lb):
        if isinstance(x, torch.Tensor):
            assert x.dtype == y.dtype and torch.equal(x.view(-1).view(torch.uint8) if x.numel() else x,
                                                      y.view(-1).view(torch.uint8) if y.numel() else y), p
        else:
            assert x.dtype == y.dtype and np.array_equal(x, y), p


# ----------------------------------------------------------------------------- forks

@pytest.mark.parametrize("name", NAMES)
def test_a_fork_with_nothing_changed_repeats_the_run_bit_for_bit(name):
    s = session(name)
    metrics, states = [None], [s.method.state_dict()]
    for _ in range(45):
        metrics.append(s.step())
        states.append(s.method.state_dict())
    csv = s.history.to_csv_text()
    assert [kf.step for kf in s.timeline.branches[0].keyframes] == [0, 10, 20, 30, 40]

    branch = s.fork(23)                       # not a keyframe: restored at 20, three steps replayed
    assert s.step_count == 23 and branch.parent == 0 and branch.fork_step == 23
    assert s.timeline.current == branch.id and branch.label == "from step 23"
    assert_same_state(s.method.state_dict(), states[23])
    assert s.history.to_csv_text().splitlines() == csv.splitlines()[:24]        # the header, steps 1 .. 23
    assert s.last_metrics == metrics[23]
    for i in range(24, 46):
        assert s.step() == metrics[i], i
    assert_same_state(s.method.state_dict(), states[45])
    assert s.history.to_csv_text() == csv


@pytest.mark.parametrize("name", NAMES)
def test_a_fork_that_replays_from_step_0_is_exact(name):
    s = session(name)
    expected = [s.step() for _ in range(12)]
    end = s.method.state_dict()
    s.fork(5)
    assert s.timeline.keyframe_at(5, 0).step == 0
    assert [s.step() for _ in range(7)] == expected[5:]
    assert_same_state(s.method.state_dict(), end)


@pytest.mark.parametrize("name", NAMES)
def test_a_fork_from_an_ancestor_branch_and_after_changes_is_exact(name):
    """Forking a fork, before its own start, goes back into the parent; a change on the way is replayed."""
    s = session(name)
    for _ in range(12):
        s.step()
    lr = s.method.config.lr
    s.update({"lr": lr * 0.5})                # a change at step 12 (with its keyframe)
    expected = [s.step() for _ in range(20)]  # steps 13 .. 32
    end = s.method.state_dict()
    s.fork(28, {"lr": lr * 2})                # branch 1, at step 28
    assert s.method.config.lr == lr * 2 and s.timeline.branches[1].label.startswith("lr=")
    for _ in range(3):
        s.step()
    s.fork(15)                                # before branch 1's start: back into branch 0's past
    assert s.timeline.branches[2].parent == 1 and s.method.config.lr == lr * 0.5
    assert [s.step() for _ in range(17)] == expected[3:]
    assert_same_state(s.method.state_dict(), end)


def test_a_fork_changes_what_it_is_asked_to_and_marks_it():
    s = session("sinkhorn")
    original = [s.step() for _ in range(30)]
    s.fork(17, {"eps": 0.05})
    assert s.step_count == 17 and s.method.config.eps == 0.05
    after = [s.step() for _ in range(13)]
    assert after != original[17:]
    assert s.history.events[-1] == (17, "eps=0.05")
    assert s.timeline.branches[1].label == "eps=0.05 from step 17"
    rows = s.history.to_csv_text().splitlines()
    assert rows[17].startswith("17,") and rows[17].endswith(",eps=0.05")


def test_a_refused_fork_leaves_the_session_as_it_was():
    s = session("sinkhorn")
    for _ in range(15):
        s.step()
    before, csv = s.method.state_dict(), s.history.to_csv_text()
    for step, changes, words in [(16, None, "holds steps 0 to 15"), (-1, None, "holds steps 0 to 15"),
                                 (4, {"n_points": 12}, "n_points cannot change in a fork"),
                                 (4, {"eps": 99.0}, "eps"), (4, {"nope": 1}, "no parameter 'nope'"),
                                 (2.5, None, "a step is a whole number")]:
        with pytest.raises(ValueError, match=words):
            s.fork(step, changes)
        assert list(s.timeline.branches) == [0] and s.timeline.current == 0
        assert s.timeline.branches[0].tip is None and s.timeline.branches[0].history is None
        assert_same_state(s.method.state_dict(), before)
        assert s.history.to_csv_text() == csv


def test_an_edit_is_replayed_exactly_when_its_keyframe_was_thinned():
    s = session("sinkhorn", every=1, budget=60_000)
    for _ in range(40):
        s.step()
    s.edit("move_point", {"which": "source", "index": 3, "xy": [0.25, -0.5]})
    s.update({"eps": 0.07})
    expected = [s.step() for _ in range(160)]
    steps = [kf.step for kf in s.timeline.branches[0].keyframes]
    assert 40 not in steps, "the edit's keyframe should have been thinned for this test"
    assert s.timeline.keyframe_at(60).step < 40
    s.fork(60)
    assert s.method.config.eps == 0.07
    assert [s.step() for _ in range(140)] == expected[20:]


# ----------------------------------------------------------------------------- branches

VIEW_RECOMPUTED = {   # last-step values that a restored state recomputes (as a reopened session file does)
    "swgmm": {"directions", "sw"}, "wgan": {"w_estimate"},
    "sinkhorn": {"errors", "n_iter", "marginal_error", "cost", "line_alpha", "plan"}}


def _as_dict(snap):
    return snap.as_dict() if hasattr(snap, "as_dict") else dict(snap)


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape \
            and np.array_equal(a, b, equal_nan=True)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and np.isnan(a):
        return isinstance(b, float) and np.isnan(b)
    return a == b


@pytest.mark.parametrize("name", NAMES)
def test_switching_branches_restores_their_views_and_histories(name):
    s = session(name)
    for _ in range(25):
        s.step()
    view0, csv0, state0 = _as_dict(s.method.snapshot()), s.history.to_csv_text(), s.method.state_dict()
    s.fork(12, {"lr": s.method.config.lr * 0.5})
    for _ in range(4):
        s.step()
    view1, csv1, state1 = _as_dict(s.method.snapshot()), s.history.to_csv_text(), s.method.state_dict()
    listing = s.branches()
    assert [(b["id"], b["parent"], b["fork_step"], b["step"], b["current"]) for b in listing] == \
        [(0, None, 0, 25, False), (1, 0, 12, 16, True)]
    assert listing[1]["history"] is None and listing[0]["history"]["data"][-1][0] == 25

    s.switch(0)
    assert s.step_count == 25 and s.history.to_csv_text() == csv0
    assert_same_state(s.method.state_dict(), state0)
    view = _as_dict(s.method.snapshot())
    differ = {k for k in view0 if not _same(view0[k], view[k])}
    assert differ <= VIEW_RECOMPUTED.get(name, set())
    assert s.branches()[1]["history"]["data"][-1][0] == 16

    s.switch(1)
    assert s.step_count == 16 and s.history.to_csv_text() == csv1
    assert_same_state(s.method.state_dict(), state1)
    view = _as_dict(s.method.snapshot())
    assert {k for k in view1 if not _same(view1[k], view[k])} <= VIEW_RECOMPUTED.get(name, set())
    with pytest.raises(ValueError, match="no branch 7"):
        s.switch(7)


@pytest.mark.parametrize("name", NAMES)
def test_reset_with_the_same_seed_starts_the_same_run(name):
    s = session(name, seed=5)
    first = [s.step() for _ in range(4)]
    s.fork(2)
    s.reset()
    assert s.step_count == 0 and len(s.history) == 0
    assert list(s.timeline.branches) == [0] and [kf.step for kf in s.timeline.branches[0].keyframes] == [0]
    assert [s.step() for _ in range(4)] == first
    s.reset(seed=6)
    assert [s.step() for _ in range(4)] != first


def test_unchanged_data_is_shared_between_keyframes():
    s = session("realnvp", every=5)
    for _ in range(10):
        s.step()
    k0, k1, k2 = s.timeline.branches[0].keyframes
    assert k1.state["state"]["x_train"] is k0.state["state"]["x_train"]
    assert k2.state["state"]["x_test"] is k0.state["state"]["x_test"]
    assert k1.state["state"]["flow"] is not k0.state["state"]["flow"]
    data = sum(k0.state["state"][k].numel() * 4 for k in ("x_train", "x_test", "z_shown"))
    whole = [sum(x.numel() * x.element_size() if isinstance(x, torch.Tensor) else x.nbytes
                 for _, x in leaves(k.state)) for k in (k0, k1, k2)]
    assert k0.nbytes == whole[0] and 0 < k2.nbytes <= whole[2] - data
    assert s.timeline.memory_bytes() == k0.nbytes + k1.nbytes + k2.nbytes <= sum(whole) - 2 * data


# ----------------------------------------------------------------------------- memory

def test_the_memory_budget_holds_over_a_long_run():
    budget = 150_000
    s = session("swgmm", every=1, budget=budget)
    peak = 0
    for _ in range(1500):
        s.step()
        peak = max(peak, s.timeline.memory_bytes())
    assert peak <= budget
    steps = [kf.step for kf in s.timeline.branches[0].keyframes]
    assert steps[0] == 0 and steps[-1] >= 1499 and len(steps) < 150
    gaps = np.diff(steps)
    assert gaps[: len(gaps) // 4].mean() > 4 * gaps[-len(gaps) // 4:].mean()   # old steps thinned most
    end = s.method.state_dict()
    s.fork(1000)
    for _ in range(500):
        s.step()
    assert_same_state(s.method.state_dict(), end)
    assert s.timeline.memory_bytes() <= budget


# ----------------------------------------------------------------------------- session files

def test_a_session_file_keeps_branches_and_forks_from_them_exactly(tmp_path):
    s = session("wgan")
    for _ in range(30):
        s.step()
    s.fork(14, {"lr": 2e-4})
    for _ in range(6):
        s.step()
    s.fork(17)
    for _ in range(3):
        s.step()
    path = tmp_path / "run.otviz"
    save_session(path, s)
    s2, _ = load_session(path)
    strip = lambda bs: [{k: v for k, v in b.items() if k != "history"} for b in bs]   # noqa: E731
    assert strip(s2.branches()) == strip(s.branches())
    for a, b in zip(s.branches(), s2.branches()):
        assert (a["history"] is None) == (b["history"] is None)
        if a["history"] is not None:
            assert np.array_equal(a["history"]["data"], b["history"]["data"], equal_nan=True)
    assert s2.history.to_csv_text() == s.history.to_csv_text()
    assert s2.timeline.memory_bytes() == s.timeline.memory_bytes()       # shared arrays stay shared
    assert [s2.step() for _ in range(3)] == [s.step() for _ in range(3)]
    for sess in (s, s2):
        sess.switch(0)
        sess.fork(9)
    assert [s2.step() for _ in range(8)] == [s.step() for _ in range(8)]
    assert_same_state(s2.method.state_dict(), s.method.state_dict())


def test_a_version_1_session_file_still_opens(tmp_path):
    s = session("sinkhorn")
    for _ in range(3):
        s.step()
    path = tmp_path / "old.otviz"
    torch.save(_encode({"format": FORMAT, "version": 1, "otviz": "0.9", "method": "sinkhorn", "device": "cpu",
                        "state": s.method.state_dict(), "history": s.history.state_dict(), "extra": {}}), path)
    s2, _ = load_session(path)
    tl = s2.timeline
    assert list(tl.branches) == [0] and [kf.step for kf in tl.branches[0].keyframes] == [3]
    assert_same_state(tl.branches[0].keyframes[0].state, s.method.state_dict())
    with pytest.raises(ValueError, match="cannot go back to step 1: this run's stored past holds step 3 only"):
        s2.fork(1)
    expected = [s.step() for _ in range(4)]
    assert [s2.step() for _ in range(4)] == expected
    s2.fork(4)
    assert [s2.step() for _ in range(3)] == expected[1:]


# ----------------------------------------------------------------------------- the CLI

def _sets(name: str) -> list[str]:
    return [a for k, v in small(name).items() for a in ("--set", f"{k}={v}")]


@pytest.mark.parametrize("name", NAMES)          # (the replay starts at step 0 here)
def test_cli_fork_repeats_the_run_and_writes_one_continuous_history(name, tmp_path, capsys):
    assert MIN_EVERY > 3
    run, fork = tmp_path / "run.otviz", tmp_path / "fork.otviz"
    full, forked = tmp_path / "full.csv", tmp_path / "forked.csv"
    assert main(["run", name, "--steps", "30", "--seed", "2", "--quiet", "--history", str(full),
                 "--save", str(run)] + _sets(name)) == 0
    assert main(["run", name, "--load", str(run), "--steps", "5", "--quiet", "--save", str(run)]) == 0
    # step 3: before the earliest second keyframe (MIN_EVERY), so the replay starts at step 0 on any machine
    assert main(["run", name, "--load", str(run), "--from-step", "3", "--steps", "27", "--quiet",
                 "--history", str(forked), "--save", str(fork)]) == 0
    assert forked.read_text() == full.read_text()
    a, _ = load_session(run)
    b, _ = load_session(fork)
    assert a.step_count == 35 and b.step_count == 30
    a.fork(30)
    assert_same_state(b.method.state_dict(), a.method.state_dict())
    assert [(x["fork_step"], x["step"]) for x in b.branches()] == [(0, 35), (3, 30)]


def test_cli_fork_with_a_change_marks_it_in_the_history(tmp_path):
    run, csv = tmp_path / "run.otviz", tmp_path / "h.csv"
    full = tmp_path / "full.csv"
    assert main(["run", "sinkhorn", "--steps", "20", "--quiet", "--save", str(run), "--history", str(full)]) == 0
    assert main(["run", "sinkhorn", "--load", str(run), "--from-step", "8", "--set", "eps=0.05", "--steps", "12",
                 "--quiet", "--history", str(csv)]) == 0
    rows, original = csv.read_text().splitlines(), full.read_text().splitlines()
    assert len(rows) == 21 and rows[:9] == original[:8] + [original[8] + "eps=0.05"]
    assert rows[9:] != original[9:]


@pytest.mark.parametrize("args, sentence", [
    (["--from-step", "21"], "--from-step 21: {run} holds steps 0 to 20"),
    (["--from-step", "-1"], "--from-step -1: {run} holds steps 0 to 20"),
    (["--from-step", "5", "--set", "n_points=9"], "n_points cannot change in a fork: changing it restarts the run"),
])
def test_cli_refuses_a_fork_it_cannot_make_in_one_sentence(tmp_path, capsys, args, sentence):
    run = tmp_path / "run.otviz"
    assert main(["run", "sinkhorn", "--steps", "20", "--quiet", "--save", str(run)]) == 0
    capsys.readouterr()
    assert main(["run", "sinkhorn", "--load", str(run), "--steps", "3", "--quiet"] + args) == 2
    err = capsys.readouterr().err
    assert err == f"otviz: {sentence.format(run=run)}\n"


def test_cli_from_step_needs_a_saved_run(capsys):
    assert main(["run", "sinkhorn", "--steps", "3", "--from-step", "1", "--quiet"]) == 2
    assert capsys.readouterr().err == "otviz: --from-step needs --load: the saved run to go back into\n"


def test_a_lighter_session_file_thins_its_keyframes_and_still_forks_exactly(tmp_path):
    s = session("coulomb", every=2)
    for _ in range(40):
        s.step()
    before = [kf.step for kf in s.timeline.branches[0].keyframes]
    full, light = tmp_path / "full.otviz", tmp_path / "light.otviz"
    save_session(full, s)
    save_session(light, s, timeline_bytes=s.timeline.memory_bytes() // 3)
    assert light.stat().st_size < full.stat().st_size / 2
    assert [kf.step for kf in s.timeline.branches[0].keyframes] == before        # the session keeps its own
    s2, _ = load_session(light)
    kept = [kf.step for kf in s2.timeline.branches[0].keyframes]
    assert kept[0] == 0 and kept[-1] == 40 and len(kept) < len(before) and set(kept) <= set(before)
    assert s2.timeline.budget_bytes == s.timeline.budget_bytes
    s.fork(13)
    s2.fork(13)
    assert [s2.step() for _ in range(5)] == [s.step() for _ in range(5)]


def test_a_session_file_holds_at_most_its_share_of_the_past(tmp_path, monkeypatch):
    import otviz.session.file as file

    s = session("coulomb", every=2)
    for _ in range(40):
        s.step()
    full = tmp_path / "full.otviz"
    save_session(full, s)
    monkeypatch.setattr(file, "SAVED_TIMELINE_BYTES", s.timeline.memory_bytes() // 3)
    capped = tmp_path / "capped.otviz"
    save_session(capped, s)                                   # no size asked for: the default cap
    assert capped.stat().st_size < full.stat().st_size / 2
    s2, _ = load_session(capped)
    assert s2.timeline.memory_bytes() <= s.timeline.memory_bytes() // 3 + s.timeline.branches[0].keyframes[0].nbytes


def test_sharing_compares_bits():
    from otviz.session.sharing import _same_array, _same_tensor

    one = torch.zeros(4, 1, dtype=torch.float64)[:1].t()           # one element, size-1 dims, odd strides
    assert _same_tensor(one, one.clone())
    assert not _same_tensor(torch.tensor(-0.0), torch.tensor(0.0))  # equal as numbers, not as bits
    assert not _same_tensor(torch.ones(3), torch.ones(3, dtype=torch.float64))
    assert _same_array(np.float64(2.0) * np.ones(()), np.array(2.0)) and not _same_array(np.array(-0.0), np.array(0.0))
