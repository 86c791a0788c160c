r"""C independent MLP projection heads evaluated together as one batched module.

From "Adaptive Multi-head Contrastive Learning": the projection head of a contrastive model is
replicated C times with independent weights, each head giving its own view of the features,

.. math:: z^c = W_2^c\, \mathrm{relu}(W_1^c h + b_1^c) + b_2^c, \qquad c = 1, \dots, C.

The heads' weights are stacked so that all of them run in two batched matrix products.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from paperlab._checks import check_positive, check_tensor
from paperlab._random import as_generator


class MultiHeadProjector(nn.Module):
    """C two-layer projection heads with independent weights.

    Args:
        in_features: width of the encoder features h.
        out_features: width D of each head's output.
        n_heads: number of heads C.
        hidden: hidden width of each head (default ``in_features``).
        generator: None, an int seed or a ``torch.Generator`` for the (PyTorch-default-like) uniform init.

    Shapes: (B, in_features) -> (B, C, out_features).
    """

    def __init__(
        self, in_features: int, out_features: int, n_heads: int = 3, hidden: int | None = None, generator=None
    ):
        super().__init__()
        for name, value in (
            ("in_features", in_features),
            ("out_features", out_features),
            ("n_heads", n_heads),
        ):
            check_positive(name, value, integer=True)
        hidden = in_features if hidden is None else check_positive("hidden", hidden, integer=True)
        generator = as_generator(generator)

        def uniform(*shape, fan_in):
            bound = 1.0 / math.sqrt(fan_in)
            return nn.Parameter((2 * torch.rand(*shape, generator=generator) - 1) * bound)

        self.w1, self.b1 = (
            uniform(n_heads, in_features, hidden, fan_in=in_features),
            uniform(n_heads, 1, hidden, fan_in=in_features),
        )
        self.w2, self.b2 = (
            uniform(n_heads, hidden, out_features, fan_in=hidden),
            uniform(n_heads, 1, out_features, fan_in=hidden),
        )

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        check_tensor("h", h, dim=2, floating=True, finite=False)
        if h.shape[1] != self.w1.shape[1]:
            raise ValueError(f"h must have {self.w1.shape[1]} columns, got shape {tuple(h.shape)}")
        hidden = torch.relu(torch.einsum("bi,cih->cbh", h, self.w1) + self.b1)  # (C, B, hidden)
        return (hidden @ self.w2 + self.b2).transpose(0, 1)  # (B, C, out_features)
