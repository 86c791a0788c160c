r"""Multi-label retrieval losses for dual encoders: decoupled softmax and the soft top-k loss.

From "Dual-Encoders for Extreme Multi-Label Classification". A dual encoder scores a query against
every label, :math:`s_{ql}` (for instance :math:`\langle f(q), g(l) \rangle / \tau`); a query has a set
:math:`P_q` of positive labels. The usual multi-label extension of InfoNCE puts every positive in every
denominator,

.. math:: \mathcal{L}_{\text{softmax}} = -\frac{1}{|P_q|} \sum_{l \in P_q}
          \log \frac{e^{s_{ql}}}{\sum_{l'} e^{s_{ql'}}},

so the positives compete with one another: raising one lowers the others' probabilities, and the loss
is minimized by spreading probability :math:`1/|P_q|` over them. The **decoupled softmax** drops the
other positives from each positive's denominator,

.. math:: \mathcal{L}_{\text{DS}} = -\frac{1}{|P_q|} \sum_{l \in P_q}
          \log \frac{e^{s_{ql}}}{e^{s_{ql}} + \sum_{l' \notin P_q} e^{s_{ql'}}}.

The **soft top-k** loss instead maximizes the log-probability of each positive under a differentiable
top-k operator, :math:`p_l = \sigma(\alpha (s_{ql} + t_q))` with :math:`t_q` set so that
:math:`\sum_l p_l = k`; its gradient follows from the implicit function theorem.

Every loss takes ``scores`` (B, L), one row of label scores per query, and ``targets`` (B, L), a
boolean (or 0/1) multi-hot matrix; each query needs at least one positive and one negative. These are
multi-label losses on a score matrix, not the ``(embeddings, labels)`` metric losses of this package.
Per-positive terms are averaged within a query, as in the authors' code for both proposed losses (their
softmax baseline sums them instead, which weights queries by their number of positives).
"""

from __future__ import annotations

import torch
from torch import nn

from paperlab._checks import check_positive, check_reduction, check_tensor, reduce


def _check_scores_targets(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Validate a (B, L) score matrix and its multi-hot targets; return the targets as a bool mask."""
    check_tensor("scores", scores, dim=2, floating=True)
    check_tensor("targets", targets, dim=2)
    if targets.shape != scores.shape:
        raise ValueError(
            f"targets must have the shape of scores {tuple(scores.shape)}, got {tuple(targets.shape)}"
        )
    if targets.device != scores.device:
        raise ValueError(f"targets must live on scores' device {scores.device}, got {targets.device}")
    if targets.dtype != torch.bool:
        if ((targets != 0) & (targets != 1)).any():
            raise ValueError("targets must be boolean or contain only 0 and 1")
        targets = targets != 0
    positives = targets.sum(dim=1)  # (B,)
    if (positives == 0).any() or (positives == scores.shape[1]).any():
        raise ValueError(
            f"every row of targets needs at least one positive and one negative label, got positive counts "
            f"from {positives.min().item()} to {positives.max().item()} out of {scores.shape[1]}"
        )
    return targets


def _mean_over_positives(log_probs: torch.Tensor, positive: torch.Tensor) -> torch.Tensor:
    """Per-query mean of ``-log_probs`` over the positive labels, (B,)."""
    return -(log_probs * positive).sum(dim=1) / positive.sum(dim=1)


def multilabel_softmax_loss(
    scores: torch.Tensor, targets: torch.Tensor, reduction: str = "mean"
) -> torch.Tensor:
    r"""Multi-label InfoNCE: each positive against all labels, the other positives included.

    .. math:: \ell_q = -\frac{1}{|P_q|} \sum_{l \in P_q} \big(s_{ql} - \log \textstyle\sum_{l'} e^{s_{ql'}}\big)

    Args:
        scores: query-label scores, (B, L).
        targets: multi-hot positives, bool or 0/1, (B, L).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
        A scalar, or per-query losses (B,) for ``reduction="none"``.
    """
    positive = _check_scores_targets(scores, targets)
    check_reduction(reduction)
    log_probs = scores - scores.logsumexp(dim=1, keepdim=True)  # (B, L)
    return reduce(_mean_over_positives(log_probs, positive), reduction)


def decoupled_softmax_loss(
    scores: torch.Tensor, targets: torch.Tensor, reduction: str = "mean"
) -> torch.Tensor:
    r"""Decoupled softmax: each positive against the negatives only.

    .. math:: \ell_q = -\frac{1}{|P_q|} \sum_{l \in P_q}
              \Big(s_{ql} - \log\big(e^{s_{ql}} + \textstyle\sum_{l' \notin P_q} e^{s_{ql'}}\big)\Big)

    Arguments and returns as in :func:`multilabel_softmax_loss`.
    """
    positive = _check_scores_targets(scores, targets)
    check_reduction(reduction)
    negatives = scores.masked_fill(positive, float("-inf")).logsumexp(dim=1, keepdim=True)  # (B, 1)
    log_probs = scores - torch.logaddexp(scores, negatives)  # (B, L), used on positives only
    return reduce(_mean_over_positives(log_probs, positive), reduction)


def _check_k(k, scores: torch.Tensor) -> torch.Tensor:
    """Return ``k`` as a (B, 1) tensor of scores' dtype, raising unless 0 < k < L."""
    n_labels = scores.shape[1]
    if isinstance(k, torch.Tensor):
        if k.dim() != 1 or k.shape[0] != scores.shape[0] or k.is_floating_point():
            raise ValueError(
                f"k must be an int or an integer tensor of shape ({scores.shape[0]},), got {k!r}"
            )
        k = k.to(scores.device)
    elif isinstance(k, bool) or not isinstance(k, int):
        raise ValueError(f"k must be an int or an integer (B,) tensor, got {k!r}")
    else:
        k = torch.full((scores.shape[0],), k, device=scores.device)
    if (k <= 0).any() or (k >= n_labels).any():
        raise ValueError(
            f"k must lie in [1, {n_labels - 1}] (fewer than the {n_labels} labels), got {k.tolist()}"
        )
    return k.to(scores.dtype)[:, None]


