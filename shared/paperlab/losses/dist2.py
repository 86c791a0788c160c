r"""DIST2Loss: distance-derived soft targets for metric tokens of a discrete autoregressive model.

From "Teaching Metric Distance to Autoregressive Multimodal Foundational Models" (2025). When tokens
carry a metric (numbers, grid coordinates, codebook vectors), one-hot cross-entropy ignores that a near
miss is better than a far one. DIST2Loss replaces the one-hot target by an exponential-family kernel over
the token distances,

.. math:: q(t \mid y) = \frac{\exp(-d(t, y) / \tau)}{\sum_{t'} \exp(-d(t', y) / \tau)},
          \qquad L = \mathrm{KL}(q \,\|\, p_\theta) = \sum_t q(t)\,(\log q(t) - \log p_\theta(t)),

which differs from the soft-target cross-entropy :math:`-\sum_t q(t) \log p_\theta(t)` by the constant
entropy of :math:`q` (same gradient). Tokens at infinite distance (another modality, plain text) get
:math:`q = 0`; a token whose row is infinite off the diagonal gets a one-hot target, and its loss is
cross-entropy. :math:`\tau \to 0` recovers cross-entropy everywhere.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from paperlab._checks import check_positive, check_reduction, check_tensor
from paperlab.losses.polyloss import check_class_scores, reduce_valid

Distances = torch.Tensor | Callable[[torch.Tensor], torch.Tensor]


def metric_token_distances(coordinates: torch.Tensor, p: float = 1.0) -> torch.Tensor:
    r"""Distance matrix of a vocabulary whose metric tokens have coordinates.

    .. math:: d(t, u) = \|x_t - x_u\|_p \text{ if both are metric tokens}, \quad d(t, t) = 0,
              \quad d(t, u) = \infty \text{ otherwise}

    Use values ``(V,)`` for number tokens and coordinates ``(V, 2)`` for tokens of a 2-D grid (``p = 1``
    is the city-block, ``p = 2`` the Euclidean grid distance: never the distance of flattened indices).

    Args:
        coordinates: ``(V,)`` or ``(V, k)``; rows containing NaN mark non-metric tokens.
        p: order of the norm, ``p >= 1``.

    Returns:
        ``(V, V)`` non-negative distances, zero diagonal, ``inf`` between non-metric pairs.
    """
    check_tensor("coordinates", coordinates, min_dim=1, floating=True, finite=False)
    if coordinates.dim() > 2:
        raise ValueError(f"coordinates must have shape (V,) or (V, k), got {tuple(coordinates.shape)}")
    check_positive("p", p)
    if p < 1:
        raise ValueError(f"p must be >= 1 for a metric, got {p!r}")
    points = coordinates.reshape(coordinates.shape[0], -1)  # (V, k)
    if bool(torch.isinf(points).any()):
        raise ValueError("coordinates must be finite for metric tokens and NaN for the others, got inf")
    metric = ~torch.isnan(points).any(dim=1)  # (V,)
    distances = torch.cdist(points.nan_to_num(0.0), points.nan_to_num(0.0), p=p)  # (V, V)
    distances = distances.masked_fill(~(metric.unsqueeze(0) & metric.unsqueeze(1)), float("inf"))
    return distances.fill_diagonal_(0.0)


def distance_soft_targets(target: torch.Tensor, distances: Distances, tau: float = 1.0) -> torch.Tensor:
    r"""The DIST2 target distribution :math:`q(t \mid y) \propto \exp(-d(t, y) / \tau)` for each target y.

    Args:
        target: token ids, int64, any shape ``S``.
        distances: a ``(V, V)`` matrix (non-negative, ``inf`` allowed, zero diagonal), or a callable that
            maps ids of shape ``S`` to distance rows of shape ``S + (V,)``.
        tau: temperature :math:`\tau > 0`; smaller is closer to one-hot.

    Returns:
        Probabilities of shape ``S + (V,)`` that sum to one on the last axis.
    """
    check_positive("tau", tau)
    if not isinstance(target, torch.Tensor) or target.dtype != torch.long:
        raise ValueError(
            f"target must be an int64 tensor of token ids, got {getattr(target, 'dtype', target)!r}"
        )
    if isinstance(distances, torch.Tensor):
        _check_distance_matrix(distances, None)
        if bool(((target < 0) | (target >= distances.shape[0])).any()):
            raise ValueError(
                f"target must be in [0, {distances.shape[0]}), got {target.min().item()}..{target.max().item()}"
            )
    rows = _distance_rows(target, distances)  # S + (V,)
    return F.softmax(-rows / tau, dim=-1)


def dist2_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    distances: Distances,
    tau: float = 1.0,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""DIST2Loss: KL divergence from the distance-derived soft target to the model's distribution.

    .. math:: L = \sum_t q(t \mid y)\, \bigl(\log q(t \mid y) - \log \mathrm{softmax}(z)_t\bigr)

    Args:
        input: logits, shape ``(N, C)`` or ``(N, C, d1, ...)``.
        target: token ids, int64, shape ``(N,)`` or ``(N, d1, ...)``.
        distances: ``(C, C)`` matrix or callable, as in :func:`distance_soft_targets`.
        tau: temperature :math:`\tau > 0`.
        ignore_index: target id whose positions get zero loss and do not count in the mean.
        reduction: ``"mean"`` (over non-ignored positions), ``"sum"`` or ``"none"``.

    Returns:
        A scalar, or per-position losses of the target's shape.
    """
    check_reduction(reduction)
    check_positive("tau", tau)
    check_class_scores(input, target, ignore_index)
    valid = target != ignore_index
    if isinstance(distances, torch.Tensor):
        _check_distance_matrix(distances, input)
    rows = _distance_rows(target.masked_fill(~valid, 0), distances).to(input.dtype)  # (N, ..., C)
    if rows.shape[-1] != input.shape[1]:
        raise ValueError(f"distances must give {input.shape[1]} entries per row, got {rows.shape[-1]}")
    q = F.softmax(rows * (-1.0 / tau), dim=-1)  # (N, ..., C)
    log_p = F.log_softmax(input.movedim(1, -1), dim=-1)  # (N, ..., C)
    kl = F.kl_div(log_p, q, reduction="none").sum(dim=-1)  # (N, ...); kl_div takes 0 log 0 = 0
    return reduce_valid(kl.masked_fill(~valid, 0.0), valid, reduction)


