"""WGAN: losses, gradient penalty (against hand-derived gradients and finite differences), clipping,
critic estimates of W on the parallel lines (W = |θ|), and short headless runs of the method."""
import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from otviz.core import divergences as dv
from otviz.core.wgan import (clip_weights, critic_loss, field_on_grid, generator_loss, gradient_penalty,
                             make_nets, mlp, point_push)
from otviz.methods.base import Method
from otviz.methods.wgan import MODE_DEFAULTS, WGANConfig, WGANMethod


# ----------------------------------------------------------------------------- gradient penalty

def test_gradient_penalty_of_a_linear_critic_is_the_slope_error():
    lin = nn.Linear(2, 1)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[3.0, 4.0]]))            # ‖∇f‖ = 5 everywhere
    real, fake = torch.randn(50, 2), torch.randn(50, 2)
    pen, norms = gradient_penalty(lin, real, fake, torch.rand(50, 1))
    assert torch.allclose(norms, torch.full((50,), 5.0))
    assert pen.item() == pytest.approx(16.0)


class Quadratic(nn.Module):
    """f(x) = ½ s ‖x‖²: ∇f = s x, so the penalty and its s-derivative have closed forms."""

    def __init__(self, s: float):
        super().__init__()
        self.s = nn.Parameter(torch.tensor(s, dtype=torch.float64))

    def forward(self, x):
        return 0.5 * self.s * (x ** 2).sum(1, keepdim=True)


def test_gradient_penalty_matches_closed_form_and_its_parameter_gradient():
    g = torch.Generator().manual_seed(0)
    real = torch.randn(64, 2, generator=g, dtype=torch.float64)
    fake = torch.randn(64, 2, generator=g, dtype=torch.float64) + 2
    u = torch.rand(64, 1, generator=g, dtype=torch.float64)
    f = Quadratic(0.7)
    pen, norms = gradient_penalty(f, real, fake, u)
    r = (u * real + (1 - u) * fake).norm(dim=1)                   # ‖x̂‖
    assert torch.allclose(norms, 0.7 * r)
    assert pen.item() == pytest.approx(((0.7 * r - 1) ** 2).mean().item(), rel=1e-12)
    pen.backward()                                                # needs the double backward (create_graph)
    assert f.s.grad.item() == pytest.approx((2 * (0.7 * r - 1) * r).mean().item(), rel=1e-10)


def test_gradient_penalty_weight_gradients_match_finite_differences():
    torch.manual_seed(1)
    critic = mlp(2, 8, 2, 1).double()
    g = torch.Generator().manual_seed(2)
    real = torch.randn(32, 2, generator=g, dtype=torch.float64)
    fake = torch.randn(32, 2, generator=g, dtype=torch.float64)
    u = torch.rand(32, 1, generator=g, dtype=torch.float64)
    pen, _ = gradient_penalty(critic, real, fake, u)
    pen.backward()
    w = critic[2].weight                                          # a hidden layer: it changes ∇f
    h = 1e-6
    for idx in [(0, 0), (3, 5), (7, 2)]:
        w.data[idx] += h
        up = gradient_penalty(critic, real, fake, u)[0].item()
        w.data[idx] -= 2 * h
        down = gradient_penalty(critic, real, fake, u)[0].item()
        w.data[idx] += h
        assert w.grad[idx].item() == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-9)


# ----------------------------------------------------------------------------- losses, clipping, pushes

def test_losses():
    fr, ff = torch.tensor([[1.0], [3.0]]), torch.tensor([[0.5], [-1.5]])
    assert critic_loss("clip", fr, ff).item() == pytest.approx(-0.5 - 2.0)
    assert critic_loss("gp", fr, ff).item() == pytest.approx(-2.5)
    assert generator_loss("clip", ff).item() == pytest.approx(0.5)
    bce = nn.BCEWithLogitsLoss()
    ref = bce(fr, torch.ones_like(fr)) + bce(ff, torch.zeros_like(ff))
    assert critic_loss("gan", fr, ff).item() == pytest.approx(ref.item(), rel=1e-6)
    assert generator_loss("gan", ff).item() == pytest.approx(bce(ff, torch.ones_like(ff)).item(), rel=1e-6)


def test_clip_weights_bounds_every_parameter_and_keeps_small_ones():
    torch.manual_seed(0)
    net = mlp(2, 16, 2, 1)
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(10)
    before = [p.detach().clone() for p in net.parameters()]
    clip_weights(net, 0.05)
    for p, b in zip(net.parameters(), before):
        c = torch.tensor(0.05)                                    # compared in float32, as stored
        assert p.abs().max() <= c
        inside = b.abs() <= c
        assert torch.equal(p[inside], b[inside])
        assert torch.equal(p[~inside], c * b[~inside].sign())