@torch.no_grad()
def _threshold(scores: torch.Tensor, k: torch.Tensor, alpha: float, n_iter: int) -> torch.Tensor:
    """Bisection for the shift t (B, 1) with sum_l sigmoid(alpha (s_l + t)) = k."""
    lo = -scores.amax(dim=1, keepdim=True) - 10.0 / alpha  # every sigmoid below sigmoid(-10)
    hi = -scores.amin(dim=1, keepdim=True) + 10.0 / alpha  # every sigmoid above sigmoid(10)
    for _ in range(n_iter):
        mid = (lo + hi) / 2
        below = torch.sigmoid(alpha * (scores + mid)).sum(dim=1, keepdim=True) < k  # (B, 1)
        lo = torch.where(below, mid, lo)
        hi = torch.where(below, hi, mid)
    return (lo + hi) / 2


class _LogSoftTopK(torch.autograd.Function):
    r"""log p with p = sigmoid(alpha (s + t(s))); backward by the implicit function theorem.

    With :math:`v = \alpha p (1 - p)`, :math:`\partial t / \partial s_j = -v_j / \sum v`, so for an
    upstream gradient :math:`g` and :math:`u = g \alpha (1 - p)`:
    :math:`\partial L / \partial s = u - v \sum_l u_l / \sum_l v_l`.
    """

    @staticmethod
    def forward(ctx, scores, k, alpha, n_iter):
        logits = alpha * (scores + _threshold(scores, k, alpha, n_iter))  # (B, L)
        ctx.save_for_backward(logits)
        ctx.alpha = alpha
        return torch.nn.functional.logsigmoid(logits)

    @staticmethod
    def backward(ctx, grad_output):
        (logits,) = ctx.saved_tensors
        p = torch.sigmoid(logits)
        v = ctx.alpha * p * (1 - p)  # (B, L)
        u = grad_output * ctx.alpha * (1 - p)  # (B, L)
        return u - v * (u.sum(dim=1, keepdim=True) / v.sum(dim=1, keepdim=True)), None, None, None


def soft_topk(
    scores: torch.Tensor, k: int | torch.Tensor, alpha: float = 1.0, n_iter: int = 64
) -> torch.Tensor:
    r"""Differentiable top-k membership :math:`p_l = \sigma(\alpha (s_l + t))` with :math:`\sum_l p_l = k`.

    Args:
        scores: (B, L).
        k: number of labels to select, an int or a per-row integer tensor (B,), in [1, L - 1].
        alpha: sharpness :math:`\alpha > 0`; large values approach the hard top-k indicator.
        n_iter: bisection steps for :math:`t` (64 reach float64 resolution).

    Returns:
        Memberships in (0, 1), (B, L); each row sums to ``k``.
    """
    return log_soft_topk(scores, k, alpha, n_iter).exp()


def log_soft_topk(
    scores: torch.Tensor, k: int | torch.Tensor, alpha: float = 1.0, n_iter: int = 64
) -> torch.Tensor:
    """Logarithm of :func:`soft_topk`, computed stably (log-sigmoid); same arguments, (B, L)."""
    check_tensor("scores", scores, dim=2, floating=True)
    check_positive("alpha", alpha)
    check_positive("n_iter", n_iter, integer=True)
    return _LogSoftTopK.apply(scores, _check_k(k, scores), float(alpha), int(n_iter))


def soft_topk_loss(
    scores: torch.Tensor,
    targets: torch.Tensor,
    k: int | torch.Tensor,
    alpha: float = 1.0,
    n_iter: int = 64,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Soft top-k loss: mean negative log top-k membership of the positives.

    .. math:: \ell_q = -\frac{1}{|P_q|} \sum_{l \in P_q} \log \sigma\big(\alpha (s_{ql} + t_q)\big)

    Args:
        scores, targets, reduction: as in :func:`multilabel_softmax_loss`.
        k, alpha, n_iter: as in :func:`soft_topk`; ``k = targets.sum(1)`` asks for all positives.

    Returns:
        A scalar, or per-query losses (B,) for ``reduction="none"``.
    """
    positive = _check_scores_targets(scores, targets)
    check_reduction(reduction)
    return reduce(_mean_over_positives(log_soft_topk(scores, k, alpha, n_iter), positive), reduction)


class MultiLabelSoftmaxLoss(nn.Module):
    """Module form of :func:`multilabel_softmax_loss`; ``forward(scores, targets)``."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = check_reduction(reduction)

    def forward(self, scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return multilabel_softmax_loss(scores, targets, self.reduction)


class DecoupledSoftmaxLoss(MultiLabelSoftmaxLoss):
    """Module form of :func:`decoupled_softmax_loss`; ``forward(scores, targets)``."""

    def forward(self, scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return decoupled_softmax_loss(scores, targets, self.reduction)


class SoftTopKLoss(nn.Module):
    """Module form of :func:`soft_topk_loss`; ``forward(scores, targets)``."""

    def __init__(self, k: int, alpha: float = 1.0, n_iter: int = 64, reduction: str = "mean"):
        super().__init__()
        check_positive("k", k, integer=True)
        check_positive("alpha", alpha)
        check_positive("n_iter", n_iter, integer=True)
        self.k, self.alpha, self.n_iter, self.reduction = k, float(alpha), n_iter, check_reduction(reduction)

    def forward(self, scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return soft_topk_loss(scores, targets, self.k, self.alpha, self.n_iter, self.reduction)
