"""Magnitude pruning: keep the largest weights (unstructured) or the largest rows (structured).

Unstructured pruning zeroes the fraction ``sparsity`` of entries with the smallest :math:`|w_{ij}|`;
structured pruning zeroes whole output neurons, the rows with the smallest :math:`\\ell_1` norm
:math:`\\sum_j |w_{ij}|`, which shrinks the layer itself. "DSEE: Dually Sparsity-embedded Efficient
Tuning of Pre-trained Language Models" prunes the fine-tuned weights this way for cheaper inference.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from paperlab._checks import check_choice, check_positive, check_tensor


def _check_sparsity(sparsity) -> float:
    check_positive("sparsity", sparsity, allow_zero=True)
    if sparsity >= 1:
        raise ValueError(f"sparsity must lie in [0, 1), got {sparsity!r}")
    return float(sparsity)


def magnitude_mask(weight: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Boolean mask keeping the ``round((1 - sparsity) * numel)`` entries of largest magnitude.

    Ties at the threshold are broken by position (``topk`` order), so exactly that many survive.

    Args:
        weight: floating tensor of any shape, finite, non-empty.
        sparsity: fraction of entries to drop, in [0, 1).

    Returns:
        bool tensor of ``weight``'s shape, True where the entry is kept.
    """
    check_tensor("weight", weight, min_dim=1, floating=True)
    sparsity = _check_sparsity(sparsity)
    n_keep = round((1 - sparsity) * weight.numel())
    mask = torch.zeros(weight.numel(), dtype=torch.bool, device=weight.device)
    mask[weight.detach().abs().reshape(-1).topk(n_keep).indices] = True
    return mask.view_as(weight)


def row_norm_mask(weight: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Boolean (out, in) mask keeping the ``round((1 - sparsity) * out)`` rows of largest l1 norm.

    Args:
        weight: (out, in) floating matrix, finite.
        sparsity: fraction of rows (output neurons) to drop, in [0, 1).
    """
    check_tensor("weight", weight, dim=2, floating=True)
    sparsity = _check_sparsity(sparsity)
    n_keep = round((1 - sparsity) * weight.shape[0])
    rows = torch.zeros(weight.shape[0], dtype=torch.bool, device=weight.device)
    rows[weight.detach().abs().sum(dim=1).topk(n_keep).indices] = True
    return rows[:, None].expand_as(weight).clone()


def prune_linear_layers_(
    model: nn.Module,
    sparsity: float,
    structured: str = "none",
    include: Callable[[str], bool] | None = None,
) -> dict[str, float]:
    """Zero, in place and layer by layer, the smallest weights of every matching ``nn.Linear``.

    Args:
        model: network whose ``nn.Linear`` weights are pruned (biases are kept).
        sparsity: fraction to drop in each layer, in [0, 1).
        structured: ``"none"`` (entries, :func:`magnitude_mask`) or ``"rows"`` (output neurons,
            :func:`row_norm_mask`; a dropped neuron also loses its bias).
        include: predicate on the qualified layer name; None prunes every ``nn.Linear``.

    Returns:
        the achieved fraction of zero weights per pruned layer, by qualified name.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    check_choice("structured", structured, {"none", "rows"})
    sparsity = _check_sparsity(sparsity)
    achieved = {}
    for name, module in model.named_modules():
        if not isinstance(module, nn.Linear) or (include is not None and not include(name)):
            continue
        if structured == "rows":
            mask = row_norm_mask(module.weight, sparsity)
        else:
            mask = magnitude_mask(module.weight, sparsity)
        with torch.no_grad():
            module.weight.mul_(mask)
            if structured == "rows" and module.bias is not None:
                module.bias.mul_(mask[:, 0])
        achieved[name] = float((module.weight == 0).float().mean())
    if not achieved:
        raise ValueError("include matched no nn.Linear layer of model")
    return achieved
