"""Margin losses over every valid pair or triplet of a labelled batch: triplet and contrastive.

Both follow pytorch-metric-learning's (pml) semantics by default: distances between L2-normalized
embeddings, every valid pair/triplet of the batch, and ``reduction="mean_nonzero"`` (pml's
``AvgNonZeroReducer``: the mean over the losses that are > 0). Where the defaults differ from
PyTorch's own ``nn.TripletMarginLoss`` (margin 1.0, raw embeddings, mean over given triplets),
ask for ``margin=1.0, normalize=False, reduction="mean"``.
"""

from __future__ import annotations

import torch

from paperlab._checks import check_positive
from paperlab.losses._labelled_batch import (
    check_labelled_batch,
    check_reduction_of,
    pair_masks,
    pairwise_distance,
    zero_loss,
)

MARGIN_REDUCTIONS = ("mean_nonzero", "mean", "sum", "none")


def _nonzero_mean(losses: torch.Tensor) -> torch.Tensor:
    """Mean of the entries that are > 0, or a connected zero when there is none."""
    active = losses > 0
    return losses[active].mean() if bool(active.any()) else losses.sum() * 0.0


def _violation_counts(distances, positive, negative, margin):
    """How many violated triplets each (anchor, positive) and each (anchor, negative) pair is in.

    A triplet (a, p, n) is violated when ``d_an < d_ap + margin``. Sorting every anchor's
    negative (and positive) distances turns the count into a binary search: O(B^2 log B) work and
    O(B^2) memory instead of the B^3 triplets.
    """
    inf = torch.tensor(float("inf"), dtype=distances.dtype, device=distances.device)
    negative_sorted = torch.where(negative, distances, inf).sort(dim=1).values  # (B, B), +inf at the end
    positive_sorted = torch.where(positive, distances, -inf).sort(dim=1).values  # (B, B), -inf first
    # negatives strictly closer than d_ap + margin, per (a, p)
    per_positive = torch.searchsorted(negative_sorted, (distances + margin).contiguous(), side="left")
    # positives strictly farther than d_an - margin, per (a, n)
    at_most = torch.searchsorted(positive_sorted, (distances - margin).contiguous(), side="right")
    per_negative = distances.shape[1] - at_most
    zero = torch.zeros((), dtype=distances.dtype, device=distances.device)
    return (
        torch.where(positive, per_positive.to(distances.dtype), zero),
        torch.where(negative, per_negative.to(distances.dtype), zero),
    )


def triplet_margin_loss(
    embeddings: torch.Tensor,
    labels: torch.Tensor,
    margin: float = 0.05,
    distance: str = "euclidean",
    normalize: bool = True,
    reduction: str = "mean_nonzero",
) -> torch.Tensor:
    r"""Triplet margin loss over every valid triplet (anchor, positive, negative) of the batch.

    .. math:: \ell_{apn} = [\, d(x_a, x_p) - d(x_a, x_n) + \text{margin} \,]_+

    for every ``a != p`` with ``y_a = y_p`` and every ``n`` with ``y_n != y_a``. Only the
    distance matrix enters autograd: the loss equals
    :math:`\sum_{ap} w_{ap} d_{ap} - \sum_{an} w_{an} d_{an} + \text{margin} \cdot N` where the
    weights count the violated triplets each pair belongs to, so gradients are exact and no B^3
    tensor is built (except for ``reduction="none"``, which returns every triplet).

    Args:
        embeddings: (B, D) embeddings.
        labels: (B,) integer class labels.
        margin: the gap wanted between negative and positive distances (pml default 0.05;
            PyTorch's ``nn.TripletMarginLoss`` uses 1.0 on raw embeddings).
        distance: ``"euclidean"``, ``"squared_euclidean"`` or ``"cosine"`` (1 - cosine similarity,
            which matches pml's ``CosineSimilarity`` distance).
        normalize: scale embeddings to unit length first (pml's default ``LpDistance`` does).
        reduction: ``"mean_nonzero"`` (mean over the violated triplets, pml's default), ``"mean"``
            (over all valid triplets), ``"sum"`` or ``"none"`` (T,) in (anchor, positive,
            negative) lexicographic order.

    Returns:
        A scalar, or (T,) per-triplet losses. A batch without any valid triplet gives zero.

    From "FaceNet: A Unified Embedding for Face Recognition and Clustering (2015)"; the
    all-triplets form is the one pml's ``TripletMarginLoss`` uses by default.
    """
    check_labelled_batch(embeddings, labels)
    check_positive("margin", margin, allow_zero=True)
    check_reduction_of(reduction, MARGIN_REDUCTIONS)
    distances = pairwise_distance(embeddings, distance, normalize)  # (B, B)
    positive, negative = pair_masks(labels)
    if reduction == "none":
        anchor, pos, neg = torch.where(positive[:, :, None] & negative[:, None, :])  # (T,) each
        return torch.relu(distances[anchor, pos] - distances[anchor, neg] + margin)
    per_positive, per_negative = _violation_counts(distances.detach(), positive, negative, margin)
    n_violated = per_positive.sum()
    total = (per_positive * distances).sum() - (per_negative * distances).sum() + margin * n_violated
    if reduction == "sum":
        return total
    count = n_violated if reduction == "mean_nonzero" else (positive.sum(1) * negative.sum(1)).sum()
    if count == 0:
        return zero_loss(embeddings)
    return total / count


