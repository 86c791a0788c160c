r"""Small images rendered smoothly from d latent factors, labelled by a smooth or a sharp rule.

A controlled stand-in for the natural and medical image datasets of "The Effect of Intrinsic Dataset
Properties on Generalization: Unraveling Learning Differences Between Natural and Medical Images
(2024)": the intrinsic dimension of the images is the number of latent factors d, and the label
sharpness is set by the labelling rule, independently of d.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from paperlab._checks import check_choice, check_positive
from paperlab._random import as_generator

RULES = ("smooth", "sharp")


@dataclass
class LatentImages:
    """Images (n, 1, s, s) in (0, 1), int64 labels (n,) in {0, 1} and the latents (n, d) in [-1, 1]."""

    images: torch.Tensor
    labels: torch.Tensor
    latents: torch.Tensor


def latent_manifold_images(
    n: int,
    latent_dim: int,
    rule: str = "smooth",
    image_size: int = 8,
    frequency: float = 3.0,
    seed=None,
    renderer_seed: int = 0,
    dtype: torch.dtype = torch.float32,
    device=None,
) -> LatentImages:
    r"""Draw n latents :math:`z \sim \mathcal U[-1, 1]^d`, render them and label them.

    Rendering: a logistic map of a sum of smooth patterns, one per factor,

    .. math:: x = \sigma\Big(\sum_{k=1}^d z_k\, B_k\Big), \qquad B = 2 s\, Q\, D_{1:d},

    with :math:`D_{1:d}` the d lowest-frequency non-constant 2-D cosine (DCT-II) basis images (orthonormal,
    zigzag order) and Q a random d x d rotation from ``renderer_seed``. The patterns are linearly independent
    and the logistic map is injective, so the images lie on a smooth d-dimensional manifold of
    :math:`\mathbb{R}^{s^2}`.
    Labels read one direction :math:`t = w^\top z` (w a unit vector from ``renderer_seed``):
    ``"smooth"``: :math:`y = 1[t > 0]`, one flat boundary; ``"sharp"``:
    :math:`y = 1[\sin(\pi\, \omega\, t) > 0]`, a boundary every :math:`1/\omega` along w. The label
    function does not depend on d, so d changes only the intrinsic dimension.

    Args:
        n: number of images.
        latent_dim: d >= 1.
        rule: ``"smooth"`` or ``"sharp"``.
        image_size: side s of the square images.
        frequency: :math:`\omega > 0` of the sharp rule.
        seed: int, torch.Generator or None (global generator) for the latents.
        renderer_seed: int seed of the patterns and of w (fixed per dataset family).
        dtype, device: of the returned images and latents.

    Returns:
        :class:`LatentImages`.
    """
    check_positive("n", n, integer=True)
    check_positive("latent_dim", latent_dim, integer=True)
    check_choice("rule", rule, RULES)
    check_positive("image_size", image_size, integer=True)
    check_positive("frequency", frequency)
    check_positive("renderer_seed", renderer_seed, integer=True, allow_zero=True)
    if latent_dim > image_size**2 - 1:
        raise ValueError(
            f"latent_dim must be at most image_size**2 - 1 = {image_size**2 - 1}, got {latent_dim}"
        )
    renderer = torch.Generator().manual_seed(renderer_seed)
    patterns = _mixed_cosine_patterns(latent_dim, image_size, renderer)  # (d, s, s)
    direction = torch.randn(latent_dim, generator=renderer, dtype=torch.float64)
    direction = direction / direction.norm()  # (d,)

    latents = 2 * torch.rand(n, latent_dim, generator=as_generator(seed), dtype=torch.float64) - 1  # (n, d)
    images = torch.sigmoid(torch.einsum("nd,dij->nij", latents, patterns))  # (n, s, s)
    projection = latents @ direction  # (n,)
    if rule == "smooth":
        labels = projection > 0
    else:
        labels = torch.sin(math.pi * frequency * projection) > 0
    return LatentImages(
        images.unsqueeze(1).to(dtype=dtype, device=device),  # (n, 1, s, s)
        labels.long().to(device),
        latents.to(dtype=dtype, device=device),
    )


def _mixed_cosine_patterns(latent_dim: int, image_size: int, generator: torch.Generator) -> torch.Tensor:
    """d lowest-frequency 2-D DCT-II images (no constant), mixed by a random rotation; (d, s, s), RMS 2."""
    grid = torch.arange(image_size, dtype=torch.float64)
    cosines = torch.cos(
        math.pi * (2 * grid[None, :] + 1) * grid[:, None] / (2 * image_size)
    )  # (s, s): [k, u]
    cosines = cosines / cosines.norm(dim=1, keepdim=True)
    pairs = sorted(
        ((i, j) for i in range(image_size) for j in range(image_size) if i + j > 0),
        key=lambda ij: (ij[0] + ij[1], ij[0]),
    )[:latent_dim]
    basis = torch.stack([torch.outer(cosines[i], cosines[j]) for i, j in pairs])  # (d, s, s), orthonormal
    rotation = torch.linalg.qr(
        torch.randn(latent_dim, latent_dim, generator=generator, dtype=torch.float64)
    ).Q
    mixed = torch.einsum("kd,dij->kij", rotation, basis)  # (d, s, s), still orthonormal
    return 2 * image_size * mixed  # unit-norm images have RMS 1 / s per pixel
