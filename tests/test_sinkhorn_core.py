"""Sinkhorn solver core: the two-rows example's values, marginals, POT agreement, eps -> 0, warm starts, divergence."""
import math

import numpy as np
import ot
import pytest
import torch

from otviz.core.sinkhorn import cost_matrix, exact_plan, sinkhorn, sinkhorn_divergence

F64 = torch.float64


def seed_rows(dtype=torch.float32, offset=1.0):
    x = torch.tensor([[i, 0.0] for i in range(5)], dtype=dtype)
    y = torch.tensor([[i, offset] for i in range(5)], dtype=dtype)
    return x, y


def clouds(n, m, seed=0, scale=1.0, dtype=F64):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 2, generator=g, dtype=dtype) * scale
    y = torch.randn(m, 2, generator=g, dtype=dtype) * 0.3 * scale + 0.5 * scale
    return x, y


# ------------------------------------- the two-rows example: the values POT's log-domain Sinkhorn converges to

@pytest.mark.parametrize("eps, expected", [(0.1, 1.000), (1.0, 1.408)])
def test_two_rows_values_float32(eps, expected):
    x, y = seed_rows()
    r = sinkhorn(x, y, eps)
    assert r.cost.dtype == torch.float32 and r.cost.shape == ()
    assert abs(r.cost.item() - expected) < 1e-3
    assert r.plan.shape == (5, 5) and r.cost_matrix.shape == (5, 5)
    # C is the squared distance (POT's ot.dist default, so the values compare): C[0,0] = 1, C[0,4] = 4^2 + 1
    assert r.cost_matrix[0, 0].item() == 1.0 and r.cost_matrix[0, 4].item() == 17.0


@pytest.mark.parametrize("eps, cost, objective", [(0.1, 1.000073, 1.160937), (0.5, 1.176324, 1.707386),
                                                  (1.0, 1.407889, 2.141336), (2.0, 1.774400, 2.729412)])
def test_two_rows_values_converged_float64(eps, cost, objective):
    x, y = seed_rows(F64)
    r = sinkhorn(x, y, eps, tol=1e-12)
    assert r.converged and r.marginal_error <= 1e-12
    assert abs(r.cost.item() - cost) < 1e-5
    assert abs(r.objective.item() - objective) < 1e-5


def test_two_rows_batch_of_vertical_shifts():
    x0, _ = seed_rows()
    x = torch.stack([x0] * 4)
    y = torch.stack([x0 + torch.tensor([0.0, d]) for d in (1.0, 2.0, 3.0, 4.0)])
    r = sinkhorn(x, y, 0.1)
    assert r.cost.shape == (4,) and r.plan.shape == (4, 5, 5) and r.cost_matrix.shape == (4, 5, 5)
    assert np.allclose(r.cost.numpy(), [1, 4, 9, 16], atol=1e-3)
    r64 = sinkhorn(x.double(), y.double(), 0.1, tol=1e-12)
    assert np.allclose(r64.cost.numpy(), np.array([1, 4, 9, 16]) + 0.000073, atol=1e-5)


# ----------------------------------------------------------------------------- marginals, POT

@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_marginals_non_uniform_weights_and_unequal_sizes(dtype):
    x, y = clouds(37, 23, seed=1, dtype=dtype)
    g = torch.Generator().manual_seed(2)
    a = torch.rand(37, generator=g, dtype=dtype) + 0.1
    b = torch.rand(23, generator=g, dtype=dtype) + 0.1
    tol = 1e-5 if dtype == torch.float32 else 1e-9
    r = sinkhorn(x, y, 0.05, a=a * 3.0, b=b, tol=tol)            # any positive masses; normalised inside
    an, bn = a / a.sum(), b / b.sum()
    assert r.converged and r.plan.shape == (37, 23)
    assert (r.plan.sum(1) - an).abs().sum().item() <= tol * 1.01
    assert (r.plan.sum(0) - bn).abs().sum().item() <= (1e-5 if dtype == torch.float32 else 1e-12)
    assert (r.plan >= 0).all()


def test_batched_weights_marginals():
    x = torch.stack([clouds(20, 30, seed=s)[0] for s in range(3)])
    y = torch.stack([clouds(20, 30, seed=s)[1] for s in range(3)])
    a = torch.rand(3, 20, dtype=F64) + 0.2
    r = sinkhorn(x, y, 0.02, a=a, tol=1e-10)
    an = a / a.sum(-1, keepdim=True)
    assert (r.plan.sum(-1) - an).abs().sum(-1).max().item() <= 1e-10
    assert np.allclose(r.plan.sum(-2).numpy(), 1 / 30, atol=1e-13)
    for k in range(3):                                  # each batch item equals its own solve
        rk = sinkhorn(x[k], y[k], 0.02, a=a[k], tol=1e-10)
        assert abs(rk.cost.item() - r.cost[k].item()) < 1e-8


