"""The training worker's loop without a GUI: commands in order, merged changes, plain-data frames, pacing."""
import pickle
import threading
import time

import numpy as np
import pytest

from otviz.methods import method_class, method_names
from otviz.worker.loop import TrainingLoop
from otviz.worker.pool import spawn_worker, stop_all
from otviz.worker.protocol import Channel, find_tensors


class FakeChannel:
    """Feeds queued commands to the loop and records what it sends (pickled, as a pipe would)."""

    def __init__(self, commands=()):
        self.inbox = list(commands)
        self.sent = []

    def poll(self, timeout=0.0):
        return bool(self.inbox)

    def recv(self):
        return self.inbox.pop(0)

    def send(self, kind, payload=None):
        self.sent.append(pickle.loads(pickle.dumps((kind, payload), protocol=5)))

    def frames(self):
        return [p for k, p in self.sent if k == "frame"]


def small_init(name):
    small = {"swgmm": {}, "wgan": {"batch_size": 64, "heatmap_res": 16, "n_show": 200},
             "sinkhorn": {}, "realnvp": {"batch_size": 64, "n_data": 400},
             "coulomb": {"batch_size": 64, "samples_per_mode": 50, "n_show": 200, "heatmap_res": 16,
                         "gmm_every": 0}}[name]
    cls = method_class(name)
    names = {s.name for s in cls.specs()}
    return {"method": name, "config": {k: v for k, v in small.items() if k in names}, "seed": 0}


@pytest.mark.parametrize("name", method_names())
def test_frames_hold_plain_data_only(name):
    ch = FakeChannel([("init", small_init(name)), ("step", 3)])
    loop = TrainingLoop(ch)
    loop._read_commands(block=False)
    for _ in range(3):
        loop._step()
    loop._send_frame(0.0)
    loop.running = True                 # while training the frame may leave the fields to the helper
    loop.fields_remote = True
    loop.dirty = True
    loop._send_frame(1.0)
    loop.settle()
    frames = ch.frames()
    assert len(frames) == 2 and frames[0]["step"] == 3
    for f in frames:
        assert find_tensors(f) == [], f"tensors in the frame: {find_tensors(f)}"
    assert "config" in frames[0] and "history" in frames[0]
    assert len(frames[0]["history"]["data"]) == 3


PAINTED = [n for n in method_names() if method_class(n).frame_fields]


@pytest.mark.parametrize("name", PAINTED)
def test_painted_frames_match_the_training_instance_and_leave_training_exact(name):
    """Frames whose per-frame fields come from the painter process show what the trained instance
    itself computes at that step, hold plain data only, and painting beside training changes no
    training draw."""
    import multiprocessing as mp

    gui_end, worker_end = mp.Pipe()
    gui = Channel(gui_end)
    init = small_init(name)
    gui.send("init", init)
    gui.send("play")
    loop = TrainingLoop(Channel(worker_end))
    loop._read_commands(block=True)
    m = loop.session.method
    expected = {}
    for _ in range(4):
        for _ in range(3):
            loop._step()
        expected[m.step_count] = m.compute_frame_fields()
        loop.dirty = True
        loop.clock.in_flight = 0
        loop._send_frame(float(m.step_count))
    loop.settle()
    assert loop.painter is not None and not loop.painter_failed
    frames = []
    while gui.poll(1.0):
        kind, payload = gui.recv()
        if kind == "frame":
            frames.append(payload)
        if len(frames) == 4:
            break
    loop._cmd_quit(None)
    assert [f["step"] for f in frames] == [3, 6, 9, 12]
    for f in frames:
        assert find_tensors(f) == []
        for key in m.frame_fields:
            np.testing.assert_array_equal(np.asarray(getattr(f["snap"], key)), np.asarray(expected[f["step"]][key]))

    from otviz.session.session import Session
    plain = Session(method_class(name)(method_class(name).Config(**init["config"]), seed=0))
    for _ in range(12):
        plain.step()
    for a, b in zip(plain.method.checkpoint()["G"].values(), m.checkpoint()["G"].values()):
        assert a.equal(b)


