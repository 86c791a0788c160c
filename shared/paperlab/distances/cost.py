"""Ground costs between point clouds: the matrix of powered Euclidean distances."""

from __future__ import annotations

import torch

from paperlab._checks import check_positive, check_tensor


def check_point_clouds(x: torch.Tensor, y: torch.Tensor, names: tuple[str, str] = ("x", "y")) -> None:
    """Raise unless ``x`` (..., n, d) and ``y`` (..., m, d) are finite clouds with equal batch and feature dims."""
    check_tensor(names[0], x, min_dim=2, floating=True)
    check_tensor(names[1], y, min_dim=2, floating=True)
    if x.shape[-1] != y.shape[-1]:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same feature dimension, got {x.shape[-1]} and {y.shape[-1]}"
        )
    if x.shape[:-2] != y.shape[:-2]:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same batch shape, "
            f"got {tuple(x.shape[:-2])} and {tuple(y.shape[:-2])}"
        )
    if x.dtype != y.dtype or x.device != y.device:
        raise TypeError(
            f"{names[0]} and {names[1]} must share dtype and device, got {x.dtype}/{x.device} "
            f"and {y.dtype}/{y.device}"
        )


def pairwise_cost(x: torch.Tensor, y: torch.Tensor, p: float = 2) -> torch.Tensor:
    """The cost matrix without input checks (for solvers that validated their inputs already)."""
    if p == 2:
        x_sq = (x * x).sum(-1).unsqueeze(-1)  # (..., n, 1)
        y_sq = (y * y).sum(-1).unsqueeze(-2)  # (..., 1, m)
        cross = x @ y.transpose(-1, -2)  # (..., n, m)
        return (x_sq + y_sq - 2 * cross).clamp_min(0)
    return torch.cdist(x, y, p=2).pow(p)


def cost_matrix(x: torch.Tensor, y: torch.Tensor, p: float = 2) -> torch.Tensor:
    r"""Matrix of powered Euclidean distances between two point clouds.

    .. math:: M_{ij} = \|x_i - y_j\|_2^p

    For ``p=2`` this is the squared Euclidean distance (POT's ``ot.dist`` convention, no factor 1/2),
    computed through the expanded form :math:`\|x\|^2 + \|y\|^2 - 2\langle x, y\rangle` and clamped
    at 0 against rounding. Other ``p`` use the Euclidean norm raised to the power ``p``.

    Args:
        x: points, shape (..., n, d).
        y: points, shape (..., m, d); the leading batch dims must equal those of ``x``.
        p: positive exponent of the Euclidean distance.

    Returns:
        Cost matrix of shape (..., n, m), differentiable with respect to ``x`` and ``y``.
    """
    check_point_clouds(x, y)
    check_positive("p", p)
    return pairwise_cost(x, y, p)
