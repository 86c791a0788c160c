"""Entropic transport maps for translation-invariant elastic costs (the MBO estimator)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from paperlab._checks import check_choice, check_positive, check_tensor
from paperlab.distances.elastic_costs import (
    REGULARIZERS,
    _prox,
    _regularizer_grad,
    pairwise_elastic_cost,
)
from paperlab.solvers.sinkhorn import OTResult, check_marginal, sinkhorn

MAP_ELEMENTS_PER_CHUNK = 2**20  # budget of one (chunk, m, d) block when mapping points


@dataclass
class EntropicMap:
    """An entropic map estimated from samples; call it on points (k, d) to transport them.

    Attributes:
        target: target samples y_j, shape (m, d).
        target_weights: their weights b_j, shape (m,).
        target_potential: the Sinkhorn potential g_j, shape (m,).
        reg: the entropic regularization epsilon.
        gamma, regularizer: the elastic cost h = 1/2 ||.||^2 + tau.
        ot: the Sinkhorn result between the training samples (plan, potentials, convergence).
    """

    target: torch.Tensor
    target_weights: torch.Tensor
    target_potential: torch.Tensor
    reg: float
    gamma: float
    regularizer: str
    ot: OTResult

    def weights(self, x: torch.Tensor) -> torch.Tensor:
        r"""Conditional weights :math:`p_j(x) \propto b_j \exp((g_j - h(x - y_j))/\varepsilon)`, shape (k, m)."""
        self._check_points(x)
        cost = pairwise_elastic_cost(x, self.target, self.gamma, self.regularizer)  # (k, m)
        logits = self.target_weights.log() + (self.target_potential - cost) / self.reg
        return torch.softmax(logits, dim=-1)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        r"""Transport points: :math:`T(x) = x - \mathrm{prox}_\tau\big(\sum_j p_j(x)\nabla h(x - y_j)\big)`, (k, d)."""
        p = self.weights(x)  # (k, m)
        # sum_j p_j (x - y_j) = x - P Y, then the regularizer's part of grad h, block by block
        pulled = x - p @ self.target  # (k, d)
        if self.gamma > 0:
            chunk = max(1, MAP_ELEMENTS_PER_CHUNK // self.target.numel())
            parts = []
            for start in range(0, len(x), chunk):
                difference = x[start : start + chunk, None, :] - self.target[None]  # (chunk, m, d)
                if self.regularizer == "l1":  # gamma * sign, in place: one (chunk, m, d) buffer
                    grad = difference.sign_().mul_(self.gamma)
                else:
                    grad = _regularizer_grad(difference, self.gamma, self.regularizer)
                weights = p[start : start + chunk].unsqueeze(1)  # (chunk, 1, m)
                parts.append(torch.bmm(weights, grad).squeeze(1))  # (chunk, d)
            pulled = pulled + torch.cat(parts)
        return x - _prox(pulled, self.gamma, self.regularizer)

    def _check_points(self, x):
        check_tensor("x", x, dim=2, floating=True)
        if (
            x.shape[1] != self.target.shape[1]
            or x.dtype != self.target.dtype
            or x.device != self.target.device
        ):
            raise ValueError(
                f"x must have {self.target.shape[1]} columns, dtype {self.target.dtype} on "
                f"{self.target.device}, got shape {tuple(x.shape)}, {x.dtype} on {x.device}"
            )


def elastic_entropic_map(
    x: torch.Tensor,
    y: torch.Tensor,
    reg: float,
    gamma: float = 0.0,
    regularizer: str = "l1",
    a: torch.Tensor | None = None,
    b: torch.Tensor | None = None,
    max_iter: int = 1000,
    tol: float = 1e-9,
) -> EntropicMap:
    r"""Estimate the entropic (MBO) transport map for the elastic cost :math:`h = \frac12\|\cdot\|^2 + \tau`.

    Solve entropic OT between the samples with :math:`M_{ij} = h(x_i - y_j)` (log-domain Sinkhorn), keep
    the target potential g, and map any point by

    .. math:: T(x) = x - \nabla h^*\Big(\sum_j p_j(x) \nabla h(x - y_j)\Big), \qquad
              p_j(x) \propto b_j \exp\big((g_j - h(x - y_j))/\varepsilon\big) \quad (\textstyle\sum_j p_j(x) = 1),

    with :math:`\nabla h^* = \mathrm{prox}_\tau`. With ``gamma = 0`` this is the entropic Brenier map,
    the barycentric projection :math:`\sum_j p_j(x) y_j`; with a sparsity-inducing :math:`\tau` the
    displacement :math:`T(x) - x` is exactly zero on the coordinates the proximal step thresholds.

    From "Monge, Bregman and Occam: Interpretable Optimal Transport in High-Dimensions with Feature-Sparse
    Maps".

    Args:
        x: source samples (n, d); y: target samples (m, d).
        reg: entropic regularization epsilon > 0.
        gamma: strength of tau >= 0; regularizer: ``"l1"`` or ``"stvs"``.
        a, b: sample weights (n,), (m,), or None for uniform.
        max_iter, tol: Sinkhorn's stopping rule.

    Returns:
        EntropicMap, callable on (k, d) points.
    """
    check_tensor("x", x, dim=2, floating=True)
    check_tensor("y", y, dim=2, floating=True)
    if x.shape[1] != y.shape[1] or x.dtype != y.dtype or x.device != y.device:
        raise ValueError(
            f"x and y must share width, dtype and device, got {tuple(x.shape)} {x.dtype} {x.device} and "
            f"{tuple(y.shape)} {y.dtype} {y.device}"
        )
    check_positive("reg", reg)
    check_positive("gamma", gamma, allow_zero=True)
    check_choice("regularizer", regularizer, set(REGULARIZERS))
    b = check_marginal("b", b, y.shape[:1], y)
    cost = pairwise_elastic_cost(x, y, gamma, regularizer)  # (n, m)
    result = sinkhorn(a, b, cost, reg, max_iter=max_iter, tol=tol)
    return EntropicMap(y, b, result.potentials[1], reg, gamma, regularizer, result)
