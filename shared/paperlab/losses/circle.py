"""Circle loss and the unified pair-similarity loss it generalizes.

Both losses see a batch through its cosine similarities: within-class similarities ``s_p`` and
between-class similarities ``s_n``. The unified loss optimizes ``s_n - s_p`` with the same weight
on every pair; circle loss re-weights each similarity by its distance from its optimum, which
turns the straight decision boundary ``s_n - s_p = -m`` into a circle. Pair-wise labels
(:func:`circle_loss`, within the batch) and class-level labels (:func:`circle_classification_loss`,
against class proxies) share one implementation.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from paperlab._checks import check_positive, check_tensor, reduce
from paperlab.losses._labelled_batch import (
    check_labelled_batch,
    check_reduction_of,
    cosine_similarity_matrix,
    pair_masks,
    zero_loss,
)


def _softplus_of_two_logsumexps(positive_logits, negative_logits, positive, negative):
    """Per-row ``softplus(LSE_p(positive_logits) + LSE_n(negative_logits))`` and the valid rows.

    A row is valid when it has at least one positive and one negative; invalid rows get 0 (their
    logits are left unmasked so that no all ``-inf`` row reaches ``logsumexp``'s backward).
    """
    valid = positive.any(1) & negative.any(1)  # (B,)
    if not bool(valid.all()):
        positive, negative = positive | ~valid[:, None], negative | ~valid[:, None]  # (B, B) each
    neg_inf = float("-inf")
    lse_positive = torch.logsumexp(positive_logits.masked_fill(~positive, neg_inf), dim=1)  # (B,)
    lse_negative = torch.logsumexp(negative_logits.masked_fill(~negative, neg_inf), dim=1)  # (B,)
    losses = F.softplus(lse_positive + lse_negative)
    return losses.masked_fill(~valid, 0.0), valid


def _reduce_rows(losses, valid, reduction, embeddings):
    """Mean over valid rows (pml's ``AvgNonZeroReducer`` on strictly positive losses), sum or none."""
    if reduction == "mean":
        return losses[valid].mean() if bool(valid.any()) else zero_loss(embeddings)
    return reduce(losses, reduction)


def circle_loss(
    embeddings: torch.Tensor,
    labels: torch.Tensor,
    m: float = 0.25,
    gamma: float = 256.0,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Circle loss with pair-wise labels, on cosine similarities.

    .. math:: \mathcal{L}_i = \log\Big[1 + \sum_{j \in N(i)} e^{\gamma \alpha_n^j (s_n^j - \Delta_n)}
              \sum_{k \in P(i)} e^{-\gamma \alpha_p^k (s_p^k - \Delta_p)}\Big]

    with self-paced weights :math:`\alpha_p = [O_p - s_p]_+`, :math:`\alpha_n = [s_n - O_n]_+`
    (treated as constants in the backward pass), optima :math:`O_p = 1 + m, O_n = -m` and margins
    :math:`\Delta_p = 1 - m, \Delta_n = m`. Computed as ``softplus(LSE_n + LSE_p)``, which is
    stable for large ``gamma``. The decision boundary is the circle
    :math:`s_n^2 + (s_p - 1)^2 = 2 m^2`.

    Args:
        embeddings: (B, D) embeddings (only their directions matter).
        labels: (B,) integer class labels.
        m: relaxation margin (paper: 0.25 for faces, 0.4 for fine-grained retrieval; pml's
            ``CircleLoss`` defaults to 0.4).
        gamma: scale factor (paper: 256 for faces, 80 for fine-grained; pml defaults to 80).
        reduction: ``"mean"`` over anchors with at least one positive and one negative (equal to
            pml's non-zero mean), ``"sum"`` or ``"none"`` (B,) with 0 for the other anchors.

    Returns:
        A scalar, or (B,) per-anchor losses.

    From "Circle Loss: A Unified Perspective of Pair Similarity Optimization (2020)".
    """
    check_labelled_batch(embeddings, labels)
    check_positive("m", m, allow_zero=True)
    check_positive("gamma", gamma)
    check_reduction_of(reduction)
    similarity = cosine_similarity_matrix(embeddings)  # (B, B)
    alpha_p = torch.relu(1.0 + m - similarity.detach())
    alpha_n = torch.relu(similarity.detach() + m)
    positive_logits = -gamma * alpha_p * (similarity - (1.0 - m))
    negative_logits = gamma * alpha_n * (similarity - m)
    positive, negative = pair_masks(labels)
    losses, valid = _softplus_of_two_logsumexps(positive_logits, negative_logits, positive, negative)
    return _reduce_rows(losses, valid, reduction, embeddings)


def circle_classification_loss(
    embeddings: torch.Tensor,
    weight: torch.Tensor,
    labels: torch.Tensor,
    m: float = 0.25,
    gamma: float = 256.0,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Circle loss with class-level labels: similarities to learnable class proxies.

    Each sample has one within-class similarity :math:`s_p = \cos(x, w_{y})` and C - 1 between-class
    similarities :math:`s_n^j = \cos(x, w_j)`, entered into the same formula as :func:`circle_loss`:

    .. math:: \mathcal{L} = \log\Big[1 + e^{-\gamma \alpha_p (s_p - \Delta_p)}
              \sum_{j \ne y} e^{\gamma \alpha_n^j (s_n^j - \Delta_n)}\Big]

    Args:
        embeddings: (B, D) embeddings.
        weight: (C, D) class proxies (C >= 2), for example an ``nn.Linear(D, C).weight``.
        labels: (B,) integer class indices in [0, C).
        m: relaxation margin.
        gamma: scale factor.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (B,).

    Returns:
        A scalar, or (B,) per-sample losses.

    From "Circle Loss: A Unified Perspective of Pair Similarity Optimization (2020)".
    """
    check_labelled_batch(embeddings, labels, min_size=1)
    check_tensor("weight", weight, dim=2, floating=True)
    if weight.shape[1] != embeddings.shape[1] or weight.shape[0] < 2:
        raise ValueError(
            f"weight must be (C >= 2, {embeddings.shape[1]}) class proxies, got shape {tuple(weight.shape)}"
        )
    if bool((labels < 0).any()) or bool((labels >= weight.shape[0]).any()):
        raise ValueError(f"labels must be class indices in [0, {weight.shape[0]}), got {labels.tolist()}")
    check_positive("m", m, allow_zero=True)
    check_positive("gamma", gamma)
    check_reduction_of(reduction)
    similarity = F.normalize(embeddings, dim=1) @ F.normalize(weight, dim=1).T  # (B, C)
    positive = F.one_hot(labels, weight.shape[0]).bool()  # (B, C)
    alpha_p = torch.relu(1.0 + m - similarity.detach())
    alpha_n = torch.relu(similarity.detach() + m)
    positive_logits = -gamma * alpha_p * (similarity - (1.0 - m))
    negative_logits = gamma * alpha_n * (similarity - m)
    losses, valid = _softplus_of_two_logsumexps(positive_logits, negative_logits, positive, ~positive)
    return _reduce_rows(losses, valid, reduction, embeddings)


def unified_pair_loss(
    embeddings: torch.Tensor,
    labels: torch.Tensor,
    m: float = 0.25,
    gamma: float = 64.0,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""The unified pair-similarity loss that optimizes ``s_n - s_p`` with equal weights.

    .. math:: \mathcal{L}_i = \log\Big[1 + \sum_{j \in N(i)} \sum_{k \in P(i)}
              e^{\gamma (s_n^j - s_p^k + m)}\Big]
              = \operatorname{softplus}\big(\mathrm{LSE}_j\, \gamma (s_n^j + m)
              + \mathrm{LSE}_k (-\gamma s_p^k)\big)

    With class-level labels this is AM-Softmax; with pair labels and ``gamma -> inf`` it becomes
    the triplet loss with hard mining. It is the baseline circle loss improves upon.

    Args:
        embeddings: (B, D) embeddings.
        labels: (B,) integer class labels.
        m: the margin wanted between ``s_p`` and ``s_n``.
        gamma: scale factor.
        reduction: ``"mean"`` over anchors with a positive and a negative, ``"sum"`` or ``"none"``.

    Returns:
        A scalar, or (B,) per-anchor losses.

    From "Circle Loss: A Unified Perspective of Pair Similarity Optimization (2020)", eq. (1).
    """
    check_labelled_batch(embeddings, labels)
    check_positive("m", m, allow_zero=True)
    check_positive("gamma", gamma)
    check_reduction_of(reduction)
    similarity = cosine_similarity_matrix(embeddings)  # (B, B)
    positive, negative = pair_masks(labels)
    losses, valid = _softplus_of_two_logsumexps(
        -gamma * similarity, gamma * (similarity + m), positive, negative
    )
    return _reduce_rows(losses, valid, reduction, embeddings)
