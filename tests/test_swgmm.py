"""SW-GMM method: the default run on Old Faithful, its three lessons, config refusals, snapshots, state, CLI."""
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from otviz.core.sliced import angles_to_directions, project_gmm, wasserstein_to_gmm_1d
from otviz.methods import method_class
from otviz.methods.base import Diverged
from otviz.methods.snapshot import Snapshot
from otviz.session.session import Session
from otviz.methods.swgmm import SWGMMMethod


def run(session: Session, n: int) -> np.ndarray:
    for _ in range(n):
        session.step()
    h = session.history
    return h._data[: len(h), :4]                # rows: step, sw, nll, em_nll (w2, every w2_every steps, left out)


def axis_wpp(method: SWGMMMethod, degrees: float) -> float:
    """W_2^2 between the data and the current GMM along one direction."""
    g = method.current_gmm()
    d = angles_to_directions([degrees])
    m, v = project_gmm(torch.as_tensor(g.means), torch.as_tensor(g.covs), d)
    proj = (torch.as_tensor(method.x_np) @ d.T)[:, 0]
    return float(wasserstein_to_gmm_1d(proj, torch.as_tensor(g.weights), m[0], v[0], 2.0))


def test_registered_under_its_name():
    assert method_class("swgmm") is SWGMMMethod
    assert SWGMMMethod.title == "SW-GMM"


def test_default_run_on_old_faithful_drops_sw_and_reaches_em_likelihood():
    s = Session(SWGMMMethod(seed=0))
    assert len(s.method.x_np) == 272
    assert np.allclose(s.method.x_np.mean(0), 0) and np.allclose(s.method.x_np.std(0), 1)
    h = run(s, 100)
    sw, nll, em = h[:, 1], h[:, 2], h[:, 3]
    assert sw[:5].mean() / sw[-5:].mean() > 5                   # measured ≈ 14× for seed 0
    assert nll[0] > em[0] + 1.0                                 # a poor start (Dirichlet responsibilities)
    assert nll[-1] < em[-1] + 0.1                               # measured 1.38 against EM's 1.34
    assert np.all(em == em[0])


def test_lesson_1_x_only_never_learns_y():
    m = SWGMMMethod(seed=0)
    s = Session(m)
    s.update({"directions": 0, "fixed_directions": "x"})
    y_means, y_logvar = m.means[:, 1].detach().clone(), m.log_var[:, 1].detach().clone()
    wx0, wy0 = axis_wpp(m, 0.0), axis_wpp(m, 90.0)
    h = run(s, 100)
    # Along y the loss has no gradient at all: the components' y-positions and y-spreads never move.
    assert torch.equal(m.means[:, 1].detach(), y_means) and torch.equal(m.log_var[:, 1].detach(), y_logvar)
    assert np.sqrt(np.exp(y_logvar.numpy())).min() > 0.8       # each component spans all of y (data: ~0.4)
    assert axis_wpp(m, 0.0) < wx0 / 20                         # the x marginal is fitted ...
    assert axis_wpp(m, 90.0) > 0.5 * wy0                       # ... the y marginal stays wrong
    assert h[-1, 2] > h[-1, 3] + 0.5                           # nll far from EM's


def test_lesson_2_and_3_axes_fit_marginals_but_miss_joint_then_diagonals_fix_it():
    m = SWGMMMethod(seed=1)
    s = Session(m)
    s.update({"directions": 0, "fixed_directions": "x,y"})
    h = run(s, 150)
    marg = max(axis_wpp(m, 0.0), axis_wpp(m, 90.0))
    diag = axis_wpp(m, 45.0)
    assert marg < 0.01 < diag and diag > 5 * marg              # both marginals fit, the joint does not
    assert h[-1, 2] > h[-1, 3] + 0.5
    s.update({"fixed_directions": "x,y,diagonal"})
    assert s.history.events and "fixed_directions=x,y,diagonal" in s.history.events[-1][1]
    h = run(s, 150)
    assert axis_wpp(m, 45.0) < diag / 5
    assert h[-1, 2] < h[-1, 3] + 0.1


@pytest.mark.parametrize("changes,match", [
    ({"directions": 0}, "0 directions"),
    ({"fixed_directions": "x,q"}, "fixed directions"),
    ({"p": 0.5}, "p: must be at least 1"),
    ({"lr": 0.0}, "lr"),
    ({"n_components": 0}, "n_components"),
    ({"dataset": "csv"}, "choose a CSV file"),
    ({"optimizer": "sgd"}, "not one of"),
])
def test_refused_values_say_why(changes, match):
    m = SWGMMMethod(seed=0)
    with pytest.raises(ValueError, match=match):
        m.update(changes)