@pytest.mark.parametrize("eps, p", [(0.1, 2), (0.02, 2), (0.05, 1)])
def test_agrees_with_pot_log_sinkhorn(eps, p):
    x, y = clouds(40, 30, seed=3)
    g = torch.Generator().manual_seed(4)
    a = (torch.rand(40, generator=g, dtype=F64) + 0.5)
    a = a / a.sum()
    b = np.full(30, 1 / 30)
    r = sinkhorn(x, y, eps, p=p, a=a, tol=1e-11)
    C = ot.dist(x.numpy(), y.numpy(), metric="sqeuclidean" if p == 2 else "euclidean")
    assert np.allclose(r.cost_matrix.numpy(), C, atol=1e-12)
    P = ot.bregman.sinkhorn_log(a.numpy(), b, C, eps, numItermax=100_000, stopThr=1e-13)
    assert np.abs(r.plan.numpy() - P).max() < 1e-9
    assert abs(r.cost.item() - float((P * C).sum())) < 1e-8
    cost2 = ot.sinkhorn2(a.numpy(), b, C, eps, method="sinkhorn_log", numItermax=100_000, stopThr=1e-13)
    assert abs(r.cost.item() - float(cost2)) < 1e-8
    # the regularised objective is the primal value <P,C> + eps KL(P | a x b) of the returned plan
    Pn = r.plan.numpy()
    kl = float((Pn * np.log(Pn / np.outer(a.numpy(), b))).sum())
    assert abs(r.objective.item() - (r.cost.item() + eps * kl)) < 1e-8


# ----------------------------------------------------------------------------- small eps, exact OT

def test_converges_to_exact_ot_as_eps_goes_to_zero():
    x, y = clouds(40, 40, seed=5, scale=3.0)
    ex = exact_plan(x, y)
    C = cost_matrix(x, y).numpy()
    assert abs(ex.cost - ot.emd2(np.full(40, 1 / 40), np.full(40, 1 / 40), C)) < 1e-10
    gaps = []
    for eps in (1.0, 0.1, 0.01, 0.001):
        r = sinkhorn(x, y, eps, tol=1e-9)
        assert r.converged
        gaps.append(r.cost.item() - ex.cost)
    assert all(g >= -1e-9 for g in gaps)               # no coupling beats the exact plan
    assert gaps[0] > gaps[1] > gaps[2] > gaps[3]
    assert gaps[-1] < 1e-3 * ex.cost


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_small_eps_is_finite_and_accurate_on_diameter_5(dtype):
    x, y = clouds(120, 120, seed=6, scale=3.0, dtype=dtype)      # diameter about 5
    ex = exact_plan(x, y)
    assert 4.5 < torch.cdist(torch.cat([x, y]), torch.cat([x, y])).max().item() < 6.5
    r = sinkhorn(x, y, 1e-3, tol=1e-6 if dtype == F64 else 1e-5)
    assert r.converged
    assert torch.isfinite(r.plan).all() and torch.isfinite(r.f).all() and torch.isfinite(r.g).all()
    assert abs(r.cost.item() - ex.cost) < 2e-3 * ex.cost
    # nearly all mass of each row on its exact partner
    assert (r.plan.argmax(1).numpy() == ex.perm).mean() > 0.9


def test_exact_plan_is_a_permutation_matching_pot_emd():
    x, y = clouds(25, 25, seed=7)
    ex = exact_plan(x, y)
    assert sorted(ex.perm.tolist()) == list(range(25))
    assert np.allclose(ex.plan.sum(0), 1 / 25) and np.allclose(ex.plan.sum(1), 1 / 25)
    w = np.full(25, 1 / 25)
    G = ot.emd(w, w, cost_matrix(x, y).numpy())
    assert abs(ex.cost - float((G * cost_matrix(x, y).numpy()).sum())) < 1e-12
    with pytest.raises(ValueError):
        exact_plan(x, y[:20])


# ----------------------------------------------------------------------------- warm starts

