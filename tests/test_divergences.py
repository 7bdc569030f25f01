"""The parallel lines P = {x = 0} and Q_θ = {x = θ} (the WGAN article's example): closed forms of KL, JS
and W, and their empirical estimates."""
import math

import numpy as np
import ot
import pytest

from otviz.core import divergences as dv


@pytest.mark.parametrize("theta", [-2.0, -0.3, 1e-6, 0.5, 1.0])
def test_closed_forms_off_zero(theta):
    assert dv.kl_parallel_lines(theta) == math.inf
    assert dv.js_parallel_lines(theta) == pytest.approx(0.6931471805599453, abs=1e-15)   # log 2
    assert dv.w_parallel_lines(theta) == abs(theta)


def test_closed_forms_at_zero():
    assert dv.kl_parallel_lines(0.0) == 0.0
    assert dv.js_parallel_lines(0.0) == 0.0
    assert dv.w_parallel_lines(0.0) == 0.0


def test_curves_match_scalar_forms():
    th = np.linspace(-1, 1, 41)                     # contains 0 exactly
    c = dv.divergence_curves(th)
    assert np.array_equal(c["w"], np.abs(th))
    assert [dv.kl_parallel_lines(t) for t in th] == list(c["kl"])
    assert [dv.js_parallel_lines(t) for t in th] == list(c["js"])
    assert c["js"][20] == 0 and np.isinf(c["kl"]).sum() == 40


def test_js_from_definition_on_a_discretisation():
    # P and Q as two columns of a 2×m grid: JS = ½ Σ p log(p/m) + ½ Σ q log(q/m) = log 2 when disjoint.
    m = 50
    p = np.zeros((2, m)); p[0] = 1 / m
    q = np.zeros((2, m)); q[1] = 1 / m
    mid = (p + q) / 2
    js = 0.5 * sum(np.sum(a[a > 0] * np.log(a[a > 0] / mid[a > 0])) for a in (p, q))
    assert js == pytest.approx(dv.js_parallel_lines(1.0), rel=1e-12)


@pytest.mark.parametrize("theta", [0.25, 1.0, -0.7])
def test_empirical_w_agrees_with_pot_and_approaches_abs_theta(theta):
    rng = np.random.default_rng(3)
    p, q = dv.sample_lines(300, rng, theta)
    w = dv.empirical_w1(p, q)
    ref = ot.emd2(ot.unif(300), ot.unif(300), ot.dist(p, q, metric="euclidean"))
    assert w == pytest.approx(ref, rel=1e-9)
    # every pair is at least |θ| apart horizontally, so W ≥ |θ|; the y mismatch adds little
    assert abs(theta) <= w <= abs(theta) + 0.03


def test_empirical_w_at_zero_is_the_1d_sampling_error():
    # θ = 0: both clouds on the same line; W₁ is the 1-D distance between the sorted samples.
    rng = np.random.default_rng(0)
    p, q = dv.sample_lines(400, rng, 0.0)
    w = dv.empirical_w1(p, q)
    sorted_1d = np.mean(np.abs(np.sort(p[:, 1]) - np.sort(q[:, 1])))
    assert w == pytest.approx(sorted_1d, rel=1e-9)
    assert 0 < w < 0.1


def test_empirical_w_refuses_mismatched_clouds():
    with pytest.raises(ValueError):
        dv.empirical_w1(np.zeros((3, 2)), np.zeros((4, 2)))


def test_histogram_js_saturates_at_log2_and_vanishes_on_overlap():
    rng = np.random.default_rng(1)
    p, q = dv.sample_lines(20000, rng, 0.5)
    assert dv.histogram_js(p, q, bins=20) == pytest.approx(math.log(2), abs=1e-12)
    p, q = dv.sample_lines(20000, rng, 0.0)
    assert dv.histogram_js(p, q, bins=20) < 0.01
