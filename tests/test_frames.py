"""The light past of a run (FrameStore): lookup by step, shared arrays counted once, the memory budget."""
import dataclasses

import numpy as np

from otviz.session.frames import FrameStore


def frame(step, n=1000, data=None):
    rng = np.random.default_rng(step)
    return {"fake": rng.normal(size=(n, 2)).astype(np.float32), "real": data, "loss": float(step)}


def test_lookup_gives_the_newest_frame_at_or_before_a_step():
    s = FrameStore()
    for step in (0, 3, 6, 9):
        s.add(step, frame(step))
    assert s.at(-1) is None
    assert s.at(0).step == 0 and s.at(5).step == 3 and s.at(6).step == 6 and s.at(100).step == 9
    assert s.index_of(7) == 2
    np.testing.assert_array_equal(s.at(4).snap["fake"], frame(3)["fake"])


def test_unchanged_arrays_are_stored_once():
    data = np.random.default_rng(0).normal(size=(5000, 2))
    s = FrameStore()
    for step in range(10):
        s.add(step, frame(step, data=data.copy()))      # equal, but a new array each frame (as unpickled)
    fake_bytes = 1000 * 2 * 4
    assert s.nbytes == data.nbytes + 10 * fake_bytes
    assert all(f.snap["real"] is s.frames[0].snap["real"] for f in s.frames)


def test_a_frame_at_an_earlier_step_drops_the_frames_after_it():
    s = FrameStore()
    for step in range(0, 50, 5):
        s.add(step, frame(step))
    s.add(20, frame(1000))                # a fork or a restart at step 20
    assert s.steps == [0, 5, 10, 15, 20]
    assert s.at(20).snap["loss"] == 1000.0
    assert s.nbytes == 5 * 1000 * 2 * 4


def test_the_budget_thins_old_frames_and_keeps_the_whole_run_reachable():
    per = 1000 * 2 * 4
    s = FrameStore(budget_bytes=50 * per)
    for step in range(2000):
        s.add(step, frame(step))
        assert s.nbytes <= 50 * per
    assert s.steps[0] == 0 and s.steps[-1] == 1999      # the start and now stay
    assert s.thinned == 2000 - len(s)
    gaps = np.diff(s.steps)
    assert gaps[-1] == 1 and gaps.max() > 1             # recent frames dense, older ones thinned
    q = len(gaps) // 4
    assert gaps[:q].mean() > 2 * gaps[-q:].mean()       # coarser towards the past


def test_a_fork_shares_the_past_without_copying_it():
    s = FrameStore()
    for step in range(10):
        s.add(step, frame(step))
    b = s.until(4)
    assert b.steps == [0, 1, 2, 3, 4] and b.frames[2] is s.frames[2]
    b.add(5, frame(99))
    assert s.at(5).snap["loss"] == 5.0 and b.at(5).snap["loss"] == 99.0


def test_dataclass_snapshots_are_stored_too():
    @dataclasses.dataclass
    class Snap:
        fake: np.ndarray
        real: np.ndarray

    data = np.ones((100, 2))
    s = FrameStore()
    s.add(0, Snap(np.zeros((10, 2)), data.copy()))
    s.add(1, Snap(np.ones((10, 2)), data.copy()))
    assert s.frames[1].snap.real is s.frames[0].snap.real
    assert s.nbytes == data.nbytes + 2 * 10 * 2 * 8
