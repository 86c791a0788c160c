"""Spectral functions of symmetric matrices with a stable backward pass (Daleckii-Krein).

For a symmetric :math:`X = U \\operatorname{diag}(\\lambda) U^\\top` and a scalar function ``f`` applied to the
eigenvalues, :math:`F(X) = U \\operatorname{diag}(f(\\lambda)) U^\\top`. Its derivative is

.. math::  \\mathrm{d}F = U \\big(K \\circ (U^\\top \\mathrm{d}X\\, U)\\big) U^\\top,\\qquad
           K_{ij} = \\frac{f(\\lambda_i) - f(\\lambda_j)}{\\lambda_i - \\lambda_j}\\ (\\lambda_i \\ne \\lambda_j),
           \\quad K_{ii} = f'(\\lambda_i),

and the backward pass applies the same (symmetric) operator to the symmetrised output gradient. Unlike
differentiating through ``torch.linalg.eigh``, whose eigenvector gradient divides by
:math:`\\lambda_i - \\lambda_j`, the divided difference stays bounded when eigenvalues (nearly)
coincide, which happens at every ReEig clamp and for the identity-like matrices of a normalised batch.
These are the matrix functions of SPD networks ("Learning to Normalize on the SPD Manifold under
Bures-Wasserstein Geometry" builds its layers from them).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .._checks import check_positive, check_tensor

_Spectral = Callable[[torch.Tensor], torch.Tensor]


def _divided_differences(eigenvalues, values, derivatives) -> torch.Tensor:
    """(..., d, d) matrix K of the module docstring, with f' where eigenvalues (nearly) coincide."""
    gap = eigenvalues.unsqueeze(-1) - eigenvalues.unsqueeze(-2)  # (..., d, d) lambda_i - lambda_j
    rise = values.unsqueeze(-1) - values.unsqueeze(-2)
    scale = eigenvalues.abs().amax(-1, keepdim=True).unsqueeze(-1).clamp_min(1.0)
    close = gap.abs() <= 1e3 * torch.finfo(eigenvalues.dtype).eps * scale
    mean_derivative = 0.5 * (derivatives.unsqueeze(-1) + derivatives.unsqueeze(-2))
    return torch.where(close, mean_derivative, rise / torch.where(close, torch.ones_like(gap), gap))


class _SpectralFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, matrix, fn, dfn):
        eigenvalues, eigenvectors = torch.linalg.eigh(matrix)
        values = fn(eigenvalues)
        ctx.save_for_backward(eigenvalues, eigenvectors, values)
        ctx.dfn = dfn
        return (eigenvectors * values.unsqueeze(-2)) @ eigenvectors.mT

    @staticmethod
    def backward(ctx, grad_output):
        eigenvalues, eigenvectors, values = ctx.saved_tensors
        kernel = _divided_differences(eigenvalues, values, ctx.dfn(eigenvalues))
        symmetric = 0.5 * (grad_output + grad_output.mT)
        inner = eigenvectors.mT @ symmetric @ eigenvectors  # (..., d, d) in the eigenbasis
        return eigenvectors @ (kernel * inner) @ eigenvectors.mT, None, None


def spectral_function(matrix: torch.Tensor, fn: _Spectral, dfn: _Spectral) -> torch.Tensor:
    """:math:`U f(\\Lambda) U^\\top` for symmetric ``matrix`` (..., d, d), with the Daleckii-Krein backward.

    Args:
        matrix: (..., d, d) symmetric floating tensor (only its lower triangle is read by ``eigh``).
        fn: elementwise f on the eigenvalues.
        dfn: its derivative f', used where eigenvalues coincide.
    Returns:
        (..., d, d) symmetric tensor.
    """
    check_tensor("matrix", matrix, min_dim=2, floating=True)
    if matrix.shape[-1] != matrix.shape[-2]:
        raise ValueError(f"matrix must be square in its last two axes, got shape {tuple(matrix.shape)}")
    return _SpectralFunction.apply(matrix, fn, dfn)


def _floor(eigenvalues: torch.Tensor) -> torch.Tensor:
    return eigenvalues.clamp_min(torch.finfo(eigenvalues.dtype).tiny ** 0.5)


def spd_sqrt(matrix: torch.Tensor) -> torch.Tensor:
    """Principal square root :math:`X^{1/2}` of SPD matrices (..., d, d)."""
    return spectral_function(matrix, lambda w: _floor(w).sqrt(), lambda w: 0.5 * _floor(w).rsqrt())


def spd_inv_sqrt(matrix: torch.Tensor) -> torch.Tensor:
    """Inverse square root :math:`X^{-1/2}` of SPD matrices (..., d, d)."""
    return spectral_function(matrix, lambda w: _floor(w).rsqrt(), lambda w: -0.5 * _floor(w).pow(-1.5))


def spd_power(matrix: torch.Tensor, power: float) -> torch.Tensor:
    """Matrix power :math:`X^p` of SPD matrices (..., d, d) for a real ``power``."""
    if isinstance(power, bool) or not isinstance(power, (int, float)) or power != power:
        raise TypeError(f"power must be a real number, got {power!r}")
    return spectral_function(
        matrix, lambda w: _floor(w).pow(power), lambda w: power * _floor(w).pow(power - 1)
    )


def spd_log(matrix: torch.Tensor) -> torch.Tensor:
    """Principal logarithm :math:`\\log X` of SPD matrices (..., d, d); a symmetric result."""
    return spectral_function(matrix, lambda w: _floor(w).log(), lambda w: _floor(w).reciprocal())


def sym_exp(matrix: torch.Tensor) -> torch.Tensor:
    """Matrix exponential of symmetric matrices (..., d, d); an SPD result."""
    return spectral_function(matrix, torch.exp, torch.exp)


def rectify_eigenvalues(matrix: torch.Tensor, threshold: float) -> torch.Tensor:
    """ReEig: :math:`U \\max(\\Lambda, \\epsilon I) U^\\top`, the SPD network non-linearity.

    Args:
        matrix: (..., d, d) symmetric matrices.
        threshold: the eigenvalue floor :math:`\\epsilon > 0`.
    Returns:
        (..., d, d) SPD matrices whose eigenvalues are at least ``threshold``.
    """
    check_positive("threshold", threshold)
    return spectral_function(matrix, lambda w: w.clamp_min(threshold), lambda w: (w > threshold).to(w.dtype))


def symmetrize(matrix: torch.Tensor) -> torch.Tensor:
    """:math:`(X + X^\\top) / 2`, to remove round-off asymmetry."""
    return 0.5 * (matrix + matrix.mT)
