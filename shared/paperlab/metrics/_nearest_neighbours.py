"""Blocked exact k-nearest-neighbour search in torch, for the neighbourhood and dimension metrics.

No n x n matrix is ever held: rows are processed in blocks of ``block_size``, so n = 20,000 points
fit in a few hundred megabytes and the same code runs on a GPU.
"""

from __future__ import annotations

import torch

# about 4 M entries per block of distances: 16 MB in float32, 32 MB in float64 (small blocks stay
# closer to the cache and were faster on CPU than larger ones)
_BLOCK_ENTRIES = 2**22


def default_block_size(n_rows: int, n_columns: int) -> int:
    """Rows per block so that a block of distances holds about ``_BLOCK_ENTRIES`` entries."""
    return max(1, min(n_rows, _BLOCK_ENTRIES // max(n_columns, 1)))


def pairwise_distance_block(rows: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """Exact Euclidean distances from ``rows`` (b, D) to every point of ``X`` (n, D); returns (b, n).

    Computed from coordinate differences, so there is no cancellation error.
    """
    return torch.cdist(rows, X, compute_mode="donot_use_mm_for_euclid_dist")


def knn_search(X: torch.Tensor, k: int, block_size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` nearest neighbours of every point of ``X`` among the others (the point itself excluded).

    Candidates are ranked by $\\|y\\|^2 - 2 x \\cdot y$ (the squared distance less the row constant
    $\\|x\\|^2$, one matrix product on centred data); the winners' distances are then recomputed
    exactly from coordinate differences and re-sorted, so returned distances carry no cancellation
    error.

    Args:
        X: (n, D) points, n > k.
        k: number of neighbours.
        block_size: rows per block (default: about 4 M distance entries per block).

    Returns:
        distances (n, k), ascending per row, and the neighbours' indices (n, k).
    """
    n = X.shape[0]
    centred = X - X.mean(dim=0, keepdim=True)
    squared_norms = (centred * centred).sum(dim=1)  # (n,)
    block_size = block_size or default_block_size(n, n)
    # one buffer for every block: fresh ~30 MB blocks per iteration fragment the CPU heap (peak RSS
    # grew to gigabytes at n = 20,000 without it)
    buffer = X.new_empty(min(block_size, n), n, requires_grad=False)
    all_distances, all_indices = [], []
    for start in range(0, n, block_size):
        rows = centred[start : start + block_size]  # (b, D)
        with torch.no_grad():  # only the candidates' indices leave this block
            approx = buffer[: len(rows)]  # (b, n)
            torch.addmm(squared_norms[None, :], rows, centred.T, alpha=-2, out=approx)
            own = torch.arange(len(rows), device=X.device)
            approx[own, start + own] = float("inf")  # a point is not its own neighbour
            candidates = torch.topk(approx, k, dim=1, largest=False, sorted=False).indices  # (b, k)
        differences = centred[candidates] - rows[:, None, :]  # (b, k, D)
        distances, order = torch.sort(torch.linalg.vector_norm(differences, dim=-1), dim=1)
        all_distances.append(distances)
        all_indices.append(torch.gather(candidates, 1, order))
    return torch.cat(all_distances), torch.cat(all_indices)