def test_point_push_is_the_critic_gradient_for_wgan_and_scaled_for_gan():
    lin = nn.Linear(2, 1)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, -2.0]]))
        lin.bias.fill_(0.5)
    x = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    assert torch.allclose(point_push("gp", lin, x), torch.tensor([[1.0, -2.0]] * 2))
    s = torch.sigmoid(-lin(x).detach())                          # −d softplus(−f)/dx = σ(−f) ∇f
    assert torch.allclose(point_push("gan", lin, x), s * torch.tensor([1.0, -2.0]))


def test_field_on_grid_rows_are_y_and_columns_x():
    f = nn.Linear(2, 1)
    with torch.no_grad():
        f.weight.copy_(torch.tensor([[1.0, 10.0]]))
        f.bias.zero_()
    img = field_on_grid(f, (0.0, 4.0, 0.0, 2.0), 4, torch.device("cpu"))
    xs, ys = np.array([0.5, 1.5, 2.5, 3.5]), np.array([0.25, 0.75, 1.25, 1.75])   # pixel centres
    assert np.allclose(img.numpy(), xs[None, :] + 10 * ys[:, None])


# ----------------------------------------------------------------------------- critics estimate W₁ = |θ|

def _train_critic(mode: str, theta: float, iters: int = 300) -> float:
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    rng = np.random.default_rng(0)
    _, critic = make_nets(2, 64, 3)
    if mode == "clip":
        opt = torch.optim.RMSprop(critic.parameters(), lr=5e-4)
    else:
        opt = torch.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9))
    for _ in range(iters):
        p, q = (torch.as_tensor(a, dtype=torch.float32) for a in dv.sample_lines(256, rng, theta))
        loss = critic_loss(mode, critic(p), critic(q))
        if mode == "gp":
            loss = loss + 10 * gradient_penalty(critic, p, q, torch.rand(256, 1, generator=g))[0]
        opt.zero_grad()
        loss.backward()
        opt.step()
        if mode == "clip":
            clip_weights(critic, 0.01)
    p, q = (torch.as_tensor(a, dtype=torch.float32) for a in dv.sample_lines(4000, rng, theta))
    with torch.no_grad():
        return (critic(p).mean() - critic(q).mean()).item()


@pytest.mark.parametrize("theta", [0.5, 1.0])
def test_gp_critic_recovers_w_of_the_parallel_lines(theta):
    # With λ = 10 the critic is close to 1-Lipschitz, so its Kantorovich–Rubinstein gap is W₁ = |θ|.
    assert _train_critic("gp", theta) == pytest.approx(dv.w_parallel_lines(theta), rel=0.12)


def test_clipped_critic_estimate_is_w_up_to_a_scale():
    # Clipping bounds the Lipschitz constant by some unknown K: the estimate is small but grows with θ.
    w = [_train_critic("clip", t, iters=200) for t in (0.25, 0.5, 1.0)]
    assert 0 < w[0] < w[1] < w[2] < 0.01
    assert 1.5 < w[2] / w[1] < 4 and 1.5 < w[1] / w[0] < 4


# ----------------------------------------------------------------------------- the method

def _kr_check(m: WGANMethod) -> tuple[float, float, float]:
    """(KR gap of the critic on 1000 real and 1000 generated points, its Lipschitz constant on a fine
    grid around them, exact W₁ between the two clouds)."""
    real = m.data_np[np.random.default_rng(1).choice(len(m.data_np), 1000, replace=False)]
    fake = m.generate(1000)
    with torch.no_grad():
        gap = (m.D(torch.as_tensor(real, dtype=torch.float32)).mean() - m.D(torch.as_tensor(fake)).mean()).item()
    lo, hi = np.minimum(real.min(0), fake.min(0)), np.maximum(real.max(0), fake.max(0))
    grid = np.stack(np.meshgrid(np.linspace(lo[0], hi[0], 200), np.linspace(lo[1], hi[1], 200)), -1)
    x = torch.as_tensor(grid.reshape(-1, 2), dtype=torch.float32).requires_grad_(True)
    (grad,) = torch.autograd.grad(m.D(x).sum(), x)
    return gap, grad.norm(dim=1).max().item(), dv.empirical_w1(real, fake)


def test_short_clip_run_w_estimate_is_meaningful():
    m = WGANMethod(WGANConfig(mode="clip", optimizer="rmsprop", lr=5e-5, boost_critic=False, width=64), seed=0)
    ws = [m.step()["w_estimate"] for _ in range(100)]
    c = m.config.clip
    assert all(p.abs().max() <= torch.tensor(c) for p in m.D.parameters())           # clipping invariant
    gap, lip, w1 = _kr_check(m)
    # Kantorovich–Rubinstein: for an L-Lipschitz critic the gap is at most L·W₁ (exact on samples) …
    assert 0 < gap <= lip * w1 * 1.02
    # … and the trained clipped critic uses a good part of that budget: gap / L estimates W₁.
    assert gap / lip > 0.3 * w1
    assert np.mean(ws[-20:]) == pytest.approx(gap, rel=0.5)                  # the logged value is that gap
    assert m.step_count == 100


