"""ReLoRA: LoRA trained from scratch with periodic merge-and-restart, so rank-r updates add up to full rank.

ReLoRA repeats: train the adapter :math:`\\Delta W = \\frac{\\alpha}{r} B A` of a
:class:`~paperlab.models.LoRALinear` for a while, merge :math:`W \\leftarrow W + \\Delta W` into the frozen
base, re-draw :math:`A`, zero :math:`B` and forget their optimizer state. The sum of the merged rank-r
updates can reach a full-rank weight, which plain LoRA cannot. ReLoRA and LoRA trained from a random
initialisation are the baselines of "Sparse Spectral Training and Inference on Euclidean and Hyperbolic
Neural Networks" (2024).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

from paperlab._random import as_generator

from .lora import LoRALinear


def reset_optimizer_state_(optimizer: torch.optim.Optimizer, parameters: Iterable[torch.Tensor]) -> int:
    """Forget the optimizer state (e.g. Adam moments) of ``parameters``, as a restart needs; returns how many.

    Without it Adam's momentum keeps moving a re-initialised or frozen tensor after its gradient is zero.
    """
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    count = 0
    for parameter in parameters:
        if optimizer.state.pop(parameter, None) is not None:
            count += 1
    return count


@torch.no_grad()
def relora_restart_(
    layer: LoRALinear, optimizer: torch.optim.Optimizer | None = None, generator=None
) -> None:
    r"""Merge the adapter into the frozen weight and start a fresh one; the layer's function is unchanged.

    .. math:: W \leftarrow W + \tfrac{\alpha}{r} B A,\qquad A \sim U(\pm 1/\sqrt{\text{in}}),\qquad B \leftarrow 0

    Args:
        layer: the :class:`LoRALinear` to restart.
        optimizer: if given, the state of ``lora_A`` and ``lora_B`` is forgotten.
        generator: seed or ``torch.Generator`` of the new A (drawn on the CPU).
    """
    if not isinstance(layer, LoRALinear):
        raise TypeError(f"layer must be a LoRALinear, got {type(layer).__name__}")
    if optimizer is not None:
        reset_optimizer_state_(optimizer, [layer.lora_A, layer.lora_B])
    layer.base.weight.add_(layer.delta_weight())
    A = layer.lora_A
    fresh = 2 * torch.rand(A.shape, generator=as_generator(generator), dtype=A.dtype) - 1  # (r, in)
    A.copy_(fresh.to(A.device) / math.sqrt(layer.in_features))
    layer.lora_B.zero_()
