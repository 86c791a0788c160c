r"""FLoRA: a low-rank Tucker core space for the update of an N-dimensional weight.

The update of a weight tensor :math:`W \in \mathbb{R}^{I_1 \times \cdots \times I_N}` (a 4-D convolution
kernel, a 2-D linear weight) is modelled in its own shape, through a small core and one factor per mode,

.. math:: \Delta W = \mathcal G \times_1 A_1 \times_2 A_2 \cdots \times_N A_N,
          \qquad \mathcal G \in \mathbb{R}^{r_1 \times \cdots \times r_N},\ A_n \in \mathbb{R}^{I_n \times r_n},

instead of reshaping the kernel to a matrix and factoring that (LoRA on convolutions), which scatters
neighbouring kernel taps over different columns. From "FLoRA: Low-Rank Core Space for N-dimension (2024)".
"""

from __future__ import annotations

import math

import torch
from torch import nn

from paperlab._checks import check_positive
from paperlab._random import as_generator
from paperlab.models._adapted_layer import AdaptedLayer
from paperlab.solvers.tensor_algebra import tucker_to_tensor


def flora_parameter_count(shape, ranks) -> int:
    r"""Entries of a FLoRA update of a weight of ``shape``: :math:`\prod_n r_n + \sum_n I_n r_n`."""
    shape, ranks = tuple(shape), _check_ranks(ranks, tuple(shape))
    return math.prod(ranks) + sum(i * r for i, r in zip(shape, ranks))


def _check_ranks(ranks, shape: tuple[int, ...]) -> tuple[int, ...]:
    if isinstance(ranks, int) and not isinstance(ranks, bool):
        ranks = (ranks,) * len(shape)
    ranks = tuple(ranks)
    if len(ranks) != len(shape):
        raise ValueError(
            f"ranks must give one rank per weight mode ({len(shape)} for shape {shape}), got {ranks}"
        )
    for rank, size in zip(ranks, shape):
        check_positive("ranks", rank, integer=True)
        if rank > size:
            raise ValueError(f"ranks must not exceed the mode sizes {shape}, got {ranks}")
    return ranks


class FLoRA(AdaptedLayer):
    r"""Frozen linear/conv layer plus a Tucker-structured update :math:`s\,\mathcal G \times_1 A_1 \cdots \times_N A_N`.

    The core starts at zero, so the adapted layer first computes exactly what the base layer does; the
    factors start as random orthonormal columns, so the first gradient step moves the core in a
    well-conditioned basis (the analogue of LoRA's zero-initialized B). Only the core and the factors
    are trainable.

    Args:
        base: ``nn.Linear`` (2 modes: out, in) or ``nn.Conv{1,2,3}d`` (modes: out, in, kernel dims...).
        ranks: an int for every mode, or one rank per mode (each at most the mode size).
        scale: multiplier s of the update.
        generator: seed or ``torch.Generator`` of the factor initialization (drawn on the CPU).

    Shapes: as the base layer. Parameters: ``core`` (r_1, ..., r_N), ``factors[n]`` (I_n, r_n).
    """

    def __init__(self, base: nn.Module, ranks, scale: float = 1.0, generator=None):
        super().__init__(base, scale)
        shape = self.weight_shape
        self.ranks = _check_ranks(ranks, shape)
        generator = as_generator(generator)
        weight = base.weight
        factors = []
        for size, rank in zip(shape, self.ranks):
            gaussian = torch.randn(size, rank, generator=generator, dtype=torch.float64)
            orthonormal = torch.linalg.qr(gaussian).Q  # (I_n, r_n) with orthonormal columns
            factors.append(nn.Parameter(orthonormal.to(dtype=weight.dtype, device=weight.device)))
        self.factors = nn.ParameterList(factors)
        self.core = nn.Parameter(torch.zeros(self.ranks, dtype=weight.dtype, device=weight.device))

    def delta_weight(self) -> torch.Tensor:
        """:math:`\\Delta W = \\mathcal G \\times_1 A_1 \\cdots \\times_N A_N`, of the base weight's shape."""
        return tucker_to_tensor(self.core, list(self.factors))

    def extra_repr(self) -> str:
        return f"ranks={self.ranks}, scale={self.scale}"
