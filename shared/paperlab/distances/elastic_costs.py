"""Translation-invariant elastic costs h(z) = 1/2 ||z||^2 + tau(z) and the proximal operators of tau.

Two sparsity-inducing regularizers tau are available: ``"l1"``, :math:`\\gamma\\|z\\|_1` (elastic net), and
``"stvs"``, soft thresholding with vanishing shrinkage,
:math:`\\gamma^2 \\sum_i (\\sigma_i - \\frac12 e^{-2\\sigma_i} + \\frac12)` with
:math:`\\sigma_i = \\mathrm{asinh}(|z_i| / 2\\gamma)`. ``gamma = 0`` gives the plain quadratic cost.
"""

from __future__ import annotations

import torch

from paperlab._checks import check_choice, check_positive, check_tensor
from paperlab.distances.cost import check_point_clouds

REGULARIZERS = ("l1", "stvs")
ELEMENTS_PER_CHUNK = 2**22  # budget of one (chunk, m, d) block of differences


def _check(z, gamma, regularizer):
    check_tensor("z", z, min_dim=1, floating=True)
    check_positive("gamma", gamma, allow_zero=True)
    check_choice("regularizer", regularizer, set(REGULARIZERS))


def _regularizer(z, gamma, regularizer):
    if gamma == 0:
        return torch.zeros(z.shape[:-1], dtype=z.dtype, device=z.device)
    if regularizer == "l1":
        return gamma * z.abs().sum(-1)
    sigma = torch.asinh(z.abs() / (2 * gamma))
    return gamma**2 * (sigma - 0.5 * torch.exp(-2 * sigma) + 0.5).sum(-1)


def _regularizer_grad(z, gamma, regularizer):
    if gamma == 0:
        return torch.zeros_like(z)
    if regularizer == "l1":
        return gamma * torch.sign(z)
    u = z.abs() / (2 * gamma)
    return torch.sign(z) * gamma * (torch.sqrt(1 + u * u) - u)


def _prox(z, gamma, regularizer):
    if gamma == 0:
        return z
    if regularizer == "l1":
        return torch.sign(z) * (z.abs() - gamma).clamp_min(0)
    tiny = torch.finfo(z.dtype).tiny
    return z * (1 - gamma**2 / (z * z).clamp_min(tiny)).clamp_min(0)


def elastic_regularizer(z: torch.Tensor, gamma: float, regularizer: str = "l1") -> torch.Tensor:
    r"""The sparsity-inducing part :math:`\tau(z)` of an elastic cost, summed over the last axis.

    Args:
        z: displacements (..., d).
        gamma: strength >= 0.
        regularizer: ``"l1"`` or ``"stvs"`` (see the module docstring).

    Returns:
        :math:`\tau(z)`, shape (...).
    """
    _check(z, gamma, regularizer)
    return _regularizer(z, gamma, regularizer)


def elastic_cost(z: torch.Tensor, gamma: float, regularizer: str = "l1") -> torch.Tensor:
    r"""Elastic cost :math:`h(z) = \frac12\|z\|_2^2 + \tau(z)` of displacements z, shape (..., d) -> (...).

    From "Monge, Bregman and Occam: Interpretable Optimal Transport in High-Dimensions with Feature-Sparse
    Maps".
    """
    _check(z, gamma, regularizer)
    return 0.5 * (z * z).sum(-1) + _regularizer(z, gamma, regularizer)


def elastic_cost_grad(z: torch.Tensor, gamma: float, regularizer: str = "l1") -> torch.Tensor:
    r"""Gradient :math:`\nabla h(z) = z + \nabla\tau(z)`, shape (..., d).

    For ``"l1"`` the subgradient :math:`\gamma\,\mathrm{sign}(z)` is used (0 at 0); ``"stvs"`` is smooth,
    :math:`\nabla\tau(z)_i = \mathrm{sign}(z_i)\,\gamma(\sqrt{1 + u_i^2} - u_i)`, :math:`u_i = |z_i|/2\gamma`.
    """
    _check(z, gamma, regularizer)
    return z + _regularizer_grad(z, gamma, regularizer)


def prox_elastic(z: torch.Tensor, gamma: float, regularizer: str = "l1") -> torch.Tensor:
    r"""Proximal operator of :math:`\tau`, which is also :math:`\nabla h^*`, the gradient of h's conjugate.

    .. math:: \mathrm{prox}_\tau(z) = \arg\min_u \tfrac12\|u - z\|^2 + \tau(u) =
              \begin{cases} \mathrm{sign}(z)(|z| - \gamma)_+ & \text{l1 (soft thresholding)} \\
              z\,(1 - \gamma^2 / z^2)_+ & \text{stvs} \end{cases}

    Both set small coordinates exactly to zero, the source of the maps' sparsity.

    Args:
        z: (..., d); gamma: strength >= 0; regularizer: ``"l1"`` or ``"stvs"``.

    Returns:
        Tensor of z's shape.
    """
    _check(z, gamma, regularizer)
    return _prox(z, gamma, regularizer)


def pairwise_elastic_cost(x, y, gamma, regularizer, chunk_size=None):
    """M_ij = h(x_i - y_j) without input checks, built ``chunk_size`` rows at a time."""
    if gamma == 0:
        return 0.5 * torch.cdist(x, y).pow(2)
    if regularizer == "l1":
        return 0.5 * torch.cdist(x, y).pow(2) + gamma * torch.cdist(x, y, p=1)
    if chunk_size is None:
        chunk_size = max(1, ELEMENTS_PER_CHUNK // (len(y) * x.shape[1]))
    blocks = []
    for start in range(0, len(x), chunk_size):
        difference = x[start : start + chunk_size, None, :] - y[None]  # (chunk, m, d)
        blocks.append(0.5 * (difference * difference).sum(-1) + _regularizer(difference, gamma, regularizer))
    return torch.cat(blocks)


def elastic_cost_matrix(
    x: torch.Tensor, y: torch.Tensor, gamma: float, regularizer: str = "l1", chunk_size: int | None = None
) -> torch.Tensor:
    r"""Cost matrix :math:`M_{ij} = h(x_i - y_j) = \frac12\|x_i - y_j\|^2 + \tau(x_i - y_j)`.

    From "Monge, Bregman and Occam: Interpretable Optimal Transport in High-Dimensions with Feature-Sparse
    Maps".

    Args:
        x: points (n, d); y: points (m, d).
        gamma: strength >= 0; regularizer: ``"l1"`` or ``"stvs"``.
        chunk_size: rows of x per (chunk, m, d) block for ``"stvs"`` (None: about 4M entries).

    Returns:
        (n, m) cost matrix (note the factor 1/2, unlike :func:`cost_matrix`).
    """
    check_point_clouds(x, y)
    if x.dim() != 2:
        raise ValueError(f"x and y must be 2-D point clouds (n, d) and (m, d), got shape {tuple(x.shape)}")
    check_positive("gamma", gamma, allow_zero=True)
    check_choice("regularizer", regularizer, set(REGULARIZERS))
    if chunk_size is not None:
        check_positive("chunk_size", chunk_size, integer=True)
    return pairwise_elastic_cost(x, y, gamma, regularizer, chunk_size)
