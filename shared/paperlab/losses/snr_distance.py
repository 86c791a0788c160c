r"""The signal-to-noise ratio (SNR) distance and the metric losses built on it.

From "Signal-to-Noise Ratio: A Robust Distance Metric for Deep Metric Learning (2019)". Treat the anchor
embedding :math:`h_a` as a signal and the difference :math:`h_o - h_a` to another embedding as noise;
the SNR distance is the noise-to-signal power ratio, the variances taken over the D features,

.. math:: d_S(h_a, h_o) = \frac{\operatorname{Var}(h_o - h_a)}{\operatorname{Var}(h_a)}
          = \frac{\lVert \tilde h_o - \tilde h_a \rVert^2}{\lVert \tilde h_a \rVert^2},
          \qquad \tilde h = h - \operatorname{mean}(h),

so it is a squared Euclidean distance between centered vectors, scaled by the anchor's power; it is
not symmetric. The paper adds a regularizer :math:`\lambda \frac{1}{N} \sum_i |\sum_m h_{im}|` that
keeps every embedding zero-mean. Unlike pytorch-metric-learning's ``SNRDistance`` (which L2-normalizes
first), the embeddings are used as given unless ``normalize=True``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from paperlab._checks import check_choice, check_positive, check_tensor
from paperlab.losses._labelled_batch import (
    check_labelled_batch,
    check_reduction_of,
    pair_masks,
    zero_loss,
)

TRIPLETS = ("all", "semihard")
SNR_REDUCTIONS = ("mean_nonzero", "mean", "sum", "none")


def snr_distance(anchor: torch.Tensor, other: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    r"""All SNR distances :math:`\operatorname{Var}(o_j - a_i) / \operatorname{Var}(a_i)` between two sets.

    Computed as :math:`\lVert \tilde o_j - \tilde a_i \rVert^2 / \lVert \tilde a_i \rVert^2` on centered
    rows, in O(N M D) time and O(N M) memory (no (N, M, D) difference tensor).

    Args:
        anchor: (N, D) anchor embeddings, D >= 2.
        other: (M, D) embeddings compared to every anchor.
        eps: lower bound on an anchor's power :math:`\lVert \tilde a_i \rVert^2` (a constant anchor has
            no signal).

    Returns:
        (N, M) distances, row i for anchor i.
    """
    check_tensor("anchor", anchor, dim=2, floating=True)
    check_tensor("other", other, dim=2, floating=True)
    if anchor.shape[1] < 2:
        raise ValueError(
            f"anchor must have at least 2 features to have a variance, got shape {tuple(anchor.shape)}"
        )
    if other.shape[1] != anchor.shape[1]:
        raise ValueError(
            f"other must have anchor's {anchor.shape[1]} features, got shape {tuple(other.shape)}"
        )
    if other.dtype != anchor.dtype or other.device != anchor.device:
        raise ValueError(
            f"other must match anchor's dtype and device ({anchor.dtype}, {anchor.device}), "
            f"got ({other.dtype}, {other.device})"
        )
    check_positive("eps", eps)
    return _snr_matrix(anchor, other, eps)


def _snr_matrix(anchor: torch.Tensor, other: torch.Tensor, eps: float) -> torch.Tensor:
    """Unchecked :func:`snr_distance`."""
    a = anchor - anchor.mean(dim=1, keepdim=True)  # (N, D)
    o = other - other.mean(dim=1, keepdim=True)  # (M, D)
    a_power = a.square().sum(dim=1)  # (N,)
    squared = a_power[:, None] + o.square().sum(dim=1)[None, :] - 2.0 * (a @ o.T)  # (N, M)
    return squared.clamp_min(0.0) / a_power.clamp_min(eps)[:, None]


def zero_mean_regularizer(embeddings: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    r"""The paper's zero-mean regularizer :math:`|\sum_m h_{im}|` of every embedding.

    Args:
        embeddings: (B, D) embeddings.
        reduction: ``"mean"`` (the paper's :math:`\frac{1}{N}\sum_i`), ``"sum"`` or ``"none"`` (B,).

    Returns:
        A scalar, or (B,) per-embedding values.
    """
    check_tensor("embeddings", embeddings, dim=2, floating=True)
    check_choice("reduction", reduction, {"mean", "sum", "none"})
    values = embeddings.sum(dim=1).abs()  # (B,)
    if reduction == "none":
        return values
    return values.mean() if reduction == "mean" else values.sum()


def _triplet_counts(distances, positive, negative, margin, triplets):
    """How many active triplets each (anchor, positive) and (anchor, negative) pair belongs to.

    A triplet (a, p, n) is active when its loss ``d_ap - d_an + margin`` is > 0 (``"all"``) and, for
    ``"semihard"``, also ``d_an > d_ap``. Sorting each anchor's negative and positive distances turns
    counting into binary searches: O(B^2 log B) instead of B^3.
    """
    inf = torch.tensor(float("inf"), dtype=distances.dtype, device=distances.device)
    negatives = torch.where(negative, distances, inf).sort(dim=1).values  # (B, B), +inf last
    positives = torch.where(positive, distances, -inf).sort(dim=1).values  # (B, B), -inf first
    shifted_up = (distances + margin).contiguous()  # (B, B)
    shifted_down = (distances - margin).contiguous()  # (B, B)
    # per (a, p): negatives with d_an < d_ap + margin [and d_an > d_ap]
    per_positive = torch.searchsorted(negatives, shifted_up, side="left")
    # per (a, n): positives with d_ap > d_an - margin [and d_ap < d_an]
    per_negative = distances.shape[1] - torch.searchsorted(positives, shifted_down, side="right")
    if triplets == "semihard":
        per_positive = per_positive - torch.searchsorted(negatives, distances.contiguous(), side="right")
        per_negative = per_negative - (
            distances.shape[1] - torch.searchsorted(positives, distances.contiguous(), side="left")
        )
    zero = torch.zeros((), dtype=distances.dtype, device=distances.device)
    return (
        torch.where(positive, per_positive.to(distances.dtype), zero),
        torch.where(negative, per_negative.to(distances.dtype), zero),
    )


def snr_triplet_loss(
    embeddings: torch.Tensor,
    labels: torch.Tensor,
    margin: float = 0.05,
    reg: float = 0.0,
    triplets: str = "all",
    normalize: bool = False,
    reduction: str = "mean_nonzero",
) -> torch.Tensor:
    r"""Triplet loss with the SNR distance, plus the paper's zero-mean regularizer.

    .. math:: L = \operatorname{red}_{(a,p,n)} [\, d_S(h_a, h_p) - d_S(h_a, h_n) + \text{margin} \,]_+
              + \text{reg} \cdot \frac{1}{B} \sum_i \Big|\sum_m h_{im}\Big|

    over the valid triplets (``y_a = y_p``, ``a != p``, ``y_n != y_a``) of the batch, or only the
    semi-hard ones (``d_an > d_ap``, as pytorch-metric-learning's ``TripletMarginMiner(type_of_triplets=
    "semihard")`` selects them). Only the (B, B) distance matrix enters autograd, weighted by how many
    active triplets each pair is in, so no B^3 tensor is built (except for ``reduction="none"``).

    Args:
        embeddings: (B, D) embeddings, D >= 2.
        labels: (B,) integer class labels.
        margin: the gap wanted between negative and positive SNR distances.
        reg: weight :math:`\lambda` of the zero-mean regularizer (0 switches it off).
        triplets: ``"all"`` or ``"semihard"``.
        normalize: L2-normalize the embeddings first (pytorch-metric-learning's ``SNRDistance`` default).
        reduction: ``"mean_nonzero"`` (mean over the triplets with a positive loss, pml's default),
            ``"mean"`` (over all valid triplets), ``"sum"``, or ``"none"`` (T,) losses of all valid
            triplets in (anchor, positive, negative) lexicographic order, zero where a triplet is not
            selected; the regularizer is then left out.

    Returns:
        A scalar, or (T,) per-triplet losses. A batch without an active triplet gives the regularizer alone.
    """
    check_labelled_batch(embeddings, labels)
    check_positive("margin", margin, allow_zero=True)
    check_positive("reg", reg, allow_zero=True)
    check_choice("triplets", triplets, set(TRIPLETS))
    check_reduction_of(reduction, SNR_REDUCTIONS)
    if embeddings.shape[1] < 2:
        raise ValueError(f"embeddings must have at least 2 features, got shape {tuple(embeddings.shape)}")
    x = F.normalize(embeddings, dim=1) if normalize else embeddings
    distances = _snr_matrix(x, x, 1e-12)  # (B, B)
    positive, negative = pair_masks(labels)
    if reduction == "none":
        anchor, pos, neg = torch.where(positive[:, :, None] & negative[:, None, :])  # (T,) each
        d_ap, d_an = distances[anchor, pos], distances[anchor, neg]
        losses = torch.relu(d_ap - d_an + margin)
        return losses * (d_an > d_ap) if triplets == "semihard" else losses
    per_positive, per_negative = _triplet_counts(distances.detach(), positive, negative, margin, triplets)
    n_active = per_positive.sum()
    total = (per_positive * distances).sum() - (per_negative * distances).sum() + margin * n_active
    if reduction == "mean_nonzero":
        total = total / n_active if n_active > 0 else zero_loss(embeddings)
    elif reduction == "mean":
        n_valid = (positive.sum(1) * negative.sum(1)).sum()
        total = total / n_valid if n_valid > 0 else zero_loss(embeddings)
    if reg > 0:
        total = total + reg * zero_mean_regularizer(embeddings)
    return total


def snr_contrastive_loss(
    embeddings: torch.Tensor,
    labels: torch.Tensor,
    pos_margin: float = 0.0,
    neg_margin: float = 1.0,
    reg: float = 0.0,
    normalize: bool = False,
) -> torch.Tensor:
    r"""Contrastive loss with the SNR distance, plus the paper's zero-mean regularizer.

    .. math:: L = \operatorname{mean}^{\neq 0}_{y_i = y_j, i \ne j} [d_S(h_i, h_j) - m_+]_+
              + \operatorname{mean}^{\neq 0}_{y_i \ne y_j} [m_- - d_S(h_i, h_j)]_+
              + \text{reg} \cdot \frac{1}{B} \sum_i \Big|\sum_m h_{im}\Big|

    where :math:`\operatorname{mean}^{\neq 0}` averages the non-zero terms, as pytorch-metric-learning's
    ``SignalToNoiseRatioContrastiveLoss`` does (which also L2-normalizes first: ``normalize=True``).

    Args:
        embeddings: (B, D) embeddings, D >= 2.
        labels: (B,) integer class labels.
        pos_margin, neg_margin: SNR distances below / above which a pair costs nothing.
        reg: weight of the zero-mean regularizer.
        normalize: L2-normalize the embeddings first.

    Returns:
        A scalar.
    """
    check_labelled_batch(embeddings, labels)
    check_positive("pos_margin", pos_margin, allow_zero=True)
    check_positive("neg_margin", neg_margin, allow_zero=True)
    check_positive("reg", reg, allow_zero=True)
    if embeddings.shape[1] < 2:
        raise ValueError(f"embeddings must have at least 2 features, got shape {tuple(embeddings.shape)}")
    x = F.normalize(embeddings, dim=1) if normalize else embeddings
    distances = _snr_matrix(x, x, 1e-12)  # (B, B)
    positive, negative = pair_masks(labels)
    total = zero_loss(embeddings)
    for losses in (
        torch.relu(distances[positive] - pos_margin),
        torch.relu(neg_margin - distances[negative]),
    ):
        active = losses > 0
        if bool(active.any()):
            total = total + losses[active].mean()
    if reg > 0:
        total = total + reg * zero_mean_regularizer(embeddings)
    return total


class SNRTripletLoss(nn.Module):
    """Module form of :func:`snr_triplet_loss`; ``forward(embeddings, labels)``."""

    def __init__(self, margin=0.05, reg=0.0, triplets="all", normalize=False, reduction="mean_nonzero"):
        super().__init__()
        check_positive("margin", margin, allow_zero=True)
        check_positive("reg", reg, allow_zero=True)
        check_choice("triplets", triplets, set(TRIPLETS))
        check_reduction_of(reduction, SNR_REDUCTIONS)
        self.margin, self.reg, self.triplets = margin, reg, triplets
        self.normalize, self.reduction = normalize, reduction

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return snr_triplet_loss(
            embeddings, labels, self.margin, self.reg, self.triplets, self.normalize, self.reduction
        )


class SNRContrastiveLoss(nn.Module):
    """Module form of :func:`snr_contrastive_loss`; ``forward(embeddings, labels)``."""

    def __init__(self, pos_margin=0.0, neg_margin=1.0, reg=0.0, normalize=False):
        super().__init__()
        check_positive("pos_margin", pos_margin, allow_zero=True)
        check_positive("neg_margin", neg_margin, allow_zero=True)
        check_positive("reg", reg, allow_zero=True)
        self.pos_margin, self.neg_margin, self.reg, self.normalize = pos_margin, neg_margin, reg, normalize

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return snr_contrastive_loss(
            embeddings, labels, self.pos_margin, self.neg_margin, self.reg, self.normalize
        )
