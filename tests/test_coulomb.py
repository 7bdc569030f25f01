"""Coulomb GAN: Plummer potentials against brute force and closed forms, sign conventions; the method's contract."""
import math

import numpy as np
import pytest
import torch

from otviz.core import coulomb as cp
from otviz.core.datasets import grid25, grid25_centers
from otviz.core.gan import keras_lr, mlp, sample_noise
from otviz.methods.base import Diverged
from otviz.methods.coulomb import CoulombConfig, CoulombMethod


def brute_force(real, fake, eps, d, exclude_self):
    """Φ(x) = Σ_real φ(|a − x|) − Σ_fake φ(|b − x|), φ(r) = −1/(r² + ε²)^((d−2)/2), one pair at a time."""
    phi = lambda r: -1.0 / (r * r + eps * eps) ** ((d - 2) / 2)
    charges = [(a, +1.0, ("r", i)) for i, a in enumerate(real)] + [(a, -1.0, ("f", i)) for i, a in enumerate(fake)]

    def at(x, who):
        return sum(q * phi(math.dist(a, x)) for a, q, w in charges if not (exclude_self and w == who))

    return (np.array([at(x, ("r", i)) for i, x in enumerate(real)]),
            np.array([at(x, ("f", i)) for i, x in enumerate(fake)]))


@pytest.mark.parametrize("d,exclude", [(3.0, True), (3.0, False), (4.5, True), (3.7, False)])
def test_potentials_match_a_double_loop(d, exclude):
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(13, 2)) * 3, rng.normal(size=(9, 2)) * 3 + 1
    want_r, want_f = brute_force(real, fake, 0.7, d, exclude)
    got_r, got_f = cp.potentials(torch.tensor(real), torch.tensor(fake), 0.7, d, exclude)
    np.testing.assert_allclose(got_r.numpy(), want_r, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got_f.numpy(), want_f, rtol=1e-12, atol=1e-12)


def test_plummer_kernel_closed_form_values():
    # φ(r) = −1/(r² + ε²)^((d−2)/2): the well at r = 0 is −1/ε^(d−2), so −1/ε for d = 3 (ε = 0.25 → −4)
    o, r4 = torch.tensor([[0.0, 0.0]]), torch.tensor([[4.0, 0.0]])
    assert cp.kernel(o, o, 0.25).item() == pytest.approx(-4.0)
    assert cp.kernel(o, r4, 3.0).item() == pytest.approx(-1 / 5)          # r = 4, ε = 3
    assert cp.kernel(o, o, 2.0, d=5.0).item() == pytest.approx(-1 / 8)


