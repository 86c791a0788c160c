"""Principal angles between the column spaces of two matrices.

Used by Maestro: Uncovering Low-Rank Structures via Trainable Decomposition to compare the span
of the first learned rank-1 components with the top singular (PCA) subspace.
"""

from __future__ import annotations

import math

import torch

from paperlab._checks import check_tensor


def _orthonormal_basis(name: str, x: torch.Tensor) -> torch.Tensor:
    """Left singular vectors of ``x``, after checking that ``x`` has full column rank."""
    left, singular, _ = torch.linalg.svd(x, full_matrices=False)
    tol = max(x.shape) * torch.finfo(x.dtype).eps * singular[0]
    if singular[0] == 0 or singular[-1] <= tol:
        raise ValueError(
            f"{name} must have full column rank, got singular values down to {float(singular[-1]):.3g}"
        )
    return left  # (n, p)


def principal_angles(a: torch.Tensor, b: torch.Tensor, degrees: bool = False) -> torch.Tensor:
    r"""Principal angles :math:`0 \le \theta_1 \le \dots \le \theta_m \le \pi/2` between span(a) and span(b).

    With orthonormal bases :math:`Q_a, Q_b`, :math:`\cos\theta_i` are the singular values of
    :math:`Q_a^\top Q_b` and :math:`\sin\theta_i` those of :math:`Q_b - Q_a Q_a^\top Q_b`; the cosine
    is used for large angles and the sine for small ones (:math:`\cos^2\theta \ge 1/2`), where the
    cosine loses accuracy.

    Args:
        a: ``(n, p)`` matrix of full column rank.
        b: ``(n, q)`` matrix of full column rank.
        degrees: return degrees instead of radians.

    Returns:
        ``(min(p, q),)`` angles in ascending order. The largest one, ``angles[-1]``, is zero exactly
        when the smaller subspace lies in the larger one.
    """
    check_tensor("a", a, dim=2, floating=True)
    check_tensor("b", b, dim=2, floating=True)
    if a.shape[0] != b.shape[0]:
        raise ValueError(
            f"a and b must have the same number of rows, got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    if a.dtype != b.dtype or a.device != b.device:
        raise ValueError(
            f"a and b must share dtype and device, got {a.dtype}/{a.device} and {b.dtype}/{b.device}"
        )
    for name, x in (("a", a), ("b", b)):
        if x.shape[1] > x.shape[0]:
            raise ValueError(f"{name} must have at most as many columns as rows, got shape {tuple(x.shape)}")
    basis_a, basis_b = _orthonormal_basis("a", a), _orthonormal_basis("b", b)
    if basis_b.shape[1] > basis_a.shape[1]:  # the sine formula needs the larger subspace first
        basis_a, basis_b = basis_b, basis_a
    cosines = torch.linalg.svdvals(basis_a.T @ basis_b).clamp(0.0, 1.0)  # (m,) descending: theta ascending
    residual = basis_b - basis_a @ (basis_a.T @ basis_b)  # (n, m): part of span(b) outside span(a)
    sines = torch.linalg.svdvals(residual).clamp(0.0, 1.0).flip(0)  # (m,) ascending: theta ascending
    angles = torch.where(cosines.square() >= 0.5, torch.arcsin(sines), torch.arccos(cosines))
    return angles * (180.0 / math.pi) if degrees else angles
