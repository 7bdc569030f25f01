"""2-D Gaussian-mixture helpers (numpy): Dirichlet + M-step start, log-likelihood, EM reference, ellipses."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

VAR_FLOOR = 1e-6       # keeps a component that owns almost no point from collapsing to zero variance


@dataclass
class GMM:
    """Weights (K,), means (K, D) and covariances: (K, D) variances ("diag") or (K, D, D) ("full")."""
    weights: np.ndarray
    means: np.ndarray
    covs: np.ndarray

    @property
    def full_covs(self) -> np.ndarray:
        return full_covariances(self.covs)


def full_covariances(covs: np.ndarray) -> np.ndarray:
    """(K, D, D) covariance matrices from diagonal variances (K, D) or full ones."""
    covs = np.asarray(covs, dtype=np.float64)
    if covs.ndim == 2:
        return np.einsum("kd,de->kde", covs, np.eye(covs.shape[1]))
    return covs


def m_step(x: np.ndarray, resp: np.ndarray, covariance: str = "diag") -> GMM:
    """Maximum-likelihood weights, means and covariances for responsibilities resp (n, K)."""
    nk = resp.sum(0) + 1e-12
    means = resp.T @ x / nk[:, None]
    d = x[None, :, :] - means[:, None, :]                             # (K, n, D)
    if covariance == "diag":
        covs = np.einsum("nk,knd->kd", resp, d * d) / nk[:, None] + VAR_FLOOR
    else:
        covs = np.einsum("nk,knd,kne->kde", resp, d, d) / nk[:, None, None]
        covs += VAR_FLOOR * np.eye(x.shape[1])
    return GMM(nk / nk.sum(), means, covs)


def dirichlet_init(x: np.ndarray, k: int, rng: np.random.Generator, covariance: str = "diag") -> GMM:
    """Random Dirichlet(1) responsibilities per point, then one M-step (a deliberately poor start, so the fit has work to do)."""
    return m_step(x, rng.dirichlet(np.ones(k), len(x)), covariance)


def log_likelihood(x: np.ndarray, gmm: GMM) -> np.ndarray:
    """log p(x_i) under the mixture, (n,)."""
    d = x.shape[1]
    diff = x[None, :, :] - gmm.means[:, None, :]                      # (K, n, D)
    if gmm.covs.ndim == 2:                                            # diagonal: no matrix algebra
        maha = (diff * diff / gmm.covs[:, None, :]).sum(-1)
        logdet = np.log(gmm.covs).sum(-1)
    else:
        maha = ((diff @ np.linalg.inv(gmm.covs)) * diff).sum(-1)     # (K, n)
        logdet = np.linalg.slogdet(gmm.covs)[1]
    logp = -0.5 * (maha + logdet[:, None] + d * math.log(2 * math.pi))
    with np.errstate(divide="ignore"):
        a = logp + np.log(gmm.weights)[:, None]
    top = a.max(0)                                                   # log-sum-exp over components
    return top + np.log(np.exp(a - top).sum(0))


def mean_nll(x: np.ndarray, gmm: GMM) -> float:
    """Mean negative log-likelihood per point (nats)."""
    return float(-log_likelihood(x, gmm).mean())


def em_fit(x: np.ndarray, k: int, covariance: str = "diag", seed: int = 0, n_init: int = 3,
           tol: float = 1e-6, max_iter: int = 5000, max_points: int | None = None) -> GMM:
    """The maximum-likelihood reference: scikit-learn's EM (k-means start, a few restarts, run to tol).

    With max_points, EM sees at most that many points (a random subset), to bound its time on big data.
    """
    if max_points is not None and len(x) > max_points:
        x = x[np.random.default_rng(seed).choice(len(x), max_points, replace=False)]
    gm = GaussianMixture(k, covariance_type=covariance, n_init=n_init, random_state=seed, reg_covar=VAR_FLOOR,
                         tol=tol, max_iter=max_iter)
    # One BLAS/OpenMP thread: these matrices are too small for a pool to split the work, so its threads
    # only wait on each other, and on a busy machine they wait for cores the other processes hold.
    with threadpool_limits(1):
        gm.fit(x)
    return GMM(gm.weights_.copy(), gm.means_.copy(), gm.covariances_.copy())


def ellipse_polyline(means: np.ndarray, covs: np.ndarray, scales=1.0, n: int = 64) -> np.ndarray:
    """Points (K·(n+1), 2) of each component's scale-σ ellipse, separated by NaN rows.

    One array for all ellipses, drawn with a single curve (connect="finite"). `scales` is a number or (K,).
    """
    covs = full_covariances(covs)
    k = len(means)
    if k == 0:
        return np.zeros((0, 2))
    vals, vecs = np.linalg.eigh(covs)                                  # Σ = V diag(λ) Vᵀ
    t = np.linspace(0.0, 2.0 * math.pi, n)
    circle = np.stack([np.cos(t), np.sin(t)], 0)                       # (2, n)
    axes = vecs * np.sqrt(np.clip(vals, 0.0, None))[:, None, :]        # columns scaled by σ
    pts = np.einsum("kde,en->knd", axes, circle)
    pts = pts * np.broadcast_to(np.asarray(scales, dtype=np.float64), (k,))[:, None, None] + means[:, None, :]
    out = np.full((k, n + 1, 2), np.nan)
    out[:, :n] = pts
    return out.reshape(-1, 2)
