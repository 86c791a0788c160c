"""Geometry of SPD matrices: Bures-Wasserstein (plain and generalized) and affine-invariant means.

**Bures-Wasserstein (BW).** :math:`d_{BW}(X, Y)` is the 2-Wasserstein distance between
:math:`\\mathcal N(0, X)` and :math:`\\mathcal N(0, Y)` (``paperlab.distances.bures_wasserstein``). The
optimal transport map from X to Y is linear, :math:`T_{X \\to Y} = X^{-1/2} (X^{1/2} Y X^{1/2})^{1/2}
X^{-1/2}`, the geodesic is :math:`\\gamma(t) = ((1-t) I + t T) X ((1-t) I + t T)`, and the weighted
barycenter (Frechet mean) :math:`\\bar S` is the fixed point of

.. math::  \\bar S \\leftarrow \\bar S^{-1/2} \\Big(\\sum_i w_i (\\bar S^{1/2} X_i \\bar S^{1/2})^{1/2}\\Big)^2
           \\bar S^{-1/2},\\qquad\\text{equivalently}\\quad \\sum_i w_i T_{\\bar S \\to X_i} = I.

**Generalized BW (GBW).** For a metric matrix M (SPD), :math:`d_{GBW}^2(X, Y) = \\operatorname{tr}(M^{-1}X)
+ \\operatorname{tr}(M^{-1}Y) - 2 \\operatorname{tr}(X^{1/2} M^{-1} Y M^{-1} X^{1/2})^{1/2}`, which is the BW
distance after the congruence :math:`X \\mapsto M^{-1/2} X M^{-1/2}`; means and geodesics are carried over
by the same congruence. M = I gives BW back. This is the geometry of "Learning to Normalize on the SPD
Manifold under Bures-Wasserstein Geometry".

**Affine-invariant (AIM).** :math:`d_{AI}(X, Y) = \\| \\log(X^{-1/2} Y X^{-1/2}) \\|_F`, geodesic
:math:`X^{1/2} (X^{-1/2} Y X^{-1/2})^t X^{1/2}`, and the Karcher mean by the fixed point
:math:`\\bar S \\leftarrow \\bar S^{1/2} \\exp(\\sum_i w_i \\log(\\bar S^{-1/2} X_i \\bar S^{-1/2})) \\bar S^{1/2}`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from .._checks import check_positive, check_tensor
from ..distances.gaussian import bures_wasserstein
from .spd_functions import spd_inv_sqrt, spd_log, spd_power, spd_sqrt, sym_exp, symmetrize


def check_spd(name: str, matrix: torch.Tensor, *, batched: bool | None = None) -> torch.Tensor:
    """Validate (..., d, d) symmetric floating matrices (positive definiteness is not tested: costly)."""
    check_tensor(name, matrix, min_dim=3 if batched else 2, floating=True)
    if batched is False and matrix.dim() != 2:
        raise ValueError(f"{name} must be a single (d, d) matrix, got shape {tuple(matrix.shape)}")
    if matrix.shape[-1] != matrix.shape[-2]:
        raise ValueError(f"{name} must be square in its last two axes, got shape {tuple(matrix.shape)}")
    scale = float(matrix.detach().abs().amax()) if matrix.numel() else 0.0
    if not torch.allclose(matrix, matrix.mT, atol=1e-6 * scale + 1e-12, rtol=0):
        raise ValueError(f"{name} must be symmetric")
    return matrix


def _check_weights(weights, n: int, like: torch.Tensor) -> torch.Tensor:
    if weights is None:
        return torch.full((n,), 1.0 / n, dtype=like.dtype, device=like.device)
    check_tensor("weights", weights, dim=1, floating=True)
    if weights.shape[0] != n:
        raise ValueError(f"weights must have {n} entries, one per matrix, got shape {tuple(weights.shape)}")
    if bool((weights < 0).any()) or float(weights.sum()) <= 0:
        raise ValueError("weights must be non-negative with a positive sum")
    return weights / weights.sum()


@dataclass
class SPDMeanResult:
    """A Frechet mean of SPD matrices and how its fixed-point iteration ended."""

    mean: torch.Tensor  # (d, d)
    n_iter: int
    converged: bool
    change: float  # relative Frobenius change of the last iteration


def _fixed_point_mean(
    update: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    matrices: torch.Tensor,
    weights: torch.Tensor | None,
    n_iter_max: int,
    tol: float,
    init: torch.Tensor | None,
) -> SPDMeanResult:
    """Iterate ``mean <- update(mean, w)`` from ``init`` (default: the weighted arithmetic mean) until the
    relative Frobenius change is below ``tol`` or ``n_iter_max`` iterations have run."""
    check_spd("matrices", matrices, batched=True)
    if matrices.dim() != 3 or matrices.shape[0] == 0:
        raise ValueError(f"matrices must be a non-empty (n, d, d) stack, got shape {tuple(matrices.shape)}")
    w = _check_weights(weights, matrices.shape[0], matrices)
    check_positive("n_iter_max", n_iter_max, integer=True)
    check_positive("tol", tol, allow_zero=True)
    mean = (w[:, None, None] * matrices).sum(0) if init is None else check_spd("init", init, batched=False)
    change, converged, iteration = float("inf"), False, 0
    for iteration in range(1, n_iter_max + 1):  # noqa: B007 (read after the loop)
        updated = update(mean, w)
        change = float((torch.linalg.matrix_norm(updated - mean) / torch.linalg.matrix_norm(mean)).detach())
        mean = updated
        if change < tol:
            converged = True
            break
    return SPDMeanResult(mean=mean, n_iter=iteration, converged=converged, change=change)


def bw_transport_map(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Optimal transport map :math:`T = A^{-1/2} (A^{1/2} B A^{1/2})^{1/2} A^{-1/2}` between centred Gaussians.

    Args:
        source: (d, d) or (n, d, d) SPD covariance A.
        target: (n, d, d) or (d, d) SPD covariances B (a single matrix is paired with every one of the other).
    Returns:
        (n, d, d) or (d, d) SPD maps T, with :math:`T A T = B`.
    """
    check_spd("source", source)
    check_spd("target", target)
    if source.shape[-1] != target.shape[-1]:
        raise ValueError(
            f"source and target must have the same size d, got {source.shape[-1]} and {target.shape[-1]}"
        )
    root = spd_sqrt(source)
    inv_root = spd_inv_sqrt(source)
    middle = spd_sqrt(symmetrize(root @ target @ root))
    return symmetrize(inv_root @ middle @ inv_root)


