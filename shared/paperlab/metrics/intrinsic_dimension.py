"""Intrinsic dimension of a point cloud from nearest-neighbour distances: TwoNN and the Levina-Bickel MLE.

Both estimators read only the distances from each point to its first few neighbours, which on a
d-dimensional manifold with locally uniform density scale like r ~ (rank)^(1/d). They follow the
semantics of scikit-dimension (``skdim.id.TwoNN`` and ``skdim.id.MLE`` with their defaults); the
differences are listed in each docstring. Neighbours come from a blocked exact search in torch
(no n x n matrix), so both run on whatever device ``X`` lives on.

Duplicated points have a zero nearest-neighbour distance, which makes both estimators undefined
(log 0). They are rejected with a ValueError; remove them first, e.g. ``torch.unique(X, dim=0)``.
"""

from __future__ import annotations

import torch

from paperlab._checks import check_choice, check_positive, check_tensor
from paperlab.metrics._nearest_neighbours import knn_search


def _check_points(X, min_points: int) -> torch.Tensor:
    check_tensor("X", X, dim=2, floating=True)
    if X.shape[0] < min_points:
        raise ValueError(f"X must hold at least {min_points} points, got shape {tuple(X.shape)}")
    return X


def _check_no_duplicates(nearest: torch.Tensor) -> None:
    n_duplicates = int((nearest == 0).sum())
    if n_duplicates:
        raise ValueError(
            f"X has {n_duplicates} points at distance 0 from another point (duplicates); the estimators "
            "are undefined there: remove them first, e.g. torch.unique(X, dim=0)"
        )


def twonn(X: torch.Tensor, discard_fraction: float = 0.1, method: str = "linear") -> torch.Tensor:
    """TwoNN intrinsic dimension from the ratio of second to first nearest-neighbour distances.

    With mu_i = r_2(i) / r_1(i), a locally uniform density on a d-manifold gives the Pareto law
    $F(\\mu) = 1 - \\mu^{-d}$, so $-\\log(1 - F(\\mu)) = d \\log \\mu$. The N ratios are sorted, the
    largest ``discard_fraction`` are dropped and, for the k = int(N (1 - discard_fraction)) kept,

    - ``method="linear"`` (the paper's fit, scikit-dimension's default): the least-squares slope
      through the origin of $y_i = -\\log(1 - i/N)$ against $x_i = \\log \\mu_{(i)}$,
      $\\hat d = \\sum_i x_i y_i / \\sum_i x_i^2$;
    - ``method="mle"``: the unbiased maximum-likelihood estimate under type-II censoring,
      $\\hat d = (k - 1) / (\\sum_{i \\le k} \\log \\mu_{(i)} + (N - k) \\log \\mu_{(k)})$.

    Matches ``skdim.id.TwoNN(discard_fraction, method=...)``. Differences: duplicates raise instead of
    being dropped with a warning; with ``method="linear"`` and ``discard_fraction=0`` the largest ratio
    (whose empirical CDF is 1, so y = inf) is left out of the fit instead of producing inf.

    Args:
        X: (n, D) floating-point points, n >= 3, no duplicates.
        discard_fraction: fraction of the largest ratios to discard, in [0, 1).
        method: "linear" or "mle".

    Returns:
        0-dim tensor on X's device and dtype: the estimated dimension.

    Paper: Estimating the intrinsic dimension of datasets by a minimal neighborhood information (2017).
    """
    _check_points(X, 3)
    check_choice("method", method, {"linear", "mle"})
    if isinstance(discard_fraction, bool) or not isinstance(discard_fraction, (int, float)):
        raise TypeError(f"discard_fraction must be a number, got {discard_fraction!r}")
    if not 0 <= discard_fraction < 1:
        raise ValueError(f"discard_fraction must lie in [0, 1), got {discard_fraction!r}")
    distances, _ = knn_search(X, 2)  # (n, 2)
    _check_no_duplicates(distances[:, 0])
    n = X.shape[0]
    n_keep = int(n * (1 - discard_fraction))
    if n_keep < 2:
        raise ValueError(
            f"discard_fraction={discard_fraction!r} leaves {n_keep} of {n} ratios; need at least 2"
        )
    log_mu = torch.sort(torch.log(distances[:, 1] / distances[:, 0])).values[:n_keep]  # (n_keep,)
    if method == "mle":
        return (n_keep - 1) / (log_mu.sum() + (n - n_keep) * log_mu[-1])
    empirical_cdf = torch.arange(1, n_keep + 1, device=X.device, dtype=X.dtype) / n
    if n_keep == n:  # F = 1 at the largest ratio: -log(0) is infinite, leave that point out
        log_mu, empirical_cdf = log_mu[:-1], empirical_cdf[:-1]
    y = -torch.log1p(-empirical_cdf)
    return (log_mu * y).sum() / (log_mu * log_mu).sum()