def test_zero_random_directions_allowed_with_fixed_ones():
    m = SWGMMMethod(seed=0)
    m.update({"directions": 0, "fixed_directions": "0, 60, 120"})
    m.step()
    assert m.snapshot().directions.shape == (3, 2)


def _plain(v):
    if isinstance(v, Snapshot):
        return _plain(v.as_dict())
    if isinstance(v, dict):
        return all(_plain(x) for x in v.values())
    return isinstance(v, (np.ndarray, float, int, str, bool, np.floating, np.integer)) or v is None


def test_snapshot_is_plain_data_with_consistent_views():
    m = SWGMMMethod(seed=0)
    m.step()
    snap = m.snapshot()
    assert _plain(snap)
    n, k = 272, 5
    assert snap.points.shape == (n, 2) and snap.means.shape == (k, 2) and snap.covs.shape == (k, 2, 2)
    assert snap.directions.shape == (5, 2) and np.allclose(np.linalg.norm(snap.directions, axis=1), 1)
    assert snap.cost.shape == (n,) and snap.cost.sum() == pytest.approx(snap.axis_wpp, rel=1e-10)
    assert np.allclose(snap.proj, snap.points[:, 0])               # default axis x
    assert np.all(np.diff(snap.gmm_cdf) >= 0) and snap.gmm_cdf[0] < 0.01 and snap.gmm_cdf[-1] > 0.99
    assert np.all(np.diff(snap.gmm_quantiles) > 0)
    assert np.isnan(snap.ellipses).any(axis=1).sum() == k               # one NaN separator per ellipse
    assert snap.em["nll"] == pytest.approx(m.em_nll)
    m.update({"show_em": False, "axis": "y"})
    snap = m.snapshot()
    assert snap.em is None and np.allclose(snap.proj, snap.points[:, 1])


def test_axis_views_are_fields_computed_by_another_instance():
    m = SWGMMMethod(seed=0)
    for _ in range(3):
        m.step()
    cheap = m.snapshot(fields=False)
    assert all(getattr(cheap, k) is None for k in m.fields) and cheap.fields_step is None and cheap.step == 3
    snap = m.snapshot()
    assert snap.fields_step == 3 and np.allclose(snap.proj, m.x_np[:, 0])
    assert snap.axis_wpp == pytest.approx(axis_wpp(m, 0.0), rel=1e-9)
    helper = SWGMMMethod(seed=0)                          # never trained: only the fit's parameters move
    helper.load_field_state(m.field_state())
    assert helper.compute_fields()["axis_wpp"] == pytest.approx(snap.axis_wpp, rel=1e-12)
    m.update({"axis": "y"})                               # a new axis is drawn at once
    assert m.snapshot().axis == "y" and np.allclose(m.snapshot().proj, m.x_np[:, 1])
    for old in ("view_budget", "refresh"):                # the old throttling edits are gone
        with pytest.raises(ValueError, match="does not accept"):
            m.edit(old, None)
    with pytest.raises(ValueError, match="does not accept"):
        m.edit("move_point", {})


def test_live_optimizer_and_lr_changes_keep_the_run():
    m = SWGMMMethod(seed=0)
    s = Session(m)
    run(s, 10)
    means = m.means.detach().clone()
    assert s.update({"optimizer": "rmsprop", "lr": 0.05}) is False
    assert isinstance(m.opt, torch.optim.RMSprop) and m.opt.param_groups[0]["centered"]
    assert m.opt.param_groups[0]["lr"] == 0.05 and torch.equal(m.means.detach(), means)
    h = run(s, 40)
    assert s.step_count == 50 and h[-1, 1] < h[0, 1]


def test_restart_change_rebuilds():
    m = SWGMMMethod(seed=0)
    m.step()
    assert m.update({"n_components": 3}) is True
    assert m.step_count == 0 and m.means.shape == (3, 2) and m.em.means.shape == (3, 2)


