"""The yardstick w2: exact against POT, held-out points fixed per dataset and seed, no training draw changed."""
import dataclasses
import math

import numpy as np
import pytest
import torch

from otviz.core import yardstick
from otviz.methods import method_class

GENERATIVE = ("swgmm", "wgan", "realnvp", "coulomb")
# small runs: the assignment at n = 1,000 is what a measurement costs, the steps should not add much
SMALL = {"swgmm": {}, "wgan": {"batch_size": 64, "n_show": 200, "heatmap_res": 16},
         "realnvp": {"batch_size": 64, "n_data": 400, "hidden": 32},
         "coulomb": {"batch_size": 64, "samples_per_mode": 50, "n_show": 200, "heatmap_res": 16, "gmm_every": 0}}


def build(name: str, seed: int = 2, **changes):
    cls = method_class(name)
    return cls(dataclasses.replace(cls.Config(), **SMALL[name], **changes), seed=seed)


@pytest.mark.parametrize("name", GENERATIVE)
def test_w2_agrees_with_pots_exact_transport(name):
    ot = pytest.importorskip("ot")
    m = build(name, w2_every=4)
    rows = [m.step() for _ in range(8)]
    # the samples of step 4 are measured beside training and shown from step 6 (half the interval on)
    assert [("w2" in r) for r in rows] == [False] * 5 + [True] * 3
    assert rows[5]["w2"] == rows[6]["w2"] == rows[7]["w2"]            # carried until step 10
    x, y = m.w2_samples(), m._w2.held_out                           # the samples of step 8
    assert x.shape == y.shape and len(y) == min(yardstick.N_W2, len(y))
    ref = math.sqrt(ot.emd2(np.full(len(x), 1 / len(x)), np.full(len(y), 1 / len(y)), ot.dist(x, y)))
    rows += [m.step() for _ in range(2)]
    assert rows[9]["w2"] == pytest.approx(ref, rel=0.02)
    assert rows[9]["w2"] != rows[5]["w2"]                   # the model moved in between


@pytest.mark.parametrize("name", GENERATIVE)
def test_the_held_out_points_are_fixed_per_dataset_and_seed(name):
    toy = {"dataset": "two_moons", "n_points": 300} if name == "swgmm" else {}   # (Old Faithful is fixed)
    a, b, c = build(name, seed=5, **toy), build(name, seed=5, **toy), build(name, seed=6, **toy)
    assert np.array_equal(a._w2.held_out, b._w2.held_out)
    assert not np.array_equal(a._w2.held_out, c._w2.held_out)
    a.reset()                                               # a reset (or a rebuild) draws the same points
    assert np.array_equal(a._w2.held_out, b._w2.held_out)
    train = {"swgmm": "x_np", "wgan": "data_np", "realnvp": "x_train", "coulomb": "data"}[name]
    data = np.asarray(getattr(a, train), dtype=np.float64)[:300]
    # not the training points: no held-out point is one of them
    nearest = ((a._w2.held_out[:, None, :] - data[None, :, :]) ** 2).sum(-1).min()
    assert nearest > 0
    other = {"swgmm": "ring8", "wgan": "two_moons", "realnvp": "ring8", "coulomb": None}[name]
    if other:
        changed = build(name, seed=5, **{**toy, "dataset": other})._w2.held_out
        assert not np.array_equal(changed, a._w2.held_out)


def _without_w2(state):
    """A state_dict without the yardstick: its config entry and its carried value."""
    return dict(state, config={k: v for k, v in state["config"].items() if k != "w2_every"},
                state={k: v for k, v in state["state"].items() if k != "w2"})


@pytest.mark.parametrize("name", GENERATIVE)
def test_measuring_w2_changes_no_training_draw(name):
    from tests.test_timeline import assert_same_state

    off, on = build(name, w2_every=0), build(name, w2_every=2)
    for _ in range(7):
        a, b = off.step(), on.step()
        assert "w2" not in a and a == {k: v for k, v in b.items() if k != "w2"}
    assert "w2" in b
    assert_same_state(_without_w2(off.state_dict()), _without_w2(on.state_dict()))
    assert torch.equal(off.state_dict()["torch_rng"], on.state_dict()["torch_rng"])


def test_the_meter_measures_every_k_steps_and_carries_the_value():
    meter = yardstick.W2Meter(np.zeros((3, 2)))
    calls = []

    def samples():
        calls.append(1)
        return np.full((3, 2), float(len(calls)))

    values = [meter.metrics(step, 3, samples).get("w2") for step in range(1, 7)]
    # measured at steps 3 and 6, each shown one step (half the interval) later
    assert values == [None, None, None, math.sqrt(2), math.sqrt(2), math.sqrt(2)]
    pending = yardstick.W2Meter(np.zeros((3, 2)))
    pending.load_state(meter.state())                   # the samples of step 6 still being measured
    assert meter.metrics(7, 3, samples) == pending.metrics(7, 3, samples) == {"w2": math.sqrt(8)}
    assert meter.metrics(8, 0, samples) == {} and len(calls) == 2
    other = yardstick.W2Meter(np.zeros((3, 2)))
    other.load_state(meter.state())
    assert other.metrics(8, 3, samples) == {"w2": math.sqrt(8)}
    assert yardstick.w2(np.array([[np.nan, 0.0]]), np.zeros((1, 2))) != yardstick.w2(np.zeros((1, 2)), np.zeros((1, 2)))


def test_w2_is_the_exact_assignment():
    x = np.array([[0.0, 0.0], [1.0, 0.0]])
    assert yardstick.w2(x, x[::-1]) == 0.0
    assert yardstick.w2(x, x + [0.0, 2.0]) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="same size"):
        yardstick.w2(x, x[:1])


def test_mixture_draws_at_fixed_randomness_follow_the_mixture():
    rng = np.random.default_rng(0)
    u, z = rng.random(200_000), rng.standard_normal((200_000, 2))
    w, mu = np.array([0.25, 0.75]), np.array([[-2.0, 0.0], [3.0, 1.0]])
    cov = np.array([[[1.0, 0.5], [0.5, 2.0]], [[0.3, 0.0], [0.0, 0.1]]])
    x = yardstick.gmm_samples(w, mu, cov, u, z)
    left = u < 0.25                                          # the first component's quarter of the draws
    assert np.allclose(x[left].mean(0), mu[0], atol=0.02)
    assert np.allclose(np.cov(x[left].T), cov[0], atol=0.03) and np.allclose(x[~left].mean(0), mu[1], atol=0.01)
    diag = yardstick.gmm_samples(w, mu, np.array([[1.0, 2.0], [0.3, 0.1]]), u, z)
    assert np.allclose(np.cov(diag[left].T), np.diag([1.0, 2.0]), atol=0.03)
