r"""Entropic projection of an affinity matrix onto the doubly stochastic matrices, by Sinkhorn.

"Unsupervised Manifold Linearizing and Clustering (2023)" turns the Gram matrix of a cluster head's
unit-norm outputs into a soft, symmetric membership matrix whose rows and columns all sum to one.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch

from paperlab._checks import check_positive, check_tensor
from paperlab.solvers.sinkhorn import sinkhorn


@dataclass
class DoublyStochasticResult:
    """A doubly stochastic membership matrix and how the Sinkhorn iterations ended.

    Attributes:
        membership: :math:`\\Pi`, shape (n, n), non-negative, rows and columns summing to 1.
        n_iter: Sinkhorn iterations done.
        converged: whether the marginal error fell below ``tol``.
        marginal_error: :math:`\\|\\Pi^\\top 1 - 1\\|_2` at the last check (before symmetrization).
    """

    membership: torch.Tensor
    n_iter: int
    converged: bool
    marginal_error: float


def doubly_stochastic_projection(
    affinity: torch.Tensor, reg: float = 0.1, max_iter: int = 100, tol: float = 1e-6, symmetric: bool = True
) -> DoublyStochasticResult:
    r"""The entropy-regularized doubly stochastic matrix closest to an affinity matrix.

    .. math:: \Pi = n \cdot \arg\max_{P \ge 0,\; P 1 = P^\top 1 = \frac1n 1}
              \langle A, P\rangle - \mathrm{reg} \sum_{ij} P_{ij} \log P_{ij}

    i.e. entropic optimal transport between two uniform measures with cost :math:`-A`, solved by the
    log-domain Sinkhorn algorithm (:func:`paperlab.solvers.sinkhorn`), then scaled by n so that every row
    and column sums to 1. For a symmetric :math:`A` the exact solution is symmetric; with
    ``symmetric=True`` the iterate is replaced by :math:`(\Pi + \Pi^\top)/2`, which stays doubly
    stochastic. Gradients flow through the unrolled iterations. It does not warn when ``max_iter`` is
    reached (a few iterations are common during training): read ``converged``.

    From "Unsupervised Manifold Linearizing and Clustering (2023)".

    Args:
        affinity: A, shape (n, n), e.g. the Gram matrix :math:`C C^\top` of unit-norm cluster features.
        reg: entropic regularization :math:`> 0`; small values give sparse, nearly hard memberships.
        max_iter: Sinkhorn iterations at most.
        tol: stop when the marginal error falls below ``tol``.
        symmetric: symmetrize the result (needs a square, symmetric problem).

    Returns:
        :class:`DoublyStochasticResult` with membership (n, n).
    """
    check_tensor("affinity", affinity, dim=2, floating=True)
    if affinity.shape[0] != affinity.shape[1]:
        raise ValueError(f"affinity must be square (n, n), got shape {tuple(affinity.shape)}")
    check_positive("reg", reg)
    check_positive("max_iter", max_iter, integer=True)
    check_positive("tol", tol, allow_zero=True)
    if not isinstance(symmetric, bool):
        raise TypeError(f"symmetric must be a bool, got {symmetric!r}")
    n = affinity.shape[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # non-convergence is reported in the result
        result = sinkhorn(None, None, -affinity, reg, max_iter=max_iter, tol=tol / n)
    membership = n * result.plan  # (n, n): rows and columns sum to 1
    if symmetric:
        membership = 0.5 * (membership + membership.T)
    return DoublyStochasticResult(membership, result.n_iter, result.converged, n * result.marginal_error)