def test_mode_switch_moves_optimiser_defaults_unless_changed():
    m = WGANMethod(WGANConfig(n_points=500, width=16), seed=0)
    assert (m.config.mode, m.config.optimizer, m.config.lr) == ("gp", "adam", 1e-4)
    changes = {"mode": "clip"}
    m.update(changes)
    assert (m.config.optimizer, m.config.lr, m.config.n_critic) == ("rmsprop", 5e-5, 5)
    assert isinstance(m.opt_d, torch.optim.RMSprop) and m.opt_d.param_groups[0]["lr"] == 5e-5
    assert changes["optimizer"] == "rmsprop"                  # named in the change marker too
    m.update({"mode": "gan"})
    assert (m.config.optimizer, m.config.lr, m.config.n_critic) == ("adam", 1e-4, 1)
    m.update({"lr": 3e-4})
    m.update({"mode": "gp"})                                  # the user's lr is kept
    assert (m.config.lr, m.config.n_critic) == (3e-4, 5)
    assert m.opt_g.param_groups[0]["lr"] == 3e-4
    assert set(MODE_DEFAULTS) == {"clip", "gp", "gan"}


def test_arjovsky_critic_schedule():
    m = WGANMethod(WGANConfig(mode="clip", n_points=500, width=16), seed=0)
    assert m.critic_iterations() == 100
    m.step_count = 25
    assert m.critic_iterations() == 5
    m.step_count = 500
    assert m.critic_iterations() == 100
    m.update({"boost_critic": False})
    assert m.critic_iterations() == 5


def test_runs_reproduce_and_sessions_continue_exactly():
    cfg = WGANConfig(width=32, batch_size=64, n_points=2000, coverage_every=3, w2_every=2)
    a, b = WGANMethod(cfg, seed=4), WGANMethod(cfg, seed=4)
    ra = [a.step() for _ in range(4)]
    assert ra == [b.step() for _ in range(4)]
    state = a.state_dict()
    more_a = [a.step() for _ in range(3)]
    c = WGANMethod(cfg, seed=99)
    c.load_state_dict(state)
    assert [c.step() for _ in range(3)] == more_a
    assert set(ra[-1]) == set(WGANMethod.metrics)              # ring8: modes and high_quality included
    # measured at steps 2 and 4, each shown a step later: the state taken at step 4 held a pending one
    assert "w2" not in ra[0] and "w2" not in ra[1] and ra[2]["w2"] == ra[3]["w2"] != more_a[0]["w2"]


def test_metrics_and_snapshot_per_dataset():
    for ds in ("grid25", "swiss_roll", "two_moons", "parallel_lines"):
        m = WGANMethod(WGANConfig(dataset=ds, width=16, batch_size=32, n_points=1000, heatmap_res=32), seed=0)
        out = m.step()
        assert ("modes" in out) == (ds == "grid25")
        snap = m.snapshot()
        assert snap.field.shape == (32, 32) and np.isfinite(snap.field).all()
        assert snap.fake.shape == (m.config.n_show, 2)
        assert snap.arrows.shape[0] % 2 == 0
        lo, hi = snap.field_levels
        assert lo < hi
        for k, v in snap.as_dict().items():
            assert not isinstance(v, torch.Tensor), k
        if ds == "grid25":
            assert snap.centers.shape == (25, 2) and snap.n_modes == 25
            assert 0 <= out["modes"] <= 25 and 0 <= out["high_quality"] <= 1


def test_arrows_point_along_the_generator_push():
    m = WGANMethod(WGANConfig(width=16, batch_size=32, n_points=1000), seed=0)
    m.step()
    snap = m.snapshot()
    start, end = snap.arrows[0::2], snap.arrows[1::2]
    assert np.allclose(start, snap.fake[: len(start)])
    push = point_push("gp", m.D, torch.as_tensor(start)).numpy()
    assert np.allclose(end - start, snap.arrow_scale * push, atol=1e-6)


def test_csv_dataset(tmp_path):
    f = tmp_path / "pts.csv"
    f.write_text("x,y\n" + "\n".join(f"{i % 7},{i % 3}" for i in range(60)))
    m = WGANMethod(WGANConfig(dataset="csv", csv_path=str(f), width=16), seed=0)
    assert m.data_np.shape == (60, 2)
    with pytest.raises(ValueError, match="csv"):
        WGANMethod(WGANConfig(dataset="csv"), seed=0)


