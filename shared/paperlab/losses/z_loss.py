r"""The Z-loss: a softplus of the standardized score of the target class.

From "The Z-loss: a shift and scale invariant classification loss belonging to the Spherical Family" (2016).
The scores :math:`o \in \mathbb{R}^D` are standardized over the classes,
:math:`z = (o - \mu) / \sigma` with :math:`\mu = \frac{1}{D}\sum_k o_k` and
:math:`\sigma^2 = \frac{1}{D}\sum_k o_k^2 - \mu^2`, and the loss only looks at the target's
:math:`z_c`:

.. math:: L_Z(o, c) = \frac{1}{a} \log\bigl(1 + e^{a (b - z_c)}\bigr)

It is invariant to :math:`o \to \alpha o + \beta` for every :math:`\alpha > 0` (a negative
:math:`\alpha` flips the sign of :math:`z`), and it depends on :math:`o` only through
:math:`\sum_k o_k`, :math:`\sum_k o_k^2` and :math:`o_c`, which makes it a member of the spherical
family (see :mod:`paperlab.solvers.spherical_trick`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from paperlab._checks import check_positive, check_reduction
from paperlab.losses.polyloss import check_class_scores, reduce_valid

DEFAULT_A = 0.1
DEFAULT_B = 10.0


def z_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    a: float = DEFAULT_A,
    b: float = DEFAULT_B,
    reduction: str = "mean",
    ignore_index: int = -100,
) -> torch.Tensor:
    r"""Z-loss :math:`\frac{1}{a}\,\mathrm{softplus}(a (b - z_c))` on scores standardized over classes.

    The standard deviation is the population one (divided by :math:`D`) and is clamped below at the
    smallest positive number of the dtype, so constant scores give :math:`z_c = 0` instead of NaN.

    Args:
        input: class scores, shape ``(N, C)`` or ``(N, C, d1, ...)``; standardized over dim 1.
        target: class indices, int64, shape ``(N,)`` or ``(N, d1, ...)``.
        a: sharpness :math:`a > 0` of the softplus; large ``a`` tends to the hinge
            :math:`\max(0, b - z_c)`.
        b: location :math:`b` of the softplus, in units of standard deviations (at most
            :math:`\sqrt{D - 1}` is reachable). The paper tunes :math:`a, b` per task; the defaults
            :math:`a = 0.1, b = 10` are this package's choice, not values quoted from the paper.
        reduction: ``"mean"`` (over non-ignored items), ``"sum"`` or ``"none"``.
        ignore_index: target value whose items get zero loss and do not count in the mean.

    Returns:
        A scalar, or per-item losses of the target's shape for ``reduction="none"``.
    """
    a, b = _check_a_b(a, b)
    check_reduction(reduction)
    check_class_scores(input, target, ignore_index)
    valid = target != ignore_index
    safe_target = target.masked_fill(~valid, 0).unsqueeze(1)  # (N, 1, d1, ...)
    mean = input.mean(dim=1, keepdim=True)
    std = input.std(dim=1, correction=0, keepdim=True).clamp_min(torch.finfo(input.dtype).tiny)
    z_target = ((input.gather(1, safe_target) - mean) / std).squeeze(1)  # (N, d1, ...)
    losses = F.softplus(b - z_target, beta=a, threshold=20.0).masked_fill(~valid, 0.0)
    return reduce_valid(losses, valid, reduction)


def z_loss_from_sums(
    sum_o: torch.Tensor,
    sum_sq: torch.Tensor,
    o_target: torch.Tensor,
    n_classes: int,
    a: float = DEFAULT_A,
    b: float = DEFAULT_B,
) -> torch.Tensor:
    r"""Per-item Z-loss written from the spherical statistics :math:`(\sum_k o_k, \sum_k o_k^2, o_c)`.

    .. math:: \mu = \tfrac{S_1}{D},\quad \sigma = \sqrt{\tfrac{S_2}{D} - \mu^2},\quad
              L = \tfrac{1}{a}\,\mathrm{softplus}\bigl(a (b - \tfrac{o_c - \mu}{\sigma})\bigr)

    Args:
        sum_o, sum_sq, o_target: the three statistics, each of shape ``(N,)``.
        n_classes: the number of classes :math:`D`.

    Returns:
        Per-item losses, shape ``(N,)``.
    """
    a, b = _check_a_b(a, b)
    mean = sum_o / n_classes
    variance = (sum_sq / n_classes - mean * mean).clamp_min(torch.finfo(sum_o.dtype).tiny)
    z_target = (o_target - mean) / variance.sqrt()
    return F.softplus(b - z_target, beta=a, threshold=20.0)


class ZLoss(nn.Module):
    """Module form of :func:`z_loss`."""

    def __init__(self, a=DEFAULT_A, b=DEFAULT_B, reduction="mean", ignore_index=-100):
        super().__init__()
        self.a, self.b = _check_a_b(a, b)
        self.reduction, self.ignore_index = check_reduction(reduction), ignore_index

    def forward(self, input, target):
        return z_loss(input, target, self.a, self.b, self.reduction, self.ignore_index)


def _check_a_b(a, b) -> tuple[float, float]:
    check_positive("a", a)
    if a == float("inf"):
        raise ValueError(f"a must be finite, got {a!r}")
    if isinstance(b, bool) or not isinstance(b, (int, float)) or not abs(b) < float("inf"):
        raise ValueError(f"b must be a finite number, got {b!r}")
    return float(a), float(b)
