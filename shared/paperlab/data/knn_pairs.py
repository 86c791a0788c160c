"""Positive pairs from a k-nearest-neighbour graph: each point with one of its k nearest neighbours.

TLDR: Twin Learning for Dimensionality Reduction (2022) replaces the hand-crafted augmentations of
self-supervised learning by neighbours: the "two views" of a point are the point itself and one of its
k nearest neighbours in the input space, drawn afresh at every step. The graph is exact and computed in
row blocks (never an n x n matrix), on the device of the input.
"""

from __future__ import annotations

import torch

from paperlab._checks import check_positive, check_tensor
from paperlab._random import as_generator
from paperlab.metrics._nearest_neighbours import knn_search


def knn_neighbours(X: torch.Tensor, k: int, block_size: int | None = None) -> torch.Tensor:
    r"""Indices of the k nearest neighbours of every point (Euclidean, the point itself excluded).

    $N_k(i) = \arg\min_{|S| = k,\, i \notin S} \sum_{j \in S} \|x_i - x_j\|$, sorted nearest first.

    Args:
        X: (n, D) points, n > k.
        k: number of neighbours, >= 1.
        block_size: rows per distance block (default: about 4 M distance entries per block).

    Returns:
        (n, k) int64 indices on X's device, nearest first.
    """
    check_tensor("X", X, dim=2, floating=True)
    check_positive("k", k, integer=True)
    if k >= X.shape[0]:
        raise ValueError(f"k must be < n_samples = {X.shape[0]}, got {k}")
    if block_size is not None:
        check_positive("block_size", block_size, integer=True)
    with torch.no_grad():
        return knn_search(X.detach(), k, block_size=block_size)[1]


def knn_pairs(neighbours: torch.Tensor, anchors: torch.Tensor | None = None, generator=None) -> torch.Tensor:
    """For each anchor, one of its k nearest neighbours drawn uniformly at random.

    Args:
        neighbours: (n, k) int64 neighbour indices, as returned by :func:`knn_neighbours`.
        anchors: (m,) int64 indices of the anchor points in [0, n); all n points when None.
        generator: seed, ``torch.Generator`` or None (draws on the CPU, moved to the device).

    Returns:
        (m,) int64 partner indices on ``neighbours``' device: ``partner[b]`` is in ``neighbours[anchors[b]]``.
    """
    check_tensor("neighbours", neighbours, dim=2)
    if neighbours.dtype != torch.long:
        raise TypeError(f"neighbours must be an int64 tensor, got dtype {neighbours.dtype}")
    n, k = neighbours.shape
    if anchors is None:
        anchors = torch.arange(n, device=neighbours.device)
    check_tensor("anchors", anchors, dim=1)
    if anchors.dtype != torch.long:
        raise TypeError(f"anchors must be an int64 tensor, got dtype {anchors.dtype}")
    if int(anchors.min()) < 0 or int(anchors.max()) >= n:
        raise ValueError(
            f"anchors must lie in [0, {n}), got values in [{int(anchors.min())}, {int(anchors.max())}]"
        )
    choice = torch.randint(k, (len(anchors),), generator=as_generator(generator)).to(
        neighbours.device
    )  # (m,)
    return neighbours[anchors.to(neighbours.device), choice]  # (m,)


def knn_pair_batch(
    neighbours: torch.Tensor, batch_size: int, generator=None
) -> tuple[torch.Tensor, torch.Tensor]:
    """A training batch of (anchor, neighbour) index pairs: distinct random anchors, one random neighbour each.

    Args:
        neighbours: (n, k) int64 neighbour indices.
        batch_size: number of anchors, 1 <= batch_size <= n.
        generator: seed, ``torch.Generator`` or None.

    Returns:
        anchors (B,) and partners (B,), int64 on ``neighbours``' device.
    """
    check_tensor("neighbours", neighbours, dim=2)
    check_positive("batch_size", batch_size, integer=True)
    n = neighbours.shape[0]
    if batch_size > n:
        raise ValueError(f"batch_size must be <= n_samples = {n}, got {batch_size}")
    generator = as_generator(generator)
    anchors = torch.randperm(n, generator=generator)[:batch_size].to(neighbours.device)  # (B,)
    return anchors, knn_pairs(neighbours, anchors, generator=generator)