def test_changes_merge_and_edits_keep_their_order():
    """Two clicks between two steps add two points; the last of several writes of one value wins."""
    ch = FakeChannel([
        ("init", {"method": "sinkhorn", "config": {}, "seed": 0}),
        ("set", {"eps": 0.5}), ("set", {"eps": 0.2}),
        ("edit", ("add_point", {"xy": (7.0, 7.0), "which": "source"})),
        ("edit", ("add_point", {"xy": (8.0, 8.0), "which": "source"})),
        ("set", {"eps": 0.3}),
    ])
    loop = TrainingLoop(ch)
    n0 = None
    loop._read_commands(block=False)
    m = loop.session.method
    x = m.x.cpu().numpy()
    assert np.allclose(x[-2:], [[7, 7], [8, 8]])
    n0 = len(method_class("sinkhorn")(seed=0).x)
    assert len(x) == n0 + 2
    assert m.config.eps == 0.3
    assert not [p for k, p in ch.sent if k == "failed"]


def test_refused_change_is_reported_and_config_resent():
    ch = FakeChannel([("init", {"method": "swgmm", "config": {}, "seed": 0}), ("set", {"lr": -1.0})])
    loop = TrainingLoop(ch)
    loop._read_commands(block=False)
    fails = [p for k, p in ch.sent if k == "failed"]
    assert len(fails) == 1 and "lr" in fails[0]
    loop._send_frame(0.0)
    assert ch.frames()[-1]["config"]["lr"] == loop.session.method.Config().lr


def test_demo_pace_waits_for_each_frame_on_screen():
    ch = FakeChannel([("init", {"method": "sinkhorn", "config": {}, "seed": 0}), ("pace", 3), ("play", None)])
    loop = TrainingLoop(ch)
    loop._read_commands(block=False)
    loop._maybe_send_frame()               # the first frame (step 0)
    loop.clock.in_flight = 0
    steps = 0

    def turn():                            # the worker's loop for a while (frames keep the display's rate)
        nonlocal steps
        end = time.perf_counter() + 0.2
        while time.perf_counter() < end:
            if loop._may_step():
                loop._step()
                steps += 1
            loop._maybe_send_frame()

    turn()                                 # the GUI never acknowledges: at most 3 steps, then one frame
    assert steps == 3
    assert [f["step"] for f in ch.frames()] == [0, 3]
    loop._cmd_ack(1)                        # drawn: the next 3 steps go
    turn()
    assert steps == 6 and ch.frames()[-1]["step"] == 6


def test_a_real_worker_process_trains_and_quits():
    h = spawn_worker()
    try:
        kind, ready = h.channel.recv()
        assert kind == "ready" and ready["devices"][0][0] == "cpu"
        h.channel.send("init", {"method": "sinkhorn", "config": {}, "seed": 0})
        h.channel.send("step", 2)
        frames = []
        while not frames or frames[-1]["step"] < 2:
            assert h.channel.poll(60), "no frame from the worker"
            kind, p = h.channel.recv()
            if kind == "frame":
                frames.append(p)
                h.channel.send("ack", p["id"])
        assert type(frames[-1]["snap"]).__name__ == "SinkhornSnapshot" and find_tensors(frames[-1]) == []
    finally:
        stop_all([h], 1.0)
    assert not h.process.is_alive()


def test_channel_sends_arrays_out_of_band_and_rebuilds_them_writable():
    import multiprocessing as mp

    a, b = mp.Pipe()
    ca, cb = Channel(a), Channel(b)
    arr = np.arange(200_000, dtype=np.float32).reshape(-1, 2)
    t = threading.Thread(target=ca.send, args=("frame", {"x": arr, "n": 3}))
    t.start()
    kind, p = cb.recv()
    t.join()
    assert kind == "frame" and p["n"] == 3 and np.array_equal(p["x"], arr)
    p["x"][0, 0] = -1.0                    # views may reuse the arrays they are given


@pytest.mark.parametrize("name", method_names())
def test_a_fork_through_the_worker_repeats_the_run_exactly(name):
    """The window's path: the tab sends "fork" to its worker, which forks its Session; with nothing
    changed, the new branch's next steps are the old branch's, bit for bit (CPU)."""
    ch = FakeChannel([("init", small_init(name))])
    loop = TrainingLoop(ch)
    loop._read_commands(block=False)
    for _ in range(12):
        loop._step()
    h = loop.session.history
    before = h.state_dict()["data"].copy()
    ch.inbox.append(("fork", {"step": 5, "changes": {}}))
    loop._read_commands(block=False)
    assert loop.session.step_count == 5
    branches = [p for k, p in ch.sent if k == "branches"][-1]
    assert len(branches["branches"]) == 2 and branches["current"] != 0 and len(branches["ghosts"]) == 1
    for _ in range(7):
        loop._step()
    np.testing.assert_array_equal(loop.session.history.state_dict()["data"], before)
    ch.inbox.append(("switch", 0))
    loop._read_commands(block=False)
    assert loop.session.step_count == 12 and loop.session.timeline.current == 0
