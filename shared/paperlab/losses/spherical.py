r"""Spherical-family baselines: the squared error to a one-hot target and the Taylor-softmax loss.

From "The Z-loss: a shift and scale invariant classification loss belonging to the Spherical Family" (2016).
A loss is *spherical* when it depends on the scores :math:`o \in \mathbb{R}^D` only through
:math:`S_1 = \sum_k o_k`, :math:`S_2 = \sum_k o_k^2` and the target's score :math:`o_c`; the two
members the Z-loss is compared with are

.. math:: L_{SE} = \sum_k (o_k - y_k)^2 = S_2 - 2 o_c + 1

.. math:: L_{TS} = -\log \frac{1 + o_c + o_c^2/2}{\sum_k (1 + o_k + o_k^2/2)}
          = -\log \frac{1 + o_c + o_c^2/2}{D + S_1 + S_2/2}

where :math:`y` is the one-hot target and the second uses the second-order Taylor expansion of
:math:`e^x`, which is always :math:`\ge 1/2`, in place of the exponential of the softmax.
"""

from __future__ import annotations

import torch
from torch import nn

from paperlab._checks import check_reduction
from paperlab.losses.polyloss import check_class_scores, reduce_valid


def spherical_squared_error(
    input: torch.Tensor, target: torch.Tensor, reduction: str = "mean", ignore_index: int = -100
) -> torch.Tensor:
    r"""Squared error :math:`\sum_k (o_k - y_k)^2` between the scores and the one-hot target.

    Computed as :math:`(S_2 - o_c^2) + (o_c - 1)^2`, without building the one-hot target.

    Args:
        input: class scores, shape ``(N, C)`` or ``(N, C, d1, ...)``.
        target: class indices, int64, shape ``(N,)`` or ``(N, d1, ...)``.
        reduction: ``"mean"`` (over non-ignored items), ``"sum"`` or ``"none"``.
        ignore_index: target value whose items get zero loss and do not count in the mean.

    Returns:
        A scalar, or per-item losses of the target's shape for ``reduction="none"``.
    """
    check_reduction(reduction)
    check_class_scores(input, target, ignore_index)
    o_target, valid = _target_scores(input, target, ignore_index)
    sum_sq = input.square().sum(dim=1)  # (N, d1, ...)
    losses = (sum_sq - o_target.square()) + (o_target - 1).square()
    return reduce_valid(losses.masked_fill(~valid, 0.0), valid, reduction)


def taylor_softmax_cross_entropy(
    input: torch.Tensor, target: torch.Tensor, reduction: str = "mean", ignore_index: int = -100
) -> torch.Tensor:
    r"""Cross-entropy of the second-order Taylor softmax :math:`f(o)_k \propto 1 + o_k + o_k^2/2`.

    .. math:: L = \log\Bigl(\sum_k (1 + o_k + o_k^2/2)\Bigr) - \log(1 + o_c + o_c^2/2)

    Both logs are of numbers :math:`\ge 1/2`, so no clamping is needed. Arguments and returns as in
    :func:`spherical_squared_error`.
    """
    check_reduction(reduction)
    check_class_scores(input, target, ignore_index)
    o_target, valid = _target_scores(input, target, ignore_index)
    denominator = taylor_exp(input).sum(dim=1)  # (N, d1, ...)
    losses = denominator.log() - taylor_exp(o_target).log()
    return reduce_valid(losses.masked_fill(~valid, 0.0), valid, reduction)


def taylor_exp(x: torch.Tensor) -> torch.Tensor:
    r"""Second-order Taylor expansion of :math:`e^x`: :math:`1 + x + x^2/2 = ((x + 1)^2 + 1)/2 \ge 1/2`."""
    return ((x + 1).square() + 1) / 2


def squared_error_from_sums(sum_o, sum_sq, o_target, n_classes: int) -> torch.Tensor:
    r"""Per-item :math:`S_2 - 2 o_c + 1` from the spherical statistics, each of shape ``(N,)``."""
    return sum_sq - 2 * o_target + 1


def taylor_softmax_from_sums(sum_o, sum_sq, o_target, n_classes: int) -> torch.Tensor:
    r"""Per-item :math:`\log(D + S_1 + S_2/2) - \log(1 + o_c + o_c^2/2)`, inputs of shape ``(N,)``."""
    return (n_classes + sum_o + sum_sq / 2).log() - taylor_exp(o_target).log()


class SphericalSquaredError(nn.Module):
    """Module form of :func:`spherical_squared_error`."""

    def __init__(self, reduction="mean", ignore_index=-100):
        super().__init__()
        self.reduction, self.ignore_index = check_reduction(reduction), ignore_index

    def forward(self, input, target):
        return spherical_squared_error(input, target, self.reduction, self.ignore_index)


class TaylorSoftmaxCrossEntropy(nn.Module):
    """Module form of :func:`taylor_softmax_cross_entropy`."""

    def __init__(self, reduction="mean", ignore_index=-100):
        super().__init__()
        self.reduction, self.ignore_index = check_reduction(reduction), ignore_index

    def forward(self, input, target):
        return taylor_softmax_cross_entropy(input, target, self.reduction, self.ignore_index)


def _target_scores(input, target, ignore_index):
    """The target's score :math:`o_c` (shape of ``target``) and the mask of non-ignored items."""
    valid = target != ignore_index
    safe_target = target.masked_fill(~valid, 0).unsqueeze(1)  # (N, 1, d1, ...)
    return input.gather(1, safe_target).squeeze(1), valid