def test_refused_values():
    m = WGANMethod(WGANConfig(n_points=500, width=16), seed=0)
    for k, v in [("lr", 0), ("clip", -0.01), ("n_critic", 0), ("mode", "xyz"), ("batch_size", 2.5)]:
        with pytest.raises(ValueError):
            m.validate({k: v})
    assert isinstance(m, Method) and dataclasses.is_dataclass(m.config)


@pytest.mark.slow
def test_gp_covers_all_eight_ring_modes():
    m = WGANMethod(WGANConfig(coverage_every=25), seed=0)
    for _ in range(1000):
        if m.step()["modes"] == 8:
            break
    assert m.coverage[0] == 8


def test_critic_heatmap_is_a_field_another_instance_computes_over_a_drawn_target():
    cfg = WGANConfig(width=16, batch_size=32, n_points=1000, heatmap_res=24)
    m = WGANMethod(cfg, seed=0)
    m.step()
    cheap = m.snapshot(fields=False)
    assert cheap.field is None and cheap.fake.shape == (cfg.n_show, 2) and cheap.step == 1
    theta = np.linspace(0, 2 * np.pi, 60)
    m.edit("points", np.stack([5 + np.cos(theta), 5 + np.sin(theta)], 1))    # the view moves to the circle
    m.step()
    helper = WGANMethod(cfg, seed=0)
    helper.load_field_state(m.field_state())
    mine, theirs = m.compute_fields(), helper.compute_fields()
    assert mine["field_rect"] == theirs["field_rect"] == m.rect and m.rect[0] > 2      # around the circle
    np.testing.assert_allclose(theirs["field"], mine["field"], rtol=1e-5, atol=1e-7)
    assert theirs["fields_step"] == 2
    m.update({"heatmap_res": 20})                   # a new resolution at the next fields
    assert m.snapshot().field.shape == (20, 20)


def test_a_config_built_with_a_mode_gets_its_optimiser_settings():
    # The CLI builds Config(mode=...) directly; fields left at the defaults follow the mode.
    m = WGANMethod(dataclasses.replace(WGANConfig(n_points=500, width=8), mode="clip"), seed=0)
    assert (m.config.optimizer, m.config.lr, m.config.n_critic) == ("rmsprop", 5e-5, 5)
    assert isinstance(m.opt_g, torch.optim.RMSprop)
    m = WGANMethod(WGANConfig(mode="gan", lr=3e-4, n_points=500, width=8), seed=0)
    assert (m.config.optimizer, m.config.lr, m.config.n_critic) == ("adam", 3e-4, 1)


def test_snapshot_lipschitz_is_the_critic_steepest_slope_on_the_view():
    m = WGANMethod(WGANConfig(width=32, batch_size=64, n_points=1000, heatmap_res=64), seed=0)
    for _ in range(3):
        m.step()
    snap = m.snapshot()
    x0, y0, w, h = snap.field_rect
    c = (np.arange(64) + 0.5) / 64
    grid = np.stack(np.meshgrid(x0 + w * c, y0 + h * c), -1).reshape(-1, 2)
    x = torch.as_tensor(grid, dtype=torch.float32).requires_grad_(True)
    (g,) = torch.autograd.grad(m.D(x).sum(), x)
    exact = g.norm(dim=1).max().item()
    # finite differences of a piecewise-linear critic: never steeper than the true slope, and close to it
    assert 0.8 * exact <= snap.lipschitz <= 1.01 * exact
    assert snap.w_estimate == m.last_w


def test_drawn_target_replaces_the_data_and_survives_a_session_round_trip():
    cfg = WGANConfig(width=16, batch_size=32, n_points=1000)
    m = WGANMethod(cfg, seed=0)
    m.step()
    with pytest.raises(ValueError, match="10 finite"):
        m.edit("points", np.zeros((5, 2)))
    with pytest.raises(ValueError):
        m.edit("lasso", None)
    t = np.linspace(0, 1, 50)
    pts = np.stack([3 + t, 3 - t], 1)                         # a diagonal stroke far from the ring
    m.edit("points", pts)
    assert m.centers is None and np.array_equal(m.data_np, pts)
    out = m.step()
    assert "modes" not in out                                 # no known modes for a drawing
    real = m.snapshot().real
    assert len(real) == 50 and np.allclose(np.sort(real[:, 0]), np.sort(pts[:, 0]), atol=1e-6)
    state = m.state_dict()
    more = [m.step() for _ in range(2)]
    c = WGANMethod(cfg, seed=0)
    c.load_state_dict(state)
    assert np.array_equal(c.data_np, pts) and [c.step() for _ in range(2)] == more
    c.reset()                                                 # reset returns to the dataset
    assert c.centers is not None and len(c.data_np) == 1000
