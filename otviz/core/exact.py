"""Exact (unregularised) OT between two equal-size uniform clouds, in numpy: the truth Sinkhorn is seen against."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment


@dataclass
class ExactPlan:
    """Exact (unregularised) OT between two equal-size uniform clouds: a permutation."""
    perm: np.ndarray              # x_i is sent to y_perm[i]
    cost: float                   # <P, C> with weights 1/n
    plan: np.ndarray              # P (n, n), entries 0 or 1/n


def _as_array(a) -> np.ndarray:
    # tensors are accepted without importing torch here: the WGAN view's divergences panel uses this
    # module in the window's process
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a).astype(np.float64)


def cost_matrix_np(x: np.ndarray, y: np.ndarray, p: float = 2) -> np.ndarray:
    """C_ij = ||x_i - y_j||^p for (N, D), (M, D) -> (N, M), summed coordinate by coordinate like the
    torch cost matrix, so C(x, x) has an exact zero diagonal."""
    diff = x[:, 0, None] - y[None, :, 0]
    sq = diff * diff
    for k in range(1, x.shape[1]):
        diff = x[:, k, None] - y[None, :, k]
        sq += diff * diff
    return sq if p == 2 else sq ** (p / 2)


def exact_plan(x, y, p: float = 2) -> ExactPlan:
    """Exact OT between equal-size uniform clouds x, y (n, D): an optimal permutation (scipy's
    linear_sum_assignment on C), its cost <P, C> with weights 1/n, and the plan matrix."""
    xn, yn = _as_array(x), _as_array(y)
    if xn.ndim != 2 or yn.ndim != 2 or xn.shape != yn.shape:
        raise ValueError(f"exact_plan needs two (n, D) clouds of the same size; got {xn.shape} and {yn.shape}")
    n = xn.shape[0]
    C = cost_matrix_np(xn, yn, p)
    rows, cols = linear_sum_assignment(C)
    perm = np.empty(n, dtype=np.int64)
    perm[rows] = cols
    plan = np.zeros((n, n))
    plan[np.arange(n), perm] = 1.0 / n
    return ExactPlan(perm=perm, cost=float(C[np.arange(n), perm].mean()), plan=plan)
