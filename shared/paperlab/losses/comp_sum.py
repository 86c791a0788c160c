r"""Comp-sum losses: cross-entropy and its relatives as one family indexed by :math:`\tau \ge 0`.

From "Cross-Entropy Loss Functions: Theoretical Analysis and Applications" (2023). A comp-sum loss
composes a non-decreasing :math:`\Phi^\tau` with the sum of exponentiated score differences,

.. math:: \ell^\tau(h, x, y) = \Phi^\tau\Big(\sum_{k \ne y} e^{h_k(x) - h_y(x)}\Big), \qquad
          \Phi^\tau(u) = \begin{cases} \log(1 + u) & \tau = 1 \\
                         \frac{(1 + u)^{1 - \tau} - 1}{1 - \tau} & \tau \ne 1 \end{cases}

:math:`\tau = 0` is the sum-exponential loss :math:`u`, :math:`\tau = 1` the logistic loss (softmax
cross-entropy), :math:`\tau \in (1, 2)` generalized cross-entropy with :math:`q = \tau - 1` and
:math:`\tau = 2` the mean absolute error :math:`u / (1 + u) = 1 - p_y`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from paperlab._checks import check_reduction
from paperlab.losses.polyloss import check_class_scores, reduce_valid


def comp_sum_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    tau: float = 1.0,
    reduction: str = "mean",
    ignore_index: int = -100,
) -> torch.Tensor:
    r"""The comp-sum loss :math:`\Phi^\tau(\sum_{k \ne y} e^{h_k - h_y})` of logits ``input``.

    Since :math:`1 + u = 1 / p_y` with :math:`p = \mathrm{softmax}(h)`, the loss is computed from the
    log-softmax :math:`\ell = -\log p_y` as

    .. math:: \Phi^\tau = \frac{\operatorname{expm1}((1 - \tau)\, \ell)}{1 - \tau} \quad (\tau \ne 1),
              \qquad \Phi^1 = \ell,

    which never exponentiates a raw logit: shifting all logits by any constant changes nothing. For
    :math:`\tau < 1` the loss itself grows like :math:`e^{(1 - \tau) \ell}` and is ``inf`` only where
    that true value exceeds the dtype's range; for :math:`\tau \ge 1` it is bounded by :math:`\ell`.

    Args:
        input: logits, shape ``(N, C)`` or ``(N, C, d1, ...)``, with ``C >= 2``.
        target: class indices, int64, shape ``(N,)`` or ``(N, d1, ...)``.
        tau: the family index :math:`\tau \ge 0`.
        reduction: ``"mean"`` (over non-ignored items), ``"sum"`` or ``"none"``.
        ignore_index: target value whose items get zero loss and do not count in the mean.

    Returns:
        A scalar, or per-item losses of the target's shape for ``reduction="none"``.
    """
    tau = check_tau(tau)
    check_reduction(reduction)
    check_class_scores(input, target, ignore_index)
    valid = target != ignore_index
    safe_target = target.masked_fill(~valid, 0)
    neg_log_py = -F.log_softmax(input, dim=1).gather(1, safe_target.unsqueeze(1)).squeeze(1)  # (N, ...)
    losses = comp_sum_phi_of_log(neg_log_py, tau).masked_fill(~valid, 0.0)
    return reduce_valid(losses, valid, reduction)


def comp_sum_phi_of_log(neg_log_py: torch.Tensor, tau: float) -> torch.Tensor:
    r""":math:`\Phi^\tau(u)` written as a function of :math:`\ell = \log(1 + u) = -\log p_y \ge 0`."""
    if tau == 1.0:
        return neg_log_py
    return torch.expm1((1.0 - tau) * neg_log_py) / (1.0 - tau)


class CompSumLoss(nn.Module):
    """Module form of :func:`comp_sum_loss`."""

    def __init__(self, tau=1.0, reduction="mean", ignore_index=-100):
        super().__init__()
        self.tau, self.reduction, self.ignore_index = check_tau(tau), check_reduction(reduction), ignore_index

    def forward(self, input, target):
        return comp_sum_loss(input, target, self.tau, self.reduction, self.ignore_index)


def check_tau(tau) -> float:
    """Return ``tau`` as a float if it is a finite number >= 0, else raise."""
    if isinstance(tau, bool) or not isinstance(tau, (int, float)):
        raise TypeError(f"tau must be a number >= 0, got {tau!r}")
    if not (0 <= tau < math.inf):  # also rejects NaN
        raise ValueError(f"tau must be a finite number >= 0, got {tau!r}")
    return float(tau)
