r"""Equal error rate of verification trials: the operating point where false accepts equal false rejects."""

from __future__ import annotations

import torch

from paperlab._checks import check_tensor


def equal_error_rate(scores: torch.Tensor, targets: torch.Tensor) -> float:
    r"""Equal error rate (EER) of scored trials, higher score meaning "same identity".

    For a threshold :math:`\theta`, the false-acceptance rate is the fraction of non-target trials
    with score :math:`\ge \theta` and the false-rejection rate the fraction of target trials with
    score :math:`< \theta`. The EER is where the two curves cross; between two thresholds it is
    interpolated linearly, the usual convex-hull-free ROC estimate (the point where
    :math:`\text{FPR} = 1 - \text{TPR}` on the ROC polyline).

    Args:
        scores: (N,) trial scores, finite.
        targets: (N,) booleans (or 0/1 integers), True for same-identity trials; both kinds needed.

    Returns:
        The EER in [0, 1] as a float.
    """
    check_tensor("scores", scores, dim=1, floating=True)
    check_tensor("targets", targets, dim=1)
    if targets.shape != scores.shape:
        raise ValueError(
            f"targets must have the shape of scores {tuple(scores.shape)}, got {tuple(targets.shape)}"
        )
    if targets.is_floating_point() or not bool(((targets == 0) | (targets == 1)).all()):
        raise ValueError("targets must hold booleans or 0/1 integers")
    targets = targets.bool()
    n_target, n_nontarget = int(targets.sum()), int((~targets).sum())
    if n_target == 0 or n_nontarget == 0:
        raise ValueError(
            f"targets must hold both kinds of trial, got {n_target} target and {n_nontarget} non-target"
        )
    order = torch.argsort(scores, descending=True)
    sorted_scores, sorted_targets = scores[order].double(), targets[order].double()
    # ROC points after each distinct threshold (ties move together), starting at (0, 0).
    last_of_tie = torch.ones_like(sorted_scores, dtype=torch.bool)
    last_of_tie[:-1] = sorted_scores[1:] != sorted_scores[:-1]
    tpr = torch.cumsum(sorted_targets, 0)[last_of_tie] / n_target  # (K,)
    fpr = torch.cumsum(1 - sorted_targets, 0)[last_of_tie] / n_nontarget  # (K,)
    tpr, fpr = torch.cat([tpr.new_zeros(1), tpr]), torch.cat([fpr.new_zeros(1), fpr])  # (K + 1,)
    gap = fpr - (1 - tpr)  # FAR - FRR, increasing from -1 to 1
    k = int(torch.searchsorted(gap, torch.zeros(1, dtype=gap.dtype)).item())  # first index with gap >= 0
    if gap[k] == 0:
        return float(fpr[k])
    w = gap[k] / (gap[k] - gap[k - 1])  # weight of point k - 1 on the segment where the gap changes sign
    return float(w * fpr[k - 1] + (1 - w) * fpr[k])
