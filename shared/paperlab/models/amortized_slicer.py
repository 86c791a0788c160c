"""A self-attention amortizer: a network that predicts a slicing direction from two point clouds.

Each cloud goes through one efficient (linear-cost) attention layer, whose outputs are averaged over the
points; the two clouds' summaries are averaged and normalized:

$$A(X) = \\frac1n \\sum_i \\mathrm{softmax}_{\\text{row}}(Q_i)\\,\\mathrm{softmax}_{\\text{col}}(K)^\\top V, \\qquad
  f(X, Y) = \\frac{A(X) + A(Y)}{\\lVert A(X) + A(Y) \\rVert},$$

with Q, K, V linear maps of the points (Q softmax over features, K softmax over points). f is invariant to
permuting the points of either cloud and symmetric in (X, Y) by construction, and costs O(n d_k d). From
"Self-Attention Amortized Distributional Projection Optimization for Sliced Wasserstein Point-Cloud
Reconstruction" (2023), where f gives the location of a vMF slicing distribution.
"""

from __future__ import annotations

import torch
from torch import nn

from paperlab._checks import check_positive
from paperlab.distances.sliced import check_point_clouds


class EfficientAttentionPooling(nn.Module):
    """Efficient attention over a set, averaged over its elements. Shapes: (B, n, d) -> (B, d_out)."""

    def __init__(self, dim: int, d_k: int = 64, d_out: int | None = None):
        super().__init__()
        check_positive("dim", dim, integer=True)
        check_positive("d_k", d_k, integer=True)
        d_out = dim if d_out is None else d_out
        self.queries, self.keys = nn.Linear(dim, d_k), nn.Linear(dim, d_k)
        self.values = nn.Linear(dim, d_out)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        q = self.queries(X).softmax(dim=-1)  # (B, n, d_k), each row a distribution over features
        k = self.keys(X).softmax(dim=-2)  # (B, n, d_k), each column a distribution over points
        context = k.transpose(1, 2) @ self.values(X)  # (B, d_k, d_out)
        return (q @ context).mean(dim=1)  # (B, d_out)


class SelfAttentionAmortizer(nn.Module):
    """f(X, Y): unit (B, d) directions from batches of clouds X (B, n, d) and Y (B, m, d); see the module docstring."""

    def __init__(self, dim: int = 3, d_k: int = 64):
        super().__init__()
        self.attention = EfficientAttentionPooling(dim, d_k)
        self.dim = dim

    def forward(self, X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
        check_point_clouds(X, Y)
        if X.dim() != 3 or X.shape[-1] != self.dim:
            raise ValueError(f"X and Y must have shape (B, n, {self.dim}), got {tuple(X.shape)}")
        summary = (self.attention(X) + self.attention(Y)) / 2  # (B, d)
        return summary / summary.norm(dim=1, keepdim=True).clamp_min(torch.finfo(summary.dtype).tiny)
