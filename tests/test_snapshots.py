"""The contract between a method and its views: a typed snapshot of plain data, merged in one way."""
import dataclasses
import pickle
import subprocess
import sys

import numpy as np
import pytest

from method_checks import check_snapshot_contract
from otviz.methods import BUILT_IN, method_class, method_names
from otviz.methods.snapshot import EXPENSIVE, PER_FRAME, Snapshot, expensive, per_frame

# Small settings, so that each method builds and steps quickly.
SMALL = {
    "wgan": dict(width=16, n_points=1000, batch_size=32, heatmap_res=24, n_show=200),
    "sinkhorn": dict(n_points=20),
    "realnvp": dict(hidden=16, n_data=500, batch_size=64),
    "coulomb": dict(samples_per_mode=200, batch_size=128, n_show=500, heatmap_res=32, gmm_every=0),
}


@pytest.mark.parametrize("name", method_names())
def test_every_method_declares_its_snapshot_and_gives_plain_data(name):
    check_snapshot_contract(name)


@pytest.mark.parametrize("name", method_names())
def test_the_fields_computed_apart_are_read_from_the_snapshot_class(name):
    cls = method_class(name)
    assert cls.fields == cls.Snapshot.names(EXPENSIVE) and cls.frame_fields == cls.Snapshot.names(PER_FRAME)


@dataclasses.dataclass(frozen=True)
class Toy(Snapshot):
    x: np.ndarray
    label: str | None = None          # cheap, and None on its own: never filled from another snapshot
    heat: np.ndarray | None = expensive()
    fake: np.ndarray | None = per_frame()


def test_merging_is_replace_and_a_lean_snapshot_takes_only_the_expensive_fields():
    full = Toy(step=3, fields_step=3, x=np.zeros(2), label="old", heat=np.ones((2, 2)), fake=np.ones(2))
    lean = Toy(step=4, x=np.ones(2), fake=np.zeros(2))
    assert Toy.names(EXPENSIVE) == ("heat",) and Toy.names(PER_FRAME) == ("fake",)
    shown = lean.replace(**full.fields_part())
    assert shown.step == 4 and shown.fields_step == 3 and shown.heat is full.heat
    assert shown.x is lean.x and shown.fake is lean.fake and shown.label is None
    assert lean.heat is None and lean.fields_step is None          # the merge made a new snapshot
    with pytest.raises(dataclasses.FrozenInstanceError):
        lean.x = np.zeros(2)                                       # frames share snapshots: never changed
    with pytest.raises(TypeError):
        lean.replace(nope=1)                                       # a name the views do not know


def test_the_window_unpickles_snapshots_without_torch():
    """Frames cross the pipe pickled, and the window's process never imports torch: the built-in
    methods' snapshot classes live in their torch-free cards."""
    snaps = []
    for info in BUILT_IN:
        cls = method_class(info.name)
        m = cls(dataclasses.replace(cls.Config(), **SMALL.get(info.name, {})), seed=0)
        m.step()
        assert cls.Snapshot.__module__.endswith("_config"), cls.Snapshot.__module__
        snaps.append(m.snapshot())
    code = ("import pickle, sys\n"
            "snaps = pickle.loads(sys.stdin.buffer.read())\n"
            "print(' '.join(type(s).__name__ for s in snaps))\n"
            "bad = sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'sklearn'})\n"
            "sys.exit(f'imported {bad}' if bad else 0)\n")
    r = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(snaps, protocol=5),
                       capture_output=True)
    assert r.returncode == 0, (r.stdout + r.stderr).decode()
    assert r.stdout.decode().split() == [method_class(i.name).Snapshot.__name__ for i in BUILT_IN]
