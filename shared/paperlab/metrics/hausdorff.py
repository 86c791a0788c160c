"""The Hausdorff distance between two point sets, computed in blocks.

$$d_H(X, Y) = \\max\\Big(\\max_{x \\in X} \\min_{y \\in Y} \\lVert x - y\\rVert,\\;
  \\max_{y \\in Y} \\min_{x \\in X} \\lVert x - y\\rVert\\Big)$$

With dense surface samples of two meshes it approximates their point-to-surface Hausdorff distance, the
accuracy measure of "Diffeomorphic Mesh Deformation via Efficient Optimal Transport for Cortical Surface
Reconstruction" (2023).
"""

from __future__ import annotations

import torch

from paperlab._checks import check_positive
from paperlab.distances.sliced import check_point_clouds


def directed_hausdorff(X, Y, block_size: int = 2048) -> torch.Tensor:
    """max_{x in X} min_{y in Y} ||x - y|| for X (n, d), Y (m, d) (SciPy's ``directed_hausdorff``); a scalar."""
    check_point_clouds(X, Y)
    if X.dim() != 2:
        raise ValueError(f"X and Y must be unbatched (n, d) sets, got shape {tuple(X.shape)}")
    check_positive("block_size", block_size, integer=True)
    nearest = [
        torch.cdist(X[start : start + block_size], Y).min(dim=1).values  # (b,)
        for start in range(0, X.shape[0], block_size)
    ]
    return torch.cat(nearest).max()


def hausdorff_distance(X, Y, block_size: int = 2048) -> torch.Tensor:
    """Symmetric Hausdorff distance max(d(X -> Y), d(Y -> X)) between (n, d) and (m, d) sets; a scalar."""
    return torch.maximum(directed_hausdorff(X, Y, block_size), directed_hausdorff(Y, X, block_size))
