"""Sliced Wasserstein to a GMM: quantiles, implicit gradients, exact 1-D W_p^p, SW, max-SW, GMM helpers."""
import math

import numpy as np
import pytest
import torch
from scipy import integrate, optimize, special, stats

from otviz.core import gmm as G
from otviz.core.sliced import (angles_to_directions, gmm_cdf, gmm_pdf, gmm_quantile, max_sliced_direction,
                               parse_fixed_directions, project_gmm, random_directions, sliced_wasserstein_gmm,
                               wasserstein_to_gmm_1d)

D = torch.float64
W = torch.tensor([0.3, 0.5, 0.2], dtype=D)
M = torch.tensor([-1.0, 0.5, 2.0], dtype=D)
V = torch.tensor([0.2, 1.0, 0.05], dtype=D)


def mix_cdf(x, w=W, m=M, v=V):
    # scipy.special.ndtr, not stats.norm.cdf: the root finders call this thousands of times
    return float(np.dot(np.asarray(w), special.ndtr((x - np.asarray(m)) / np.sqrt(np.asarray(v)))))


def mix_quantile(u, **kw):
    return optimize.brentq(lambda y: mix_cdf(y, **kw) - u, -80, 80, xtol=1e-14, rtol=1e-15)


def reference_wpp(x, p):
    """Σ_i ∫ over GMM cell i of |x_(i) − y|^p g(y) dy, cells cut at root-found quantiles i/n (scipy)."""
    xs = np.sort(x)
    n = len(xs)
    cuts = [-np.inf] + [mix_quantile(i / n) for i in range(1, n)] + [np.inf]
    params = list(zip(W.numpy(), M.numpy(), V.numpy()))
    pdf = lambda y: sum(wk * stats.norm.pdf(y, mk, math.sqrt(vk)) for wk, mk, vk in params)
    total = 0.0
    for i in range(n):
        a, b = cuts[i], cuts[i + 1]
        pts = [xs[i]] if a < xs[i] < b else None
        f = lambda y: abs(xs[i] - y) ** p * pdf(y)
        if np.isfinite(a) and np.isfinite(b):
            total += integrate.quad(f, a, b, points=pts, epsabs=1e-14, limit=200)[0]
        else:                                   # split an unbounded cell at x_i (or at its finite end)
            c = min(max(xs[i], a), b)
            for lo, hi in ((a, c), (c, b)):
                total += integrate.quad(f, lo, hi, epsabs=1e-14, limit=200)[0]
    return total


# ----------------------------------------------------------------------------- quantiles

def test_quantile_matches_root_finder_including_tails():
    u = torch.tensor([1e-8, 1e-3, 0.1, 0.37, 0.5, 0.8, 0.95, 1 - 1e-6], dtype=D)
    q = gmm_quantile(u, W, M, V).numpy()
    ref = np.array([mix_quantile(float(a)) for a in u])
    assert np.abs(q - ref).max() < 1e-10
    assert np.allclose(gmm_cdf(torch.as_tensor(q), W, M, V).numpy(), u.numpy(), atol=1e-12, rtol=0)


@pytest.mark.parametrize("w,m,v", [
    ([0.5, 0.5], [-50.0, 50.0], [0.01, 0.01]),        # a flat CDF between far-apart narrow components
    ([0.2, 0.8], [1e4, 1e4 + 3.0], [4.0, 0.25]),       # far from the origin: the stopping rule is relative
    ([1.0], [0.0], [1e-6]),                             # one very narrow component
])
def test_quantile_root_search_is_robust(w, m, v):
    w, m, v = (torch.tensor(a, dtype=D) for a in (w, m, v))
    u = torch.tensor([1e-4, 0.25, 0.4999, 0.5001, 0.75, 0.9999], dtype=D)
    q = gmm_quantile(u, w, m, v).numpy()
    kw = dict(w=w, m=m, v=v)
    lo, hi = float(m.min() - 20 * v.max().sqrt()), float(m.max() + 20 * v.max().sqrt())
    ref = np.array([optimize.brentq(lambda y: mix_cdf(y, **kw) - a, lo, hi, xtol=1e-14, rtol=1e-15)
                    for a in u.numpy()])
    assert np.allclose(q, ref, rtol=1e-12, atol=1e-9)


