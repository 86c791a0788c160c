r"""The Barlow Twins redundancy-reduction loss.

From "Barlow Twins: Self-Supervised Learning via Redundancy Reduction" (2021), and used on k-NN pairs
by "TLDR: Twin Learning for Dimensionality Reduction" (2022). Two batches of embeddings of the same
samples (two views, or a point and one of its neighbours) are standardized feature by feature over the
batch, and their cross-correlation matrix is pushed towards the identity:

.. math:: \hat z = \frac{z - \mathrm{mean}_b(z)}{\sqrt{\mathrm{var}_b(z) + \epsilon}}, \qquad
          C_{ij} = \frac{1}{N} \sum_{b=1}^{N} \hat z^A_{b,i} \hat z^B_{b,j},

.. math:: \mathcal{L} = \sum_i (1 - C_{ii})^2 + \lambda \sum_i \sum_{j \ne i} C_{ij}^2.

The diagonal term makes the two embeddings agree (invariance); the off-diagonal term decorrelates the
features, so that they cannot collapse to a constant or to copies of each other. The variance is the
biased batch variance, as in a batch-norm layer without affine parameters (the authors' code).
"""

from __future__ import annotations

import torch
from torch import nn

from paperlab._checks import check_positive, check_tensor


def _check_embeddings(z_a: torch.Tensor, z_b: torch.Tensor) -> None:
    check_tensor("z_a", z_a, dim=2, floating=True)
    check_tensor("z_b", z_b, dim=2, floating=True)
    if z_a.shape != z_b.shape:
        raise ValueError(
            f"z_a and z_b must have the same shape, got {tuple(z_a.shape)} and {tuple(z_b.shape)}"
        )
    if z_a.dtype != z_b.dtype or z_a.device != z_b.device:
        raise ValueError(
            f"z_a and z_b must share dtype and device, got {z_a.dtype}/{z_a.device} and {z_b.dtype}/{z_b.device}"
        )
    if z_a.shape[0] < 2:
        raise ValueError(
            f"z_a and z_b need at least 2 rows to standardize over the batch, got {z_a.shape[0]}"
        )


def barlow_twins_cross_correlation(z_a: torch.Tensor, z_b: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    r"""Cross-correlation of two batch-standardized embeddings, $C = \hat z_A^\top \hat z_B / N$.

    Args:
        z_a: (N, D) embeddings of the first view.
        z_b: (N, D) embeddings of the second view, row b paired with row b of ``z_a``.
        eps: added to each feature's batch variance, >= 0.

    Returns:
        (D, D) matrix C, in [-1, 1] up to ``eps``; dtype and device of the inputs.
    """
    _check_embeddings(z_a, z_b)
    check_positive("eps", eps, allow_zero=True)
    n = z_a.shape[0]

    def standardize(z: torch.Tensor) -> torch.Tensor:
        centred = z - z.mean(dim=0, keepdim=True)  # (N, D)
        return centred / torch.sqrt(centred.pow(2).mean(dim=0, keepdim=True) + eps)  # (N, D)

    return standardize(z_a).T @ standardize(z_b) / n  # (D, D)


def barlow_twins_loss(
    z_a: torch.Tensor, z_b: torch.Tensor, lambd: float = 0.0051, eps: float = 1e-5
) -> torch.Tensor:
    r"""Barlow Twins loss, $\sum_i (1 - C_{ii})^2 + \lambda \sum_{i \ne j} C_{ij}^2$.

    Args:
        z_a: (N, D) embeddings of the first view, N >= 2.
        z_b: (N, D) embeddings of the paired view.
        lambd: weight $\lambda \ge 0$ of the off-diagonal (redundancy) term; the paper's 0.0051 by default.
        eps: added to each feature's batch variance, >= 0.

    Returns:
        0-dim tensor (the loss of the whole batch; there is no per-sample loss to reduce).
    """
    check_positive("lambd", lambd, allow_zero=True)
    correlation = barlow_twins_cross_correlation(z_a, z_b, eps=eps)  # (D, D)
    diagonal = torch.diagonal(correlation)  # (D,)
    on_diagonal = (1 - diagonal).pow(2).sum()
    off_diagonal = correlation.pow(2).sum() - diagonal.pow(2).sum()
    return on_diagonal + lambd * off_diagonal


class BarlowTwinsLoss(nn.Module):
    """Module form of :func:`barlow_twins_loss`; ``forward(z_a, z_b)`` with (N, D) inputs returns a scalar."""

    def __init__(self, lambd: float = 0.0051, eps: float = 1e-5):
        super().__init__()
        self.lambd = check_positive("lambd", lambd, allow_zero=True)
        self.eps = check_positive("eps", eps, allow_zero=True)

    def forward(self, z_a: torch.Tensor, z_b: torch.Tensor) -> torch.Tensor:
        return barlow_twins_loss(z_a, z_b, lambd=self.lambd, eps=self.eps)

    def extra_repr(self) -> str:
        return f"lambd={self.lambd}, eps={self.eps}"