@pytest.mark.parametrize("eps", [0.01, 0.002])
def test_warm_start_needs_far_fewer_iterations(eps):
    x, y = clouds(150, 150, seed=8, scale=3.0)
    cold = sinkhorn(x, y, eps)
    y2 = y.clone()
    y2[3] += 0.01                                       # one frame of a mouse drag
    cold2 = sinkhorn(x, y2, eps)
    warm2 = sinkhorn(x, y2, eps, init=cold.init)
    assert cold.converged and cold2.converged and warm2.converged
    assert warm2.n_iter * 3 <= cold2.n_iter
    assert abs(warm2.cost.item() - cold2.cost.item()) < 1e-6
    # restarting from the converged potentials of the same problem: done at once
    again = sinkhorn(x, y, eps, init=cold.init)
    assert again.n_iter <= 2 and abs(again.cost.item() - cold.cost.item()) < 1e-7


def moons(n, seed=3):
    from otviz.core import datasets
    x, y = datasets.two_moons_split(n, np.random.default_rng(seed))
    return torch.tensor(x, dtype=F64), torch.tensor(y, dtype=F64)


@pytest.mark.parametrize("which", ["x", "y"])
def test_continuing_a_result_after_one_point_moved_matches_a_cold_solve(which):
    # a drag in the Sinkhorn tab: re-solve from the previous result (init=result), which goes on from its
    # Anderson history and, when only y moved, re-derives g from f instead of f from g
    x, y = moons(200)
    eps, tol = 0.003, 1e-8
    r = sinkhorn(x, y, eps, tol=tol)
    x2, y2 = x.clone(), y.clone()
    (x2 if which == "x" else y2)[4] += torch.tensor([0.05, -0.03], dtype=F64)
    cold = sinkhorn(x2, y2, eps, tol=tol)
    plain = sinkhorn(x2, y2, eps, tol=tol, init=r.init)          # potentials only: starts afresh from g
    cont = sinkhorn(x2, y2, eps, tol=tol, init=r)
    assert cold.converged and plain.converged and cont.converged
    assert (cont.plan - cold.plan).abs().sum().item() < 1e-6
    assert abs(cont.cost.item() - cold.cost.item()) < 1e-8
    assert cont.n_iter < plain.n_iter < cold.n_iter
    # the result it continued is left as it was: continuing it again gives the same solve, bit for bit
    again = sinkhorn(x2, y2, eps, tol=tol, init=r)
    assert again.n_iter == cont.n_iter and torch.equal(again.plan, cont.plan)


def test_continuing_a_result_at_another_eps_only_reuses_its_potentials():
    x, y = moons(120)
    r = sinkhorn(x, y, 0.01)
    x2 = x.clone()
    x2[0] += 0.02
    # its history is for eps 0.01: at 0.015 the result is a plain warm start from its potentials
    a, b = sinkhorn(x2, y, 0.015, init=r), sinkhorn(x2, y, 0.015, init=r.init)
    assert a.converged and a.n_iter == b.n_iter and torch.equal(a.plan, b.plan)
    # and a continued solve can be continued in turn, at any eps
    c = sinkhorn(x2, y, 0.01, init=sinkhorn(x2, y, 0.01, init=r))
    assert c.converged and c.n_iter <= 2


def test_cost_matrix_without_autograd_is_the_same_arithmetic():
    x, y = clouds(30, 20, seed=16)
    xg = x.clone().requires_grad_(True)
    for p in (2, 1.5):
        with torch.no_grad():
            c0 = cost_matrix(x, y, p)
        c1 = cost_matrix(xg, y, p)
        assert c1.requires_grad and torch.equal(c0, c1.detach())
    with torch.no_grad():
        assert cost_matrix(x, x)[torch.arange(30), torch.arange(30)].abs().max().item() == 0.0


def test_warm_start_shape_mismatch_is_refused():
    x, y = clouds(10, 12)
    r = sinkhorn(x, y, 0.1)
    with pytest.raises(ValueError):
        sinkhorn(x, y[:11], 0.1, init=r.init)


def test_errors_history_and_result_fields():
    x, y = clouds(30, 30, seed=9)
    r = sinkhorn(x, y, 0.05, tol=1e-9)
    assert len(r.errors) == r.n_iter and r.errors[-1] == r.marginal_error <= 1e-9
    assert r.f.shape == (30,) and r.g.shape == (30,)
    # P_ij = a_i b_j exp((f_i + g_j - C_ij) / eps)
    P = torch.exp((r.f[:, None] + r.g[None, :] - r.cost_matrix) / 0.05) / 900
    assert torch.allclose(P, r.plan, rtol=1e-9, atol=1e-15)
    r_cap = sinkhorn(x, y, 0.001, tol=1e-14, max_iter=5)
    assert r_cap.n_iter == 5 and not r_cap.converged


