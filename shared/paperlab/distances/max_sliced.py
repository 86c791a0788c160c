"""Max-sliced Wasserstein: the 1-D Wasserstein distance along the most discriminative direction.

$$\\max\\text{-}SW_p(\\mu, \\nu) = \\max_{\\theta \\in S^{d-1}} W_p(\\theta_\\#\\mu, \\theta_\\#\\nu),$$

found by projected gradient ascent on the sphere from the best of a few random starts. It is the
baseline that amortized and distributional slicing improve on ("Self-Attention Amortized Distributional
Projection Optimization for Sliced Wasserstein Point-Cloud Reconstruction" (2023)).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from paperlab._checks import check_positive
from paperlab.distances.sliced import check_point_clouds, projected_wasserstein, random_projections


@dataclass
class MaxSlicedResult:
    """The max-SW value, the maximizing direction (d,), and the ascent's iteration count."""

    value: torch.Tensor
    direction: torch.Tensor
    n_iter: int


def max_sliced_wasserstein(
    X, Y, p: float = 2, n_iter: int = 50, lr: float = 0.1, n_starts: int = 8, seed=None
):
    """Max-SW_p between uniform point clouds X (n, d) and Y (m, d), by projected gradient ascent.

    Args:
        X, Y: (n, d) and (m, d) supports with uniform weights.
        p: order, p >= 1. n_iter: ascent steps. lr: step size on the sphere.
        n_starts: random directions tried first; the ascent starts from the best one.
        seed: int, ``torch.Generator`` or None.
    Returns:
        :class:`MaxSlicedResult`; ``value`` is differentiable in X and Y at the returned direction.
    """
    check_point_clouds(X, Y)
    if X.dim() != 2:
        raise ValueError(f"X and Y must be unbatched (n, d) clouds, got shape {tuple(X.shape)}")
    check_positive("p", p)
    check_positive("n_iter", n_iter, integer=True, allow_zero=True)
    check_positive("lr", lr)
    check_positive("n_starts", n_starts, integer=True)
    starts = random_projections(X.shape[1], n_starts, seed, dtype=X.dtype, device=X.device)  # (d, S)
    with torch.no_grad():
        best = projected_wasserstein(X, Y, starts, p).argmax()
    theta = starts[:, best].clone()
    Xd, Yd = X.detach(), Y.detach()
    best_value, best_theta = -1.0, theta
    for step in range(n_iter + 1):
        theta.requires_grad_(True)
        value = projected_wasserstein(Xd, Yd, theta.unsqueeze(1), p)[0]
        if value.item() > best_value:
            best_value, best_theta = value.item(), theta.detach()
        if step == n_iter:
            break
        (grad,) = torch.autograd.grad(value, theta)
        with torch.no_grad():
            tangent = grad - (grad @ theta) * theta  # Riemannian gradient on the sphere
            step_size = lr / (step + 1) ** 0.5  # a turn of about lr radians, shrinking
            theta = theta + step_size * tangent / tangent.norm().clamp_min(torch.finfo(grad.dtype).tiny)
            theta = theta / theta.norm()
    value = projected_wasserstein(X, Y, best_theta.unsqueeze(1), p)[0].pow(1.0 / p)
    return MaxSlicedResult(value=value, direction=best_theta, n_iter=n_iter)
