r"""LoRA: a rank-r update of a weight, with convolution kernels reshaped to a matrix first.

.. math:: \Delta W = \mathrm{reshape}(B A), \qquad B \in \mathbb{R}^{I_1 \times r},\
          A \in \mathbb{R}^{r \times I_2 \cdots I_N}

For an (out, in, k_h, k_w) kernel the matrix is (out, in k_h k_w): the flattening baseline that
"FLoRA: Low-Rank Core Space for N-dimension (2024)" compares its Tucker core against (HF peft's conv
LoRA is the same map, written as a k_h x k_w convolution followed by a 1 x 1 one).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from paperlab._checks import check_positive
from paperlab._random import as_generator
from paperlab.models._adapted_layer import AdaptedLayer


def reshaped_lora_parameter_count(shape, rank: int) -> int:
    r"""Entries of a LoRA update of a weight of ``shape``: :math:`r\,(I_1 + I_2 \cdots I_N)`."""
    shape = tuple(shape)
    check_positive("rank", rank, integer=True)
    return rank * (shape[0] + math.prod(shape[1:]))


class ReshapedLoRA(AdaptedLayer):
    r"""Frozen linear/conv layer plus :math:`s\,\mathrm{reshape}(B A)` with B zero at initialization.

    A starts uniform in :math:`\pm 1/\sqrt{I_2 \cdots I_N}` (the fan-in scale of ``nn.Linear``) and B at
    zero, so the adapted layer first computes exactly what the base layer does.

    Args:
        base: ``nn.Linear`` or ``nn.Conv{1,2,3}d``.
        rank: r, at most min(out, in * prod(kernel)).
        scale: multiplier s of the update.
        generator: seed or ``torch.Generator`` of A's initialization (drawn on the CPU).

    Shapes: as the base layer. Parameters: ``A`` (r, in * prod(kernel)), ``B`` (out, r).
    """

    def __init__(self, base: nn.Module, rank: int, scale: float = 1.0, generator=None):
        super().__init__(base, scale)
        shape = self.weight_shape
        fan_in = math.prod(shape[1:])
        check_positive("rank", rank, integer=True)
        if rank > min(shape[0], fan_in):
            raise ValueError(
                f"rank must be at most min({shape[0]}, {fan_in}) for a weight of shape {shape}, got {rank}"
            )
        self.rank = rank
        weight = base.weight
        bound = 1.0 / math.sqrt(fan_in)
        a = (2 * torch.rand(rank, fan_in, generator=as_generator(generator), dtype=torch.float64) - 1) * bound
        self.A = nn.Parameter(a.to(dtype=weight.dtype, device=weight.device))  # (r, in * prod(kernel))
        self.B = nn.Parameter(
            torch.zeros(shape[0], rank, dtype=weight.dtype, device=weight.device)
        )  # (out, r)

    def delta_weight(self) -> torch.Tensor:
        """:math:`\\Delta W = B A` reshaped to the base weight's shape."""
        return (self.B @ self.A).reshape(self.weight_shape)  # (out, in, *kernel)

    def extra_repr(self) -> str:
        return f"rank={self.rank}, scale={self.scale}"
