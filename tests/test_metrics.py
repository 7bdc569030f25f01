"""Mode coverage on synthetic samples whose answer is known."""
import math

import numpy as np
import pytest

from otviz.core.datasets import grid25, grid25_centers, ring8, ring8_centers
from otviz.core.metrics import mode_coverage, samples_per_mode

STD = math.sqrt(0.1)
C = grid25_centers()


def test_true_grid_samples_capture_all_modes_with_the_rayleigh_fraction():
    x = grid25(25_000, np.random.default_rng(0))
    modes, hq = mode_coverage(x, C, STD)
    assert modes == 25
    # |x - c| / std is Rayleigh distributed in 2-D: P(r ≤ 3) = 1 − exp(−9/2) = 0.98889
    assert hq == pytest.approx(1 - math.exp(-4.5), abs=0.003)


def test_a_subset_of_modes_is_counted_exactly():
    rng = np.random.default_rng(1)
    chosen = [0, 3, 7, 12, 18, 24, 5]
    x = C[rng.choice(chosen, 3000)] + rng.normal(size=(3000, 2)) * 0.5 * STD
    cov = mode_coverage(x, C, STD)
    assert cov.modes == 7 and cov.high_quality > 0.99
    counts = samples_per_mode(x, C, STD)
    assert set(np.flatnonzero(counts)) == set(chosen) and counts.sum() == round(cov.high_quality * 3000)


def test_points_between_modes_are_low_quality_and_capture_nothing():
    mid = (C[:-1] + C[1:]) / 2                       # halfway along a row: 5.25 away from both ends
    assert mode_coverage(mid, C, STD) == (0, 0.0)


def test_the_three_std_boundary():
    r_in, r_out = 2.99 * STD, 3.01 * STD
    x = np.array([C[0] + [r_in, 0.0], C[1] + [0.0, -r_out], C[2] + [r_out / math.sqrt(2)] * 2])
    modes, hq = mode_coverage(x, C, STD)
    assert modes == 1 and hq == pytest.approx(1 / 3)
    assert mode_coverage(x, C, STD, n_std=4.0) == (3, 1.0)


def test_mode_collapse_to_one_centre():
    x = np.tile(C[12], (500, 1)) + np.random.default_rng(2).normal(size=(500, 2)) * 0.01
    assert mode_coverage(x, C, STD) == (1, 1.0)


def test_matches_a_brute_force_loop_on_the_ring():
    rng = np.random.default_rng(3)
    c = ring8_centers()
    x = np.concatenate([ring8(300, rng, std=0.05), rng.uniform(-2.5, 2.5, (300, 2))])
    std = 0.05
    good, captured = 0, set()
    for p in x:
        d = [math.dist(p, q) for q in c]
        k = int(np.argmin(d))
        if d[k] <= 3 * std:
            good += 1
            captured.add(k)
    modes, hq = mode_coverage(x, c, std)
    assert modes == len(captured) == 8
    assert hq == pytest.approx(good / len(x))
    assert 0.47 < hq < 0.55                     # ring samples ~98.9% good, uniform ones ~2%


def test_per_centre_std_and_bad_samples():
    std = np.full(25, STD)
    std[0] = 10 * STD                            # a wide first mode catches a far sample
    x = np.array([C[0] + [2.0, 2.0], [np.nan, 0.0], [np.inf, 1.0], C[24]])
    modes, hq = mode_coverage(x, C, std)
    assert modes == 2 and hq == pytest.approx(0.5)
    assert mode_coverage(np.empty((0, 2)), C, STD) == (0, 0.0)
    with pytest.raises(ValueError):
        mode_coverage(x, C, 0.0)
