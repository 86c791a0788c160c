"""Perplexity-calibrated input affinities of t-SNE, on a k-nearest-neighbour graph.

Efficient Algorithms for t-distributed Stochastic Neighborhood Embedding: the input similarities are
Gaussian conditionals restricted to the $k = 3 \\cdot$ perplexity nearest neighbours of each point, each
with its own bandwidth found by bisection so that the conditional's perplexity matches the target, then
symmetrised into a sparse joint distribution $P$.
"""

from __future__ import annotations

import math

import torch

from paperlab._checks import check_positive, check_tensor
from paperlab.metrics._nearest_neighbours import knn_search


def perplexity_conditionals(
    sq_distances: torch.Tensor, perplexity: float, tol: float = 1e-5, max_iter: int = 100
) -> torch.Tensor:
    r"""Gaussian conditionals over each point's neighbours, with the bandwidth set by the perplexity.

    $p_{j|i} = \exp(-\beta_i d_{ij}^2) / \sum_l \exp(-\beta_i d_{il}^2)$, with $\beta_i$ found by bisection
    (doubling or halving until the target is bracketed) so that the entropy
    $H_i = -\sum_j p_{j|i} \log p_{j|i}$ equals $\log(\text{perplexity})$ within ``tol``. All rows are
    searched at once; a row stops moving once it has converged.

    Args:
        sq_distances: (n, k) squared distances from each point to its k neighbours.
        perplexity: target perplexity, > 0.
        tol: tolerance on the entropy (nats).
        max_iter: bisection steps at most.

    Returns:
        (n, k) conditionals in float64-accurate values and ``sq_distances``' dtype; every row sums to 1.
    """
    check_tensor("sq_distances", sq_distances, dim=2, floating=True)
    check_positive("perplexity", perplexity)
    check_positive("tol", tol)
    check_positive("max_iter", max_iter, integer=True)
    if bool((sq_distances < 0).any()):
        raise ValueError("sq_distances must be non-negative")
    d = sq_distances.to(torch.float64)
    d = d - d.min(dim=1, keepdim=True).values  # the shift cancels in p_{j|i}; it only avoids underflow
    n = d.shape[0]
    target = math.log(perplexity)
    beta = torch.ones(n, dtype=torch.float64, device=d.device)
    beta_low = torch.full_like(beta, -math.inf)
    beta_high = torch.full_like(beta, math.inf)
    active = torch.ones(n, dtype=torch.bool, device=d.device)
    for _ in range(max_iter):
        logits = -d * beta[:, None]  # (n, k)
        p = torch.softmax(logits, dim=1)
        entropy = torch.logsumexp(logits, dim=1) + beta * (d * p).sum(dim=1)
        excess = entropy - target
        active = active & (excess.abs() > tol)
        if not bool(active.any()):
            break
        too_flat = active & (excess > 0)  # entropy too high: narrow the Gaussian (larger beta)
        too_sharp = active & (excess <= 0)
        beta_low = torch.where(too_flat, beta, beta_low)
        beta_high = torch.where(too_sharp, beta, beta_high)
        grow = torch.where(torch.isinf(beta_high), beta * 2, (beta + beta_high) / 2)
        shrink = torch.where(torch.isinf(beta_low), beta / 2, (beta + beta_low) / 2)
        beta = torch.where(too_flat, grow, torch.where(too_sharp, shrink, beta))
    return torch.softmax(-d * beta[:, None], dim=1).to(sq_distances.dtype)


def tsne_affinities(
    X: torch.Tensor, perplexity: float = 30.0, n_neighbors: int | None = None
) -> torch.Tensor:
    r"""Sparse symmetric t-SNE affinities $P$ from the exact k-nearest-neighbour graph of ``X``.

    $p_{ij} = (p_{j|i} + p_{i|j}) / (2n)$, where $p_{j|i}$ (:func:`perplexity_conditionals`) is zero outside
    the $k$ nearest neighbours of $i$; $\sum_{ij} p_{ij} = 1$.

    Args:
        X: (n, D) input points.
        perplexity: target perplexity, 0 < perplexity < n.
        n_neighbors: k; default ``min(n - 1, int(3 * perplexity))``.

    Returns:
        (n, n) coalesced sparse COO tensor on X's device, in X's dtype, symmetric, summing to 1.
    """
    check_tensor("X", X, dim=2, floating=True)
    n = X.shape[0]
    if n < 2:
        raise ValueError(f"X must have at least 2 rows, got shape {tuple(X.shape)}")
    check_positive("perplexity", perplexity)
    if perplexity >= n:
        raise ValueError(f"perplexity must be < n_samples = {n}, got {perplexity}")
    if n_neighbors is None:
        n_neighbors = max(1, min(n - 1, int(3 * perplexity)))
    check_positive("n_neighbors", n_neighbors, integer=True)
    if n_neighbors >= n:
        raise ValueError(f"n_neighbors must be < n_samples = {n}, got {n_neighbors}")
    with torch.no_grad():
        distances, neighbours = knn_search(X.detach(), n_neighbors)  # (n, k), (n, k)
        conditionals = perplexity_conditionals(distances * distances, perplexity)
        return symmetrize_conditionals(conditionals, neighbours)


def symmetrize_conditionals(conditionals: torch.Tensor, neighbours: torch.Tensor) -> torch.Tensor:
    r"""Joint $P = (C + C^\top) / \sum (C + C^\top)$ from row-wise conditionals on a neighbour graph.

    Args:
        conditionals: (n, k) $p_{j|i}$ for the neighbours of each row.
        neighbours: (n, k) int64 column index of each conditional.

    Returns:
        (n, n) coalesced sparse COO tensor, symmetric, summing to 1.
    """
    check_tensor("conditionals", conditionals, dim=2, floating=True)
    check_tensor("neighbours", neighbours, dim=2)
    if neighbours.shape != conditionals.shape:
        raise ValueError(
            f"neighbours must have the shape of conditionals {tuple(conditionals.shape)}, "
            f"got {tuple(neighbours.shape)}"
        )
    n, k = conditionals.shape
    rows = torch.arange(n, device=conditionals.device).repeat_interleave(k)  # (n k,)
    cols = neighbours.reshape(-1)  # (n k,)
    values = conditionals.reshape(-1)  # (n k,)
    indices = torch.stack([torch.cat([rows, cols]), torch.cat([cols, rows])])  # (2, 2 n k)
    joint = torch.sparse_coo_tensor(indices, torch.cat([values, values]), (n, n), check_invariants=False)
    joint = joint.coalesce()
    total = joint.values().sum().clamp_min(torch.finfo(conditionals.dtype).tiny)
    values = joint.values() / total
    return torch.sparse_coo_tensor(joint.indices(), values, (n, n), is_coalesced=True, check_invariants=False)
