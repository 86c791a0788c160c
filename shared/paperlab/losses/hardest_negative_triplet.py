r"""Bidirectional hinge loss with the hardest in-batch negative (the VSE++ ranking loss).

Used as the training loss of "GSSF: Generalized Structural Sparse Function for Deep Cross-modal
Metric Learning (2024)". Unlike the label-based metric losses of this package it takes a square
score matrix between two paired views, where pair ``i`` is ``(query i, candidate i)``.
"""

from __future__ import annotations

import torch
from torch import nn

from paperlab._checks import check_positive, check_reduction, check_tensor, reduce


def hardest_negative_triplet_loss(
    scores: torch.Tensor, margin: float = 0.2, hardest: bool = True, reduction: str = "mean"
) -> torch.Tensor:
    r"""Hinge on the hardest negative candidate of each query and hardest negative query of each candidate.

    .. math:: \ell_i = \max_{j \ne i} [\alpha + s_{ij} - s_{ii}]_+ + \max_{j \ne i} [\alpha + s_{ji} - s_{ii}]_+

    With ``hardest=False`` the maxima become sums over all negatives (the older sum-of-hinges loss).
    Ties in the maximum send the gradient to one of the tied entries, as ``torch.max`` does.

    Args:
        scores: (B, B) similarities, B >= 2; ``scores[i, j]`` compares query i with candidate j and
            the diagonal holds the matching pairs.
        margin: :math:`\alpha \ge 0`.
        hardest: use the hardest negative (True) or the sum over negatives (False).
        reduction: 'mean' (default here), 'sum' (the original VSE++ setting) or 'none'.

    Returns:
        A scalar, or (B,) per-pair losses with ``reduction='none'``.
    """
    check_tensor("scores", scores, dim=2, floating=True)
    size = scores.shape[0]
    if scores.shape[1] != size or size < 2:
        raise ValueError(f"scores must be a square (B, B) matrix with B >= 2, got {tuple(scores.shape)}")
    check_positive("margin", margin, allow_zero=True)
    check_reduction(reduction)
    positives = scores.diagonal()  # (B,)
    is_positive = torch.eye(size, dtype=torch.bool, device=scores.device)  # (B, B)
    if hardest:
        # max_j [a_j]_+ = [max_j a_j]_+, so only the largest negative score of each row and column is needed.
        negatives = scores.masked_fill(is_positive, float("-inf"))  # (B, B)
        losses = (margin + negatives.max(dim=1).values - positives).clamp_min(0) + (
            margin + negatives.max(dim=0).values - positives
        ).clamp_min(0)
    else:
        candidate_costs = (margin + scores - positives[:, None]).clamp_min(0).masked_fill(is_positive, 0)
        query_costs = (margin + scores - positives[None, :]).clamp_min(0).masked_fill(is_positive, 0)
        losses = candidate_costs.sum(dim=1) + query_costs.sum(dim=0)
    return reduce(losses, reduction)


class HardestNegativeTripletLoss(nn.Module):
    """Module form of :func:`hardest_negative_triplet_loss` (same arguments)."""

    def __init__(self, margin: float = 0.2, hardest: bool = True, reduction: str = "mean"):
        super().__init__()
        check_positive("margin", margin, allow_zero=True)
        check_reduction(reduction)
        self.margin, self.hardest, self.reduction = margin, hardest, reduction

    def forward(self, scores: torch.Tensor) -> torch.Tensor:
        return hardest_negative_triplet_loss(scores, self.margin, self.hardest, self.reduction)
