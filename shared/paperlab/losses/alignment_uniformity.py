r"""Alignment and uniformity of features on the hypersphere, as losses and as metrics.

From "Understanding Contrastive Representation Learning through Alignment and Uniformity on the
Hypersphere (2020)". Contrastive learning asks two things of unit-norm features ``f``: positive pairs
should map close together (alignment) and the features should spread evenly over the sphere
(uniformity). Both are measurable losses,

.. math:: \mathcal{L}_{\text{align}} = \mathbb{E}_{(x, y) \sim p_{\text{pos}}}
          \lVert f(x) - f(y) \rVert_2^\alpha,
          \qquad
          \mathcal{L}_{\text{uniform}} = \log \mathbb{E}_{x, y \sim p_{\text{data}}}
          e^{-t \lVert f(x) - f(y) \rVert_2^2},

the second being the log of the mean Gaussian potential between two features; it is minimized, among
distributions on the sphere, by the uniform one. The features are used as given: normalize them first
(the paper's encoders end with an l2 normalization). Lower is better for both, so they serve as
metrics of a trained encoder as well as training objectives.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from paperlab._checks import check_positive, check_reduction, check_tensor, reduce


def alignment_loss(
    x: torch.Tensor, y: torch.Tensor, alpha: float = 2, reduction: str = "mean"
) -> torch.Tensor:
    r"""Alignment loss: the mean distance, to the power ``alpha``, between paired features.

    .. math:: \mathcal{L}_{\text{align}} = \frac1B \sum_{i=1}^{B} \lVert x_i - y_i \rVert_2^\alpha

    Args:
        x: (B, D) features, unit-norm in the paper.
        y: (B, D) features, ``y[i]`` the positive of ``x[i]``.
        alpha: exponent > 0 (the paper's default is 2).
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (B,).

    Returns:
        A scalar, or (B,) per-pair values.

    From "Understanding Contrastive Representation Learning through Alignment and Uniformity on the
    Hypersphere (2020)".
    """
    check_tensor("x", x, dim=2, floating=True)
    check_tensor("y", y, dim=2, floating=True)
    if x.shape != y.shape:
        raise ValueError(
            f"x and y must be paired rows of the same shape, got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    check_positive("alpha", alpha)
    check_reduction(reduction)
    squared = (x - y).pow(2).sum(dim=1)  # (B,)
    values = squared if alpha == 2 else torch.linalg.vector_norm(x - y, dim=1).pow(alpha)
    return reduce(values, reduction)


def uniformity_loss(x: torch.Tensor, t: float = 2) -> torch.Tensor:
    r"""Uniformity loss: the log of the mean Gaussian potential over all pairs of distinct rows.

    .. math:: \mathcal{L}_{\text{uniform}} = \log \frac{2}{B(B-1)} \sum_{i < j}
              e^{-t \lVert x_i - x_j \rVert_2^2}
              = \mathrm{LSE}_{i < j}\big(-t \lVert x_i - x_j \rVert_2^2\big) - \log \tfrac{B(B-1)}{2}

    computed as a log-sum-exp over the B(B-1)/2 pairs i < j from ``torch.pdist``: the authors'
    ``pdist(x).pow(2).mul(-t).exp().mean().log()`` without its underflow to ``log 0`` for large
    ``t``. On the unit sphere it lies in :math:`[-4t, 0]`: 0 when all rows coincide, :math:`-4t` for
    an antipodal pair.

    Args:
        x: (B, D) features with B >= 2, unit-norm in the paper.
        t: the potential's scale t > 0 (the paper's default is 2).

    Returns:
        A scalar.

    From "Understanding Contrastive Representation Learning through Alignment and Uniformity on the
    Hypersphere (2020)".
    """
    check_tensor("x", x, dim=2, floating=True)
    if x.shape[0] < 2:
        raise ValueError(f"x must hold at least 2 rows to form a pair, got shape {tuple(x.shape)}")
    check_positive("t", t)
    n = x.shape[0]
    exponents = torch.pdist(x, p=2).pow(2).mul(-t)  # (B (B - 1) / 2,), the pairs i < j
    return torch.logsumexp(exponents, dim=0) - math.log(n * (n - 1) / 2)


class AlignmentLoss(nn.Module):
    """Module form of :func:`alignment_loss`: ``AlignmentLoss(alpha)(x, y)``."""

    def __init__(self, alpha: float = 2, reduction: str = "mean"):
        super().__init__()
        self.alpha = check_positive("alpha", alpha)
        self.reduction = check_reduction(reduction)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return alignment_loss(x, y, self.alpha, self.reduction)


class UniformityLoss(nn.Module):
    """Module form of :func:`uniformity_loss`: ``UniformityLoss(t)(x)``."""

    def __init__(self, t: float = 2):
        super().__init__()
        self.t = check_positive("t", t)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return uniformity_loss(x, self.t)
