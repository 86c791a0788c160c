"""Paired labelled 2-D Gaussian mixtures whose classes sit on permuted components (class-guided transport)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from paperlab._checks import check_positive
from paperlab._random import as_generator
from paperlab.data.toy_2d import LabelledSample, gaussian_mixture


@dataclass
class LabelledMixturePair:
    """A source and a target sample with class labels, and the class of every target component.

    Attributes:
        source: points (n, 2) and classes (n,) of the source; class k is the source component k.
        target: points (n, 2) and classes (n,) of the target.
        source_means: (K, 2) centres of the source components, row k holds class k.
        target_means: (K, 2) centres of the target components, row k holds class k.
    """

    source: LabelledSample
    target: LabelledSample
    source_means: torch.Tensor
    target_means: torch.Tensor


def labelled_gaussian_mixtures(
    n: int,
    n_classes: int = 4,
    radius: float = 2.0,
    std: float = 0.2,
    label_shift: int = 2,
    seed=None,
    dtype=torch.float32,
    device=None,
) -> LabelledMixturePair:
    r"""Source and target mixtures of ``n_classes`` Gaussians on a circle, with the target's classes moved.

    Source class k sits at angle :math:`2\pi k/K`; the target's components sit half a spacing further,
    at :math:`2\pi(j + 1/2)/K`, and the one at position j carries the class :math:`(j + s) \bmod K` with
    :math:`s` = ``label_shift``. With :math:`s \notin \{0, 1\}` (mod K), neither target component next to a
    source class has its label, so the quadratic-cost transport map mixes classes while a class-aware one
    has to move every class across the circle.

    Args:
        n: points per sample (source and target alike), > 0.
        n_classes: K >= 2.
        radius: radius of the circle of centres.
        std: standard deviation of every component.
        label_shift: s, the rotation of the target's labels.
        seed: int, ``torch.Generator`` or None.

    Returns:
        LabelledMixturePair.
    """
    check_positive("n_classes", n_classes, integer=True)
    if n_classes < 2:
        raise ValueError(f"n_classes must be >= 2, got {n_classes}")
    check_positive("radius", radius)
    if isinstance(label_shift, bool) or not isinstance(label_shift, int):
        raise TypeError(f"label_shift must be an integer, got {label_shift!r}")
    generator = as_generator(seed)
    angles = 2 * math.pi * torch.arange(n_classes, dtype=torch.float64) / n_classes
    source_means = radius * torch.stack([angles.cos(), angles.sin()], dim=1)  # (K, 2)
    shifted = angles + math.pi / n_classes
    positions = radius * torch.stack([shifted.cos(), shifted.sin()], dim=1)  # (K, 2), position j
    classes_at = (torch.arange(n_classes) + label_shift) % n_classes  # class of position j
    target_means = torch.empty_like(positions)
    target_means[classes_at] = positions  # row k holds the centre of class k
    source = gaussian_mixture(n, source_means, std, seed=generator, dtype=dtype, device=device)
    target = gaussian_mixture(n, target_means, std, seed=generator, dtype=dtype, device=device)
    return LabelledMixturePair(
        source,
        target,
        source_means.to(device=device, dtype=dtype),
        target_means.to(device=device, dtype=dtype),
    )
