"""Contrastive losses on cosine similarities: InfoNCE, NT-Xent, SupCon and the sigmoid loss.

Every softmax loss here splits into a cheap positive term, O(B D), and a row-wise log-sum-exp over
the batch, the only O(B^2) part. With ``chunk_size`` set, that log-sum-exp is computed tile by tile
(:func:`paperlab.losses.tiled_logsumexp`), so neither the forward nor the backward pass ever holds
the B x B similarity matrix, and value and gradients are those of the full computation.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from paperlab._checks import check_positive, check_tensor, reduce
from paperlab.losses._labelled_batch import check_labelled_batch, check_reduction_of, zero_loss
from paperlab.losses.tiled_logsumexp import tiled_logsumexp


def _check_scalar(name: str, value, positive: bool):
    """Accept a python number or a 0-dim finite tensor (a learnable temperature, scale or bias)."""
    if isinstance(value, torch.Tensor):
        check_tensor(name, value, dim=0, floating=True)
        if positive and not bool(value > 0):
            raise ValueError(f"{name} must be > 0, got {value.item()!r}")
        return value
    if positive:
        check_positive(name, value)
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number or a 0-dim tensor, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return value


def _check_pair(query: torch.Tensor, key: torch.Tensor) -> None:
    check_tensor("query", query, dim=2, floating=True)
    check_tensor("key", key, dim=2, floating=True)
    if query.shape != key.shape:
        raise ValueError(
            f"query and key must be paired rows of the same shape, got {tuple(query.shape)} "
            f"and {tuple(key.shape)}"
        )
    if query.shape[0] < 2:
        raise ValueError(f"query must hold at least 2 pairs, got shape {tuple(query.shape)}")


def _unit(x: torch.Tensor, normalize: bool) -> torch.Tensor:
    return F.normalize(x, dim=1) if normalize else x


def info_nce(
    query: torch.Tensor,
    key: torch.Tensor,
    temperature: float | torch.Tensor = 0.1,
    chunk_size: int | None = None,
    symmetric: bool = False,
    normalize: bool = True,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""InfoNCE (CLIP) loss of paired rows: ``key[i]`` is the positive of ``query[i]``.

    .. math:: \ell_i = -\log \frac{e^{s(q_i, k_i)/\tau}}{\sum_j e^{s(q_i, k_j)/\tau}}

    with cosine similarity ``s``. The negatives of ``q_i`` are the other keys only (not the other
    queries); this equals pytorch-metric-learning's ``SelfSupervisedLoss(NTXentLoss(tau),
    symmetric=False)``. ``symmetric=True`` averages the query-to-key and key-to-query directions
    as CLIP does. For SimCLR's 2B-view NT-Xent use :func:`nt_xent_loss`.

    Args:
        query: (B, D) embeddings.
        key: (B, D) embeddings, paired with ``query`` row by row.
        temperature: tau > 0, a number or a 0-dim tensor (learnable).
        chunk_size: tile side for the exact memory-light computation; ``None`` forms the B x B matrix.
        symmetric: average the two directions (CLIP).
        normalize: compare directions (cosine); ``False`` uses raw dot products.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (B,).

    Returns:
        A scalar, or (B,) per-pair losses.

    From "Representation Learning with Contrastive Predictive Coding (2018)"; tiled as in
    "Breaking the Memory Barrier: Near Infinite Batch Size Scaling for Contrastive Loss (2024)".
    """
    _check_pair(query, key)
    temperature = _check_scalar("temperature", temperature, positive=True)
    check_reduction_of(reduction)
    q, k = _unit(query, normalize), _unit(key, normalize)
    positive = (q * k).sum(dim=1) / temperature  # (B,)
    losses = tiled_logsumexp(q / temperature, k, chunk_size) - positive
    if symmetric:
        backward_direction = tiled_logsumexp(k / temperature, q, chunk_size) - positive
        losses = 0.5 * (losses + backward_direction)
    return reduce(losses, reduction)