def test_full_covariance_learns_a_correlated_component():
    m = SWGMMMethod(seed=0)
    m.update({"covariance": "full", "n_components": 1})
    h = run(Session(m), 100)
    cov = m.current_gmm().covs[0]
    data_cov = np.cov(m.x_np.T, bias=True)                     # Old Faithful: correlation ≈ 0.9
    # The W_2-best Gaussian for bimodal data is narrower than the moment-matched one, but centred and
    # as strongly correlated.
    assert cov[0, 1] / math.sqrt(cov[0, 0] * cov[1, 1]) > 0.85
    assert np.abs(m.current_gmm().means[0]).max() < 0.1 and (np.diag(cov) < np.diag(data_cov)).all()
    assert h[-1, 2] < h[-1, 3] + 0.05                          # one Gaussian: SW and EM agree


def test_max_sliced_trains_on_one_direction_per_step():
    m = SWGMMMethod(seed=0)
    s = Session(m)
    s.update({"max_sliced": True, "fixed_directions": "x"})
    h = run(s, 30)
    assert m.snapshot().directions.shape == (2, 2)           # the max direction + the fixed one
    assert h[-1, 2] < h[0, 2] - 0.5


@pytest.mark.parametrize("p", [1.0, 1.5])
def test_other_orders_train(p):
    m = SWGMMMethod(seed=0)
    m.update({"p": p})
    h = run(Session(m), 20)
    assert np.isfinite(h).all() and h[-1, 2] < h[0, 2]


@pytest.mark.parametrize("dataset", ["two_moons", "ring8", "gaussian", "swiss_roll"])
def test_toy_datasets_build_and_train(dataset):
    m = SWGMMMethod(seed=0)
    m.update({"dataset": dataset, "n_points": 300})
    assert m.x_np.shape == (300, 2) and np.allclose(m.x_np.std(0), 1)
    h = run(Session(m), 15)
    assert np.isfinite(h).all() and h[-1, 2] < h[0, 2]


def test_csv_dataset_and_its_errors(tmp_path):
    good = tmp_path / "pts.csv"
    rng = np.random.default_rng(0)
    np.savetxt(good, rng.normal(size=(50, 2)) * [1, 10], delimiter=",", header="a,b", comments="")
    m = SWGMMMethod(seed=0)
    m.update({"dataset": "csv", "csv_path": str(good)})
    assert m.x_np.shape == (50, 2) and np.allclose(m.x_np.std(0), 1)
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2\n3,oops\n")
    with pytest.raises(ValueError, match="bad.csv, line 2: expected two numbers, found 'oops'"):
        m.update({"csv_path": str(bad)})
    flat = tmp_path / "flat.csv"
    flat.write_text("1,2\n3,2\n5,2\n")
    with pytest.raises(ValueError, match="flat.csv: the points need a spread"):
        m.update({"csv_path": str(flat)})
    # Refused before anything changes: the run on the good file goes on.
    assert m.config.csv_path == str(good) and m.x_np.shape == (50, 2)
    small = tmp_path / "small.csv"
    np.savetxt(small, rng.normal(size=(10, 2)), delimiter=",")
    m.update({"csv_path": str(small)})
    with pytest.raises(ValueError, match="components K: 20 components need at least as many points"):
        m.update({"n_components": 20})


def test_nan_parameters_pause_at_last_good_state():
    m = SWGMMMethod(seed=0)
    for _ in range(5):
        m.step()
    good = m.means.detach().clone()
    with torch.no_grad():
        m.means[0, 0] = float("nan")
    with pytest.raises(Diverged):
        m.step()
    assert m.step_count == 5 and torch.equal(m.means.detach(), good)
    m.step()                                                   # and it continues from there
    assert m.step_count == 6


def test_state_dict_round_trip_continues_identically():
    a = SWGMMMethod(seed=3)
    for _ in range(7):
        a.step()
    saved = a.state_dict()
    b = SWGMMMethod(seed=0)
    b.load_state_dict(saved)
    for _ in range(3):
        ma, mb = a.step(), b.step()
        assert ma == mb


def test_cli_runs_headless(tmp_path):
    out = tmp_path / "h.csv"
    env = dict(os.environ, OMP_NUM_THREADS="1")            # like conftest: one torch thread on a shared box
    r = subprocess.run([sys.executable, "-m", "otviz", "run", "swgmm", "--steps", "20", "--quiet",
                        "--set", "fixed_directions=x,y,diagonal", "--set", "directions=2", "--history", str(out)],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    lines = out.read_text().splitlines()
    header = lines[0].split(",")
    assert "sw" in header and "nll" in header and len(lines) >= 21
