r"""Maximal coding rate reduction (MCR^2): the coding rate of features and its membership-weighted part.

A batch of unit-norm features is expanded by the coding rate :math:`R(Z)` of the whole batch and
compressed by the rate :math:`R_c(Z, \Pi)` of the groups a membership matrix :math:`\Pi` picks out.
Maximizing :math:`R - R_c` spreads the groups apart while squeezing each one onto a low-dimensional
linear subspace. Used by "Unsupervised Manifold Linearizing and Clustering (2023)", where :math:`\Pi`
is a learned doubly stochastic matrix whose every row is one (soft) group.
"""

from __future__ import annotations

import torch
from torch import nn

from paperlab._checks import check_positive, check_tensor


def _check_features(features) -> None:
    check_tensor("features", features, dim=2, floating=True)


def _check_eps(eps) -> None:
    check_positive("eps", eps)


def _logdet_identity_plus(gram: torch.Tensor) -> torch.Tensor:
    """log det(I + gram) of symmetric PSD matrices (..., d, d) through a Cholesky factor."""
    eye = torch.eye(gram.shape[-1], dtype=gram.dtype, device=gram.device)
    factor = torch.linalg.cholesky(eye + gram)  # (..., d, d) lower triangular
    return 2.0 * factor.diagonal(dim1=-2, dim2=-1).log().sum(-1)


def coding_rate(features: torch.Tensor, eps: float = 0.5) -> torch.Tensor:
    r"""Coding rate of a batch of features, the number of bits (in nats) to code it up to distortion eps.

    .. math:: R(Z) = \tfrac12 \log\det\Big(I_d + \frac{d}{n\,\epsilon^2} Z^\top Z\Big)
              = \tfrac12 \log\det\Big(I_n + \frac{d}{n\,\epsilon^2} Z Z^\top\Big)

    The smaller of the two Gram matrices is factored. From "Unsupervised Manifold Linearizing and
    Clustering (2023)", after the MCR^2 principle.

    Args:
        features: Z, shape (n, d), one sample per row (usually unit-norm rows).
        eps: distortion :math:`\epsilon > 0`.

    Returns:
        Scalar tensor R(Z) >= 0, differentiable in ``features``.
    """
    _check_features(features)
    _check_eps(eps)
    n, d = features.shape
    scale = d / (n * eps**2)
    gram = features.T @ features if d <= n else features @ features.T  # (min(n, d), min(n, d))
    return 0.5 * _logdet_identity_plus(scale * gram)


def _check_membership(membership, n: int, like: torch.Tensor) -> None:
    check_tensor("membership", membership, dim=2, floating=True)
    if membership.shape[1] != n:
        raise ValueError(
            f"membership must have shape (k, {n}) (one row of weights over the {n} samples per group), "
            f"got {tuple(membership.shape)}"
        )
    if membership.dtype != like.dtype or membership.device != like.device:
        raise TypeError(
            f"membership must have dtype {like.dtype} on {like.device}, "
            f"got {membership.dtype} on {membership.device}"
        )
    if bool((membership < 0).any()):
        raise ValueError(f"membership must be non-negative, got minimum {membership.min().item():.3g}")
    if not bool((membership.sum(1) > 0).all()):
        raise ValueError("membership must have a positive sum in every row (each row is a group)")


def compressed_coding_rate(
    features: torch.Tensor, membership: torch.Tensor, eps: float = 0.5
) -> torch.Tensor:
    r"""Coding rate of the groups a soft membership matrix picks out, weighted by the group sizes.

    .. math:: R_c(Z, \Pi) = \sum_{j=1}^k \frac{\mathrm{tr}(\Pi_j)}{2n}
              \log\det\Big(I_d + \frac{d}{\mathrm{tr}(\Pi_j)\,\epsilon^2} Z^\top \mathrm{diag}(\Pi_j) Z\Big)

    with :math:`\Pi_j` the j-th row of :math:`\Pi` (a weight per sample) and
    :math:`\mathrm{tr}(\Pi_j) = \sum_i \Pi_{ji}` its size. Indicator rows of a partition give the MCR^2
    compression term; the n rows of a doubly stochastic matrix scaled to sum to 1 give the averaged
    term :math:`\frac{1}{2n}\sum_j \log\det(I + \frac{d}{\epsilon^2} Z^\top \mathrm{diag}(\Pi_j) Z)` of
    "Unsupervised Manifold Linearizing and Clustering (2023)".

    Args:
        features: Z, shape (n, d).
        membership: :math:`\Pi`, shape (k, n), non-negative, every row with a positive sum.
        eps: distortion :math:`\epsilon > 0`.

    Returns:
        Scalar tensor, differentiable in ``features`` and ``membership``.
    """
    _check_features(features)
    _check_eps(eps)
    _check_membership(membership, features.shape[0], features)
    n, d = features.shape
    sizes = membership.sum(1)  # (k,)
    # Z^T diag(Pi_j) Z = sum_i Pi_ji z_i z_i^T for every group j, as one matrix product
    outer = (features.unsqueeze(2) * features.unsqueeze(1)).reshape(n, d * d)  # (n, d*d)
    grams = (membership @ outer).reshape(-1, d, d)  # (k, d, d)
    scales = d / (sizes * eps**2)  # (k,)
    logdets = _logdet_identity_plus(scales[:, None, None] * grams)  # (k,)
    return (sizes * logdets).sum() / (2 * n)


