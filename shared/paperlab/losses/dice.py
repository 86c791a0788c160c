r"""Soft Dice loss for binary segmentation.

The volumetric baseline of "Topologically faithful image segmentation via induced matching of persistence
barcodes" (2023), which trains with Dice + alpha * Betti matching.
"""

from __future__ import annotations

import torch
from torch import nn

from paperlab._checks import check_positive, check_tensor, reduce


def soft_dice_loss(
    input: torch.Tensor, target: torch.Tensor, smooth: float = 1e-5, reduction: str = "mean"
) -> torch.Tensor:
    r"""Soft Dice loss per image: one minus the Dice coefficient of likelihoods and a mask.

    .. math:: \mathcal L_{Dice}(p, g) = 1 - \frac{2 \sum_i p_i g_i + s}{\sum_i p_i + \sum_i g_i + s}

    Args:
        input: foreground likelihoods in [0, 1], floating ``(N, *)``.
        target: targets in [0, 1] of the same shape (binary masks or soft labels).
        smooth: :math:`s > 0`, keeps empty images finite.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` over the N images.

    Returns:
        A scalar, or ``(N,)`` for ``reduction="none"``.
    """
    check_tensor("input", input, min_dim=2, floating=True)
    check_tensor("target", target, min_dim=2, floating=True)
    if target.shape != input.shape:
        raise ValueError(
            f"target must have the shape of input {tuple(input.shape)}, got {tuple(target.shape)}"
        )
    if bool(((target < 0) | (target > 1)).any()):
        raise ValueError("target must lie in [0, 1]")
    check_positive("smooth", smooth)
    p, g = input.flatten(1), target.flatten(1)  # (N, D)
    dice = (2 * (p * g).sum(1) + smooth) / (p.sum(1) + g.sum(1) + smooth)
    return reduce(1 - dice, reduction)


class DiceLoss(nn.Module):
    """Module form of :func:`soft_dice_loss` (same arguments)."""

    def __init__(self, smooth: float = 1e-5, reduction: str = "mean"):
        super().__init__()
        self.smooth, self.reduction = smooth, reduction

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return soft_dice_loss(input, target, self.smooth, self.reduction)
