"""How well an embedding keeps each point's neighbours: trustworthiness and kNN preservation.

Both compare the k nearest neighbours of every point in the original space X with those in the
embedding Y (Euclidean distances, the point itself excluded). Distances are computed in row blocks,
never as an n x n matrix, on whatever device the inputs live on.
"""

from __future__ import annotations

import torch

from paperlab._checks import check_positive, check_tensor
from paperlab.metrics._nearest_neighbours import default_block_size, knn_search, pairwise_distance_block


def _check_pair(X, Y, k: int, name: str) -> None:
    check_tensor("X", X, dim=2, floating=True)
    check_tensor("Y", Y, dim=2, floating=True)
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"X and Y must hold the same points, got {X.shape[0]} and {Y.shape[0]} rows")
    if X.device != Y.device:
        raise ValueError(f"X and Y must be on the same device, got {X.device} and {Y.device}")
    check_positive(name, k, integer=True)


def trustworthiness(X: torch.Tensor, Y: torch.Tensor, n_neighbors: int = 5) -> torch.Tensor:
    """Trustworthiness: how few of an embedding's neighbours are intruders from far away in X.

    $$T(k) = 1 - \\frac{2}{n k (2n - 3k - 1)} \\sum_{i=1}^n \\sum_{j \\in U_i^k} (r(i, j) - k)$$
    where $U_i^k$ are the k nearest neighbours of i in Y that are not among its k nearest in X, and
    r(i, j) is the rank of j among i's neighbours in X (1 = nearest). T = 1 when every embedded
    neighbourhood is a true one. Equals ``sklearn.manifold.trustworthiness(X, Y, n_neighbors=k)``
    (Euclidean); with tied distances in X, the tied points share the lowest rank here.

    Args:
        X: (n, D) original points.
        Y: (n, d) embedded points, same order.
        n_neighbors: k, with k < n / 2.

    Returns:
        0-dim tensor in [0, 1] (X's dtype and device).

    Paper: Neighborhood Preservation in Nonlinear Projection Methods: An Experimental Study (2001).
    """
    _check_pair(X, Y, n_neighbors, "n_neighbors")
    X, Y = X.detach(), Y.detach()  # ranks only: nothing to differentiate
    n, k = X.shape[0], n_neighbors
    if k >= n / 2:
        raise ValueError(f"n_neighbors must be < n_samples / 2 = {n / 2}, got {k}")
    _, embedded_neighbours = knn_search(Y, k)  # (n, k)
    block_size = default_block_size(n, n)
    # reused sort buffers keep the CPU heap from fragmenting over many large blocks
    ascending = X.new_empty(min(block_size, n), n)
    order = torch.empty(ascending.shape, dtype=torch.long, device=X.device)
    penalty = torch.zeros((), dtype=X.dtype, device=X.device)
    for start in range(0, n, block_size):
        distances = pairwise_distance_block(X[start : start + block_size], X)  # (b, n)
        b = len(distances)
        own = torch.arange(b, device=X.device)
        distances[own, start + own] = float("inf")  # i is not its own neighbour
        to_embedded = torch.gather(distances, 1, embedded_neighbours[start : start + block_size])  # (b, k)
        torch.sort(distances, dim=1, out=(ascending[:b], order[:b]))
        del distances
        ranks = torch.searchsorted(ascending[:b], to_embedded) + 1  # (b, k): rank of j among i's neighbours
        penalty = penalty + (ranks - k).clamp(min=0).sum().to(X.dtype)
    return 1 - penalty * 2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0))


def knn_preservation(X: torch.Tensor, Y: torch.Tensor, k: int = 10) -> torch.Tensor:
    """Mean fraction of each point's k nearest neighbours in X that stay among its k nearest in Y.

    $$Q(k) = \\frac{1}{n k} \\sum_{i=1}^n |N_k^X(i) \\cap N_k^Y(i)|$$
    1 when every neighbourhood is kept, about k / (n - 1) for an unrelated embedding.

    Args:
        X: (n, D) original points.
        Y: (n, d) embedded points, same order.
        k: number of neighbours, 1 <= k < n.

    Returns:
        0-dim tensor in [0, 1] (X's dtype and device).
    """
    _check_pair(X, Y, k, "k")
    if k >= X.shape[0]:
        raise ValueError(f"k must be < n_samples = {X.shape[0]}, got {k}")
    X, Y = X.detach(), Y.detach()  # neighbour sets only: nothing to differentiate
    _, original = knn_search(X, k)  # (n, k)
    _, embedded = knn_search(Y, k)  # (n, k)
    embedded = torch.sort(embedded, dim=1).values  # (n, k), so membership is a binary search
    position = torch.searchsorted(embedded, original).clamp(max=k - 1)  # (n, k)
    shared = torch.gather(embedded, 1, position) == original  # (n, k): neighbour kept in Y
    return shared.sum().to(X.dtype) / (X.shape[0] * k)
