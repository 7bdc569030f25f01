"""RealNVP maths: invertibility at every depth, log|det J| against autograd, a density that integrates to 1."""
import math

import numpy as np
import pytest
import torch

from otviz.core.flows import RealNVP, base_log_prob, unswap


def _randomised(n_flows=4, hidden=32, seed=0, scale=0.5):
    """A float64 flow with random (non-identity) heads, so the tests see real s and t."""
    torch.manual_seed(seed)
    flow = RealNVP(n_flows, hidden).double()
    with torch.no_grad():
        for layer in flow.layers:
            layer.head.weight.normal_(0.0, scale)
            layer.head.bias.normal_(0.0, scale)
    return flow


def test_starts_as_identity():
    flow = RealNVP(3, 16)
    x = torch.randn(50, 2)
    z, logdet = flow(x)
    # three swaps: the halves come out swapped, otherwise untouched
    assert torch.equal(unswap(z, 3), x)
    assert torch.equal(logdet, torch.zeros(50))


@pytest.mark.parametrize("n_layers", range(0, 6))
def test_inverse_of_forward_at_every_depth(n_layers):
    flow = _randomised(n_flows=5)
    x = torch.randn(200, 2, dtype=torch.float64) * 2
    z, _ = flow(x, n_layers)
    if n_layers:
        assert (z - x).abs().max() > 1e-2          # the map really moves points
    assert torch.allclose(flow.inverse(z, n_layers), x, atol=1e-10, rtol=0)
    # and the other way round
    assert torch.allclose(flow(flow.inverse(x, n_layers), n_layers)[0], x, atol=1e-10, rtol=0)


def test_float32_round_trip():
    flow = _randomised().float()
    x = torch.randn(500, 2)
    assert torch.allclose(flow.inverse(flow(x)[0]), x, atol=1e-4)


@pytest.mark.parametrize("n_layers", [1, 2, 4])
def test_logdet_matches_autograd_jacobian(n_layers):
    flow = _randomised(n_flows=4)
    xs = torch.randn(6, 2, dtype=torch.float64)
    _, logdet = flow(xs, n_layers)
    for x, ld in zip(xs, logdet):
        jac = torch.autograd.functional.jacobian(lambda p: flow(p[None], n_layers)[0][0], x)
        sign, ref = torch.linalg.slogdet(jac)
        assert sign.item() == (-1) ** n_layers   # exp(s) > 0; each swap of the halves flips the sign
        assert ld.item() == pytest.approx(ref.item(), abs=1e-10)


def test_logdet_gradient_finite_difference():
    """The loss's gradient w.r.t. one weight, against a central difference in float64."""
    flow = _randomised(n_flows=2, hidden=8)
    x = torch.randn(64, 2, dtype=torch.float64)
    w = flow.layers[1].body[0].weight
    loss = -flow.log_prob(x).mean()
    (g,) = torch.autograd.grad(loss, [w])
    h = 1e-6
    with torch.no_grad():
        w[3, 0] += h
        up = -flow.log_prob(x).mean().item()
        w[3, 0] -= 2 * h
        down = -flow.log_prob(x).mean().item()
        w[3, 0] += h
    assert g[3, 0].item() == pytest.approx((up - down) / (2 * h), rel=1e-6, abs=1e-9)


def test_base_log_prob_is_standard_normal():
    from scipy.stats import multivariate_normal
    z = np.random.default_rng(1).normal(size=(20, 2))
    ref = multivariate_normal(mean=[0, 0], cov=np.eye(2)).logpdf(z)
    assert np.allclose(base_log_prob(torch.from_numpy(z)).numpy(), ref, atol=1e-12)


def test_density_integrates_to_one():
    flow = _randomised(n_flows=4, scale=0.4)
    # the mass is where the base samples land: integrate on a grid that covers them widely
    pts = flow.sample(4000, torch.Generator().manual_seed(0)).detach()
    lo, hi = pts.min(0).values - 4, pts.max(0).values + 4
    n = 400
    gx = torch.linspace(lo[0].item(), hi[0].item(), n, dtype=torch.float64)
    gy = torch.linspace(lo[1].item(), hi[1].item(), n, dtype=torch.float64)
    xx, yy = torch.meshgrid(gx, gy, indexing="ij")
    with torch.no_grad():
        p = flow.log_prob(torch.stack([xx.ravel(), yy.ravel()], 1)).exp().reshape(n, n)
    mass = torch.trapezoid(torch.trapezoid(p, gy, dim=1), gx).item()
    assert mass == pytest.approx(1.0, abs=0.01)


def test_sample_follows_the_inverse_map():
    flow = _randomised()
    g = torch.Generator().manual_seed(5)
    x = flow.sample(300, g)
    z = torch.randn(300, 2, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    assert torch.allclose(x, flow.inverse(z))
    # and mapping the samples forward gives back the base draws
    assert torch.allclose(flow(x)[0], z, atol=1e-10)


def test_stages_match_partial_maps():
    flow = _randomised(n_flows=3)
    x = torch.randn(40, 2, dtype=torch.float64)
    fwd = flow.forward_stages(x)
    assert len(fwd) == 4
    for k, y in enumerate(fwd):
        assert torch.allclose(y, flow(x, k)[0])
    z = fwd[-1]
    inv = flow.inverse_stages(z)
    # generation seen from the base, one undone layer at a time, retraces the forward stages
    for j, y in enumerate(inv):
        assert torch.allclose(y, fwd[3 - j], atol=1e-10)


def test_bad_arguments():
    with pytest.raises(ValueError):
        RealNVP(2, 8, dim=3)
    with pytest.raises(ValueError):
        RealNVP(0, 8)
    with pytest.raises(ValueError):
        RealNVP(2, 8)(torch.zeros(1, 2), n_layers=3)


def test_tanh_bounds_each_layer_scale():
    """s through tanh: one layer can scale a coordinate by at most e, so log|det| ≤ n_flows."""
    flow = _randomised(n_flows=4, scale=50.0)
    x = torch.randn(1000, 2, dtype=torch.float64) * 10
    _, logdet = flow(x)
    assert logdet.abs().max().item() <= 4.0 + 1e-12
    assert logdet.abs().max().item() > 3.0   # large weights saturate tanh near ±1
    assert math.isfinite(flow.log_prob(x).sum().item())
