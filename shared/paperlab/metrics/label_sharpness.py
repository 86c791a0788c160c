r"""Label sharpness: the empirical Lipschitz constant of the labels as a function of the inputs.

"The Effect of Intrinsic Dataset Properties on Generalization: Unraveling Learning Differences Between
Natural and Medical Images (2024)" measures how abruptly labels change between nearby images and
finds that datasets with sharper labels generalize worse at equal intrinsic dimension and are less
robust to adversarial attacks.
"""

from __future__ import annotations

import torch

from paperlab._checks import check_positive, check_tensor
from paperlab.metrics._nearest_neighbours import default_block_size

CANDIDATES = 8  # pairs per row recomputed exactly after the matrix-product ranking


def label_sharpness(X: torch.Tensor, y: torch.Tensor, block_size: int | None = None) -> torch.Tensor:
    r"""Largest label change per unit of input distance over all pairs of points.

    .. math:: \hat K_F = \max_{j \ne k} \frac{|y_j - y_k|}{\|x_j - x_k\|_2}

    For binary labels this is one over the smallest distance between two differently labelled points.
    Pairs are scanned in row blocks (no n x n matrix is held), on the device of ``X``: in each row the
    pairs are ranked by a matrix-product distance of the centred points, and the 8 best are recomputed
    exactly from coordinate differences, so the result carries no cancellation error. Inputs with more
    than one non-batch axis (images) are flattened.

    Args:
        X: (n, ...) inputs, n >= 2.
        y: (n,) labels (integer or real), on the device of ``X``.
        block_size: rows per block (default: about 4 M distance entries per block).

    Returns:
        Scalar tensor :math:`\hat K_F \ge 0` in ``X``'s dtype: 0 when all labels are equal, inf when two
        identical inputs carry different labels.
    """
    check_tensor("X", X, min_dim=2, floating=True)
    check_tensor("y", y, dim=1)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y must have one label per row of X ({X.shape[0]}), got shape {tuple(y.shape)}")
    if y.device != X.device:
        raise ValueError(f"y must be on X's device {X.device}, got {y.device}")
    if X.shape[0] < 2:
        raise ValueError(f"X must hold at least 2 points, got shape {tuple(X.shape)}")
    if block_size is not None:
        check_positive("block_size", block_size, integer=True)
    points = X.reshape(X.shape[0], -1)  # (n, D)
    labels = y.to(points.dtype)  # (n,)
    n = points.shape[0]
    block_size = block_size or default_block_size(n, n)
    n_candidates = min(CANDIDATES, n)
    centred = points - points.mean(0)  # (n, D): less cancellation in the matrix-product distances
    squared_norms = (centred * centred).sum(1)  # (n,)
    best = torch.zeros((), dtype=points.dtype, device=points.device)
    for start in range(0, n, block_size):
        rows = slice(start, min(start + block_size, n))
        # rank all pairs of the block by an approximate squared ratio (one matrix product) ...
        squared = squared_norms[rows, None] + squared_norms[None, :] - 2 * centred[rows] @ centred.T  # (b, n)
        changes = (labels[rows, None] - labels[None, :]).abs()  # (b, n)
        scores = changes.square().div_(squared.clamp_min_(0))  # (b, n); 0/0 = NaN on equal labels
        scores = torch.nan_to_num_(scores, nan=0.0, posinf=torch.finfo(scores.dtype).max)
        candidates = scores.topk(n_candidates, dim=1).indices  # (b, c)
        # ... and recompute the best candidates exactly, from coordinate differences
        distances = (points[rows, None, :] - points[candidates]).norm(dim=-1)  # (b, c)
        candidate_changes = changes.gather(1, candidates)  # (b, c)
        ratios = torch.where(
            candidate_changes > 0, candidate_changes / distances, torch.zeros_like(distances)
        )
        best = torch.maximum(best, ratios.max())
    return best
