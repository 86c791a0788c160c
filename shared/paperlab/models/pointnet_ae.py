"""A tiny PointNet autoencoder: a shared per-point MLP with max pooling, and an MLP decoder to n points.

$$z = \\max_i \\phi(x_i), \\qquad \\hat X = \\mathrm{reshape}(\\psi(z)) \\in \\mathbb{R}^{n \\times 3}$$

The encoder is invariant to the order of the input points; the decoder emits a fixed number of points, so a
reconstruction loss must compare unordered sets (Chamfer, sliced Wasserstein). The backbone of the point-cloud
experiments of "Self-Attention Amortized Distributional Projection Optimization for Sliced Wasserstein
Point-Cloud Reconstruction" (2023), scaled down.
"""

from __future__ import annotations

import torch
from torch import nn

from paperlab._checks import check_positive, check_tensor


def _mlp(widths, final_activation: bool) -> nn.Sequential:
    layers = []
    for i, (width_in, width_out) in enumerate(zip(widths, widths[1:])):
        layers.append(nn.Linear(width_in, width_out))
        if i < len(widths) - 2 or final_activation:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class PointNetAutoencoder(nn.Module):
    """Encode (B, n_in, dim) clouds to (B, latent) codes and decode them to (B, n_points, dim) clouds.

    Args:
        n_points: points per decoded cloud. dim: point dimension. latent: code width.
        encoder_hidden: widths of the shared per-point MLP before the code. decoder_hidden: decoder widths.
    """

    def __init__(
        self,
        n_points: int,
        dim: int = 3,
        latent: int = 64,
        encoder_hidden=(64, 128),
        decoder_hidden=(256, 256),
    ):
        super().__init__()
        for name, value in (("n_points", n_points), ("dim", dim), ("latent", latent)):
            check_positive(name, value, integer=True)
        self.n_points, self.dim = n_points, dim
        self.encoder = _mlp((dim, *encoder_hidden, latent), final_activation=False)
        self.decoder = _mlp((latent, *decoder_hidden, n_points * dim), final_activation=False)

    def encode(self, X: torch.Tensor) -> torch.Tensor:
        check_tensor("X", X, dim=3, floating=True)
        if X.shape[-1] != self.dim:
            raise ValueError(f"X must have shape (B, n, {self.dim}), got {tuple(X.shape)}")
        return self.encoder(X).max(dim=1).values  # (B, latent)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z).reshape(z.shape[0], self.n_points, self.dim)  # (B, n_points, dim)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(X))
