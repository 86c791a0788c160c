"""Laplacian score: an unsupervised feature-selection baseline that favours locality-preserving features.

From "Laplacian Score for Feature Selection (2005)", the baseline that "Quick and Robust Feature
Selection: the Strength of Energy-efficient Sparse Training for Autoencoders (2020)" compares against.
"""

from __future__ import annotations

import torch

from .._checks import check_positive, check_tensor


def laplacian_score(x: torch.Tensor, n_neighbors: int = 5, t: float | None = None) -> torch.Tensor:
    r"""Laplacian score of every feature (smaller is better).

    With a symmetric k-nearest-neighbour graph $S_{ij} = e^{-\lVert x_i - x_j \rVert^2 / t}$ (zero off the
    graph), $D = \mathrm{diag}(S\mathbf 1)$, $L = D - S$ and the centred feature
    $\tilde f = f - \frac{f^\top D \mathbf 1}{\mathbf 1^\top D \mathbf 1}\mathbf 1$,

    $$L_r = \frac{\tilde f^\top L \tilde f}{\tilde f^\top D \tilde f}.$$

    Args:
        x: data (n_samples, n_features), n_samples > n_neighbors.
        n_neighbors: neighbours per sample in the graph (i ~ j when either is among the other's k nearest).
        t: heat-kernel width > 0; None takes the mean squared distance over the graph's edges.

    Returns:
        Tensor (n_features,); a constant feature (zero denominator) scores +inf.
    """
    check_tensor("x", x, dim=2, floating=True)
    check_positive("n_neighbors", n_neighbors, integer=True)
    if x.shape[0] <= n_neighbors:
        raise ValueError(f"x must have more than n_neighbors={n_neighbors} rows, got {x.shape[0]}")
    if t is not None:
        check_positive("t", t)
    sq_dist = torch.cdist(x, x).square()  # (n, n)
    sq_dist.fill_diagonal_(float("inf"))
    neighbours = sq_dist.topk(n_neighbors, dim=1, largest=False).indices  # (n, k)
    adjacency = torch.zeros_like(sq_dist, dtype=torch.bool)
    adjacency.scatter_(1, neighbours, True)
    rows, cols = (adjacency | adjacency.T).nonzero(as_tuple=True)  # edges of the symmetric graph, (m,) each
    edge_sq_dist = sq_dist[rows, cols]  # (m,)
    if t is None:
        t = edge_sq_dist.mean().clamp_min(torch.finfo(x.dtype).tiny)
    edge_weight = torch.exp(-edge_sq_dist / t)  # S_ij on the edges, (m,)
    degree = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device).index_add_(0, rows, edge_weight)  # (n,)
    centred = x - (degree @ x) / degree.sum()  # (n, d)
    smoothed = torch.zeros_like(centred).index_add_(
        0, rows, edge_weight[:, None] * centred[cols]
    )  # S f, (n, d)
    denominator = (degree[:, None] * centred.square()).sum(dim=0)  # f^T D f, (d,)
    numerator = denominator - (centred * smoothed).sum(dim=0)  # f^T (D - S) f, (d,)
    constant = x.amax(dim=0) == x.amin(dim=0)  # (d,)
    score = numerator / torch.where(constant, torch.ones_like(denominator), denominator)
    return torch.where(constant, torch.full_like(score, float("inf")), score)
