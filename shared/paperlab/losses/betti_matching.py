r"""Betti matching loss: pull Betti-matched bars onto their target bars, push the others to the diagonal.

From "Topologically faithful image segmentation via induced matching of persistence barcodes" (2023).
With the Betti matching :math:`\mathcal M` of the prediction :math:`L` and the target :math:`G`
(:func:`paperlab.metrics.betti_matching`) and :math:`q = (b, d)` a bar,

.. math:: \mathcal L_{BM}(L, G) = \sum_{(q, q') \in \mathcal M} 2 \|q - q'\|_2^2
          + \sum_{q \in \mathcal B(L) \setminus \mathcal M} 2 \|q - \pi_\Delta(q)\|_2^2
          + \sum_{q' \in \mathcal B(G) \setminus \mathcal M} 2 \|q' - \pi_\Delta(q')\|_2^2,

where :math:`2 \|q - \pi_\Delta(q)\|^2 = (b - d)^2` for the projection on the diagonal. Each bar's ends
are the likelihoods at its birth and death pixels, so the gradient reaches exactly those pixels; the
matching itself is piecewise constant and carries no gradient. The last sum does not depend on the
prediction. The essential component (infinite bar) is always matched and left out.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from paperlab._checks import check_reduction, check_tensor, reduce
from paperlab.metrics.betti_matching import betti_matching


def _flat_ends(barcode, rows: np.ndarray, width: int) -> np.ndarray:
    """Flat pixel indices ``(k, 2)`` of the (birth, death) pixels of the bars ``rows``."""
    birth = barcode.birth_pixel[rows] @ np.array([width, 1])
    death = barcode.death_pixel[rows] @ np.array([width, 1])
    return np.stack([birth, death], 1).reshape(-1, 2)  # (k, 2)


def _check_segmentation(input, target) -> None:
    check_tensor("input", input, dim=3, floating=True)
    check_tensor("target", target, dim=3, floating=True)
    if target.shape != input.shape:
        raise ValueError(
            f"target must have the shape of input (N, H, W) = {tuple(input.shape)}, got {tuple(target.shape)}"
        )
    if bool(((target < 0) | (target > 1)).any()):
        raise ValueError("target must lie in [0, 1]")


def betti_matching_loss(
    input: torch.Tensor, target: torch.Tensor, include_unmatched_target: bool = True, reduction: str = "mean"
) -> torch.Tensor:
    r"""Betti matching loss of each image of a batch (superlevel filtration, dimensions 0 and 1).

    .. math:: \mathcal L_{BM} = 2 \sum_{\mathcal M} \big[(b - b')^2 + (d - d')^2\big]
              + \sum_{\text{unmatched in } L} (b - d)^2 + \sum_{\text{unmatched in } G} (b' - d')^2

    Args:
        input: foreground likelihoods, floating ``(N, H, W)``.
        target: targets in [0, 1] of the same shape (binary masks or likelihoods).
        include_unmatched_target: add the last sum (a constant for the prediction), as in the paper.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` over the N images.

    Returns:
        A scalar, or ``(N,)`` for ``reduction="none"``; differentiable with respect to ``input``.
    """
    check_reduction(reduction)
    _check_segmentation(input, target)
    n, height, width = input.shape
    pulled, goals, pushed, owners, owners_pushed = [], [], [], [], []
    constant = torch.zeros(n, dtype=torch.float64)
    for i in range(n):
        result = betti_matching(input[i].detach(), target[i].detach())
        for dim in (0, 1):
            pred_bars, target_bars = result.prediction[dim], result.target[dim]
            finite = ~pred_bars.essential[result.matches[dim][:, 0]]
            rows = result.matches[dim][finite]
            pulled.append(_flat_ends(pred_bars, rows[:, 0], width) + i * height * width)
            goals.append(_flat_ends(target_bars, rows[:, 1], width) + i * height * width)
            owners.append(np.full(len(rows), i))
            unmatched = result.unmatched_prediction[dim]
            pushed.append(_flat_ends(pred_bars, unmatched, width) + i * height * width)
            owners_pushed.append(np.full(len(unmatched), i))
            if include_unmatched_target:
                lone = result.unmatched_target[dim]
                constant[i] += float(((target_bars.birth[lone] - target_bars.death[lone]) ** 2).sum())
    device = input.device
    flat_input, flat_target = input.reshape(-1), target.reshape(-1)  # (N * H * W,)
    pulled_ends = flat_input[torch.as_tensor(np.concatenate(pulled), device=device)]  # (k, 2)
    goal_ends = flat_target[torch.as_tensor(np.concatenate(goals), device=device)]  # (k, 2)
    pushed_ends = flat_input[torch.as_tensor(np.concatenate(pushed), device=device)]  # (u, 2)
    per_image = constant.to(device=device, dtype=input.dtype)
    per_image = per_image.index_add(
        0,
        torch.as_tensor(np.concatenate(owners), device=device),
        2 * ((pulled_ends - goal_ends) ** 2).sum(1),
    )
    per_image = per_image.index_add(
        0,
        torch.as_tensor(np.concatenate(owners_pushed), device=device),
        (pushed_ends[:, 0] - pushed_ends[:, 1]) ** 2,
    )
    return reduce(per_image, reduction)


class BettiMatchingLoss(nn.Module):
    """Module form of :func:`betti_matching_loss` (same arguments)."""

    def __init__(self, include_unmatched_target: bool = True, reduction: str = "mean"):
        super().__init__()
        self.include_unmatched_target, self.reduction = include_unmatched_target, reduction

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return betti_matching_loss(input, target, self.include_unmatched_target, self.reduction)
