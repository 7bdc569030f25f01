"""RealNVP method: training lowers the held-out nll, a Gaussian target reaches its entropy, state, data, pictures."""
import dataclasses
import math

import numpy as np
import pytest
import torch

from otviz.methods.base import Diverged
from otviz.methods.realnvp import RealNVPConfig, RealNVPMethod
from otviz.session.session import Session


def make(seed=0, **kw):
    cfg = dataclasses.replace(RealNVPConfig(), **kw)
    return RealNVPMethod(cfg, seed=seed)


def test_defaults_follow_the_seed():
    cfg = RealNVPConfig()
    assert (cfg.dataset, cfg.noise, cfg.n_flows, cfg.hidden, cfg.lr, cfg.batch_size) == \
        ("two_moons", 0.05, 4, 256, 1e-3, 256)
    live = {s.name for s in RealNVPMethod.specs() if s.live}
    assert {"lr", "batch_size"} <= live and not {"n_flows", "hidden", "dataset", "noise"} & live


def test_short_training_lowers_held_out_nll():
    m = make(hidden=64, eval_every=25)
    start = m.held_out_nll()
    # the flow starts as the identity: the held-out nll is that of the data under N(0, I)
    x = m.x_test.double()
    ref = (0.5 * (x * x).sum(1) + math.log(2 * math.pi)).mean().item()
    assert start == pytest.approx(ref, rel=1e-5)
    s = Session(m)
    for _ in range(100):
        s.step()
    nll = s.history.column("nll")
    assert np.isfinite(nll).sum() == 5               # steps 1, 25, 50, 75, 100
    end = nll[np.isfinite(nll)][-1]
    assert end < start - 0.5
    assert s.last_metrics["nll"] == end


def test_gaussian_target_reaches_its_entropy():
    """N((1, -0.5), 0.5² I): the best possible nll is its entropy log(2πe·0.25) = 1.4516 nats."""
    m = make(dataset="gaussian", hidden=32, lr=1e-2, n_flows=2)
    x = m.x_test.double()
    true = (((x - torch.tensor([1.0, -0.5], dtype=torch.float64)) ** 2).sum(1) / (2 * 0.25)
            + math.log(2 * math.pi * 0.25)).mean().item()       # the true density's nll on this sample
    for _ in range(150):
        m.step()
    nll = m.held_out_nll()
    assert nll == pytest.approx(true, abs=0.05)
    assert true == pytest.approx(1 + math.log(2 * math.pi * 0.25), abs=0.1)


def test_live_lr_reaches_the_optimiser_and_restart_params_rebuild():
    s = Session(make(hidden=16))
    for _ in range(3):
        s.step()
    assert s.update({"lr": 3e-4}) is False
    assert s.method.opt.param_groups[0]["lr"] == 3e-4
    assert s.history.events[-1][1] == "lr=0.0003"
    assert s.update({"n_flows": 6}) is True
    assert s.method.flow.n_flows == 6 and s.step_count == 0
    with pytest.raises(ValueError, match="lr"):
        s.update({"lr": 0})
    with pytest.raises(ValueError, match="batch_size"):
        s.update({"batch_size": 0})


def test_seed_reproduces_and_state_dict_continues_exactly():
    a, b = make(hidden=16, seed=3), make(hidden=16, seed=3)
    for _ in range(12):
        ma, mb = a.step(), b.step()
    assert ma == mb
    saved = a.state_dict()
    ref = [a.step()["loss"] for _ in range(5)]
    c = make(hidden=16, seed=99)
    c.load_state_dict(saved)
    assert [c.step()["loss"] for _ in range(5)] == ref


def test_nan_in_parameters_is_caught_and_state_restored():
    m = make(hidden=16)
    for _ in range(20):
        m.step()                                         # checkpoint at step 20
    good = m.flow.layers[0].head.weight.detach().clone()
    with torch.no_grad():
        m.flow.layers[0].body[0].weight.fill_(math.nan)
    with pytest.raises(Diverged):
        m.step()
    assert m.step_count == 20
    assert torch.equal(m.flow.layers[0].head.weight, good)


def test_datasets_and_csv(tmp_path):
    for name in ("ring8", "swiss_roll", "grid25", "gaussian"):
        m = make(dataset=name, hidden=8, n_data=200, batch_size=64)
        assert m.x_train.shape == (200, 2) and m.x_test.shape == (1000, 2)
        assert math.isfinite(m.step()["loss"])
    grid = make(dataset="grid25", hidden=8).x_train.numpy()
    assert np.abs(grid).max() < 2.5                       # spacing 1: the grid lies in about [-2, 2]²
    good = tmp_path / "pts.csv"
    np.savetxt(good, np.random.default_rng(0).normal(size=(50, 2)), delimiter=",", header="x,y", comments="")
    m = make(dataset="csv", csv_path=str(good), hidden=8)
    assert (len(m.x_train), len(m.x_test)) == (40, 10)
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2\n3,oops\n")
    with pytest.raises(ValueError, match="bad.csv"):
        make(dataset="csv", csv_path=str(bad))
    with pytest.raises(ValueError, match="CSV"):
        make(dataset="csv")


def test_drawn_points_become_the_target():
    m = make(hidden=8)
    pts = np.random.default_rng(1).normal(size=(100, 2)) + 5
    m.edit("points", pts)
    assert (len(m.x_train), len(m.x_test)) == (80, 20)
    assert m.x_train.mean().item() == pytest.approx(5, abs=0.5)
    with pytest.raises(ValueError):
        m.edit("points", np.zeros((3, 2)))
    with pytest.raises(ValueError):
        m.edit("nonsense", None)