def test_quantile_batched_over_directions_matches_one_at_a_time():
    gen = torch.Generator().manual_seed(1)
    means = torch.randn(2, 4, dtype=D, generator=gen)
    var = torch.rand(4, 2, dtype=D, generator=gen) + 0.1
    w = torch.softmax(torch.randn(4, dtype=D, generator=gen), 0)
    dirs = random_directions(6, gen)
    m, v = project_gmm(means.T, var, dirs)
    levels = torch.arange(1, 50, dtype=D) / 50
    q = gmm_quantile(levels, w, m, v)
    assert q.shape == (6, 49)
    for l in range(6):
        assert torch.allclose(q[l], gmm_quantile(levels, w, m[l], v[l]), atol=1e-12, rtol=0)
    assert (q.diff(dim=-1) > 0).all()


def test_pdf_is_the_derivative_of_the_cdf():
    x = torch.linspace(-3, 3, 13, dtype=D)
    h = 1e-6
    fd = (gmm_cdf(x + h, W, M, V) - gmm_cdf(x - h, W, M, V)) / (2 * h)
    assert torch.allclose(gmm_pdf(x, W, M, V), fd, atol=1e-8)


def test_quantile_gradient_uses_implicit_rule_and_matches_finite_differences():
    u = torch.tensor([0.05, 0.3, 0.6, 0.97], dtype=D, requires_grad=True)
    params = [t.clone().requires_grad_() for t in (W, M, V)]
    assert torch.autograd.gradcheck(lambda a, w, m, v: gmm_quantile(a, w, m, v), (u, *params),
                                    eps=1e-6, atol=1e-6, rtol=1e-4)
    # dq/du = 1 / f(q)
    q = gmm_quantile(u, *params)
    (g,) = torch.autograd.grad(q.sum(), u)
    assert torch.allclose(g, 1.0 / gmm_pdf(q.detach(), W, M, V), rtol=1e-10)


# ----------------------------------------------------------------------------- 1-D W_p^p

@pytest.mark.parametrize("p", [1.0, 2.0])
def test_closed_form_wpp_matches_quadrature_of_quantile_functions(p):
    rng = np.random.default_rng(0)
    for x in (rng.normal(size=7), 0.2 * rng.normal(size=7) + 3.0, rng.normal(size=30)):
        got = float(wasserstein_to_gmm_1d(torch.as_tensor(x), W, M, V, p))
        assert got == pytest.approx(reference_wpp(x, p), rel=1e-8)


def test_w2_equals_integral_of_squared_quantile_difference():
    # W_2^2 = ∫_0^1 |F⁻¹(u) − G⁻¹(u)|² du, F the empirical CDF, G⁻¹ found by a root finder.
    x = np.array([-1.7, -0.2, 0.4, 1.1, 2.6])
    n = len(x)
    ref = sum(integrate.quad(lambda u: (x[i] - mix_quantile(u)) ** 2, i / n, (i + 1) / n, epsabs=1e-12)[0]
              for i in range(n))
    assert float(wasserstein_to_gmm_1d(torch.as_tensor(x), W, M, V, 2.0)) == pytest.approx(ref, rel=1e-8)


def test_w1_equals_integral_of_cdf_difference():
    x = np.random.default_rng(3).normal(size=25)
    xs = np.sort(x)
    ecdf = lambda y: np.searchsorted(xs, y, side="right") / len(xs)
    pts = np.concatenate([[-30.0], xs, [30.0]])
    ref = sum(integrate.quad(lambda y: abs(ecdf(y) - mix_cdf(y)), a, b, epsabs=1e-13)[0]
              for a, b in zip(pts[:-1], pts[1:]))
    assert float(wasserstein_to_gmm_1d(torch.as_tensor(x), W, M, V, 1.0)) == pytest.approx(ref, rel=1e-7)


@pytest.mark.parametrize("p", [1.5, 3.0])
def test_any_real_p_by_quadrature(p):
    x = np.random.default_rng(4).normal(size=40)
    assert float(wasserstein_to_gmm_1d(torch.as_tensor(x), W, M, V, p)) == pytest.approx(reference_wpp(x, p),
                                                                                          rel=5e-4)


def test_quadrature_path_agrees_with_closed_form_near_p2():
    x = torch.as_tensor(np.random.default_rng(5).normal(size=60))
    w2 = float(wasserstein_to_gmm_1d(x, W, M, V, 2.0))
    near = float(wasserstein_to_gmm_1d(x, W, M, V, 2.0 + 1e-9))   # the quadrature branch
    assert near == pytest.approx(w2, rel=2e-4)


