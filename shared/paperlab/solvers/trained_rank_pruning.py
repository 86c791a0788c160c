"""Trained Rank Pruning: alternate gradient steps with low-rank projections of the weights.

"Trained Rank Pruning for Efficient Deep Neural Networks" trains a network as usual but, every
``period`` steps, replaces each weight matrix by its truncated SVD at the smallest rank that keeps a
fraction ``energy`` of its squared singular values. A nuclear-norm penalty :math:`\\lambda \\sum_l \\|W_l\\|_*`,
optimized with its subgradient :math:`U V^\\top`, pushes the small singular values further down, so the
trained network can be decomposed afterwards with hardly any loss and no fine-tuning.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from .._checks import check_positive, check_tensor


def _check_energy(energy: float) -> None:
    if isinstance(energy, bool) or not isinstance(energy, (int, float)) or not 0.0 < energy <= 1.0:
        raise ValueError(f"energy must be a number in (0, 1], got {energy!r}")


def energy_rank(singular_values: torch.Tensor, energy: float) -> torch.Tensor:
    r"""Smallest rank keeping a fraction ``energy`` of the squared singular values.

    .. math:: k = \min\Big\{k : \sum_{i \le k} s_i^2 \ge e \sum_i s_i^2\Big\}

    Args:
        singular_values: (..., n) non-negative, sorted in descending order along the last axis.
        energy: e in (0, 1]; 1 keeps every non-zero singular value.
    Returns:
        (...,) int64 ranks, at least 1 (a zero matrix gets rank 1).
    """
    check_tensor("singular_values", singular_values, min_dim=1, floating=True)
    _check_energy(energy)
    if singular_values.shape[-1] == 0:
        raise ValueError("singular_values must not be empty along its last axis")
    if (singular_values < 0).any():
        raise ValueError("singular_values must be non-negative")
    squares = singular_values.square()
    cumulative = squares.cumsum(-1)  # (..., n)
    total = cumulative[..., -1:]  # (..., 1)
    # A relative slack absorbs the rounding of the cumulative sum when energy == 1.
    below = cumulative < energy * total * (1 - 8 * torch.finfo(squares.dtype).eps)
    return (below.sum(-1) + 1).clamp(max=singular_values.shape[-1])


@dataclass
class LowRankProjection:
    """Energy-thresholded truncation of a (batch of) matrices: ``weight`` has the input's shape."""

    weight: torch.Tensor
    rank: torch.Tensor
    singular_values: torch.Tensor


def low_rank_projection(weight: torch.Tensor, energy: float) -> LowRankProjection:
    r"""Best approximation of each matrix at its :func:`energy_rank` (Eckart-Young).

    .. math:: W = U \operatorname{diag}(s) V^\top \;\mapsto\; U_{:, :k} \operatorname{diag}(s_{:k}) V_{:, :k}^\top

    Args:
        weight: (..., m, n) floating matrices; leading axes are independent matrices.
        energy: fraction in (0, 1] of squared singular values to keep.
    Returns:
        :class:`LowRankProjection` with weight (..., m, n), rank (...,) and the full singular values
        (..., min(m, n)) before truncation.
    """
    check_tensor("weight", weight, min_dim=2, floating=True)
    _check_energy(energy)
    u, s, vh = torch.linalg.svd(weight, full_matrices=False)
    rank = energy_rank(s, energy)
    positions = torch.arange(s.shape[-1], device=s.device)
    kept = s * (positions < rank.unsqueeze(-1))  # (..., k) singular values beyond the rank zeroed
    return LowRankProjection((u * kept.unsqueeze(-2)) @ vh, rank, s)


