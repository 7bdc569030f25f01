"""The benchmark suite's own arithmetic (no timings asserted): percentiles, the size parameter found for
every registered method, and the conventions used to compare otviz's Sinkhorn with POT and GeomLoss."""
import math

import numpy as np
import pytest
import torch

from benchmarks.common import percentile
from benchmarks.scaling import size_param
from benchmarks.sinkhorn_bench import clouds, reference, run_geomloss, run_pot


def test_percentile_matches_numpy():
    v = list(np.random.default_rng(0).exponential(size=101))
    for q in (0, 50, 90, 99, 100):
        assert percentile(v, q) == pytest.approx(np.percentile(v, q))
    assert math.isnan(percentile([], 50))


def test_every_registered_method_has_an_integer_size_parameter():
    from otviz.methods import method_class, method_names

    for name in method_names():
        cls = method_class(name)
        p = size_param(cls)
        assert p is not None, name
        assert cls.spec(p).type is int


def test_geomloss_is_compared_with_half_cost_and_half_eps():
    pytest.importorskip("geomloss")
    x, y = clouds(60, seed=1)
    eps = 0.05
    ref = reference(x, y, eps)
    g = run_geomloss(x, y, eps, ref, scaling=0.99)
    # with blur = sqrt(eps/2) and the value doubled, GeomLoss solves the same problem: its objective and
    # its plan (rebuilt from its potentials) agree with otviz's converged float64 solution
    assert g["obj_err"] < 1e-4 * abs(float(ref.objective))
    assert g["plan_err"] < 0.05
    assert g["marg"] < 0.05


def test_pot_converges_without_extrapolation_on_an_easy_problem():
    pytest.importorskip("ot")
    x, y = clouds(40, seed=2)
    ref = reference(x, y, 0.5)
    p = run_pot(x, y, 0.5, ref, budget_s=30.0)
    assert p["converged"] and not p["extrapolated"]
    assert p["plan_err"] < 1e-4
    assert abs(p["cost_err"]) < 1e-5
    assert torch.isfinite(torch.tensor(p["time"]))
