"""The frame painter's shared arena: a job's arrays go through shared memory and come back equal."""
import mmap
import os

import numpy as np
import pytest

from otviz.worker.painter import pack, unpack


def test_pack_round_trip_puts_arrays_in_the_arena():
    arena = mmap.mmap(-1, 1 << 20)
    w = np.arange(12, dtype=np.float32).reshape(3, 4)
    pts = np.random.default_rng(0).normal(size=(500, 2))
    job = {"state": {"step": 7, "G": {"w": w, "b": np.ones(4)}}, "frame": {"id": 3, "pts": pts}}
    head, placed = pack(job, arena)
    assert len(head) < 1000                       # only the structure goes through the pipe
    assert all(isinstance(p, tuple) for p in placed)
    back = unpack((head, placed), arena)
    assert back["state"]["step"] == 7 and back["frame"]["id"] == 3
    np.testing.assert_array_equal(back["state"]["G"]["w"], w)
    np.testing.assert_array_equal(back["frame"]["pts"], pts)
    assert back["frame"]["pts"].dtype == pts.dtype


def test_an_array_larger_than_the_arena_travels_in_the_message():
    arena = mmap.mmap(-1, 4096)
    big, small = np.arange(10_000, dtype=np.float64), np.arange(8.0)
    head, placed = pack({"small": small, "big": big}, arena)
    assert isinstance(placed[0], tuple) and isinstance(placed[1], bytes)
    back = unpack((head, placed), arena)
    np.testing.assert_array_equal(back["big"], big)
    np.testing.assert_array_equal(back["small"], small)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the arena is shared with a forked child")
def test_a_forked_child_reads_what_the_parent_packs_after_the_fork():
    arena = mmap.mmap(-1, 1 << 16)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:                                   # the child: wait for the head, check, report
        os.close(w)
        data = b""
        while chunk := os.read(r, 1 << 16):
            data += chunk
        import pickle

        job = unpack(pickle.loads(data), arena)
        os._exit(0 if float(job["x"].sum()) == 4950.0 else 1)
    os.close(r)
    import pickle

    os.write(w, pickle.dumps(pack({"x": np.arange(100.0)}, arena)))
    os.close(w)
    assert os.waitpid(pid, 0)[1] == 0
