r"""The PolyLoss family: cross-entropy seen as a polynomial series in :math:`1 - p_t`.

From "PolyLoss: A Polynomial Expansion Perspective of Classification Loss Functions" (2022).
Cross-entropy expands as :math:`-\log p_t = \sum_{j \ge 1} \frac{1}{j} (1 - p_t)^j`. PolyLoss
perturbs the leading coefficients: Poly-1 adds :math:`\epsilon (1 - p_t)` to cross-entropy, Poly-N
adds :math:`\sum_{j \le N} \epsilon_j (1 - p_t)^j`, and the general form weights every power freely.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from paperlab._checks import check_positive, check_reduction, check_tensor


def poly1_cross_entropy(
    input: torch.Tensor,
    target: torch.Tensor,
    epsilon: float = 1.0,
    reduction: str = "mean",
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    r"""Poly-1 loss: cross-entropy plus :math:`\epsilon (1 - p_t)`.

    .. math:: L_{\text{Poly-1}} = -\log p_t + \epsilon\, (1 - p_t)

    With label smoothing :math:`s` over :math:`C` classes the cross-entropy term is torch's smoothed
    one and :math:`p_t = \sum_c q_c p_c` uses the smoothed target :math:`q = (1 - s)\,\text{onehot} + s/C`.
    ``epsilon = 0`` is exactly ``F.cross_entropy``.

    Args:
        input: logits, shape ``(N, C)`` or ``(N, C, d1, ...)``.
        target: class indices, int64, shape ``(N,)`` or ``(N, d1, ...)``.
        epsilon: coefficient of :math:`(1 - p_t)`; the paper asks for :math:`\epsilon \ge -1`.
        reduction: ``"mean"`` (over non-ignored items), ``"sum"`` or ``"none"``.
        ignore_index: target value whose items get zero loss and do not count in the mean.
        label_smoothing: :math:`s \in [0, 1]`.

    Returns:
        A scalar, or per-item losses of the target's shape for ``reduction="none"``.
    """
    if not isinstance(epsilon, (int, float)) or isinstance(epsilon, bool) or not epsilon >= -1:
        raise ValueError(f"epsilon must be a number >= -1, got {epsilon!r}")
    return polyn_cross_entropy(input, target, (epsilon,), reduction, ignore_index, label_smoothing)


def polyn_cross_entropy(
    input: torch.Tensor,
    target: torch.Tensor,
    epsilons: Sequence[float] = (1.0,),
    reduction: str = "mean",
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    r"""Poly-N loss: cross-entropy plus a polynomial :math:`\sum_{j=1}^N \epsilon_j (1 - p_t)^j`.

    .. math:: L_{\text{Poly-N}} = -\log p_t + \sum_{j=1}^{N} \epsilon_j (1 - p_t)^j

    Arguments and returns as in :func:`poly1_cross_entropy`; ``epsilons`` holds
    :math:`(\epsilon_1, \dots, \epsilon_N)`.
    """
    coefficients = _check_coefficients("epsilons", epsilons)
    check_reduction(reduction)
    _check_label_smoothing(label_smoothing)
    check_class_scores(input, target, ignore_index)
    cross_entropy = F.cross_entropy(
        input, target, reduction="none", ignore_index=ignore_index, label_smoothing=label_smoothing
    )
    one_minus_pt, valid = one_minus_target_probability(input, target, ignore_index, label_smoothing)
    losses = cross_entropy + _power_series(one_minus_pt, coefficients).masked_fill(~valid, 0.0)
    return reduce_valid(losses, valid, reduction)


def poly_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    alphas: Sequence[float],
    reduction: str = "mean",
    ignore_index: int = -100,
) -> torch.Tensor:
    r"""The general (truncated) PolyLoss :math:`\sum_{j=1}^N \alpha_j (1 - p_t)^j`.

    With :math:`\alpha_j = 1/j` and :math:`N \to \infty` this is cross-entropy; a finite :math:`N`
    matches it only where :math:`1 - p_t` is small enough for the tail to vanish.

    Arguments and returns as in :func:`poly1_cross_entropy`; ``alphas`` holds
    :math:`(\alpha_1, \dots, \alpha_N)`.
    """
    coefficients = _check_coefficients("alphas", alphas)
    check_reduction(reduction)
    check_class_scores(input, target, ignore_index)
    one_minus_pt, valid = one_minus_target_probability(input, target, ignore_index, 0.0)
    losses = _power_series(one_minus_pt, coefficients).masked_fill(~valid, 0.0)
    return reduce_valid(losses, valid, reduction)


class Poly1CrossEntropyLoss(nn.Module):
    """Module form of :func:`poly1_cross_entropy`."""

    def __init__(self, epsilon=1.0, reduction="mean", ignore_index=-100, label_smoothing=0.0):
        super().__init__()
        self.epsilon, self.reduction = epsilon, check_reduction(reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input, target):
        return poly1_cross_entropy(
            input, target, self.epsilon, self.reduction, self.ignore_index, self.label_smoothing
        )


class PolyNCrossEntropyLoss(nn.Module):
    """Module form of :func:`polyn_cross_entropy`."""

    def __init__(self, epsilons=(1.0,), reduction="mean", ignore_index=-100, label_smoothing=0.0):
        super().__init__()
        self.epsilons, self.reduction = tuple(epsilons), check_reduction(reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input, target):
        return polyn_cross_entropy(
            input, target, self.epsilons, self.reduction, self.ignore_index, self.label_smoothing
        )


def check_class_scores(input, target, ignore_index: int | None = None) -> None:
    """Validate logits ``(N, C, ...)`` and int64 class indices ``(N, ...)`` in ``[0, C)`` (or ``ignore_index``)."""
    check_tensor("input", input, min_dim=2, floating=True)
    if ignore_index is not None and (isinstance(ignore_index, bool) or not isinstance(ignore_index, int)):
        raise TypeError(f"ignore_index must be an integer, got {ignore_index!r}")
    if not isinstance(target, torch.Tensor):
        raise TypeError(f"target must be a torch.Tensor, got {type(target).__name__}")
    if target.dtype != torch.long:
        raise ValueError(f"target must be int64 class indices, got dtype {target.dtype}")
    expected = input.shape[:1] + input.shape[2:]
    if target.shape != expected:
        raise ValueError(
            f"target must have shape {tuple(expected)} for input of shape {tuple(input.shape)}, "
            f"got {tuple(target.shape)}"
        )
    if target.device != input.device:
        raise ValueError(f"target must be on input's device {input.device}, got {target.device}")
    n_classes = input.shape[1]
    if n_classes < 2:
        raise ValueError(f"input must score at least 2 classes on dim 1, got shape {tuple(input.shape)}")
    out_of_range = (target < 0) | (target >= n_classes)
    if ignore_index is not None:
        out_of_range &= target != ignore_index
    if bool(out_of_range.any()):
        bad = target[out_of_range][0].item()
        allowed = "" if ignore_index is None else f" or equal ignore_index={ignore_index}"
        raise ValueError(f"target must be in [0, {n_classes}){allowed}, got {bad}")


def one_minus_target_probability(input, target, ignore_index: int, label_smoothing: float):
    r"""Return :math:`1 - p_t` (shape of ``target``, computed stably) and the mask of non-ignored items.

    :math:`p_t = (1 - s)\, p_y + s / C` is the probability mass on the (smoothed) target.
    """
    valid = target != ignore_index
    safe_target = target.masked_fill(~valid, 0)
    log_pt = F.log_softmax(input, dim=1).gather(1, safe_target.unsqueeze(1)).squeeze(1)  # (N, ...)
    one_minus_py = -torch.expm1(log_pt)  # 1 - p_y without cancellation when p_y is small
    n_classes = input.shape[1]
    one_minus_pt = (1 - label_smoothing) * one_minus_py + label_smoothing * (1 - 1 / n_classes)
    return one_minus_pt.clamp_min(0.0), valid


def reduce_valid(losses: torch.Tensor, valid: torch.Tensor, reduction: str) -> torch.Tensor:
    """Reduce per-item losses (already zero where ignored); ``"mean"`` counts only valid items."""
    if reduction == "mean":
        return losses.sum() / valid.sum()  # nan when every item is ignored, as in torch
    if reduction == "sum":
        return losses.sum()
    return losses


def _power_series(x: torch.Tensor, coefficients: tuple[float, ...]) -> torch.Tensor:
    """Evaluate :math:`\\sum_j a_j x^j` (j from 1) by Horner's rule."""
    total = torch.zeros_like(x)
    for a in reversed(coefficients):
        total = (total + a) * x
    return total


def _check_coefficients(name: str, values) -> tuple[float, ...]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
        raise ValueError(f"{name} must be a non-empty sequence of numbers, got {values!r}")
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise ValueError(f"{name} must hold real numbers, got {values!r}")
        if abs(value) == float("inf"):
            raise ValueError(f"{name} must hold finite numbers, got {values!r}")
    return tuple(float(v) for v in values)


def _check_label_smoothing(label_smoothing) -> None:
    check_positive("label_smoothing", label_smoothing, allow_zero=True)
    if label_smoothing > 1:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing!r}")
