"""The Poincaré ball of curvature -1: geodesic distance, Möbius addition, exponential and log maps at 0.

From "Representation Tradeoffs for Hyperbolic Embeddings" (2018). Points live in the open unit ball
$\\mathbb{B}^d = \\{x : \\|x\\| < 1\\}$ with metric $(2 / (1 - \\|x\\|^2))^2 \\, g_E$. Every formula below
is written so that float64 stays accurate up to a hyperbolic radius of about 36, where $1 - \\|x\\|$
reaches the float64 resolution: $1 - \\|x\\|^2$ is formed as $(1 - \\|x\\|)(1 + \\|x\\|)$ and the distance
uses $\\operatorname{arcosh}(1 + 2u) = 2 \\operatorname{arsinh}(\\sqrt{u})$, which has no cancellation.
"""

from __future__ import annotations

import torch

from .._checks import check_tensor


def _check_ball(name: str, x) -> torch.Tensor:
    """Validate a floating tensor of points ``(..., d)`` strictly inside the unit ball."""
    check_tensor(name, x, min_dim=1, floating=True)
    norm = torch.linalg.vector_norm(x, dim=-1)
    if bool((norm >= 1).any()):
        raise ValueError(
            f"{name} must lie strictly inside the unit ball, got a point of norm {norm.max().item()!r}"
        )
    return x


def _conformal_denominator(x: torch.Tensor) -> torch.Tensor:
    """$1 - \\|x\\|^2$ as $(1 - \\|x\\|)(1 + \\|x\\|)$, accurate near the boundary. Shape ``(...)``."""
    norm = torch.linalg.vector_norm(x, dim=-1)
    return (1 - norm) * (1 + norm)


def poincare_distance(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Geodesic distance between matching points of the Poincaré ball.

    $d(x, y) = \\operatorname{arcosh}\\big(1 + 2 \\|x - y\\|^2 / ((1 - \\|x\\|^2)(1 - \\|y\\|^2))\\big)
    = 2 \\operatorname{arsinh}\\big(\\|x - y\\| / \\sqrt{(1 - \\|x\\|^2)(1 - \\|y\\|^2)}\\big)$.

    Args:
        x: points ``(..., d)`` with norm < 1.
        y: points of the same shape as ``x``.

    Returns:
        Distances ``(...)``.
    """
    _check_ball("x", x)
    _check_ball("y", y)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    gap = torch.linalg.vector_norm(x - y, dim=-1)
    scale = torch.sqrt(_conformal_denominator(x) * _conformal_denominator(y))
    return 2 * torch.asinh(gap / scale)


def poincare_cdist(x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    """All pairwise geodesic distances between two point sets of the Poincaré ball.

    Same formula as :func:`poincare_distance`, for every pair ``(x_i, y_j)``.

    Args:
        x: points ``(n, d)`` with norm < 1.
        y: points ``(m, d)``; None means ``x`` (the diagonal is then exactly 0).

    Returns:
        Distance matrix ``(n, m)``.
    """
    _check_ball("x", x)
    if x.dim() != 2:
        raise ValueError(f"x must have shape (n, d), got {tuple(x.shape)}")
    if y is None:
        y = x
    else:
        _check_ball("y", y)
        if y.dim() != 2 or y.shape[1] != x.shape[1]:
            raise ValueError(f"y must have shape (m, {x.shape[1]}), got {tuple(y.shape)}")
    gap = torch.cdist(x, y, compute_mode="donot_use_mm_for_euclid_dist")  # (n, m), exact near the boundary
    scale = torch.sqrt(_conformal_denominator(x)[:, None] * _conformal_denominator(y)[None, :])  # (n, m)
    return 2 * torch.asinh(gap / scale)


def mobius_add(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Möbius addition $x \\oplus y$, the gyrovector sum of the Poincaré ball.

    $x \\oplus y = \\frac{(1 + 2\\langle x, y\\rangle + \\|y\\|^2)\\, x + (1 - \\|x\\|^2)\\, y}
    {1 + 2\\langle x, y\\rangle + \\|x\\|^2 \\|y\\|^2}$. The map $y \\mapsto x \\oplus y$ is an isometry
    sending 0 to $x$, with inverse $y \\mapsto (-x) \\oplus y$, and $d(x, y) = 2 \\operatorname{artanh}
    \\|(-x) \\oplus y\\|$.

    Args:
        x: points ``(..., d)`` with norm < 1.
        y: points of the same shape.

    Returns:
        ``(..., d)`` points with norm < 1.
    """
    _check_ball("x", x)
    _check_ball("y", y)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    xy = (x * y).sum(-1, keepdim=True)
    x2 = (x * x).sum(-1, keepdim=True)
    y2 = (y * y).sum(-1, keepdim=True)
    numerator = (1 + 2 * xy + y2) * x + _conformal_denominator(x).unsqueeze(-1) * y
    return numerator / (1 + 2 * xy + x2 * y2)


def poincare_exp0(v: torch.Tensor) -> torch.Tensor:
    """Exponential map at the origin: $\\exp_0(v) = \\tanh(\\|v\\|)\\, v / \\|v\\|$.

    The tangent vector's Riemannian length is $2\\|v\\|$ (conformal factor 2 at 0), so
    $d(0, \\exp_0(v)) = 2\\|v\\|$.

    Args:
        v: tangent vectors ``(..., d)`` at 0.

    Returns:
        Points ``(..., d)`` in the ball.
    """
    check_tensor("v", v, min_dim=1, floating=True)
    norm = torch.linalg.vector_norm(v, dim=-1, keepdim=True)
    safe = norm.clamp_min(torch.finfo(v.dtype).tiny)
    return torch.tanh(norm) * v / safe


def poincare_log0(x: torch.Tensor) -> torch.Tensor:
    """Logarithmic map at the origin, inverse of :func:`poincare_exp0`: $\\operatorname{artanh}(\\|x\\|)\\, x/\\|x\\|$.

    Args:
        x: points ``(..., d)`` with norm < 1.

    Returns:
        Tangent vectors ``(..., d)`` at 0.
    """
    _check_ball("x", x)
    norm = torch.linalg.vector_norm(x, dim=-1, keepdim=True)
    safe = norm.clamp_min(torch.finfo(x.dtype).tiny)
    return torch.atanh(norm) * x / safe
