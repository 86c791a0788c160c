"""The TLDR model: a linear encoder to the low dimension, then an MLP projector used only for training.

TLDR: Twin Learning for Dimensionality Reduction (2022). The encoder is the dimensionality reduction
that is kept, $y = W x + b$ with $W \\in \\mathbb{R}^{d \\times D}$; the projector maps $y$ to a wide
space (Linear -> BatchNorm -> ReLU blocks, then a Linear layer) where the Barlow Twins loss is computed,
and is thrown away after training.
"""

from __future__ import annotations

import torch
from torch import nn

from paperlab._checks import check_positive, check_tensor


class LinearEncoderProjector(nn.Module):
    """Linear encoder (D -> d) followed by an MLP projector (d -> hidden... -> projection_dim).

    Args:
        in_features: input width D.
        out_features: reduced width d (the encoder's output).
        hidden: widths of the projector's hidden Linear-BatchNorm-ReLU blocks (may be empty).
        projection_dim: width of the projector's output, where the loss is computed.

    Shapes: ``forward``: (B, D) -> (B, projection_dim); ``encode``: (B, D) -> (B, d).
    """

    def __init__(self, in_features: int, out_features: int, hidden=(256,), projection_dim: int = 256):
        super().__init__()
        check_positive("in_features", in_features, integer=True)
        check_positive("out_features", out_features, integer=True)
        check_positive("projection_dim", projection_dim, integer=True)
        hidden = tuple(hidden)
        for width in hidden:
            check_positive("hidden", width, integer=True)
        self.encoder = nn.Linear(in_features, out_features)
        blocks, width = [], out_features
        for next_width in hidden:
            blocks += [nn.Linear(width, next_width), nn.BatchNorm1d(next_width), nn.ReLU()]
            width = next_width
        self.projector = nn.Sequential(*blocks, nn.Linear(width, projection_dim))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The low-dimensional representation $W x + b$, (B, D) -> (B, d)."""
        check_tensor("x", x, dim=2, floating=True, finite=False)
        if x.shape[1] != self.encoder.in_features:
            raise ValueError(f"x must have {self.encoder.in_features} columns, got shape {tuple(x.shape)}")
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projector(self.encode(x))  # (B, projection_dim)
