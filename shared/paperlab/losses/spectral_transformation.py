r"""Spectral transformation by Newton iterations (IterNorm) and the INTL loss.

From "Modulate Your Spectrum in Self-Supervised Learning" (2024). Whitening maps the batch covariance
:math:`\Sigma` to the identity through :math:`\Sigma^{-1/2}`. INTL replaces that exact map with T steps of
the Newton iteration for the inverse square root,

.. math:: \Sigma_N = \Sigma / \mathrm{tr}(\Sigma), \quad P_0 = I, \quad
          P_{k+1} = \tfrac12 \big(3 P_k - P_k^3 \Sigma_N\big), \quad
          W_T = P_T / \sqrt{\mathrm{tr}(\Sigma)},

a *spectral transformation* :math:`\lambda \mapsto \lambda\, \phi_T(\lambda)^2` that lifts small
eigenvalues towards 1 without reaching whitening. A *trace loss* pushes each output variance to 1,
and the full INTL loss is the normalized MSE between the transformed views plus that trace penalty.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from paperlab._checks import check_choice, check_positive, check_tensor
from paperlab.losses.whitening import _check_eps, _check_views

AXES = ("features", "samples")


@dataclass
class NewtonInverseSqrt:
    """Result of :func:`newton_inverse_sqrt`.

    Attributes:
        value: (..., D, D) the approximation of :math:`A^{-1/2}`.
        n_iter: number of Newton steps taken.
        residual: (...,) :math:`\\lVert W A W - I \\rVert_F / \\sqrt{D}`, zero at convergence.
    """

    value: torch.Tensor
    n_iter: int
    residual: torch.Tensor


def newton_inverse_sqrt(a: torch.Tensor, n_iter: int = 5) -> NewtonInverseSqrt:
    r"""Inverse square root of symmetric positive-definite matrices by trace-normalized Newton steps.

    .. math:: A_N = A / \mathrm{tr}(A), \quad P_0 = I, \quad P_{k+1} = \tfrac12 (3 P_k - P_k^3 A_N),
              \quad A^{-1/2} \approx P_T / \sqrt{\mathrm{tr}(A)}

    The eigenvalues of :math:`A_N` lie in (0, 1], where the scalar iteration
    :math:`p \mapsto (3p - p^3 \lambda)/2` converges monotonically to :math:`\lambda^{-1/2}`; small
    eigenvalues converge slowly, so a few steps give a *partial* whitening. Differentiable by autograd.
    This uncoupled iteration amplifies round-off once :math:`P_k` stops commuting with :math:`A`
    (after some tens of steps it diverges even in float64): it is meant for the few steps of the paper
    (T = 4 to 7), not as a general-purpose matrix root.

    Args:
        a: (..., D, D) symmetric positive semi-definite matrices with positive trace.
        n_iter: number of Newton steps T >= 0.

    Returns:
        A :class:`NewtonInverseSqrt`.

    From "Modulate Your Spectrum in Self-Supervised Learning" (2024).
    """
    check_tensor("a", a, min_dim=2, floating=True)
    if a.shape[-1] != a.shape[-2]:
        raise ValueError(f"a must hold square matrices, got shape {tuple(a.shape)}")
    check_positive("n_iter", n_iter, integer=True, allow_zero=True)
    trace = a.diagonal(dim1=-2, dim2=-1).sum(-1)[..., None, None]  # (..., 1, 1)
    if bool((trace <= 0).any()):
        raise ValueError("a must have a positive trace (a positive semi-definite, non-zero matrix)")
    value = _newton_steps(a, trace, n_iter)
    eye = torch.eye(a.shape[-1], dtype=a.dtype, device=a.device)
    residual = torch.linalg.matrix_norm(value @ a @ value - eye) / math.sqrt(a.shape[-1])
    return NewtonInverseSqrt(value=value, n_iter=n_iter, residual=residual)


def _newton_steps(a: torch.Tensor, trace: torch.Tensor, n_iter: int) -> torch.Tensor:
    """T Newton steps for the inverse square root of ``a`` with the given trace (..., 1, 1)."""
    normalized = a / trace  # (..., D, D), spectrum in (0, 1]
    p = torch.eye(a.shape[-1], dtype=a.dtype, device=a.device).expand_as(a)
    for _ in range(n_iter):
        p = 1.5 * p - 0.5 * (p @ p @ p @ normalized)
    return p / trace.sqrt()


def spectral_transformation(
    x: torch.Tensor, n_iter: int = 4, eps: float = 0.0, axis: str = "features"
) -> torch.Tensor:
    r"""IterNorm: centre a batch and multiply it by T Newton steps towards its inverse covariance root.

    .. math:: \Sigma = (1 - \epsilon) \frac{(X - \bar x)^\top (X - \bar x)}{N - 1} + \epsilon I,
              \qquad \hat X = (X - \bar x)\, W_T(\Sigma)

    with :math:`W_T` from :func:`newton_inverse_sqrt` (symmetric). ``axis="features"`` whitens the D
    features across the batch (the paper's equations); ``axis="samples"`` applies the same map to
    :math:`X^\top`, transforming the N x N spectrum of the samples (the default of the authors' code).

    Args:
        x: (N, D) embeddings, N >= 2 (D >= 2 for ``axis="samples"``).
        n_iter: number of Newton steps T >= 0 (the paper uses 4 to 7; T = 0 only centres and rescales).
        eps: shrinkage of the covariance towards the identity, in [0, 1).
        axis: ``"features"`` or ``"samples"``.

    Returns:
        (N, D) transformed embeddings.

    From "Modulate Your Spectrum in Self-Supervised Learning" (2024).
    """
    check_tensor("x", x, dim=2, floating=True)
    check_positive("n_iter", n_iter, integer=True, allow_zero=True)
    _check_eps(eps)
    check_choice("axis", axis, AXES)
    rows = x if axis == "features" else x.T  # (M, C): M observations of C variables
    if rows.shape[0] < 2:
        raise ValueError(
            f"x must hold at least 2 observations along axis={axis!r}, got shape {tuple(x.shape)}"
        )
    return _transform(x, n_iter, eps, axis)


def _transform(x: torch.Tensor, n_iter: int, eps: float, axis: str) -> torch.Tensor:
    """:func:`spectral_transformation` on validated inputs."""
    rows = x if axis == "features" else x.T  # (M, C)
    centred = rows - rows.mean(dim=0, keepdim=True)  # (M, C)
    cov = centred.T @ centred / (rows.shape[0] - 1)  # (C, C)
    cov = (1 - eps) * cov + eps * torch.eye(cov.shape[0], dtype=x.dtype, device=x.device)
    trace = cov.diagonal().sum()
    if bool(trace <= 0):
        raise ValueError("x has zero variance (all observations equal): nothing to transform")
    out = centred @ _newton_steps(cov, trace, n_iter)  # (M, C)
    return out if axis == "features" else out.T


def trace_loss(z: torch.Tensor, axis: str = "features") -> torch.Tensor:
    r"""Trace loss: squared deviation of every variance from 1.

    .. math:: \mathcal{L}_{TL} = \sum_{j=1}^{D} \big(\Sigma_{jj} - 1\big)^2, \qquad
              \Sigma_{jj} = \frac{1}{N - 1} \sum_n (z_{nj} - \bar z_j)^2

    For ``axis="samples"`` the roles of rows and columns swap, as in :func:`spectral_transformation`.

    Args:
        z: (N, D) embeddings (normally the output of :func:`spectral_transformation`).
        axis: ``"features"`` or ``"samples"``.

    Returns:
        A scalar tensor.

    From "Modulate Your Spectrum in Self-Supervised Learning" (2024).
    """
    check_tensor("z", z, dim=2, floating=True)
    check_choice("axis", axis, AXES)
    rows = z if axis == "features" else z.T  # (M, C)
    if rows.shape[0] < 2:
        raise ValueError(
            f"z must hold at least 2 observations along axis={axis!r}, got shape {tuple(z.shape)}"
        )
    return (rows.var(dim=0) - 1).pow(2).sum()


def default_trade_off(n: int, d: int, axis: str = "features") -> float:
    r"""The trace-loss weight of the authors' code, :math:`\beta = 0.01 \max(0, \log_2 C - 3)`, C the whitened size.

    The authors' formula is meant for C >= 8; below that it would be negative, so it is clamped at 0.
    """
    check_choice("axis", axis, AXES)
    return 0.01 * max(0.0, math.log2(d if axis == "features" else n) - 3)


def intl_loss(
    *views: torch.Tensor,
    n_iter: int = 4,
    trade_off: float | None = None,
    eps: float = 0.0,
    axis: str = "features",
) -> torch.Tensor:
    r"""INTL: normalized MSE between spectrally transformed views plus a weighted trace loss.

    .. math:: \mathcal{L} = \frac{1}{K - 1} \sum_{i=1}^{K-1} \Big[ \frac1N \sum_n
              \lVert \bar z_{i,n} - \bar z_{0,n} \rVert^2 + \beta \big(\mathcal{L}_{TL}(\hat Z_i)
              + \mathcal{L}_{TL}(\hat Z_0)\big) \Big], \qquad \hat Z_i = \mathrm{IterNorm}_T(Z_i),
              \quad \bar z = \hat z / \lVert \hat z \rVert

    Every view is compared with the first one, as in the authors' multi-crop code; with two views this
    is the paper's loss. ``trade_off=None`` uses :func:`default_trade_off` (:math:`\beta` grows with
    the logarithm of the whitened size, about 0.02 for D = 32).

    Args:
        *views: K >= 2 tensors (N, D), row n of every view being the same sample.
        n_iter: Newton steps T of :func:`spectral_transformation`.
        trade_off: weight :math:`\beta >= 0` of the trace loss, or None for the default.
        eps: covariance shrinkage, in [0, 1).
        axis: ``"features"`` or ``"samples"``.

    Returns:
        A scalar tensor.

    From "Modulate Your Spectrum in Self-Supervised Learning" (2024).
    """
    _check_views(views)
    k, (n, d) = len(views), views[0].shape
    check_positive("n_iter", n_iter, integer=True, allow_zero=True)
    _check_eps(eps)
    check_choice("axis", axis, AXES)
    if (n if axis == "features" else d) < 2:
        raise ValueError(f"views must hold at least 2 observations along axis={axis!r}, got shape {(n, d)}")
    beta = default_trade_off(n, d, axis) if trade_off is None else trade_off
    check_positive("trade_off", beta, allow_zero=True)
    transformed = [_transform(view, n_iter, eps, axis) for view in views]
    traces = [(t if axis == "features" else t.T).var(dim=0).sub(1).pow(2).sum() for t in transformed]
    anchor = F.normalize(transformed[0], dim=1)  # (N, D)
    total = views[0].new_zeros(())
    for i in range(1, k):
        mse = (F.normalize(transformed[i], dim=1) - anchor).pow(2).sum(dim=1).mean()
        total = total + mse + beta * (traces[i] + traces[0])
    return total / (k - 1)


class SpectralTransformation(nn.Module):
    """Layer form of :func:`spectral_transformation` (batch statistics only, no running estimates)."""

    def __init__(self, n_iter: int = 4, eps: float = 0.0, axis: str = "features"):
        super().__init__()
        check_positive("n_iter", n_iter, integer=True, allow_zero=True)
        _check_eps(eps)
        check_choice("axis", axis, AXES)
        self.n_iter, self.eps, self.axis = n_iter, eps, axis

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return spectral_transformation(x, self.n_iter, self.eps, self.axis)


class INTLLoss(nn.Module):
    """Module form of :func:`intl_loss`; ``forward(*views)``."""

    def __init__(
        self, n_iter: int = 4, trade_off: float | None = None, eps: float = 0.0, axis: str = "features"
    ):
        super().__init__()
        check_positive("n_iter", n_iter, integer=True, allow_zero=True)
        if trade_off is not None:
            check_positive("trade_off", trade_off, allow_zero=True)
        _check_eps(eps)
        check_choice("axis", axis, AXES)
        self.n_iter, self.trade_off, self.eps, self.axis = n_iter, trade_off, eps, axis

    def forward(self, *views: torch.Tensor) -> torch.Tensor:
        return intl_loss(*views, n_iter=self.n_iter, trade_off=self.trade_off, eps=self.eps, axis=self.axis)