def test_sign_conventions():
    """Real points attract fakes (low Φ near lone reals), fakes repel fakes (high Φ in a crowd of fakes)."""
    real = torch.tensor([[0.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    fake = torch.tensor([[10.0, 0.0], [11.0, 0.0]], dtype=torch.float64)
    pr, pf = cp.potentials(real, fake, 0.5)
    assert (pr < 0).all() and (pf > 0).all()
    # a fake charge slides down −∇Φ: from between the clusters it heads for the real points
    field = lambda x: cp.potential_field(torch.tensor([[x, 0.0]], dtype=torch.float64), real, fake, 0.5).item()
    assert field(5.01) > field(4.99)                     # Φ rises towards the fakes, so −∇Φ points left


def test_field_gradient_is_the_plummer_force():
    """Finite differences (float64) of Φ against the analytic force Σ q (d−2)(x−a)/(|x−a|²+ε²)^(d/2)."""
    rng = np.random.default_rng(1)
    real, fake = torch.tensor(rng.normal(size=(6, 2))), torch.tensor(rng.normal(size=(5, 2)) + 0.5)
    x0, eps, d, h = np.array([0.3, -0.2]), 0.4, 3.5, 1e-6
    f = lambda p: cp.potential_field(torch.tensor(p[None]), real, fake, eps, d).item()
    fd = np.array([(f(x0 + h * e) - f(x0 - h * e)) / (2 * h) for e in np.eye(2)])
    pts = np.concatenate([real.numpy(), fake.numpy()])
    q = np.concatenate([np.ones(6), -np.ones(5)])
    diff = x0 - pts
    analytic = (q[:, None] * (d - 2) * diff / ((diff ** 2).sum(1) + eps ** 2)[:, None] ** (d / 2)).sum(0)
    np.testing.assert_allclose(fd, analytic, rtol=1e-6)


def test_field_counts_every_charge_so_at_a_batch_point_it_keeps_the_own_term():
    rng = np.random.default_rng(2)
    real, fake = torch.tensor(rng.normal(size=(7, 2))), torch.tensor(rng.normal(size=(8, 2)))
    pr, pf = cp.potentials(real, fake, 0.3, exclude_self=False)
    np.testing.assert_allclose(cp.potential_field(real, real, fake, 0.3).numpy(), pr.numpy(), rtol=1e-12)
    np.testing.assert_allclose(cp.potential_field(fake, real, fake, 0.3).numpy(), pf.numpy(), rtol=1e-12)


def test_own_term_blows_up_as_eps_halves_and_excluding_it_stays_bounded():
    rng = np.random.default_rng(3)
    real, fake = torch.tensor(rng.normal(size=(40, 2)) * 5), torch.tensor(rng.normal(size=(40, 2)) * 5)
    t_half, eps0 = 1000, 1.0
    keep, drop = [], []
    for t in (0, 5000, 10000, 20000):
        eps = cp.eps_at(t, eps0, t_half)
        kr, kf = cp.potentials(real, fake, eps, exclude_self=False)
        dr, df = cp.potentials(real, fake, eps, exclude_self=True)
        # the own term is exactly +φ(0) at a real point and −φ(0) at a fake one, φ(0) = −1/ε for d = 3
        np.testing.assert_allclose((kr - dr).numpy(), -1.0 / eps, rtol=1e-9)
        np.testing.assert_allclose((kf - df).numpy(), 1.0 / eps, rtol=1e-9)
        keep.append(kr.abs().max().item())
        drop.append(dr.abs().max().item())
    # with the own term |Φ| follows 1/ε = 2^(t/t_half) / ε₀: ~1e6 after 20 half-lives, swamping every other charge
    assert keep[-1] == pytest.approx(2 ** 20, rel=1e-3)
    # without it Φ converges to its ε = 0 value
    assert max(drop) < 100 and drop[-1] == pytest.approx(drop[-2], rel=1e-5)


def test_eps_half_life():
    assert cp.eps_at(0, 3.0, 5000) == 3.0
    assert cp.eps_at(5000, 3.0, 5000) == pytest.approx(1.5)
    assert cp.eps_at(15000, 3.0, 5000) == pytest.approx(0.375)


def test_potential_is_lowest_at_the_mode_the_fakes_miss():
    """Where real points have no fakes, the potential has a well: −∇Φ leads fakes to the missed mode."""
    rng = np.random.default_rng(4)
    c = grid25_centers()
    real = grid25(1000, rng)
    fake = grid25(1000, rng)
    fake = fake[np.linalg.norm(fake - c[7], axis=1) > 3]            # mode 7 missing among the fakes
    phi = cp.potential_field(torch.tensor(c), torch.tensor(real), torch.tensor(fake), 1.0).numpy()
    assert np.argmin(phi) == 7 and phi[7] < 0
    assert phi[7] < 3 * np.delete(phi, 7).min()


def test_sq_dists_matches_cdist():
    x, y = torch.randn(50, 2, dtype=torch.float64), torch.randn(30, 2, dtype=torch.float64)
    np.testing.assert_allclose(cp.sq_dists(x, y).numpy(), (torch.cdist(x, y) ** 2).numpy(), atol=1e-12)
    x3, y3 = torch.randn(5, 3, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64)
    np.testing.assert_allclose(cp.sq_dists(x3, y3).numpy(), (torch.cdist(x3, y3) ** 2).numpy(), atol=1e-12)


def test_gan_blocks():
    net = mlp(4, 2, generator=torch.Generator().manual_seed(0))
    assert [m.__class__.__name__ for m in net] == ["Linear", "ELU"] * 3 + ["Linear"]
    w = net[2].weight
    assert w.abs().max() <= math.sqrt(6 / 256) and w.abs().max() > 0.9 * math.sqrt(6 / 256)   # Glorot
    z = sample_noise(10_000, 4, "uniform", torch.Generator().manual_seed(0))
    assert z.min() >= -1 and z.max() <= 1 and abs(z.mean()) < 0.02
    assert keras_lr(1e-3, 1e-4, 10_000) == pytest.approx(5e-4)


# ----------------------------------------------------------------------------- the method

def small(**kw):
    return CoulombConfig(samples_per_mode=200, batch_size=128, n_show=500, heatmap_res=32, **kw)


def test_specs_live_and_restart():
    specs = {s.name: s for s in CoulombMethod.specs()}
    for k in ("eps0", "half_life", "d", "lr", "batch_size"):
        assert specs[k].live
    for k in ("mode", "noise"):
        assert not specs[k].live
    assert specs["mode"].choices == ("coulomb", "gan") and specs["noise"].choices == ("uniform", "normal")
    with pytest.raises(ValueError):
        specs["eps0"].coerce(0)
    with pytest.raises(ValueError):
        specs["lr"].coerce("-1")
    d = CoulombConfig()
    assert (d.eps0, d.half_life, d.d, d.lr, d.lr_decay, d.beta1, d.batch_size) == (3.0, 5000.0, 3.0, 1e-3, 1e-4, 0.5, 512)


def test_steps_are_finite_and_reproducible():
    a, b = CoulombMethod(small(), seed=3), CoulombMethod(small(), seed=3)
    ma = [a.step() for _ in range(5)]
    mb = [b.step() for _ in range(5)]
    assert ma == mb
    assert set(ma[0]) == {"d_loss", "g_loss", "eps", "modes", "high_quality"}
    assert ma[-1]["eps"] == pytest.approx(3.0 * 2 ** (-4 / 5000))
    c = CoulombMethod(small(), seed=4)
    assert [c.step() for _ in range(5)] != ma


def test_discriminator_learns_the_potential():
    m = CoulombMethod(small(eps0=2.0), seed=0)
    first = [m.step()["d_loss"] for _ in range(10)]
    for _ in range(150):
        last = m.step()["d_loss"]
    assert last < 0.1 * np.mean(first)


def test_metrics_are_evaluated_every_few_steps_and_repeated_between():
    m = CoulombMethod(small(eval_every=7), seed=0)
    seen = [(m.step()["modes"], m.step_count) for _ in range(21)]
    changes = {s for (v, s), (pv, _) in zip(seen[1:], seen[:-1]) if v != pv}
    assert changes <= {7, 14, 21}
    assert 1 <= seen[0][0] <= 25


def test_plain_gan_mode_starts_at_log2():
    m = CoulombMethod(small(mode="gan"), seed=0)
    r = m.step()
    assert r["d_loss"] == pytest.approx(math.log(2), abs=0.2) and r["eps"] == 0.0


def test_live_and_restart_changes():
    m = CoulombMethod(small(), seed=0)
    for _ in range(3):
        m.step()
    assert m.update({"lr": 5e-4, "eps0": 1.0, "batch_size": 64}) is False
    m.step()
    assert m.opt_d.param_groups[0]["lr"] == pytest.approx(keras_lr(5e-4, 1e-4, 3))
    assert m.step_count == 4 and m.eps == pytest.approx(2 ** (-4 / 5000))
    assert m.update({"mode": "gan"}) is True and m.step_count == 0


def test_nan_restores_the_last_good_state():
    m = CoulombMethod(small(), seed=0)
    for _ in range(10):
        m.step()
    good = m.G[0].weight.detach().clone()
    with torch.no_grad():
        m.G[0].weight[0, 0] = float("nan")
    with pytest.raises(Diverged):
        m.step()
    assert torch.equal(m.G[0].weight, good) and m.step_count == 10


def test_state_dict_round_trip_continues_exactly():
    a = CoulombMethod(small(), seed=5)
    for _ in range(12):
        a.step()
    saved = a.state_dict()
    cont = [a.step() for _ in range(4)]
    b = CoulombMethod(small(), seed=0)
    b.load_state_dict(saved)
    assert [b.step() for _ in range(4)] == cont


def test_snapshot_is_plain_data_with_heatmap_and_gmm_on_demand():
    m = CoulombMethod(small(gmm_every=0), seed=0)
    m.step()
    s = m.snapshot()
    assert s.fake.shape == (500, 2) and s.centers.shape == (25, 2)
    assert s.potential.shape == (32, 32) and np.isfinite(s.potential).all()
    lo, hi = s.potential_levels
    assert lo < np.median(s.potential) < hi
    assert (lo + hi) / 2 == pytest.approx(np.median(s.potential), rel=1e-5, abs=1e-6)
    assert s.gmm is None
    m.edit("fit_gmm", None)
    s = m.snapshot()
    assert s.gmm.shape == (25 * 49, 2) and np.isnan(s.gmm).any(1).sum() == 25
    assert s.gmm_step == 1

    def plain(v):
        return isinstance(v, (np.ndarray, float, int, str, bool, tuple, type(None), np.floating, np.integer))

    assert all(plain(v) for v in s.as_dict().values()), {k: type(v) for k, v in s.as_dict().items() if not plain(v)}
    with pytest.raises(ValueError):
        m.edit("drag", None)


def test_gmm_is_fitted_in_the_fields_when_due_and_on_demand(monkeypatch):
    from otviz.methods import coulomb

    fits = []
    real_fit = coulomb.fit_gmm_ellipses
    monkeypatch.setattr(coulomb, "fit_gmm_ellipses",
                        lambda x, step, seed: fits.append(step) or real_fit(x, step, seed))
    trainer = CoulombMethod(small(gmm_every=4), seed=0)
    helper = CoulombMethod(small(gmm_every=4), seed=0)        # computes the fields, never trains

    def fields_at(step):
        while trainer.step_count < step:
            trainer.step()
        assert trainer.snapshot(fields=False).gmm is None
        helper.load_field_state(trainer.field_state())
        return helper.compute_fields()

    assert fields_at(1)["gmm_step"] == 1 and fits == [1]      # the first fit once training has begun
    assert fields_at(3)["gmm_step"] == 1 and fits == [1]      # not due before step 4
    f = fields_at(6)                                          # the helper never saw step 4 or 5
    assert f["gmm_step"] == 6 and f["gmm"].shape == (25 * 49, 2) and fits == [1, 6]
    assert fields_at(7)["gmm_step"] == 6 and fits == [1, 6]
    trainer.edit("fit_gmm", None)                             # "Fit GMM now" reaches the trainer ...
    f = fields_at(7)
    assert f["gmm_step"] == 7 and fits == [1, 6, 7]           # ... and the helper fits at once
    assert fields_at(7)["gmm_step"] == 7 and fits == [1, 6, 7]    # the same request is not fitted twice
    own = trainer.compute_fields()                            # the trainer, computing its own fields, agrees
    np.testing.assert_allclose(own["gmm"], f["gmm"], rtol=1e-4, atol=1e-4)
    trainer.reset()
    assert fields_at(1)["gmm_step"] == 1 and fits[-1] == 1    # a fit of the old run is dropped after a reset


def test_lattice_counts_match_samples_per_mode():
    from otviz.core.metrics import samples_per_mode
    from otviz.methods.coulomb import GRID_STD, lattice_counts

    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(-30, 30, (3000, 2)),
                        grid25_centers()[rng.integers(0, 25, 3000)] + rng.normal(0, 0.6, (3000, 2))])
    x[5] = np.nan
    expected = samples_per_mode(x, grid25_centers(), GRID_STD)
    assert expected.sum() > 1000 and (expected == 0).sum() < 3
    np.testing.assert_array_equal(lattice_counts(x.astype(np.float32), GRID_STD), expected)


class FixedGenerator(torch.nn.Module):
    """Stands in for G: grid points from every centre but one, whatever the noise."""

    def __init__(self, missing: int, seed: int = 0):
        super().__init__()
        rng = np.random.default_rng(seed)
        c = np.delete(grid25_centers(), missing, axis=0)
        self.pts = torch.tensor(c[rng.integers(0, 24, 4096)] + rng.normal(size=(4096, 2)) * math.sqrt(0.1),
                                dtype=torch.float32)
        self.dummy = torch.nn.Parameter(torch.zeros(()))
        self.calls = 0

    def forward(self, z):
        self.calls += 1
        idx = torch.randint(0, 4096, (len(z),), generator=torch.Generator().manual_seed(self.calls))
        return self.pts[idx] + 0 * self.dummy


def test_learned_potential_has_its_well_where_the_fakes_miss_a_mode():
    """D learns the potential: with fakes everywhere but one mode, D(x) is lowest at that mode."""
    m = CoulombMethod(CoulombConfig(samples_per_mode=400, batch_size=256, half_life=1e7, eps0=1.0,
                                    heatmap_res=60, gmm_every=0), seed=0)
    m.G = FixedGenerator(missing=7)
    m.opt_g = torch.optim.Adam(m.G.parameters())
    for _ in range(200):
        m.step()
    with torch.no_grad():
        at = m.D(torch.tensor(grid25_centers(), dtype=torch.float32)).squeeze(1).numpy()
    assert np.argmin(at) == 7
    others = np.delete(at, 7)
    assert at[7] < np.median(others) - 1.5 * others.std()
    snap = m.snapshot()                          # and the heatmap the view draws shows the same well
    z, (x0, y0, w, h) = snap.potential, snap.potential_rect
    cx, cy = grid25_centers()[7]
    i, j = int((cy - y0) / h * z.shape[0]), int((cx - x0) / w * z.shape[1])
    assert z[i, j] < snap.potential_levels[0] + 0.25 * (snap.potential_levels[1] - snap.potential_levels[0])


def test_set_device_keeps_data_and_training_state():
    m = CoulombMethod(small(), seed=2)
    for _ in range(3):
        m.step()
    data, w = m.data.clone(), m.G[0].weight.detach().clone()
    m.set_device("cpu")
    assert torch.equal(m.data, data) and torch.equal(m.G[0].weight, w) and m.step_count == 3