def test_snapshot_is_plain_data_and_stages_agree():
    m = make(hidden=16, n_flows=3)
    for _ in range(30):
        m.step()
    snap = m.snapshot()
    for k, v in snap.as_dict().items():
        assert not isinstance(v, torch.Tensor), k
    n = 3
    assert snap.fwd_points.shape == (n + 1, 1000, 2) and snap.inv_points.shape == (n + 1, 1000, 2)
    assert np.array_equal(snap.fwd_points[0], snap.data)
    assert np.array_equal(snap.fwd_points[-1], snap.latent)
    assert np.array_equal(snap.inv_points[-1], snap.samples)
    # the drawn data are training points; the latent is the flow's forward map (odd n: halves swapped back)
    z, _ = m.flow(torch.tensor(snap.data))
    assert np.allclose(snap.latent, z.detach().numpy()[:, ::-1], atol=1e-5)
    # generated samples, mapped forward one layer at a time, retrace the inverse stages
    fs = m.flow.forward_stages(torch.tensor(snap.samples))
    for j in range(n + 1):
        k = n - j
        y = fs[k].detach().numpy()
        assert np.allclose(snap.inv_points[j], y[:, ::-1] if k % 2 else y, atol=1e-4)
    # heatmap: log-density on the data's box, smooth, close to the model, never beyond its samples
    x0, y0, w, h = snap.logp_rect
    rows, cols = snap.logp.shape
    assert (rows - 1) / (cols - 1) == pytest.approx(h / w, rel=0.05)          # square cells
    xx, yy = np.meshgrid(np.linspace(x0, x0 + w, cols), np.linspace(y0, y0 + h, rows))
    exact = m.flow.log_prob(torch.tensor(np.stack([xx.ravel(), yy.ravel()], 1), dtype=torch.float32))
    exact = exact.detach().numpy().reshape(rows, cols)
    assert np.median(np.abs(snap.logp - exact)) < 0.05
    assert exact.min() - 1e-4 <= snap.logp.min() and snap.logp.max() <= exact.max() + 1e-4
    lo, hi = snap.logp_levels
    assert lo < hi == pytest.approx(float(np.percentile(snap.logp, 99.5)), rel=1e-5)
    assert hi - lo <= 12.0
    assert snap.nll == m.last_nll and snap.step == 30 == snap.fields_step


def test_warped_grids_stay_where_the_points_are():
    from otviz.methods.realnvp import GRID_LINES, GRID_PTS

    m = make(hidden=16, n_flows=3)
    for _ in range(30):
        m.step()
    snap = m.snapshot()
    n = 3
    for grid, points, other in (("fwd_grid", "fwd_points", "inv_points"), ("inv_grid", "inv_points", "fwd_points")):
        g = getattr(snap, grid)
        assert g.shape == (n + 1, 2 * GRID_LINES * (GRID_PTS + 1), 2)
        assert np.isnan(g[:, GRID_PTS::GRID_PTS + 1]).all()                # a NaN row ends every line
        for k in range(n + 1):
            cloud = np.concatenate([getattr(snap, points)[k], getattr(snap, other)[n - k]])
            kept = g[k][np.isfinite(g[k]).all(1)]
            assert len(kept) > 100                                         # a grid is drawn at every stage
            lo, hi = np.percentile(cloud, 1, axis=0), np.percentile(cloud, 99, axis=0)
            cell = np.hypot(*(1.1 * (hi - lo) / (GRID_LINES - 1)))
            near = np.sqrt(((kept[:, None] - cloud[None]) ** 2).sum(-1)).min(1)
            assert near.max() <= 2 * cell * 1.0001                         # nothing far from the points


def test_pictures_are_fields_another_instance_draws_over_a_drawn_target():
    m = make(hidden=16, n_flows=3)
    m.step()
    cheap = m.snapshot(fields=False)
    assert all(getattr(cheap, k) is None for k in m.fields)       # nothing passes through the flow
    pts = np.random.default_rng(1).normal((4.0, -3.0), 0.3, (200, 2))
    m.edit("points", pts)                                          # a drawn target far from the moons
    for _ in range(3):
        m.step()
    state = m.field_state()
    assert "shown" in state and "opt" not in state
    helper = make(hidden=16, n_flows=3)
    helper.load_field_state(state)
    mine, theirs = m.compute_fields(), helper.compute_fields()
    assert theirs["fields_step"] == mine["fields_step"] == 4
    assert theirs["logp_rect"] == mine["logp_rect"] and mine["logp_rect"][0] > 2      # the drawn target's box
    for k in ("fwd_points", "inv_points", "logp"):
        np.testing.assert_allclose(theirs[k], mine[k], rtol=1e-5, atol=1e-5)
    m.reset()                                                      # the moons again: no data in the state
    assert "shown" not in m.field_state()
    helper.load_field_state(m.field_state())
    np.testing.assert_array_equal(helper.compute_fields()["fwd_points"][0], m.snapshot().data)


def test_session_file_continues_exactly(tmp_path):
    from otviz.session.file import load_session, save_session

    s = Session(make(hidden=16, seed=2))
    for _ in range(25):
        s.step()
    path = tmp_path / "run.otviz"
    save_session(path, s)
    ref = [s.step()["loss"] for _ in range(3)]
    s2, _ = load_session(path)
    assert s2.step_count == 25
    assert [s2.step()["loss"] for _ in range(3)] == ref
    assert torch.equal(s2.method.x_train, s.method.x_train)     # the dataset travels with the session
