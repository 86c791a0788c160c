r"""Softmax Collapse: how many samples have a cross-entropy loss of exactly zero in floating point.

From "Grokking at the Edge of Numerical Stability" (2025). When the correct logit leads by enough,
:math:`\sum_c e^{x_c - x_y}` rounds to 1, the computed probability of the correct class is exactly 1
and its loss exactly 0: the sample no longer pushes its own class up. The rest of its gradient (the
other classes' probabilities) is tiny but usually not zero, so the loss, not the gradient, is the
reliable sign of collapse.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from paperlab._checks import check_choice
from paperlab.losses.polyloss import check_class_scores
from paperlab.losses.stablemax import stablemax_cross_entropy

LOSSES = {"softmax": F.cross_entropy, "stablemax": stablemax_cross_entropy}


@torch.no_grad()
def softmax_collapse_fraction(
    logits: torch.Tensor, target: torch.Tensor, dtype: torch.dtype = torch.float16, loss: str = "softmax"
) -> float:
    r"""Fraction of samples whose cross-entropy, computed in ``dtype``, is exactly zero.

    .. math:: \mathrm{SC} = \frac{1}{N} \sum_{n=1}^{N} \mathbb{1}\big[\mathrm{fl}_{\text{dtype}}(L(x_n, y_n)) = 0\big]

    Args:
        logits: class scores, shape ``(N, C)`` or ``(N, C, d1, ...)``; cast to ``dtype`` first.
        target: int64 class indices, shape ``(N,)`` or ``(N, d1, ...)``.
        dtype: floating dtype in which the loss is evaluated (float16, bfloat16, float32, float64).
        loss: ``"softmax"`` (``F.cross_entropy``) or ``"stablemax"`` (:func:`stablemax_cross_entropy`).

    Returns:
        The fraction in ``[0, 1]``, as a Python float.
    """
    check_class_scores(logits, target)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")
    check_choice("loss", loss, LOSSES)
    cast = logits.to(dtype)
    if not bool(torch.isfinite(cast).all()):
        raise ValueError(f"logits must stay finite when cast to {dtype}, got a value out of its range")
    losses = LOSSES[loss](cast, target, reduction="none")
    return int((losses == 0).sum()) / losses.numel()