def test_invalid_input_is_refused():
    x, y = clouds(5, 6)
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError):
            sinkhorn(x, y, bad)
    xn = x.clone()
    xn[0, 0] = float("nan")
    with pytest.raises(ValueError):
        sinkhorn(xn, y, 0.1)
    with pytest.raises(ValueError):
        sinkhorn(x, y, 0.1, a=torch.tensor([1.0, 1, 1, 1, -1]))
    with pytest.raises(ValueError):
        sinkhorn(x, y[:, :1], 0.1)


# ----------------------------------------------------------------------------- divergence

@pytest.mark.parametrize("eps", [0.01, 1.0, 10.0])
def test_divergence_of_two_diracs_is_the_cost(eps):
    x = torch.tensor([[0.3, -1.0]], dtype=F64)
    y = torch.tensor([[2.0, 0.5]], dtype=F64)
    s = sinkhorn_divergence(x, y, eps).value.item()
    assert abs(s - (1.7 ** 2 + 1.5 ** 2)) < 1e-10
    s1 = sinkhorn_divergence(x, y, eps, p=1).value.item()
    assert abs(s1 - math.hypot(1.7, 1.5)) < 1e-10


def test_divergence_nonnegative_and_zero_for_identical_clouds():
    x, y = clouds(50, 40, seed=10)
    for eps in (0.05, 0.5, 5.0):
        assert sinkhorn_divergence(x, y, eps, tol=1e-10).value.item() > 0
        assert abs(sinkhorn_divergence(x, x.clone(), eps, tol=1e-10).value.item()) < 1e-9
    # the biased OT_eps(x, x) is not zero (entropic blur): that is what the debiasing removes
    assert sinkhorn(x, x, 0.5).objective.item() > 1e-2


@pytest.mark.parametrize("p", [2, 1.5])
def test_divergence_gradient_matches_finite_differences(p):
    x, y = clouds(12, 9, seed=11)
    x = x.requires_grad_(True)
    eps, tol = 0.1, 1e-13
    d = sinkhorn_divergence(x, y, eps, p=p, tol=tol)
    (grad,) = torch.autograd.grad(d.value, x)
    h = 1e-6
    for i, k in [(0, 0), (3, 1), (7, 0), (11, 1)]:
        xp, xm = x.detach().clone(), x.detach().clone()
        xp[i, k] += h
        xm[i, k] -= h
        fd = (sinkhorn_divergence(xp, y, eps, p=p, tol=tol).value
              - sinkhorn_divergence(xm, y, eps, p=p, tol=tol).value).item() / (2 * h)
        assert abs(fd - grad[i, k].item()) < 1e-7 * max(1.0, abs(fd))


def test_divergence_warm_start_and_batch():
    x, y = clouds(60, 60, seed=12, scale=2.0)
    d0 = sinkhorn_divergence(x, y, 0.01, tol=1e-8)
    d1 = sinkhorn_divergence(x + 0.001, y, 0.01, tol=1e-8, init=d0)
    assert d1.xy.n_iter < d0.xy.n_iter and d1.xx.n_iter < d0.xx.n_iter
    xb = torch.stack([x, x * 0.5])
    yb = torch.stack([y, y])
    db = sinkhorn_divergence(xb, yb, 0.05, tol=1e-10)
    assert db.value.shape == (2,)
    assert abs(db.value[1].item() - sinkhorn_divergence(x * 0.5, y, 0.05, tol=1e-10).value.item()) < 1e-8


def test_warm_start_from_a_larger_eps_anneals_down():
    x, y = clouds(80, 80, seed=13, scale=3.0)
    coarse = sinkhorn(x, y, 0.5)
    cold = sinkhorn(x, y, 0.005)
    warm = sinkhorn(x, y, 0.005, init=coarse)            # the result itself: its eps is known
    assert warm.converged and warm.n_scaling_iter > 0
    assert abs(warm.cost.item() - cold.cost.item()) < 1e-6
    assert warm.n_iter < cold.n_iter


def test_float32_stops_at_its_precision_floor_instead_of_spinning():
    x, y = clouds(200, 200, seed=14, scale=3.0, dtype=torch.float32)
    r = sinkhorn(x, y, 0.002, tol=1e-12, max_iter=20_000)  # 1e-12 is beyond float32's reach
    assert not r.converged and r.n_iter < 5_000
    assert r.marginal_error < 1e-5 and torch.isfinite(r.plan).all()
