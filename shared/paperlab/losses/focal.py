r"""Softmax focal loss and its Poly-1 form.

Focal loss down-weights well-classified items by :math:`(1 - p_t)^\gamma`; "PolyLoss: A Polynomial
Expansion Perspective of Classification Loss Functions" (2022) writes it as a series in
:math:`1 - p_t` whose leading power is :math:`\gamma + 1`, and perturbs that leading term.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from paperlab._checks import check_positive, check_reduction, check_tensor

from .polyloss import check_class_scores


def focal_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    gamma: float = 2.0,
    alpha: torch.Tensor | None = None,
    reduction: str = "mean",
    ignore_index: int = -100,
) -> torch.Tensor:
    r"""Multi-class (softmax) focal loss.

    .. math:: L_{\text{FL}} = -\alpha_t\, (1 - p_t)^\gamma \log p_t

    ``gamma = 0`` is cross-entropy, weighted like ``F.cross_entropy(..., weight=alpha)``: the
    ``"mean"`` reduction divides by :math:`\sum_i \alpha_{t_i}` over non-ignored items (by their
    count without ``alpha``).

    Args:
        input: logits, shape ``(N, C)`` or ``(N, C, d1, ...)``.
        target: class indices, int64, shape ``(N,)`` or ``(N, d1, ...)``.
        gamma: focusing exponent :math:`\gamma \ge 0`.
        alpha: optional non-negative per-class weights, shape ``(C,)``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        ignore_index: target value whose items get zero loss and do not count in the mean.

    Returns:
        A scalar, or per-item losses of the target's shape for ``reduction="none"``.
    """
    return poly1_focal_loss(input, target, 0.0, gamma, alpha, reduction, ignore_index)


def poly1_focal_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    epsilon: float = 1.0,
    gamma: float = 2.0,
    alpha: torch.Tensor | None = None,
    reduction: str = "mean",
    ignore_index: int = -100,
) -> torch.Tensor:
    r"""Poly-1 focal loss: focal loss plus :math:`\epsilon (1 - p_t)^{\gamma + 1}`.

    .. math:: L = \alpha_t \left[ -(1 - p_t)^\gamma \log p_t + \epsilon\, (1 - p_t)^{\gamma + 1} \right]

    The paper states it for sigmoid outputs, where :math:`\alpha_t` weights only the focal term; here
    it is the softmax form and :math:`\alpha_t` weights the whole item, so that ``epsilon = 0`` is
    :func:`focal_loss`. Arguments and returns as in :func:`focal_loss`; the paper asks for
    :math:`\epsilon \ge -1`.
    """
    if not isinstance(epsilon, (int, float)) or isinstance(epsilon, bool) or not epsilon >= -1:
        raise ValueError(f"epsilon must be a number >= -1, got {epsilon!r}")
    check_positive("gamma", gamma, allow_zero=True)
    check_reduction(reduction)
    check_class_scores(input, target, ignore_index)
    valid = target != ignore_index
    safe_target = target.masked_fill(~valid, 0)
    log_pt = F.log_softmax(input, dim=1).gather(1, safe_target.unsqueeze(1)).squeeze(1)  # (N, ...)
    # 1 - p_t without cancellation; clamped so that d/dx x^gamma stays finite when p_t rounds to 1.
    one_minus_pt = (-torch.expm1(log_pt)).clamp_min(torch.finfo(log_pt.dtype).tiny)
    losses = one_minus_pt.pow(gamma) * (epsilon * one_minus_pt - log_pt)
    if alpha is None:
        weights = valid.to(losses.dtype)
    else:
        check_tensor("alpha", alpha, dim=1, floating=True)
        if alpha.shape[0] != input.shape[1]:
            raise ValueError(f"alpha must have shape ({input.shape[1]},), got {tuple(alpha.shape)}")
        if bool((alpha < 0).any()):
            raise ValueError(f"alpha must be non-negative, got minimum {alpha.min().item():.3g}")
        weights = alpha.to(losses.dtype)[safe_target] * valid  # (N, ...)
    losses = losses * weights
    if reduction == "mean":
        return losses.sum() / weights.sum()  # nan when every item is ignored, as in torch
    if reduction == "sum":
        return losses.sum()
    return losses


class FocalLoss(nn.Module):
    """Module form of :func:`focal_loss`; ``alpha`` is registered as a buffer."""

    def __init__(self, gamma=2.0, alpha=None, reduction="mean", ignore_index=-100):
        super().__init__()
        self.gamma, self.reduction, self.ignore_index = gamma, check_reduction(reduction), ignore_index
        self.register_buffer("alpha", alpha)

    def forward(self, input, target):
        return focal_loss(input, target, self.gamma, self.alpha, self.reduction, self.ignore_index)


class Poly1FocalLoss(nn.Module):
    """Module form of :func:`poly1_focal_loss`; ``alpha`` is registered as a buffer."""

    def __init__(self, epsilon=1.0, gamma=2.0, alpha=None, reduction="mean", ignore_index=-100):
        super().__init__()
        self.epsilon, self.gamma = epsilon, gamma
        self.reduction, self.ignore_index = check_reduction(reduction), ignore_index
        self.register_buffer("alpha", alpha)

    def forward(self, input, target):
        return poly1_focal_loss(
            input, target, self.epsilon, self.gamma, self.alpha, self.reduction, self.ignore_index
        )