def mle_levina_bickel(
    X: torch.Tensor, k: int = 20, average: str = "harmonic", unbiased: bool = False
) -> torch.Tensor:
    """Levina-Bickel maximum-likelihood intrinsic dimension from the k nearest-neighbour distances.

    At each point, with $T_j$ the distance to its j-th neighbour, the local estimate is
    $$\\hat m_k(x) = \\Big[\\frac{1}{k - 1} \\sum_{j=1}^{k-1} \\log \\frac{T_k(x)}{T_j(x)}\\Big]^{-1}$$
    (numerator k - 2 instead of k - 1 with ``unbiased=True``). The local estimates are combined by

    - ``average="harmonic"`` (default): $\\hat m = [\\frac1n \\sum_x \\hat m_k(x)^{-1}]^{-1}$, the
      inverse of the averaged inverses, MacKay and Ghahramani's correction, which averages the
      unbiased-ish quantities $1/\\hat m_k$; scikit-dimension's default ``comb="mle"``;
    - ``average="mean"``: the plain average of the paper; ``"median"``; ``"none"``: the (n,) local
      estimates.

    Matches ``skdim.id.MLE()`` (no noise model) with ``n_neighbors=k`` and ``comb`` = average
    ("harmonic" is its "mle"). Differences: duplicates raise instead of returning 0; only the
    neighbourhood-based, noise-free variant is offered.

    Args:
        X: (n, D) floating-point points, n > k, no duplicates.
        k: number of neighbours, k >= 2 (k >= 3 with ``unbiased=True``).
        average: "harmonic", "mean", "median" or "none".
        unbiased: use k - 2 in the numerator.

    Returns:
        0-dim tensor (n-vector for ``average="none"``) on X's device and dtype.

    Paper: Maximum Likelihood Estimation of Intrinsic Dimension (2004).
    """
    check_positive("k", k, integer=True)
    check_choice("average", average, {"harmonic", "mean", "median", "none"})
    if not isinstance(unbiased, bool):
        raise TypeError(f"unbiased must be a bool, got {unbiased!r}")
    smallest_k = 3 if unbiased else 2
    if k < smallest_k:
        raise ValueError(f"k must be >= {smallest_k} (unbiased={unbiased}), got {k}")
    _check_points(X, k + 1)
    distances, _ = knn_search(X, k)  # (n, k), ascending
    _check_no_duplicates(distances[:, 0])
    log_ratios = torch.log(distances[:, -1:] / distances[:, :-1])  # (n, k - 1): log T_k / T_j
    numerator = k - 2 if unbiased else k - 1
    local = numerator / log_ratios.sum(dim=1)  # (n,); inf where all k neighbours are equidistant
    if average == "none":
        return local
    if average == "mean":
        return local.mean()
    if average == "median":
        return torch.quantile(local, 0.5)  # the midpoint for even n, as numpy's median
    return 1.0 / (1.0 / local).mean()
