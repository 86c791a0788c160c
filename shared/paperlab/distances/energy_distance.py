r"""The energy distance between two weighted point clouds.

.. math:: \mathcal E(\mu, \nu) = 2\,\mathbb E\lVert X - Y\rVert - \mathbb E\lVert X - X'\rVert
          - \mathbb E\lVert Y - Y'\rVert, \qquad X, X' \sim \mu,\ Y, Y' \sim \nu

It is the squared MMD with the kernel :math:`-\lVert x - y\rVert`, non-negative, and zero only for equal
measures. Evaluated on the empirical measures (a V-statistic), it is exactly SciPy's 1-D
``energy_distance`` squared.
"""

from __future__ import annotations

import torch

from paperlab.distances.cost import check_point_clouds


def energy_distance(
    X: torch.Tensor, Y: torch.Tensor, a: torch.Tensor | None = None, b: torch.Tensor | None = None
):
    r"""Energy distance :math:`2\,\mathbb E\lVert X-Y\rVert - \mathbb E\lVert X-X'\rVert - \mathbb E\lVert Y-Y'\rVert`.

    Used as the class-wise cost of "Neural Optimal Transport with General Cost Functionals" and as the
    sample-quality metric of "Energy-guided Entropic Neural Optimal Transport".

    Args:
        X: points (..., n, d) of the first measure.
        Y: points (..., m, d) of the second, same batch dims and d.
        a: weights (..., n), or None for uniform; normalized to sum 1.
        b: weights (..., m), or None for uniform; normalized to sum 1.

    Returns:
        The (squared-MMD-scale) energy distance, shape (...); differentiable in X, Y, a and b.
    """
    from paperlab.solvers.sinkhorn import check_marginal

    check_point_clouds(X, Y, ("X", "Y"))
    a = check_marginal("a", a, X.shape[:-1], X)
    b = check_marginal("b", b, Y.shape[:-1], Y)

    def mean_distance(P, Q, p, q):
        distances = torch.cdist(P, Q)  # (..., n, m)
        return (p.unsqueeze(-2) @ distances @ q.unsqueeze(-1))[..., 0, 0]  # p^T D q, (...)

    return 2 * mean_distance(X, Y, a, b) - mean_distance(X, X, a, a) - mean_distance(Y, Y, b, b)
