"""Deterministic toy distributions for transport experiments: Gaussian mixtures, eight Gaussians, two moons.

Every generator takes ``n`` and a ``seed`` (int, ``torch.Generator`` or None for torch's global
generator), draws on the CPU and returns points in ``dtype`` on ``device``, so one seed gives the same
sample on every machine. Mixtures also return the component of every point as its label.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from paperlab._checks import check_positive, check_tensor
from paperlab._random import as_generator


@dataclass
class LabelledSample:
    """Points (n, d) and the integer label (n,) of the component each was drawn from."""

    points: torch.Tensor
    labels: torch.Tensor


def gaussian_mixture(
    n: int,
    means: torch.Tensor,
    std: float | torch.Tensor = 1.0,
    weights: torch.Tensor | None = None,
    seed=None,
    dtype=torch.float32,
    device=None,
) -> LabelledSample:
    r"""Draw n points from the isotropic Gaussian mixture :math:`\sum_k w_k\,\mathcal N(\mu_k, \sigma_k^2 I)`.

    Args:
        n: number of points, > 0.
        means: component means (K, d).
        std: one standard deviation for all components, or one per component (K,), all > 0.
        weights: component weights (K,), non-negative with a positive sum; None for equal weights.
        seed: int, ``torch.Generator`` or None.

    Returns:
        LabelledSample with points (n, d) and labels (n,) in [0, K).
    """
    check_positive("n", n, integer=True)
    check_tensor("means", means, dim=2, floating=True)
    n_components = means.shape[0]
    if isinstance(std, torch.Tensor):
        check_tensor("std", std, dim=1, floating=True)
        if std.shape[0] != n_components or bool((std <= 0).any()):
            raise ValueError(f"std must be ({n_components},) and positive, got {std.tolist()}")
        std = std.detach().to("cpu", torch.float64)
    else:
        check_positive("std", std)
        std = torch.full((n_components,), float(std), dtype=torch.float64)
    if weights is None:
        weights = torch.ones(n_components, dtype=torch.float64)
    else:
        check_tensor("weights", weights, dim=1, floating=True)
        if weights.shape[0] != n_components or bool((weights < 0).any()) or not float(weights.sum()) > 0:
            raise ValueError(
                f"weights must be ({n_components},), non-negative with a positive sum, got {weights.tolist()}"
            )
        weights = weights.detach().to("cpu", torch.float64)
    generator = as_generator(seed)
    labels = torch.multinomial(weights, n, replacement=True, generator=generator)  # (n,)
    noise = torch.randn(n, means.shape[1], generator=generator, dtype=torch.float64)
    points = means.detach().to("cpu", torch.float64)[labels] + std[labels, None] * noise
    return LabelledSample(points.to(device=device, dtype=dtype), labels.to(device))


def eight_gaussians(
    n: int, radius: float = 2.0, std: float = 0.1, seed=None, dtype=torch.float32, device=None
):
    """n points from 8 equally weighted Gaussians centred on a circle of ``radius`` (angles k pi / 4).

    Returns:
        LabelledSample with points (n, 2) and labels (n,) in [0, 8).
    """
    check_positive("radius", radius)
    angles = torch.arange(8, dtype=torch.float64) * math.pi / 4
    means = radius * torch.stack([angles.cos(), angles.sin()], dim=1)  # (8, 2)
    return gaussian_mixture(n, means, std, seed=seed, dtype=dtype, device=device)


def two_moons(n: int, noise: float = 0.05, seed=None, dtype=torch.float32, device=None) -> LabelledSample:
    """n points on two interleaved half circles (scikit-learn's moons), centred at the origin.

    The upper moon is (cos t, sin t) and the lower one (1 - cos t, 1/2 - sin t) for t uniform in
    [0, pi], both shifted by (-1/2, -1/4) so the pair is centred; Gaussian noise of std ``noise`` is added.

    Returns:
        LabelledSample with points (n, 2) and labels (n,): 0 upper moon, 1 lower moon.
    """
    check_positive("n", n, integer=True)
    check_positive("noise", noise, allow_zero=True)
    generator = as_generator(seed)
    labels = torch.randint(0, 2, (n,), generator=generator)
    t = math.pi * torch.rand(n, generator=generator, dtype=torch.float64)
    upper = torch.stack([t.cos(), t.sin()], dim=1)  # (n, 2)
    lower = torch.stack([1 - t.cos(), 0.5 - t.sin()], dim=1)  # (n, 2)
    points = torch.where(labels[:, None] == 0, upper, lower) - torch.tensor([0.5, 0.25], dtype=torch.float64)
    points = points + noise * torch.randn(n, 2, generator=generator, dtype=torch.float64)
    return LabelledSample(points.to(device=device, dtype=dtype), labels.to(device))
