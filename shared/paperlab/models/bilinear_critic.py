"""A separable pair critic: two encoders and a bilinear form, scoring every (x_i, y_j) of a batch."""

from __future__ import annotations

import torch
from torch import nn

from paperlab._checks import check_positive


class BilinearCritic(nn.Module):
    r"""Pair critic :math:`f(x, y) = g(x)^\top W h(y)` for contrastive objectives.

    Args:
        x_encoder: module, (B, ...) -> (B, D).
        y_encoder: module, (B, ...) -> (B, D); may be ``x_encoder`` itself.
        dim: embedding width D; W starts as the identity.

    ``forward(x, y)`` returns the (B, B) scores :math:`S_{ij} = f(x_i, y_j)`, ``pair_scores(x, y)`` the
    (B,) scores :math:`f(x_i, y_i)` of matched rows, ``embed(x)`` the representation g(x).

    As used in "Representation Learning with Contrastive Predictive Coding (2018)" and
    "Wasserstein Dependency Measure for Representation Learning (2019)".
    """

    def __init__(self, x_encoder: nn.Module, y_encoder: nn.Module, dim: int):
        super().__init__()
        check_positive("dim", dim, integer=True)
        self.x_encoder, self.y_encoder = x_encoder, y_encoder
        self.weight = nn.Parameter(torch.eye(dim))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The representation g(x), (B, D)."""
        return self.x_encoder(x)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        gx, hy = self._encode(x, y)
        return gx @ self.weight @ hy.T  # (B, B)

    def pair_scores(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Scores of the matched rows only, f(x_i, y_i), shape (B,)."""
        gx, hy = self._encode(x, y)
        return ((gx @ self.weight) * hy).sum(-1)  # (B,)

    def _encode(self, x, y):
        gx, hy = self.x_encoder(x), self.y_encoder(y)  # (B, D), (B, D)
        if gx.shape[-1] != self.weight.shape[0] or hy.shape[-1] != self.weight.shape[0]:
            raise ValueError(
                f"encoders must output {self.weight.shape[0]} features, got {tuple(gx.shape)} and {tuple(hy.shape)}"
            )
        return gx, hy
