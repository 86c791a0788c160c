r"""Generalized cross-entropy (GCE): a Box-Cox interpolation between cross-entropy and MAE.

A robust loss for training with noisy labels. It replaces :math:`-\log p_y` by the negative Box-Cox
transform of the target probability,

.. math:: L_q(f(x), y) = \frac{1 - p_y^{\,q}}{q}, \qquad q \in (0, 1],

which tends to cross-entropy :math:`-\log p_y` as :math:`q \to 0` and is :math:`1 - p_y` at
:math:`q = 1`, half of the MAE between the softmax and the one-hot label, :math:`\sum_k |p_k - q_k| =
2 (1 - p_y)`. Its gradient is the cross-entropy gradient weighted by :math:`p_y^{\,q}`, so samples the
model finds unlikely (often the mislabelled ones) pull less.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from paperlab._checks import check_reduction
from paperlab.losses.polyloss import check_class_scores, reduce_valid


def generalized_cross_entropy(
    input: torch.Tensor,
    target: torch.Tensor,
    q: float = 0.7,
    reduction: str = "mean",
    ignore_index: int = -100,
) -> torch.Tensor:
    r"""Generalized cross-entropy :math:`(1 - p_y^{\,q}) / q` of softmax probabilities.

    .. math:: L_q = \frac{1 - p_y^{\,q}}{q} = -\frac{\operatorname{expm1}(q \log p_y)}{q}

    computed from :math:`\log p_y` (torch's cross-entropy), so it is accurate for tiny :math:`q` and tiny
    :math:`p_y`.

    Args:
        input: logits, shape ``(N, C)`` or ``(N, C, d1, ...)``, with ``C >= 2``.
        target: class indices, int64, shape ``(N,)`` or ``(N, d1, ...)``.
        q: exponent in :math:`(0, 1]`; ``q -> 0`` is cross-entropy, ``q = 1`` is :math:`1 - p_y`.
        reduction: ``"mean"`` (over non-ignored items), ``"sum"`` or ``"none"``.
        ignore_index: target value whose items get zero loss and do not count in the mean.

    Returns:
        A scalar, or per-item losses of the target's shape for ``reduction="none"``.
    """
    check_q(q)
    check_reduction(reduction)
    check_class_scores(input, target, ignore_index)
    # -log p_y from torch's fused cross-entropy, 0 for ignored items (where the loss is then 0 too)
    neg_log_py = F.cross_entropy(input, target, reduction="none", ignore_index=ignore_index)  # (N, ...)
    losses = torch.expm1(-q * neg_log_py) / -q
    return reduce_valid(losses, target != ignore_index, reduction)


class GeneralizedCrossEntropyLoss(nn.Module):
    """Module form of :func:`generalized_cross_entropy`."""

    def __init__(self, q=0.7, reduction="mean", ignore_index=-100):
        super().__init__()
        self.q, self.reduction, self.ignore_index = check_q(q), check_reduction(reduction), ignore_index

    def forward(self, input, target):
        return generalized_cross_entropy(input, target, self.q, self.reduction, self.ignore_index)


def check_q(q) -> float:
    """Return ``q`` if it is a number in (0, 1], else raise."""
    if isinstance(q, bool) or not isinstance(q, (int, float)):
        raise TypeError(f"q must be a number in (0, 1], got {q!r}")
    if not 0 < q <= 1:  # also rejects NaN
        raise ValueError(f"q must be in (0, 1], got {q!r}")
    return float(q)