def test_w2_between_gaussian_quantile_sample_and_gaussian():
    # 1-D W_2^2 between Gaussians is Δm² + (σ1 − σ2)²: N(0,1) quantised at n points vs N(1, 2²).
    n = 4000
    x = torch.as_tensor(stats.norm.ppf((np.arange(n) + 0.5) / n))
    one = torch.ones(1, dtype=D)
    got = float(wasserstein_to_gmm_1d(x, one, one, 4.0 * one, 2.0))
    assert got == pytest.approx(1.0 + 1.0, rel=2e-3)


@pytest.mark.parametrize("p", [1.0, 2.0, 2.5])
def test_wpp_gradient_matches_finite_differences(p):
    x = torch.as_tensor(np.random.default_rng(6).normal(size=9))
    # Weights through a softmax: W_p^p is defined for probability weights, so only the gradient
    # along the simplex is meaningful (the quadrature and closed forms extend off it differently).
    params = [t.clone().requires_grad_() for t in (W.log(), M, V)]
    f = lambda logits, m, v: wasserstein_to_gmm_1d(x, torch.softmax(logits, 0), m, v, p)
    assert torch.autograd.gradcheck(f, params, eps=1e-6, atol=1e-6, rtol=1e-4)


def test_per_point_costs_sum_to_total_and_follow_original_order():
    x = torch.tensor([2.5, -1.0, 0.3, 4.0, 0.0], dtype=D)
    total, cost = wasserstein_to_gmm_1d(x, W, M, V, 2.0, per_point=True)
    assert float(cost.sum()) == pytest.approx(float(total), rel=1e-12)
    assert int(cost.argmax()) == 3                       # the point far in the right tail pays most
    assert (cost >= -1e-12).all()


def test_batched_wpp_matches_pot_against_a_huge_gmm_sample():
    ot = pytest.importorskip("ot")
    rng = np.random.default_rng(7)
    comp = rng.choice(3, size=400_000, p=W.numpy())
    big = rng.normal(M.numpy()[comp], np.sqrt(V.numpy()[comp]))
    x = rng.normal(size=200)
    ref = ot.wasserstein_1d(x, big, p=2)
    got = float(wasserstein_to_gmm_1d(torch.as_tensor(x), W, M, V, 2.0))
    assert got == pytest.approx(ref, rel=2e-2)


def test_refuses_p_below_one():
    with pytest.raises(ValueError, match="p must be at least 1"):
        wasserstein_to_gmm_1d(torch.zeros(3, dtype=D), W, M, V, 0.5)


# ----------------------------------------------------------------------------- sliced

def test_sliced_w2_between_gaussians_matches_closed_form_and_max_sliced_finds_10():
    # N(0, I) vs N((3,0), 4I) along θ: N(0, 1) vs N(3 cos θ, 4), so W2² = 9 cos²θ + (2 − 1)²;
    # its mean over θ is SW2² = 9/2 + 1 = 5.5, its maximum (θ = 0) max-SW2² = 10.
    n = 3000
    g = stats.norm.ppf((np.arange(n) + 0.5) / n)
    rng = np.random.default_rng(0)
    x = torch.as_tensor(np.stack([g, rng.permutation(g)], 1))
    one = torch.ones(1, dtype=D)
    means, var = torch.tensor([[3.0, 0.0]], dtype=D), torch.tensor([[4.0, 4.0]], dtype=D)
    dirs = angles_to_directions(np.arange(180) + 0.5)
    sw = float(sliced_wasserstein_gmm(x, one, means, var, dirs, 2.0))
    assert sw == pytest.approx(5.5, rel=1e-2)
    angle, value = max_sliced_direction(x, one, means, var, 2.0, start_angles=[1.0, 2.0], steps=30)
    assert value == pytest.approx(10.0, rel=1e-2)
    assert min(angle, math.pi - angle) < 0.1                 # along x


def test_full_covariance_projection_matches_diagonal_when_diagonal():
    gen = torch.Generator().manual_seed(2)
    var = torch.rand(3, 2, dtype=D, generator=gen) + 0.1
    means = torch.randn(3, 2, dtype=D, generator=gen)
    dirs = random_directions(5, gen)
    m1, v1 = project_gmm(means, var, dirs)
    m2, v2 = project_gmm(means, torch.diag_embed(var), dirs)
    assert torch.allclose(m1, m2) and torch.allclose(v1, v2)
    full = torch.tensor([[[1.0, 0.8], [0.8, 1.0]]], dtype=D)
    _, v = project_gmm(means[:1], full, angles_to_directions([45.0, 135.0]))
    assert torch.allclose(v[:, 0], torch.tensor([1.8, 0.2], dtype=D))


