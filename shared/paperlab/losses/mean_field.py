r"""Mean-field metric losses: pair losses whose partners are replaced by learnable class mean fields.

From "Mean Field Theory in Deep Metric Learning". A pair-based loss sums interactions between every two
embeddings of a batch, O(B^2). Mean-field theory replaces the embeddings of a class by their mean field: a
learnable vector :math:`w_c` per class, so each embedding interacts with the C mean fields only, O(B C),
and the loss looks like a classification loss. On the unit sphere, with
:math:`d_{ic} = 1 - \langle \hat x_i, \hat w_c \rangle` (hats: unit length) and
:math:`D_{cc'} = 1 - \langle \hat w_c, \hat w_{c'} \rangle`, both losses add a regularizer that keeps the
mean fields of different classes apart, ``mf_reg * mean_c sum_{c' != c} r(D_cc')^mf_power``.

``mean_fields`` is a (C, D) tensor (one row per class, like ``nn.Linear.weight``); the authors store its
transpose.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from paperlab._checks import check_positive, check_tensor
from paperlab.losses._labelled_batch import check_labelled_batch


def _check_mean_field_inputs(embeddings, labels, mean_fields) -> None:
    """Raise unless the batch is valid and ``mean_fields`` is a (C, D) tensor covering every label."""
    check_labelled_batch(embeddings, labels, min_size=1)
    check_tensor("mean_fields", mean_fields, dim=2, floating=True)
    if mean_fields.shape[1] != embeddings.shape[1]:
        raise ValueError(
            f"mean_fields must have embeddings' {embeddings.shape[1]} columns, got shape {tuple(mean_fields.shape)}"
        )
    if mean_fields.dtype != embeddings.dtype or mean_fields.device != embeddings.device:
        raise ValueError(
            f"mean_fields must match embeddings' dtype and device ({embeddings.dtype}, {embeddings.device}), "
            f"got ({mean_fields.dtype}, {mean_fields.device})"
        )
    if int(labels.min()) < 0 or int(labels.max()) >= mean_fields.shape[0]:
        raise ValueError(
            f"labels must lie in [0, {mean_fields.shape[0]}) (one mean field per class), "
            f"got values in [{int(labels.min())}, {int(labels.max())}]"
        )


def _check_regularizer(mf_reg, mf_power) -> None:
    check_positive("mf_reg", mf_reg, allow_zero=True)
    check_positive("mf_power", mf_power)


def _distances_to_fields(embeddings, mean_fields):
    """Cosine distances (B, C) of embeddings to mean fields, and (C, C) between mean fields."""
    fields = F.normalize(mean_fields, dim=1)  # (C, D)
    return 1.0 - F.normalize(embeddings, dim=1) @ fields.T, 1.0 - fields @ fields.T


def _field_regularizer(penalties: torch.Tensor, mf_reg: float, mf_power: float) -> torch.Tensor:
    """``mf_reg * mean_c sum_{c' != c} penalties[c, c']^mf_power`` of a (C, C) penalty matrix."""
    off_diagonal = ~torch.eye(penalties.shape[0], dtype=torch.bool, device=penalties.device)
    return mf_reg * (penalties.pow(mf_power) * off_diagonal).sum(dim=1).mean()


def _log_class_means(z: torch.Tensor, labels: torch.Tensor, n_classes: int):
    """Log of the per-class means of ``exp(z)``: (C, M) from z (B, M), and the (C,) mask of present classes.

    Stable like log-sum-exp: each (class, column) is shifted by its own maximum, so the largest term is 1.
    Rows of absent classes (mean of nothing, log 0) hold a finite stand-in far below any real value.
    """
    index = labels[:, None].expand_as(z)  # (B, M)
    lowest = torch.finfo(z.dtype).min
    shift = torch.full((n_classes, z.shape[1]), lowest, dtype=z.dtype, device=z.device)
    shift = shift.scatter_reduce(0, index, z.detach(), reduce="amax")  # (C, M)
    terms = torch.exp(z - shift[labels])  # (B, M), each <= 1
    sums = torch.zeros_like(shift).index_add(0, labels, terms)  # (C, M), >= 1 for a present class
    counts = torch.bincount(labels, minlength=n_classes)  # (C,)
    present = counts > 0
    log_means = sums.clamp_min(1.0).log() + shift - counts.clamp_min(1).to(z.dtype).log()[:, None]
    return torch.where(present[:, None], log_means, lowest / 4), present


def mean_field_contrastive_loss(
    embeddings: torch.Tensor,
    labels: torch.Tensor,
    mean_fields: torch.Tensor,
    pos_margin: float = 0.0,
    neg_margin: float = 1.0,
    mf_reg: float = 1.0,
    mf_power: float = 1.0,
) -> torch.Tensor:
    r"""Mean-field contrastive loss: the contrastive loss against class mean fields.

    .. math:: L = \frac{1}{B} \sum_i \Big( [d_{i y_i} - m_+]_+ + \sum_{c \ne y_i} [m_- - d_{ic}]_+ \Big)
              + \lambda \frac{1}{C} \sum_c \sum_{c' \ne c} [m_- - D_{cc'}]_+^{\,p}

    Args:
        embeddings: (B, D) embeddings (used at unit length).
        labels: (B,) integer labels in [0, C).
        mean_fields: (C, D) learnable class mean fields (used at unit length).
        pos_margin: cosine distance :math:`m_+` to the own mean field below which nothing is paid.
        neg_margin: cosine distance :math:`m_-` to other mean fields above which nothing is paid.
        mf_reg: weight :math:`\lambda` of the mean-field regularizer.
        mf_power: power :math:`p` of the regularizer's hinge.

    Returns:
        A scalar.
    """
    _check_mean_field_inputs(embeddings, labels, mean_fields)
    check_positive("pos_margin", pos_margin, allow_zero=True)
    check_positive("neg_margin", neg_margin, allow_zero=True)
    _check_regularizer(mf_reg, mf_power)
    to_fields, between_fields = _distances_to_fields(embeddings, mean_fields)  # (B, C), (C, C)
    own = F.one_hot(labels, mean_fields.shape[0]).bool()  # (B, C)
    per_field = torch.where(own, torch.relu(to_fields - pos_margin), torch.relu(neg_margin - to_fields))
    loss = per_field.sum(dim=1).mean()
    return loss + _field_regularizer(torch.relu(neg_margin - between_fields), mf_reg, mf_power)


def mean_field_classwise_ms_loss(
    embeddings: torch.Tensor,
    labels: torch.Tensor,
    mean_fields: torch.Tensor,
    alpha: float = 2.0,
    beta: float = 50.0,
    base: float = 0.5,
    mf_reg: float = 1.0,
    mf_power: float = 1.0,
) -> torch.Tensor:
    r"""Mean-field class-wise multi-similarity loss: multi-similarity against class mean fields.

    With :math:`s_{ic} = 1 - d_{ic}`, the classes :math:`\mathcal{K}` present in the batch (:math:`K` of
    them) and :math:`n_c` items of class c,

    .. math:: P_{cc'} = \frac{1}{n_c} \sum_{y_i = c} e^{-\alpha (s_{ic'} - b)}, \quad
              N_{cc'} = \frac{1}{n_c} \sum_{y_i = c} e^{\beta (s_{ic'} - b)} \quad (0 \text{ if } n_c = 0),

    .. math:: L = \frac{1}{\alpha K} \sum_{c \in \mathcal{K}} \log(1 + P_{cc})
              + \frac{1}{2 \beta K} \sum_{c \ne c'} \log(1 + N_{cc'} + N_{c'c})
              + \lambda \frac{1}{C} \sum_c \sum_{c' \ne c} \operatorname{softplus}_\beta(s^{w}_{cc'} - b)^{\,p}

    where :math:`s^w_{cc'} = 1 - D_{cc'}` and :math:`\operatorname{softplus}_\beta(x) = \log(1 + e^{\beta x})
    / \beta`. The class means of exponentials are taken in log space (log-sum-exp), so a large
    :math:`\beta` cannot overflow.

    Args:
        embeddings: (B, D) embeddings (used at unit length).
        labels: (B,) integer labels in [0, C).
        mean_fields: (C, D) learnable class mean fields (used at unit length).
        alpha: scale of the positive (own mean field) term, as in multi-similarity (2).
        beta: scale of the negative terms (50).
        base: the similarity offset :math:`b` (multi-similarity's :math:`\lambda`, 0.5).
        mf_reg: weight :math:`\lambda` of the mean-field regularizer.
        mf_power: power :math:`p` of the regularizer.

    Returns:
        A scalar.
    """
    _check_mean_field_inputs(embeddings, labels, mean_fields)
    check_positive("alpha", alpha)
    check_positive("beta", beta)
    if isinstance(base, bool) or not isinstance(base, (int, float)) or not math.isfinite(base):
        raise ValueError(f"base must be a finite number, got {base!r}")
    _check_regularizer(mf_reg, mf_power)
    n_classes = mean_fields.shape[0]
    to_fields, between_fields = _distances_to_fields(embeddings, mean_fields)  # (B, C), (C, C)
    shifted = to_fields + base - 1.0  # (B, C), = b - s
    both = torch.cat([alpha * shifted, -beta * shifted], dim=1)  # (B, 2C): one pass for P and N
    log_both, present = _log_class_means(both, labels, n_classes)  # (C, 2C), (C,)
    log_positive, log_negative = log_both[:, :n_classes], log_both[:, n_classes:]  # (C, C) each
    n_present = int(present.sum())
    positive = F.softplus(log_positive.diagonal()[present]).sum() / (alpha * n_present)
    off_diagonal = ~torch.eye(n_classes, dtype=torch.bool, device=embeddings.device)
    symmetric = torch.logaddexp(log_negative, log_negative.T)  # (C, C), log(N + N^T)
    negative = (F.softplus(symmetric) * off_diagonal).sum() / (2.0 * beta * n_present)
    penalties = F.softplus(1.0 - base - between_fields, beta=beta)  # (C, C)
    return positive + negative + _field_regularizer(penalties, mf_reg, mf_power)


class _MeanFieldLoss(nn.Module):
    """Holds the (C, D) learnable mean fields, drawn from a standard normal as the authors do."""

    def __init__(self, n_classes: int, embedding_dim: int, generator: torch.Generator | None = None):
        super().__init__()
        check_positive("n_classes", n_classes, integer=True)
        check_positive("embedding_dim", embedding_dim, integer=True)
        self.mean_fields = nn.Parameter(torch.randn(n_classes, embedding_dim, generator=generator))


class MeanFieldContrastiveLoss(_MeanFieldLoss):
    """Module form of :func:`mean_field_contrastive_loss` owning the mean fields; ``forward(embeddings, labels)``.

    Add its parameters to the optimizer; move it with ``.to(device, dtype)`` like the model.
    """

    def __init__(
        self,
        n_classes,
        embedding_dim,
        pos_margin=0.0,
        neg_margin=1.0,
        mf_reg=1.0,
        mf_power=1.0,
        generator=None,
    ):
        super().__init__(n_classes, embedding_dim, generator)
        check_positive("pos_margin", pos_margin, allow_zero=True)
        check_positive("neg_margin", neg_margin, allow_zero=True)
        _check_regularizer(mf_reg, mf_power)
        self.pos_margin, self.neg_margin, self.mf_reg, self.mf_power = (
            pos_margin,
            neg_margin,
            mf_reg,
            mf_power,
        )

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return mean_field_contrastive_loss(
            embeddings, labels, self.mean_fields, self.pos_margin, self.neg_margin, self.mf_reg, self.mf_power
        )


class MeanFieldClassWiseMultiSimilarityLoss(_MeanFieldLoss):
    """Module form of :func:`mean_field_classwise_ms_loss` owning the mean fields; ``forward(embeddings, labels)``."""

    def __init__(
        self,
        n_classes,
        embedding_dim,
        alpha=2.0,
        beta=50.0,
        base=0.5,
        mf_reg=1.0,
        mf_power=1.0,
        generator=None,
    ):
        super().__init__(n_classes, embedding_dim, generator)
        check_positive("alpha", alpha)
        check_positive("beta", beta)
        _check_regularizer(mf_reg, mf_power)
        self.alpha, self.beta, self.base, self.mf_reg, self.mf_power = alpha, beta, base, mf_reg, mf_power

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return mean_field_classwise_ms_loss(
            embeddings, labels, self.mean_fields, self.alpha, self.beta, self.base, self.mf_reg, self.mf_power
        )