def bw_geodesic(source: torch.Tensor, target: torch.Tensor, t: float) -> torch.Tensor:
    """Point at time t of the BW geodesic from ``source`` to ``target``: :math:`((1-t)I + tT) A ((1-t)I + tT)`."""
    check_positive("t", t, allow_zero=True)
    transport = bw_transport_map(source, target)
    eye = torch.eye(source.shape[-1], dtype=source.dtype, device=source.device)
    step = (1 - t) * eye + t * transport
    return symmetrize(step @ source @ step)


def bw_barycenter(
    matrices: torch.Tensor,
    weights: torch.Tensor | None = None,
    *,
    n_iter_max: int = 50,
    tol: float = 1e-10,
    init: torch.Tensor | None = None,
) -> SPDMeanResult:
    """Weighted Bures-Wasserstein barycenter of SPD matrices by the fixed-point iteration.

    Args:
        matrices: (n, d, d) SPD matrices.
        weights: optional (n,) non-negative weights (normalised to sum 1); uniform by default.
        n_iter_max: maximum number of fixed-point iterations.
        tol: stop when the relative Frobenius change of the mean is below this.
        init: optional (d, d) starting point; the arithmetic mean by default.
    Returns:
        :class:`SPDMeanResult`; the mean is differentiable through the unrolled iterations.
    """

    def update(mean: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        root, inv_root = spd_sqrt(mean), spd_inv_sqrt(mean)
        roots = spd_sqrt(symmetrize(root @ matrices @ root))  # (n, d, d)
        averaged = (w[:, None, None] * roots).sum(0)
        return symmetrize(inv_root @ averaged @ averaged @ inv_root)

    return _fixed_point_mean(update, matrices, weights, n_iter_max, tol, init)


def _congruence(matrix: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    return symmetrize(factor @ matrix @ factor)


def gbw_distance(x: torch.Tensor, y: torch.Tensor, metric: torch.Tensor) -> torch.Tensor:
    """Generalized BW distance :math:`d_{BW}(M^{-1/2} X M^{-1/2}, M^{-1/2} Y M^{-1/2})`.

    Args:
        x, y: (..., d, d) SPD matrices of the same shape.
        metric: (d, d) SPD metric matrix M.
    Returns:
        (...) distances.
    """
    check_spd("x", x)
    check_spd("y", y)
    check_spd("metric", metric, batched=False)
    if x.shape != y.shape or x.shape[-1] != metric.shape[-1]:
        raise ValueError(
            f"x and y must have the same shape and metric their size d; "
            f"got {tuple(x.shape)}, {tuple(y.shape)} and {tuple(metric.shape)}"
        )
    inv_root = spd_inv_sqrt(metric)
    zeros = x.new_zeros(x.shape[:-1])
    return bures_wasserstein(zeros, _congruence(x, inv_root), zeros, _congruence(y, inv_root))


def gbw_barycenter(matrices: torch.Tensor, metric: torch.Tensor, weights=None, **kwargs) -> SPDMeanResult:
    """GBW barycenter, :math:`M^{1/2} \\, \\mathrm{bary}_{BW}(M^{-1/2} X_i M^{-1/2}) \\, M^{1/2}`.

    Args:
        matrices: (n, d, d) SPD matrices. metric: (d, d) SPD metric M. weights and kwargs as in
            :func:`bw_barycenter`.
    """
    check_spd("metric", metric, batched=False)
    inv_root = spd_inv_sqrt(metric)
    result = bw_barycenter(_congruence(matrices, inv_root), weights, **kwargs)
    result.mean = _congruence(result.mean, spd_sqrt(metric))
    return result


def airm_distance(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Affine-invariant distance :math:`\\|\\log(X^{-1/2} Y X^{-1/2})\\|_F` between (..., d, d) SPD matrices."""
    check_spd("x", x)
    check_spd("y", y)
    inv_root = spd_inv_sqrt(x)
    return torch.linalg.matrix_norm(spd_log(_congruence(y, inv_root)))


def airm_geodesic(source: torch.Tensor, target: torch.Tensor, t: float) -> torch.Tensor:
    """Point at time t of the affine-invariant geodesic, :math:`A^{1/2} (A^{-1/2} B A^{-1/2})^t A^{1/2}`."""
    check_spd("source", source)
    check_spd("target", target)
    check_positive("t", t, allow_zero=True)
    root, inv_root = spd_sqrt(source), spd_inv_sqrt(source)
    return _congruence(spd_power(_congruence(target, inv_root), float(t)), root)


def airm_mean(
    matrices: torch.Tensor,
    weights: torch.Tensor | None = None,
    *,
    n_iter_max: int = 50,
    tol: float = 1e-10,
    init: torch.Tensor | None = None,
) -> SPDMeanResult:
    """Weighted Karcher (affine-invariant Frechet) mean by the fixed-point iteration of the module docstring.

    Args and returns as in :func:`bw_barycenter`.
    """

    def update(mean: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        root, inv_root = spd_sqrt(mean), spd_inv_sqrt(mean)
        tangent = (w[:, None, None] * spd_log(_congruence(matrices, inv_root))).sum(0)  # (d, d) at identity
        return _congruence(sym_exp(tangent), root)

    return _fixed_point_mean(update, matrices, weights, n_iter_max, tol, init)