def test_sliced_distance_falls_to_sampling_level_for_the_true_gmm():
    rng = np.random.default_rng(8)
    w = np.array([0.4, 0.6])
    means = np.array([[-1.0, 0.5], [1.0, -0.5]])
    var = np.array([[0.2, 0.5], [0.4, 0.1]])
    dirs = angles_to_directions(np.linspace(0, 180, 24, endpoint=False))
    t = lambda a: torch.as_tensor(a)

    def sample(n):
        c = rng.choice(2, size=n, p=w)
        return rng.normal(means[c], np.sqrt(var[c]))

    sw = {n: float(sliced_wasserstein_gmm(t(sample(n)), t(w), t(means), t(var), dirs)) for n in (200, 20000)}
    shifted = float(sliced_wasserstein_gmm(t(sample(20000)), t(w), t(means + [0.3, 0.0]), t(var), dirs))
    assert sw[20000] < sw[200] / 10                         # W_2^2 sampling error shrinks ~1/n
    assert sw[20000] < 1e-3 < shifted / 10                  # far below a 0.3 shift (≈ 0.045)


def test_random_directions_are_unit_and_reproducible():
    a = random_directions(50, torch.Generator().manual_seed(3))
    b = random_directions(50, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    assert torch.allclose(a.norm(dim=1), torch.ones(50, dtype=D))
    assert (a[:, 1] >= 0).all()                              # angles in [0, π)


@pytest.mark.parametrize("text,expected", [
    ("none", []), ("", []), ("x", [0]), ("x,y", [0, 90]), ("X, Y", [0, 90]),
    ("x,y,diagonal", [0, 90, 45]), ("x,y,both diagonals", [0, 90, 45, 135]),
    ("0,90,45", [0, 90, 45]), ("30 60", [30, 60]),
])
def test_parse_fixed_directions(text, expected):
    assert parse_fixed_directions(text).tolist() == expected


@pytest.mark.parametrize("text", ["x,z", "45,abc", "nan", ",".join(["1"] * 65)])
def test_parse_fixed_directions_refuses_with_reason(text):
    with pytest.raises(ValueError, match="fixed directions"):
        parse_fixed_directions(text)


# ----------------------------------------------------------------------------- GMM helpers

@pytest.mark.parametrize("cov", ["diag", "full"])
def test_nll_and_m_step_agree_with_scikit_learn(cov):
    from otviz.core.datasets import old_faithful
    x = old_faithful()
    ref = G.em_fit(x, 2, cov, seed=0, tol=1e-10)     # two clear clusters: EM converges fast
    from sklearn.mixture import GaussianMixture
    gm = GaussianMixture(2, covariance_type=cov, n_init=3, random_state=0, reg_covar=G.VAR_FLOOR,
                         tol=1e-10, max_iter=5000).fit(x)
    assert G.mean_nll(x, ref) == pytest.approx(-gm.score(x), rel=1e-10)
    # EM is a fixed point of its own M-step.
    again = G.m_step(x, gm.predict_proba(x), cov)
    assert np.allclose(again.means, gm.means_, atol=1e-6)
    assert np.allclose(again.covs, gm.covariances_, atol=1e-5)


def test_dirichlet_init_puts_every_component_near_the_data_mean():
    from otviz.core.datasets import old_faithful
    x = old_faithful()
    g = G.dirichlet_init(x, 5, np.random.default_rng(0))
    assert g.weights.sum() == pytest.approx(1.0) and (g.weights > 0.1).all()
    assert np.abs(g.means).max() < 0.3 and (g.covs > 0.7).all()     # z-scored data: mean 0, var 1


def test_ellipse_polyline_points_lie_on_the_one_sigma_contour():
    means = np.array([[1.0, -1.0], [0.0, 2.0]])
    covs = np.array([[[2.0, 0.6], [0.6, 1.0]], [[0.5, 0.0], [0.0, 0.1]]])
    pts = G.ellipse_polyline(means, covs, scales=np.array([1.0, 2.0]), n=32)
    assert pts.shape == (66, 2) and np.isnan(pts[32]).all() and np.isnan(pts[65]).all()
    for k, s in ((0, 1.0), (1, 2.0)):
        d = pts[k * 33: k * 33 + 32] - means[k]
        maha = np.einsum("nd,de,ne->n", d, np.linalg.inv(covs[k]), d)
        assert np.allclose(maha, s * s)
