r"""Points from a union of low-dimensional curved manifolds embedded nonlinearly in R^D.

The test bed of "Unsupervised Manifold Linearizing and Clustering (2023)": every cluster is a smooth,
curved manifold, so the clusters are neither blobs (k-means) nor linear subspaces (subspace clustering).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from paperlab._checks import check_positive
from paperlab._random import as_generator


@dataclass
class ManifoldSample:
    """Points (n, D), their manifold labels (n,) int64 and latent coordinates (n, max intrinsic dim)."""

    points: torch.Tensor
    labels: torch.Tensor
    latents: torch.Tensor


def union_of_manifolds(
    n_per_manifold: int = 200,
    intrinsic_dims=(1, 1, 2, 2, 1),
    ambient_dim: int = 32,
    n_features: int = 6,
    frequency: float = 1.0,
    noise: float = 0.02,
    seed=None,
    dtype: torch.dtype = torch.float32,
    device=None,
) -> ManifoldSample:
    r"""Sample ``n_per_manifold`` points from each of ``len(intrinsic_dims)`` random curved manifolds.

    Manifold c maps a latent :math:`t \in [0, 1]^{k_c}` through random Fourier features and a random
    linear embedding,

    .. math:: x = U_c \sin(2\pi\,\omega\, W_c t + b_c) / \sqrt{m} + \sigma \varepsilon,

    with :math:`W_c \sim \mathcal N(0, 1)^{m \times k_c}`, :math:`b_c \sim \mathcal U[0, 1]^m`,
    :math:`U_c \sim \mathcal N(0, 1)^{D \times m}` and isotropic noise :math:`\varepsilon`. Every
    manifold is centred near the origin, so they overlap in space; ``frequency`` sets the curvature.

    Args:
        n_per_manifold: points per manifold.
        intrinsic_dims: latent dimension :math:`k_c \ge 1` of each manifold.
        ambient_dim: D.
        n_features: m, random Fourier features per manifold.
        frequency: :math:`\omega > 0`.
        noise: :math:`\sigma \ge 0`.
        seed: int, torch.Generator or None (the global generator).
        dtype, device: of the returned tensors.

    Returns:
        :class:`ManifoldSample` with points (n, D), labels (n,) and latents (n, max k_c) (zero-padded).
    """
    check_positive("n_per_manifold", n_per_manifold, integer=True)
    check_positive("ambient_dim", ambient_dim, integer=True)
    check_positive("n_features", n_features, integer=True)
    check_positive("frequency", frequency)
    check_positive("noise", noise, allow_zero=True)
    intrinsic_dims = tuple(intrinsic_dims)
    if not intrinsic_dims:
        raise ValueError("intrinsic_dims must name at least one manifold, got ()")
    for k in intrinsic_dims:
        check_positive("intrinsic_dims", k, integer=True)
    generator = as_generator(seed)
    width = max(intrinsic_dims)
    points, labels, latents = [], [], []
    for label, k in enumerate(intrinsic_dims):
        t = torch.rand(n_per_manifold, k, generator=generator, dtype=torch.float64)  # (n_c, k)
        weights = torch.randn(k, n_features, generator=generator, dtype=torch.float64)  # (k, m)
        phases = torch.rand(n_features, generator=generator, dtype=torch.float64)  # (m,)
        embedding = torch.randn(n_features, ambient_dim, generator=generator, dtype=torch.float64)  # (m, D)
        features = torch.sin(2 * math.pi * (frequency * t @ weights + phases))  # (n_c, m)
        x = features @ embedding / math.sqrt(n_features)  # (n_c, D)
        x = x + noise * torch.randn(x.shape, generator=generator, dtype=torch.float64)
        points.append(x)
        labels.append(torch.full((n_per_manifold,), label, dtype=torch.int64))
        latents.append(torch.nn.functional.pad(t, (0, width - k)))  # (n_c, width)
    return ManifoldSample(
        torch.cat(points).to(dtype=dtype, device=device),
        torch.cat(labels).to(device=device),
        torch.cat(latents).to(dtype=dtype, device=device),
    )