class Dist2Loss(nn.Module):
    """Module form of :func:`dist2_loss`; a distance matrix is kept as a buffer."""

    def __init__(self, distances: Distances, tau=1.0, ignore_index=-100, reduction="mean"):
        super().__init__()
        if isinstance(distances, torch.Tensor):
            _check_distance_matrix(distances, None)
            self.register_buffer("distances", distances.clone())
        elif callable(distances):
            self.distances = distances
        else:
            raise TypeError(
                f"distances must be a (V, V) tensor or a callable, got {type(distances).__name__}"
            )
        self.tau, self.ignore_index = check_positive("tau", tau), ignore_index
        self.reduction = check_reduction(reduction)

    def forward(self, input, target):
        return dist2_loss(input, target, self.distances, self.tau, self.ignore_index, self.reduction)


def _distance_rows(target: torch.Tensor, distances: Distances) -> torch.Tensor:
    """Distance rows ``d(., y)`` for each (validated) target id: shape ``target.shape + (V,)``."""
    if isinstance(distances, torch.Tensor):  # validated by the caller
        return distances[target]  # target.shape + (V,)
    if not callable(distances):
        raise TypeError(f"distances must be a (V, V) tensor or a callable, got {type(distances).__name__}")
    rows = distances(target)
    check_tensor("distances(target)", rows, dim=target.dim() + 1, floating=True, finite=False)
    if rows.shape[:-1] != target.shape:
        raise ValueError(
            f"distances(target) must have shape {tuple(target.shape)} + (V,), got {tuple(rows.shape)}"
        )
    _check_distance_values("distances(target)", rows)
    if bool(torch.isinf(rows).all(dim=-1).any()):
        raise ValueError("distances(target) must have a finite entry in every row")
    return rows


def _check_distance_matrix(distances: torch.Tensor, input: torch.Tensor | None) -> None:
    check_tensor("distances", distances, dim=2, floating=True, finite=False)
    if distances.shape[0] != distances.shape[1]:
        raise ValueError(f"distances must be a square (V, V) matrix, got {tuple(distances.shape)}")
    if input is not None:
        if distances.shape[0] != input.shape[1]:
            raise ValueError(
                f"distances must be ({input.shape[1]}, {input.shape[1]}), got {tuple(distances.shape)}"
            )
        if distances.device != input.device:
            raise ValueError(f"distances must be on input's device {input.device}, got {distances.device}")
    _check_distance_values("distances", distances)
    if bool((distances.diagonal() != 0).any()):
        raise ValueError("distances must have a zero diagonal, d(y, y) = 0")


def _check_distance_values(name: str, d: torch.Tensor) -> None:
    if bool((d >= 0).all()):  # one pass in the common case: no NaN, nothing negative
        return
    if bool(torch.isnan(d).any()):
        raise ValueError(f"{name} must not contain NaN")
    if bool((d < 0).any()):
        raise ValueError(f"{name} must be non-negative, got minimum {d.min().item():.3g}")
