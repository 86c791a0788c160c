"""The sliced Wasserstein distance: optimal transport averaged over random 1-D projections.

$$SW_p^p(\\mu, \\nu) = \\mathbb{E}_{\\theta \\sim \\mathcal{U}(S^{d-1})}
  \\left[ W_p^p(\\theta_\\#\\mu, \\theta_\\#\\nu) \\right]$$

estimated by Monte Carlo over ``n_projections`` directions. Each 1-D problem is solved by sorting
(:mod:`paperlab.distances.wasserstein_1d`), so the cost is O(L (n + m) log(n + m)).
"""

from __future__ import annotations

import torch

from paperlab._checks import check_positive, check_tensor, check_weights
from paperlab._random import as_generator
from paperlab.distances.cost import check_point_clouds as check_clouds
from paperlab.distances.wasserstein_1d import wasserstein_1d_lastdim


def random_projections(
    d: int, n_projections: int, seed=None, dtype=torch.float32, device=None
) -> torch.Tensor:
    """Directions drawn uniformly on the unit sphere S^{d-1}, as the columns of a (d, L) matrix.

    Drawn on the CPU from ``seed`` (int, ``torch.Generator`` or None) so that a seed gives the same
    directions on every device, then moved to ``device``.
    """
    check_positive("d", d, integer=True)
    check_positive("n_projections", n_projections, integer=True)
    gaussian = torch.randn(d, n_projections, generator=as_generator(seed), dtype=torch.float64)
    directions = gaussian / gaussian.norm(dim=0, keepdim=True)  # (d, L) unit columns
    return directions.to(dtype=dtype, device=device)


def check_point_clouds(X, Y) -> None:
    """Check two point clouds (..., n, d) and (..., m, d): :func:`paperlab.distances.cost.check_point_clouds`."""
    check_clouds(X, Y, names=("X", "Y"))


def resolve_projections(X, n_projections, projections, seed) -> torch.Tensor:
    """The projection matrix: the one given, checked, or ``n_projections`` random (d, L) ones.

    A given ``projections`` is (d, L), or (R, d, L) for R independent sets of directions, which
    needs an unbatched X (n, d) and gives R estimates at once.
    """
    d = X.shape[-1]
    if projections is None:
        check_positive("n_projections", n_projections, integer=True)
        return random_projections(d, n_projections, seed, dtype=X.dtype, device=X.device)
    check_tensor("projections", projections, min_dim=2, floating=True)
    if projections.dim() > 3 or projections.shape[-2] != d:
        raise ValueError(
            f"projections must have shape ({d}, L) or (R, {d}, L), got {tuple(projections.shape)}"
        )
    if projections.dim() == 3 and X.dim() != 2:
        raise ValueError(
            f"(R, d, L) projections need unbatched (n, d) inputs, got X of shape {tuple(X.shape)}"
        )
    return projections.to(dtype=X.dtype, device=X.device)


def projected_wasserstein(X, Y, projections, p=2, a=None, b=None) -> torch.Tensor:
    """W_p^p of the 1-D projections of X and Y on each column of ``projections``.

    X: (..., n, d), Y: (..., m, d), projections: (d, L), a: (..., n), b: (..., m). Returns (..., L).
    With unbatched X (n, d) and Y, projections may be (R, d, L), giving (R, L).
    """
    directions = projections.transpose(-1, -2)  # (L, d): each row a direction
    x_proj = directions @ X.transpose(-1, -2)  # (..., L, n), contiguous along the points, as sorting wants
    y_proj = directions @ Y.transpose(-1, -2)  # (..., L, m)
    a_l = None if a is None else a.unsqueeze(-2).expand_as(x_proj)
    b_l = None if b is None else b.unsqueeze(-2).expand_as(y_proj)
    return wasserstein_1d_lastdim(x_proj, y_proj, a_l, b_l, p)


def sliced_wasserstein(
    X, Y, n_projections: int = 50, p: float = 2, a=None, b=None, projections=None, seed=None
):
    """Monte Carlo sliced Wasserstein distance SW_p (POT's ``ot.sliced_wasserstein_distance``).

    $$\\widehat{SW}_p(\\mu, \\nu) = \\Big(\\frac{1}{L} \\sum_{l=1}^{L}
       W_p^p(\\theta_l{}_\\#\\mu, \\theta_l{}_\\#\\nu)\\Big)^{1/p}$$

    Args:
        X: (..., n, d) support of the first measure; leading dimensions are a batch.
        Y: (..., m, d) support of the second measure, the same batch shape.
        n_projections: L, the number of random directions (ignored when ``projections`` is given).
        p: order, p >= 1.
        a, b: (..., n) and (..., m) non-negative weights, None for uniform; normalized here.
        projections: (d, L) directions to use instead of random ones (columns, ideally unit norm), or
            (R, d, L) for R independent estimates at once (unbatched X and Y only).
        seed: int, ``torch.Generator`` or None, for the random directions.

    Returns:
        SW_p, shape (...) (a scalar for unbatched inputs, (R,) for (R, d, L) projections);
        differentiable in X, Y, a and b.
    """
    check_point_clouds(X, Y)
    check_positive("p", p)
    if p < 1:
        raise ValueError(f"p must be >= 1, got {p!r}")
    theta = resolve_projections(X, n_projections, projections, seed)
    a, b = check_weights("a", a, X.shape[:-1]), check_weights("b", b, Y.shape[:-1])
    per_direction = projected_wasserstein(X, Y, theta, p, a, b)
    return per_direction.mean(-1).pow(1.0 / p)
