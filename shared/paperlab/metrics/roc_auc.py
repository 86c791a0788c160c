r"""Area under the ROC curve of binary scores, by the rank-sum (Mann-Whitney) statistic.

The evaluation metric of click-through-rate prediction, e.g. in "Unified Low-rank Compression Framework
for Click-through Rate Prediction" (2024): the probability that a random positive is scored above a random
negative, ties counting one half.
"""

from __future__ import annotations

import torch

from paperlab._checks import check_tensor


def roc_auc(scores: torch.Tensor, targets: torch.Tensor) -> float:
    r"""ROC-AUC of ``scores`` for binary ``targets``.

    .. math:: \mathrm{AUC} = \frac{\sum_{i: y_i = 1} \mathrm{rank}(s_i) - n_+ (n_+ + 1)/2}{n_+ n_-}

    with average ranks for tied scores (ranks start at 1).

    Args:
        scores: (n,) real scores (logits or probabilities; any increasing transform gives the same AUC).
        targets: (n,) labels in {0, 1} (bool, int or float).

    Returns:
        the AUC in [0, 1], as a Python float.
    """
    check_tensor("scores", scores, dim=1, floating=True)
    check_tensor("targets", targets, dim=1)
    if targets.shape != scores.shape:
        raise ValueError(
            f"targets must have the shape of scores {tuple(scores.shape)}, got {tuple(targets.shape)}"
        )
    positive = targets.to(torch.float64)
    if not bool(((positive == 0) | (positive == 1)).all()):
        raise ValueError("targets must contain only 0 and 1")
    n_pos = positive.sum()
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("targets must contain both classes")
    values, inverse, counts = torch.unique(scores.to(torch.float64), return_inverse=True, return_counts=True)
    ends = counts.cumsum(0).to(torch.float64)  # last rank of each distinct score
    average_rank = ends - (counts.to(torch.float64) - 1) / 2  # (distinct,)
    rank_sum = (average_rank[inverse] * positive).sum()
    return ((rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)).item()
