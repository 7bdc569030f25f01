"""A frame the GUI had no time to draw is replaced by the next one, which takes over what only it carried."""
import multiprocessing as mp
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from otviz.gui.worker import WorkerLink  # noqa: E402
from otviz.methods.snapshot import Snapshot, expensive  # noqa: E402
from otviz.session.history import History  # noqa: E402
from otviz.worker.protocol import Channel  # noqa: E402


@dataclass(frozen=True)
class Snap(Snapshot):
    x: np.ndarray
    heat: np.ndarray | None = expensive()


def frame(i, snap, **extra):
    return {"id": i, "step": snap.step, "snap": snap, "field_state": None, **extra}


def rows(*steps):
    return np.array([[s, 0.5 * s] for s in steps], dtype=np.float64)


def test_dropped_frames_leave_nothing_behind(qtbot):
    ours, theirs = mp.Pipe()
    worker = Channel(theirs)
    link = WorkerLink(SimpleNamespace(channel=Channel(ours), process=None))
    acks = []
    link.send = lambda kind, payload=None: acks.append((kind, payload))      # what goes back to the worker
    link.request_stop()
    link.start()
    h = History(("loss",))
    full = Snap(step=0, x=np.zeros(3), heat=np.ones((2, 2)), fields_step=0)
    worker.send("frame", frame(0, full, history=h.state_dict(), config={"lr": 0.1}))
    worker.send("frame", frame(1, Snap(step=2, x=np.ones(3)), rows=rows(1, 2), events=[(2, "lr=0.2")],
                               field_state={"w": 1}))
    worker.send("frame", frame(2, Snap(step=3, x=np.full(3, 2.0)), rows=rows(3)))
    qtbot.waitUntil(lambda: len(acks) == 2, timeout=5_000)               # two dropped unseen, acknowledged
    f = link.take_frame()
    assert f["id"] == 2 and [a[1] for a in acks] == [0, 1]
    # the first frame's full history, then every row since: the GUI's copy misses no step
    assert f["history"]["names"] == ("loss",)
    np.testing.assert_array_equal(f["rows"][:, 0], [1, 2, 3])
    assert f["config"] == {"lr": 0.1} and f["events"] == [(2, "lr=0.2")] and f["field_state"] == {"w": 1}
    # the newest cheap keys over the dropped full snapshot's fields
    assert np.array_equal(f["snap"].x, np.full(3, 2.0)) and f["snap"].step == 3
    assert f["snap"].fields_step == 0 and np.array_equal(f["snap"].heat, np.ones((2, 2)))
    # a restart in between: the new frame has the whole history and a full snapshot, nothing older
    worker.send("frame", frame(3, Snap(step=4, x=np.zeros(3)), rows=rows(4)))
    worker.send("frame", frame(4, Snap(step=0, x=np.zeros(3), heat=np.zeros((2, 2)), fields_step=0),
                               history=h.state_dict()))
    qtbot.waitUntil(lambda: len(acks) == 3, timeout=5_000)
    f = link.take_frame()
    assert f["id"] == 4 and "rows" not in f and len(f["history"]["data"]) == 0
    assert np.array_equal(f["snap"].heat, np.zeros((2, 2)))
    worker.close()
    link.wait(2000)
    assert not link.isRunning()
