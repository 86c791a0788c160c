r"""Normalized and Active-Passive losses for training with noisy labels.

From "Normalized Loss Functions for Deep Learning with Noisy Labels" (2020). A loss :math:`L` is
*normalized* by dividing it by its sum over every possible label,

.. math:: L_{\text{norm}}(f(x), y) = \frac{L(f(x), y)}{\sum_{k=1}^{K} L(f(x), k)},

so that :math:`\sum_k L_{\text{norm}}(f(x), k) = 1`, a constant: the condition under which a loss is
provably robust to symmetric label noise. Normalized losses are robust but underfit, so the paper pairs
an *active* loss (one that pushes the labelled class up: NCE, NFL) with a *passive* one (one that pushes
the other classes down: RCE, MAE) into an Active-Passive Loss,
:math:`L_{\text{APL}} = \alpha L_{\text{active}} + \beta L_{\text{passive}}`.

Every function takes logits ``input`` of shape ``(N, C)`` or ``(N, C, d1, ...)``, int64 class indices
``target`` of shape ``(N,)`` or ``(N, d1, ...)``, and ``reduction`` in ``"mean"``, ``"sum"``, ``"none"``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from paperlab._checks import check_choice, check_positive, check_reduction, reduce
from paperlab.losses.polyloss import check_class_scores

ACTIVE_LOSSES = ("nce", "nfl")
PASSIVE_LOSSES = ("rce", "mae")


def normalized_cross_entropy(
    input: torch.Tensor, target: torch.Tensor, reduction: str = "mean"
) -> torch.Tensor:
    r"""Normalized cross-entropy (NCE): cross-entropy divided by its sum over all labels.

    .. math:: L_{\text{NCE}} = \frac{-\log p_y}{-\sum_{k=1}^{K} \log p_k} \in [0, 1]

    The denominator is at least :math:`K \log K`, so the ratio is always well defined.

    Args:
        input: logits, shape ``(N, C)`` or ``(N, C, d1, ...)``, with ``C >= 2``.
        target: class indices, int64, shape ``(N,)`` or ``(N, d1, ...)``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
        A scalar, or per-item losses of the target's shape for ``reduction="none"``.
    """
    check_class_scores(input, target)
    check_reduction(reduction)
    log_p = F.log_softmax(input, dim=1)  # (N, C, ...)
    losses = log_p.gather(1, target.unsqueeze(1)).squeeze(1) / log_p.sum(dim=1)  # (N, ...)
    return reduce(losses, reduction)


def reverse_cross_entropy(
    input: torch.Tensor, target: torch.Tensor, reduction: str = "mean", log_zero: float = -4.0
) -> torch.Tensor:
    r"""Reverse cross-entropy (RCE): cross-entropy with prediction and one-hot label swapped.

    .. math:: L_{\text{RCE}} = -\sum_{k=1}^{K} p_k \log q_k = -A\,(1 - p_y)

    where :math:`q` is the one-hot label and :math:`\log 0` is replaced by the constant :math:`A`
    (``log_zero``; the paper uses :math:`A = -4`, the authors' code clamps :math:`q` at :math:`10^{-4}`,
    i.e. :math:`A = \log 10^{-4}`). Its sum over all labels is :math:`-A (K - 1)`, a constant: RCE is a
    symmetric, hence robust, passive loss.

    Args:
        input, target, reduction: as in :func:`normalized_cross_entropy`.
        log_zero: the value :math:`A < 0` that stands for :math:`\log 0`.

    Returns:
        A scalar, or per-item losses of the target's shape for ``reduction="none"``.
    """
    if (
        isinstance(log_zero, bool)
        or not isinstance(log_zero, (int, float))
        or not -float("inf") < log_zero < 0
    ):
        raise ValueError(f"log_zero must be a finite negative number, got {log_zero!r}")
    return -log_zero * _one_minus_target_probability(input, target, reduction)


def mae_loss(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    r"""Mean absolute error between the softmax probabilities and the one-hot label.

    .. math:: L_{\text{MAE}} = \sum_{k=1}^{K} |p_k - q_k| = 2\,(1 - p_y)

    This is the paper's definition; the authors' code uses half of it, :math:`1 - p_y`. Its sum over all
    labels is :math:`2 (K - 1)`: a symmetric, robust, passive loss.

    Arguments and returns as in :func:`normalized_cross_entropy`.
    """
    return 2.0 * _one_minus_target_probability(input, target, reduction)


def normalized_focal_loss(
    input: torch.Tensor, target: torch.Tensor, gamma: float = 0.5, reduction: str = "mean"
) -> torch.Tensor:
    r"""Normalized focal loss (NFL): focal loss divided by its sum over all labels.

    .. math:: L_{\text{NFL}} = \frac{-(1 - p_y)^\gamma \log p_y}{-\sum_{k=1}^{K} (1 - p_k)^\gamma \log p_k}
              \in [0, 1]

    The numerator is :func:`paperlab.losses.focal_loss` without class weights. The gradient flows
    through numerator and denominator (the authors' code holds the denominator constant).
    ``gamma = 0`` is :func:`normalized_cross_entropy`; the paper's experiments use ``gamma = 0.5``.
    The backward pass is written by hand (first-order gradients only), so that forward and backward
    cost a few passes over the logits instead of autograd's many.

    Args:
        input, target, reduction: as in :func:`normalized_cross_entropy`.
        gamma: focusing exponent :math:`\gamma \ge 0`.

    Returns:
        A scalar, or per-item losses of the target's shape for ``reduction="none"``.
    """
    check_class_scores(input, target)
    check_positive("gamma", gamma, allow_zero=True)
    check_reduction(reduction)
    return reduce(_NormalizedFocal.apply(input, target, float(gamma)), reduction)


class _NormalizedFocal(torch.autograd.Function):
    r"""Per-item NFL with a hand-written backward: a few fused passes instead of autograd's many.

    With :math:`\ell_k = \log p_k`, :math:`u_k = 1 - p_k`, the per-class focal term
    :math:`F_k = -u_k^\gamma \ell_k`, :math:`S = \sum_k F_k` and :math:`L = F_y / S`:

    .. math:: \frac{\partial L}{\partial \ell_k} = \frac{\delta_{ky} - L}{S} D_k, \quad
              D_k = \frac{\partial F_k}{\partial \ell_k} = u_k^\gamma \Big(\gamma \frac{p_k \ell_k}{u_k} - 1\Big),

    and the log-softmax backward gives :math:`g_z = g_\ell - p \sum_k g_{\ell,k}`.
    """

    @staticmethod
    def forward(ctx, input, target, gamma):
        log_p = F.log_softmax(input, dim=1)  # (N, C, ...)
        # u = 1 - p without cancellation, clamped so that u^(gamma - 1) stays finite when p rounds to 1.
        one_minus_p = torch.expm1(log_p).neg_().clamp_min_(torch.finfo(log_p.dtype).tiny)
        weight = one_minus_p.pow(gamma)  # u^gamma, (N, C, ...)
        neg_focal = weight * log_p  # -F, (N, C, ...)
        neg_total = neg_focal.sum(dim=1, keepdim=True)  # -S, (N, 1, ...)
        index = target.unsqueeze(1)  # (N, 1, ...)
        losses = neg_focal.gather(1, index) / neg_total  # (N, 1, ...)
        p = log_p.exp_()  # log p is no longer needed: p takes its storage
        # D = gamma p (u^gamma l) / u - u^gamma, built in the storage of the temporaries.
        d_focal = weight.neg_().addcdiv_(neg_focal.mul_(p), one_minus_p, value=gamma)
        ctx.save_for_backward(d_focal, p, index, losses, neg_total)
        return losses.squeeze(1)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_output):
        d_focal, p, index, losses, neg_total = ctx.saved_tensors
        grad = grad_output.unsqueeze(1)  # (N, 1, ...)
        grad_log_p = d_focal * (grad * losses / neg_total)  # the -L / S part, (N, C, ...)
        grad_log_p.scatter_add_(1, index, d_focal.gather(1, index) * (-grad / neg_total))  # the 1 / S part
        row_sum = grad_log_p.sum(dim=1, keepdim=True)  # (N, 1, ...)
        return grad_log_p.addcmul_(p, row_sum, value=-1), None, None


def active_passive_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    active: str = "nce",
    passive: str = "rce",
    alpha: float = 1.0,
    beta: float = 1.0,
    gamma: float = 0.5,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Active-Passive Loss (APL): a weighted sum of one active and one passive robust loss.

    .. math:: L_{\text{APL}} = \alpha\, L_{\text{active}} + \beta\, L_{\text{passive}}

    with ``active`` one of ``"nce"`` (:func:`normalized_cross_entropy`), ``"nfl"``
    (:func:`normalized_focal_loss`) and ``passive`` one of ``"rce"`` (:func:`reverse_cross_entropy`,
    :math:`A = -4`), ``"mae"`` (:func:`mae_loss`). Both parts are robust, so their sum is too; the
    passive part makes up for the underfitting of the normalized active part.

    Args:
        input, target, reduction: as in :func:`normalized_cross_entropy`.
        active, passive: names of the two parts.
        alpha, beta: non-negative weights of the active and passive parts.
        gamma: focusing exponent of NFL (ignored for NCE).

    Returns:
        A scalar, or per-item losses of the target's shape for ``reduction="none"``.
    """
    check_choice("active", active, ACTIVE_LOSSES)
    check_choice("passive", passive, PASSIVE_LOSSES)
    check_positive("alpha", alpha, allow_zero=True)
    check_positive("beta", beta, allow_zero=True)
    if active == "nce":
        active_part = normalized_cross_entropy(input, target, reduction)
    else:
        active_part = normalized_focal_loss(input, target, gamma, reduction)
    if passive == "rce":
        passive_part = reverse_cross_entropy(input, target, reduction)
    else:
        passive_part = mae_loss(input, target, reduction)
    return alpha * active_part + beta * passive_part


class NormalizedCrossEntropyLoss(nn.Module):
    """Module form of :func:`normalized_cross_entropy`."""

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = check_reduction(reduction)

    def forward(self, input, target):
        return normalized_cross_entropy(input, target, self.reduction)


class NormalizedFocalLoss(nn.Module):
    """Module form of :func:`normalized_focal_loss`."""

    def __init__(self, gamma=0.5, reduction="mean"):
        super().__init__()
        self.gamma, self.reduction = (
            check_positive("gamma", gamma, allow_zero=True),
            check_reduction(reduction),
        )

    def forward(self, input, target):
        return normalized_focal_loss(input, target, self.gamma, self.reduction)


class ReverseCrossEntropyLoss(nn.Module):
    """Module form of :func:`reverse_cross_entropy`."""

    def __init__(self, reduction="mean", log_zero=-4.0):
        super().__init__()
        self.reduction, self.log_zero = check_reduction(reduction), log_zero

    def forward(self, input, target):
        return reverse_cross_entropy(input, target, self.reduction, self.log_zero)


class MAELoss(nn.Module):
    """Module form of :func:`mae_loss`."""

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = check_reduction(reduction)

    def forward(self, input, target):
        return mae_loss(input, target, self.reduction)


class ActivePassiveLoss(nn.Module):
    """Module form of :func:`active_passive_loss`."""

    def __init__(self, active="nce", passive="rce", alpha=1.0, beta=1.0, gamma=0.5, reduction="mean"):
        super().__init__()
        self.active = check_choice("active", active, ACTIVE_LOSSES)
        self.passive = check_choice("passive", passive, PASSIVE_LOSSES)
        self.alpha = check_positive("alpha", alpha, allow_zero=True)
        self.beta = check_positive("beta", beta, allow_zero=True)
        self.gamma, self.reduction = gamma, check_reduction(reduction)

    def forward(self, input, target):
        return active_passive_loss(
            input, target, self.active, self.passive, self.alpha, self.beta, self.gamma, self.reduction
        )


def _one_minus_target_probability(input, target, reduction: str) -> torch.Tensor:
    """Reduced :math:`1 - p_y`, computed from the log-probability without cancellation."""
    check_class_scores(input, target)
    check_reduction(reduction)
    log_py = F.log_softmax(input, dim=1).gather(1, target.unsqueeze(1)).squeeze(1)  # (N, ...)
    return reduce(-torch.expm1(log_py), reduction)
