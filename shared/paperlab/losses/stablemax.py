r"""StableMax: a softmax whose exponential is replaced by a function that grows only linearly.

From "Grokking at the Edge of Numerical Stability" (2025). Softmax maps a logit :math:`x` through
:math:`e^x`; once the correct class's logit leads the others by a few tens, :math:`1 + \sum_{c \ne y}
e^{x_c - x_y}` rounds to 1 in floating point, the loss of that sample is exactly zero and it stops
contributing gradient to the correct class ("Softmax Collapse"). StableMax uses instead

.. math::

    s(x) = \begin{cases} x + 1 & x \ge 0 \\ \dfrac{1}{1 - x} & x < 0 \end{cases}, \qquad
    \operatorname{StableMax}(x)_i = \frac{s(x_i)}{\sum_j s(x_j)},

which is positive, increasing and continuously differentiable (:math:`s(0) = s'(0) = 1`), but grows
linearly, so the normalizer stays far from absorbing the other classes. The negative branch is
evaluated as :math:`1 / (1 - \min(x, 0))`, finite everywhere: the unclamped :math:`1 / (1 - x)` is
``inf`` at :math:`x = 1`, which a ``where`` over both branches turns into a NaN gradient (float16 shows it
at once).
"""

from __future__ import annotations

import torch
from torch import nn

from paperlab._checks import check_reduction, check_tensor
from paperlab.losses.polyloss import check_class_scores, reduce_valid


class _StableMaxMap(torch.autograd.Function):
    r"""The elementwise map :math:`s(x)`, without a ``where`` over a data-dependent mask.

    Forward: :math:`s(x) = (1 + \max(x, 0)) / (1 + \max(-x, 0))`, which is ``x + 1`` for ``x >= 0`` and
    ``1 / (1 - x)`` below; the denominator is at least 1, so nothing overflows (the clamped form of the
    negative branch). Backward: :math:`s'(x) = 1` for ``x >= 0`` and :math:`1/(1-x)^2 = s(x)^2` below,
    i.e. :math:`s'(x) = \min(s(x), 1)^2`, exact at ``x = 0`` as well. A branch mask costs far more
    than this arithmetic on CPUs, where it defeats vectorization.
    """

    @staticmethod
    def forward(ctx, x):
        s = (1 + torch.relu(x)) / (1 + torch.relu(-x))
        ctx.save_for_backward(s)
        return s

    @staticmethod
    def backward(ctx, grad_output):
        (s,) = ctx.saved_tensors
        slope = s.clamp_max(1)
        return grad_output * slope * slope


def _s(x: torch.Tensor) -> torch.Tensor:
    """The elementwise map :math:`s(x)`: ``x + 1`` for ``x >= 0``, ``1 / (1 - min(x, 0))`` below."""
    return _StableMaxMap.apply(x)


def _check_dim(input: torch.Tensor, dim) -> int:
    if isinstance(dim, bool) or not isinstance(dim, int) or not -input.dim() <= dim < input.dim():
        raise ValueError(f"dim must be an integer in [{-input.dim()}, {input.dim()}), got {dim!r}")
    return dim


def stablemax(input: torch.Tensor, dim: int = -1) -> torch.Tensor:
    r"""StableMax probabilities along ``dim``: :math:`s(x_i) / \sum_j s(x_j)`.

    Args:
        input: scores of any shape, floating point, finite.
        dim: the axis that is normalized.

    Returns:
        Probabilities of ``input``'s shape and dtype, positive and summing to 1 along ``dim``.
    """
    check_tensor("input", input, min_dim=1, floating=True)
    s = _s(input)
    return s / s.sum(dim=_check_dim(input, dim), keepdim=True)


def log_stablemax(input: torch.Tensor, dim: int = -1) -> torch.Tensor:
    r"""Log of :func:`stablemax`: :math:`\log s(x_i) - \log \sum_j s(x_j)`, without dividing first.

    Args and returns as in :func:`stablemax`; the values are log-probabilities (``<= 0``).
    """
    check_tensor("input", input, min_dim=1, floating=True)
    s = _s(input)
    return torch.log(s) - torch.log(s.sum(dim=_check_dim(input, dim), keepdim=True))


def stablemax_cross_entropy(
    input: torch.Tensor,
    target: torch.Tensor,
    reduction: str = "mean",
    ignore_index: int = -100,
) -> torch.Tensor:
    r"""Cross-entropy of StableMax probabilities, with class scores on dim 1 as in ``F.cross_entropy``.

    .. math:: L = -\log \frac{s(x_y)}{\sum_{c=1}^{C} s(x_c)} = \log \sum_c s(x_c) - \log s(x_y)

    Only the target's :math:`\log s` is evaluated, not a full log-probability tensor. The loss is
    computed in ``input``'s dtype: cast the logits (e.g. to float16) to study rounding.

    Args:
        input: logits, shape ``(N, C)`` or ``(N, C, d1, ...)``, with ``C >= 2``.
        target: class indices, int64, shape ``(N,)`` or ``(N, d1, ...)``.
        reduction: ``"mean"`` (over non-ignored items), ``"sum"`` or ``"none"``.
        ignore_index: target value whose items get zero loss and do not count in the mean.

    Returns:
        A scalar, or per-item losses of the target's shape for ``reduction="none"``.
    """
    check_reduction(reduction)
    check_class_scores(input, target, ignore_index)
    valid = target != ignore_index
    safe_target = target.masked_fill(~valid, 0).unsqueeze(1)  # (N, 1, d1, ...)
    s = _s(input)
    losses = torch.log(s.sum(dim=1)) - torch.log(s.gather(1, safe_target).squeeze(1))  # (N, d1, ...)
    return reduce_valid(losses.masked_fill(~valid, 0.0), valid, reduction)


class StableMaxCrossEntropyLoss(nn.Module):
    """Module form of :func:`stablemax_cross_entropy`."""

    def __init__(self, reduction: str = "mean", ignore_index: int = -100):
        super().__init__()
        self.reduction, self.ignore_index = check_reduction(reduction), ignore_index

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return stablemax_cross_entropy(input, target, self.reduction, self.ignore_index)