def contrastive_loss(
    embeddings: torch.Tensor,
    labels: torch.Tensor,
    pos_margin: float = 0.0,
    neg_margin: float = 1.0,
    distance: str = "euclidean",
    normalize: bool = True,
    reduction: str = "mean_nonzero",
) -> torch.Tensor:
    r"""Contrastive (pair) loss over every ordered pair of the batch.

    .. math:: \ell^+_{ij} = [\, d_{ij} - m_+ \,]_+ \quad (y_i = y_j,\ i \ne j), \qquad
              \ell^-_{ij} = [\, m_- - d_{ij} \,]_+ \quad (y_i \ne y_j)

    The positive and negative terms are reduced separately and added, as pml's ``ContrastiveLoss``
    does. With ``distance="cosine"`` the margins are distances ``1 - s``: pml's similarity margins
    ``(p, n)`` correspond to ``pos_margin = 1 - p, neg_margin = 1 - n`` here.

    Args:
        embeddings: (B, D) embeddings.
        labels: (B,) integer class labels.
        pos_margin: distance below which positive pairs cost nothing (pml default 0).
        neg_margin: distance above which negative pairs cost nothing (pml default 1).
        distance: ``"euclidean"``, ``"squared_euclidean"`` or ``"cosine"``.
        normalize: scale embeddings to unit length first (pml's default).
        reduction: ``"mean_nonzero"`` (pml's default: mean of the non-zero positive losses plus
            mean of the non-zero negative losses), ``"mean"`` (mean positive plus mean negative
            loss), ``"sum"`` or ``"none"`` (B, B) per-pair losses with a zero diagonal.

    Returns:
        A scalar, or the (B, B) matrix of pair losses.

    From "Dimensionality Reduction by Learning an Invariant Mapping (2006)", in pml's hinge form
    (without the squares of the original).
    """
    check_labelled_batch(embeddings, labels)
    check_positive("pos_margin", pos_margin, allow_zero=True)
    check_positive("neg_margin", neg_margin, allow_zero=True)
    check_reduction_of(reduction, MARGIN_REDUCTIONS)
    distances = pairwise_distance(embeddings, distance, normalize)  # (B, B)
    positive, negative = pair_masks(labels)
    if reduction == "none":
        zero = torch.zeros((), dtype=distances.dtype, device=distances.device)
        pair_losses = torch.where(positive, torch.relu(distances - pos_margin), zero)
        return torch.where(negative, torch.relu(neg_margin - distances), pair_losses)
    positive_losses = torch.relu(distances[positive] - pos_margin)  # (n_pos,)
    negative_losses = torch.relu(neg_margin - distances[negative])  # (n_neg,)
    total = zero_loss(embeddings)
    for losses in (positive_losses, negative_losses):
        if losses.numel() == 0:
            continue
        if reduction == "mean_nonzero":
            total = total + _nonzero_mean(losses)
        elif reduction == "mean":
            total = total + losses.mean()
        else:
            total = total + losses.sum()
    return total
