"""A small multilayer perceptron that maps inputs to an embedding, for metric-learning experiments."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from paperlab._checks import check_positive, check_tensor


class EmbeddingMLP(nn.Module):
    """Linear + ReLU blocks, then a linear head; optionally L2-normalized outputs.

    .. math:: f(x) = W_L\\, \\mathrm{relu}(\\cdots \\mathrm{relu}(W_1 x + b_1) \\cdots) + b_L

    Args:
        in_features: input width D_in.
        out_features: embedding width D.
        hidden: widths of the hidden layers (empty for a linear map).
        normalize: return unit-length embeddings.

    Shapes: (B, D_in) -> (B, D).
    """

    def __init__(self, in_features: int, out_features: int = 32, hidden=(128,), normalize: bool = False):
        super().__init__()
        check_positive("in_features", in_features, integer=True)
        check_positive("out_features", out_features, integer=True)
        hidden = tuple(hidden)
        for width in hidden:
            check_positive("hidden", width, integer=True)
        widths = (in_features, *hidden, out_features)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.normalize = normalize

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, dim=2, floating=True, finite=False)
        if x.shape[1] != self.layers[0].in_features:
            raise ValueError(f"x must have {self.layers[0].in_features} columns, got shape {tuple(x.shape)}")
        for layer in self.layers[:-1]:
            x = torch.relu(layer(x))
        x = self.layers[-1](x)
        return F.normalize(x, dim=1) if self.normalize else x