def supcon_loss(
    embeddings: torch.Tensor,
    labels: torch.Tensor,
    temperature: float | torch.Tensor = 0.1,
    chunk_size: int | None = None,
    normalize: bool = True,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Supervised contrastive loss, the :math:`\mathcal{L}^{sup}_{out}` form.

    .. math:: \ell_i = -\frac{1}{|P(i)|} \sum_{p \in P(i)} \log
              \frac{e^{z_i \cdot z_p/\tau}}{\sum_{a \ne i} e^{z_i \cdot z_a/\tau}}
              = \mathrm{LSE}_{a \ne i}(z_i \cdot z_a/\tau) - \frac{z_i \cdot (S_{y_i} - z_i)}{\tau |P(i)|}

    where ``z`` are the unit embeddings, ``P(i)`` the other items of class ``y_i`` and ``S_c`` the sum
    of class ``c``'s embeddings: the positive term costs O(B D), and only the log-sum-exp is
    quadratic (tiled when ``chunk_size`` is set). Multi-view batches are flattened: stack the views
    as rows and repeat the labels. Unlike the authors' code there is no ``tau / base_tau`` factor
    (as in pml's ``SupConLoss``); pml returns 0 when a batch holds a single class, whereas this
    follows the formula.

    Args:
        embeddings: (B, D) embeddings.
        labels: (B,) integer class labels.
        temperature: tau > 0, a number or a 0-dim tensor.
        chunk_size: tile side for the exact memory-light computation; ``None`` forms the B x B matrix.
        normalize: compare directions (cosine); ``False`` uses raw dot products.
        reduction: ``"mean"`` over anchors with at least one positive (pml's non-zero mean),
            ``"sum"`` or ``"none"`` (B,) with 0 for anchors without positives.

    Returns:
        A scalar, or (B,) per-anchor losses. A batch without positive pairs gives zero.

    From "Supervised Contrastive Learning (2020)".
    """
    check_labelled_batch(embeddings, labels)
    temperature = _check_scalar("temperature", temperature, positive=True)
    check_reduction_of(reduction)
    z = _unit(embeddings, normalize)
    classes, class_of = torch.unique(labels, return_inverse=True)  # class_of: (B,)
    class_sums = z.new_zeros(len(classes), z.shape[1]).index_add(0, class_of, z)  # (C, D)
    n_positives = torch.bincount(class_of, minlength=len(classes))[class_of] - 1  # (B,)
    positive_sum = (z * (class_sums[class_of] - z)).sum(dim=1) / temperature  # (B,)
    lse = tiled_logsumexp(z / temperature, z, chunk_size, exclude_diagonal=True)  # (B,)
    valid = n_positives > 0
    losses = torch.where(valid, lse - positive_sum / n_positives.clamp(min=1), torch.zeros_like(lse))
    if reduction == "mean":
        return losses[valid].mean() if bool(valid.any()) else zero_loss(embeddings)
    return reduce(losses, reduction)


def nt_xent_loss(
    query: torch.Tensor,
    key: torch.Tensor,
    temperature: float | torch.Tensor = 0.1,
    chunk_size: int | None = None,
    normalize: bool = True,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""NT-Xent, SimCLR's loss over the 2B views of B pairs.

    .. math:: \ell_i = -\log \frac{e^{s(z_i, z_{i'})/\tau}}{\sum_{a \ne i} e^{s(z_i, z_a)/\tau}},
              \quad z = [\text{query}; \text{key}]

    Each of the 2B views has its partner ``i'`` as positive and the other 2B - 2 views, from both
    halves, as negatives. This is :func:`supcon_loss` on the stacked views with labels
    ``[0..B-1, 0..B-1]``, and pml's ``NTXentLoss`` on the same input.

    Args:
        query: (B, D) first views.
        key: (B, D) second views.
        temperature: tau > 0.
        chunk_size: tile side for the exact memory-light computation.
        normalize: compare directions (cosine).
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (2B,), query views first.

    Returns:
        A scalar, or (2B,) per-view losses.

    From "A Simple Framework for Contrastive Learning of Visual Representations (2020)".
    """
    _check_pair(query, key)
    views = torch.cat([query, key])  # (2B, D)
    pair_index = torch.arange(query.shape[0], device=query.device).repeat(2)  # (2B,)
    return supcon_loss(views, pair_index, temperature, chunk_size, normalize, reduction)


def _sigmoid_tile(q_rows, k_cols, scale, bias, row, col):
    """Sum of ``softplus(-sign * logits)`` over one tile; ``sign`` is +1 on the global diagonal."""
    logits = scale * (q_rows @ k_cols.T) + bias  # (rows, cols)
    rows = torch.arange(row, row + q_rows.shape[0], device=logits.device)
    cols = torch.arange(col, col + k_cols.shape[0], device=logits.device)
    sign = torch.where(rows[:, None] == cols[None, :], 1.0, -1.0).to(logits.dtype)  # (rows, cols)
    return F.softplus(-sign * logits).sum()


def sigmoid_contrastive_loss(
    query: torch.Tensor,
    key: torch.Tensor,
    scale: float | torch.Tensor = 10.0,
    bias: float | torch.Tensor = -10.0,
    chunk_size: int | None = None,
    normalize: bool = True,
) -> torch.Tensor:
    r"""Pairwise sigmoid (SigLIP) loss: every (query, key) pair is a binary match / no-match.

    .. math:: \mathcal{L} = -\frac{1}{B} \sum_{i,j} \log \sigma\big(z_{ij} (t\, s(q_i, k_j) + b)\big),
              \quad z_{ij} = +1 \text{ if } i = j \text{ else } -1

    No softmax normalization, so tiles are independent: with ``chunk_size`` set, each tile is
    recomputed in the backward pass (activation checkpointing), which is exact.

    Args:
        query: (B, D) embeddings.
        key: (B, D) embeddings, paired with ``query`` row by row.
        scale: t > 0, number or 0-dim tensor (the paper learns it, starting at 10).
        bias: b, number or 0-dim tensor (the paper learns it, starting at -10).
        chunk_size: tile side; ``None`` forms the B x B matrix.
        normalize: compare directions (cosine).

    Returns:
        The scalar loss (a sum over keys, mean over queries).

    From "Sigmoid Loss for Language Image Pre-Training (2023)".
    """
    _check_pair(query, key)
    scale = _check_scalar("scale", scale, positive=True)
    bias = _check_scalar("bias", bias, positive=False)
    q, k = _unit(query, normalize), _unit(key, normalize)
    n = q.shape[0]
    if chunk_size is None:
        return _sigmoid_tile(q, k, scale, bias, 0, 0) / n
    check_positive("chunk_size", chunk_size, integer=True)
    total = zero_loss(q)
    for row in range(0, n, chunk_size):
        for col in range(0, n, chunk_size):
            q_rows, k_cols = q[row : row + chunk_size], k[col : col + chunk_size]
            total = total + checkpoint(
                _sigmoid_tile, q_rows, k_cols, scale, bias, row, col, use_reentrant=False
            )
    return total / n
