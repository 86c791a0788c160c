r"""Cosine contrastive loss (CCL) and Bayesian personalised ranking (BPR) for implicit feedback.

From "SimpleX: A Simple and Strong Baseline for Collaborative Filtering" (2021). Each user :math:`u` of
a batch comes with one interacted (positive) item :math:`i` and :math:`K` sampled negative items
:math:`j \in N`. CCL pulls the positive's cosine towards 1 and pushes every negative's cosine below a
margin :math:`m`, with the negative part averaged and re-weighted by :math:`w`:

.. math:: \ell_u = \big(1 - \cos(u, i)\big) + \frac{w}{|N|} \sum_{j \in N} \max\big(0, \cos(u, j) - m\big).

BPR, the usual baseline, scores the same triples with a pairwise logistic loss, averaged here over the
sampled negatives (the paper's "BPR with many negatives"):

.. math:: \ell_u = -\frac{1}{|N|} \sum_{j \in N} \log \sigma\big(s(u, i) - s(u, j)\big).

Both take embeddings: ``user`` ``(B, D)``, ``positive`` ``(B, D)`` and ``negative`` ``(B, K, D)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from paperlab._checks import check_choice, check_positive, check_reduction, check_tensor, reduce

SIMILARITIES = ("dot", "cosine")
EPS = 1e-12  # the norm floor of F.normalize


def _check_triples(user, positive, negative) -> None:
    """(B, D) users, (B, D) positives and (B, K, D) negatives of one dtype and device."""
    check_tensor("user", user, dim=2, floating=True)
    check_tensor("positive", positive, dim=2, floating=True)
    check_tensor("negative", negative, dim=3, floating=True)
    if positive.shape != user.shape:
        raise ValueError(
            f"positive must have the shape of user {tuple(user.shape)}, got {tuple(positive.shape)}"
        )
    if negative.shape[0] != user.shape[0] or negative.shape[2] != user.shape[1]:
        raise ValueError(
            f"negative must have shape ({user.shape[0]}, K, {user.shape[1]}) to match user, "
            f"got {tuple(negative.shape)}"
        )
    for name, x in (("positive", positive), ("negative", negative)):
        if x.dtype != user.dtype or x.device != user.device:
            raise ValueError(
                f"{name} must have the dtype and device of user ({user.dtype}, {user.device}), "
                f"got ({x.dtype}, {x.device})"
            )


def _scores(user, positive, negative, similarity: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Positive scores (B,) and negative scores (B, K) under a dot or cosine similarity.

    Cosines divide the dot products by the norms (each clamped at ``EPS`` as ``F.normalize`` does)
    instead of normalising the (B, K, D) negatives, which would copy them.
    """
    positive_score = (user * positive).sum(dim=-1)  # (B,)
    negative_score = (user[:, None, :] * negative).sum(dim=-1)  # (B, K); faster than bmm for small D
    if similarity == "cosine":
        user_norm = user.norm(dim=-1).clamp_min(EPS)  # (B,)
        positive_score = positive_score / (user_norm * positive.norm(dim=-1).clamp_min(EPS))
        negative_score = negative_score / (user_norm[:, None] * negative.norm(dim=-1).clamp_min(EPS))
    return positive_score, negative_score


def cosine_contrastive_loss(
    user: torch.Tensor,
    positive: torch.Tensor,
    negative: torch.Tensor,
    margin: float = 0.8,
    negative_weight: float | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Cosine contrastive loss (CCL) of users against one positive and K negative items each.

    .. math:: \ell_u = \big(1 - \cos(u, i)\big) + \frac{w}{K} \sum_{j=1}^{K} \max\big(0, \cos(u, j) - m\big)

    ``negative_weight=None`` means :math:`w = K`, i.e. the negative terms are summed, not averaged (as in
    the authors' code). The positive term needs no clamp, since a cosine is at most 1.

    Args:
        user: (B, D) user embeddings.
        positive: (B, D) embeddings of one interacted item per user.
        negative: (B, K, D) embeddings of K sampled items per user.
        margin: :math:`m \in [-1, 1)`; negatives with a cosine below it cost nothing.
        negative_weight: :math:`w > 0`, the weight of the averaged negative term (None: K).
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` over users.

    Returns:
        A scalar, or the (B,) per-user losses for ``reduction="none"``.
    """
    _check_triples(user, positive, negative)
    if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not -1.0 <= margin < 1.0:
        raise ValueError(f"margin must be a number in [-1, 1), got {margin!r}")
    if negative_weight is None:
        negative_weight = negative.shape[1]
    check_positive("negative_weight", negative_weight)
    check_reduction(reduction)
    positive_cos, negative_cos = _scores(user, positive, negative, "cosine")
    negative_term = F.relu(negative_cos - margin).mean(dim=1)  # (B,)
    return reduce((1.0 - positive_cos) + negative_weight * negative_term, reduction)


def bpr_loss(
    user: torch.Tensor,
    positive: torch.Tensor,
    negative: torch.Tensor,
    similarity: str = "dot",
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Bayesian personalised ranking loss, averaged over K sampled negatives per user.

    .. math:: \ell_u = -\frac{1}{K} \sum_{j=1}^{K} \log \sigma\big(s(u, i) - s(u, j)\big)

    computed as a softplus of the score gap (stable for large gaps). With ``K = 1`` it is the classic
    BPR of "BPR: Bayesian Personalized Ranking from Implicit Feedback" (2009).

    Args:
        user, positive, negative: as in :func:`cosine_contrastive_loss`.
        similarity: the score :math:`s`, ``"dot"`` (matrix factorisation's inner product) or ``"cosine"``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` over users.

    Returns:
        A scalar, or the (B,) per-user losses for ``reduction="none"``.
    """
    _check_triples(user, positive, negative)
    check_choice("similarity", similarity, set(SIMILARITIES))
    check_reduction(reduction)
    positive_score, negative_score = _scores(user, positive, negative, similarity)
    gaps = positive_score[:, None] - negative_score  # (B, K)
    return reduce(F.softplus(-gaps).mean(dim=1), reduction)


class CosineContrastiveLoss(nn.Module):
    """Module form of :func:`cosine_contrastive_loss` with the same argument order."""

    def __init__(self, margin: float = 0.8, negative_weight: float | None = None, reduction: str = "mean"):
        super().__init__()
        self.margin, self.negative_weight, self.reduction = margin, negative_weight, reduction

    def forward(self, user: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor) -> torch.Tensor:
        return cosine_contrastive_loss(
            user, positive, negative, self.margin, self.negative_weight, self.reduction
        )


class BPRLoss(nn.Module):
    """Module form of :func:`bpr_loss` with the same argument order."""

    def __init__(self, similarity: str = "dot", reduction: str = "mean"):
        super().__init__()
        self.similarity, self.reduction = similarity, reduction

    def forward(self, user: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor) -> torch.Tensor:
        return bpr_loss(user, positive, negative, self.similarity, self.reduction)