def nuclear_norm_subgradient(weight: torch.Tensor, rtol: float | None = None) -> torch.Tensor:
    r"""The minimum-norm subgradient :math:`U_+ V_+^\top` of :math:`\|W\|_* = \sum_i s_i` at W.

    Singular directions with :math:`s_i \le \text{rtol} \cdot s_1` are left out (on them any element
    of the unit ball is a subgradient; zero is the smallest). Where W has full rank and distinct
    singular values this is the gradient of the nuclear norm.

    Args:
        weight: (..., m, n) floating matrices.
        rtol: relative threshold for zero singular values (default ``max(m, n) * eps``).
    Returns:
        (..., m, n) subgradient, detached from the graph.
    """
    check_tensor("weight", weight, min_dim=2, floating=True)
    if rtol is None:
        rtol = max(weight.shape[-2:]) * torch.finfo(weight.dtype).eps
    check_positive("rtol", rtol, allow_zero=True)
    u, s, vh = torch.linalg.svd(weight.detach(), full_matrices=False)
    nonzero = s > rtol * s[..., :1]  # (..., k)
    return (u * nonzero.unsqueeze(-2).to(u.dtype)) @ vh


@torch.no_grad()
def trp_project_(weights: Sequence[torch.Tensor], energy: float) -> list[torch.Tensor]:
    """Replace every weight in place by its :func:`low_rank_projection`; returns their ranks."""
    ranks = []
    for weight in weights:
        projection = low_rank_projection(weight.detach(), energy)
        weight.copy_(projection.weight)
        ranks.append(projection.rank)
    return ranks


@torch.no_grad()
def add_nuclear_subgradient_(weights: Sequence[torch.Tensor], reg: float) -> None:
    r"""Add :math:`\lambda\, U V^\top` to each weight's ``.grad``: a step on :math:`\lambda \sum_l \|W_l\|_*`."""
    check_positive("reg", reg, allow_zero=True)
    if reg == 0:
        return
    for weight in weights:
        if weight.grad is None:
            raise ValueError("every weight must have a .grad before adding the nuclear subgradient")
        weight.grad.add_(nuclear_norm_subgradient(weight), alpha=reg)


@dataclass
class TRPResult:
    """Training trace: per-step losses, ranks after each projection (one list per weight) and steps."""

    losses: list[float] = field(default_factory=list)
    rank_history: list[list[torch.Tensor]] = field(default_factory=list)
    projection_steps: list[int] = field(default_factory=list)

    @property
    def ranks(self) -> list[torch.Tensor]:
        """Ranks chosen at the last projection (empty if none happened)."""
        return self.rank_history[-1] if self.rank_history else []


def train_trained_rank_pruning(
    weights: Sequence[torch.Tensor],
    loss_fn: Callable[[int], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    n_steps: int,
    period: int = 20,
    energy: float = 0.95,
    reg: float = 1e-4,
) -> TRPResult:
    r"""Train with TRP: before steps ``period, 2 period, ...`` project the weights, then take a step.

    Each step computes ``loss_fn(step)``, backpropagates, adds :math:`\lambda U V^\top` to the weights'
    gradients and calls ``optimizer.step()``. Projections happen before a gradient step, so the
    returned weights are never the output of a projection (their truncation is not trivially lossless).

    Args:
        weights: matrices (..., m, n) to project and regularize, parameters of ``optimizer``.
        loss_fn: step index -> scalar training loss.
        optimizer: updates the model's parameters.
        n_steps: number of gradient steps.
        period: steps between projections (``m`` in the paper).
        energy: fraction of squared singular values kept by each projection (``e``).
        reg: nuclear-norm weight :math:`\lambda \ge 0`.
    Returns:
        :class:`TRPResult`.
    """
    weights = list(weights)
    if not weights:
        raise ValueError("weights must not be empty")
    for index, weight in enumerate(weights):
        check_tensor(f"weights[{index}]", weight, min_dim=2, floating=True)
        if not weight.requires_grad:
            raise ValueError(f"weights[{index}] must require grad")
    check_positive("n_steps", n_steps, integer=True)
    check_positive("period", period, integer=True)
    _check_energy(energy)
    check_positive("reg", reg, allow_zero=True)
    result = TRPResult()
    for step in range(n_steps):
        if step > 0 and step % period == 0:
            result.rank_history.append(trp_project_(weights, energy))
            result.projection_steps.append(step)
        optimizer.zero_grad()
        loss = loss_fn(step)
        if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
            raise ValueError(f"loss_fn must return a scalar tensor, got {loss!r}")
        loss.backward()
        add_nuclear_subgradient_(weights, reg)
        optimizer.step()
        result.losses.append(loss.item())
    return result