def rate_reduction(features: torch.Tensor, membership: torch.Tensor, eps: float = 0.5) -> torch.Tensor:
    r"""The MCR^2 objective :math:`\Delta R(Z, \Pi) = R(Z) - R_c(Z, \Pi)` (to be maximized).

    See :func:`coding_rate` and :func:`compressed_coding_rate`. From "Unsupervised Manifold
    Linearizing and Clustering (2023)".

    Args:
        features: Z, shape (n, d).
        membership: :math:`\Pi`, shape (k, n).
        eps: distortion :math:`\epsilon > 0`.

    Returns:
        Scalar tensor.
    """
    return coding_rate(features, eps) - compressed_coding_rate(features, membership, eps)


class MCR2Loss(nn.Module):
    r"""Negative rate reduction :math:`R_c(Z, \Pi) - R(Z)`, a loss to minimize.

    Args:
        eps: distortion :math:`\epsilon > 0`.

    Shapes: features (n, d), membership (k, n) -> scalar.
    """

    def __init__(self, eps: float = 0.5):
        super().__init__()
        _check_eps(eps)
        self.eps = eps

    def forward(self, features: torch.Tensor, membership: torch.Tensor) -> torch.Tensor:
        return -rate_reduction(features, membership, self.eps)


def mlc_loss(
    features: torch.Tensor, codes: torch.Tensor, reg: float = 0.2, eps: float = 0.5, max_iter: int = 5
) -> torch.Tensor:
    r"""Manifold linearizing and clustering loss: negative rate reduction under a learned membership.

    .. math:: \mathcal L = R_c(Z, \Pi) - R(Z), \qquad
              \Pi = \mathrm{DS}_{\mathrm{reg}}(C C^\top)

    with :math:`\mathrm{DS}` the entropic doubly stochastic projection
    (:func:`paperlab.solvers.doubly_stochastic.doubly_stochastic_projection`, rows summing to 1), so
    :math:`R_c` averages the coding rates of the n soft neighbourhoods :math:`\Pi_j`. The gradient
    reaches both the features Z and, through the unrolled Sinkhorn iterations, the cluster codes C.
    The entropic ``reg`` bounds how sharp :math:`\Pi` can be: points must gather in groups to make
    their rows concentrated, instead of each point forming its own group.

    From "Unsupervised Manifold Linearizing and Clustering (2023)".

    Args:
        features: Z, shape (n, d), unit-norm rows.
        codes: C, shape (n, c), unit-norm rows of the cluster head.
        reg: entropic regularization of the projection, > 0.
        eps: distortion of the coding rates, > 0.
        max_iter: Sinkhorn iterations (a few suffice during training).

    Returns:
        Scalar loss, to minimize.
    """
    _check_features(features)
    check_tensor("codes", codes, dim=2, floating=True)
    if codes.shape[0] != features.shape[0]:
        raise ValueError(
            f"codes must have one row per feature row ({features.shape[0]}), got shape {tuple(codes.shape)}"
        )
    # imported here: paperlab.solvers imports paperlab.losses at package load
    from paperlab.solvers.doubly_stochastic import doubly_stochastic_projection

    membership = doubly_stochastic_projection(codes @ codes.T, reg=reg, max_iter=max_iter).membership
    return -rate_reduction(features, membership, eps)
