r"""Pairs of images made of k tiles that share k independent class factors: mutual information k log C.

The synthetic high-mutual-information task of "Wasserstein Dependency Measure for Representation
Learning (2019)": x and y each show k tiles; tile j of x and tile j of y are different images of the same
class, drawn independently of the other tiles, so :math:`I(x; y) \ge k \log C` grows with k.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from paperlab._checks import check_positive, check_tensor
from paperlab._random import as_generator


@dataclass
class FactorPairs:
    """Paired multi-tile views.

    Attributes:
        x, y: (N, k * D) concatenated flattened tiles.
        factors: (N, k) class of each tile position (shared by x and y).
    """

    x: torch.Tensor
    y: torch.Tensor
    factors: torch.Tensor


def multi_factor_pairs(
    images: torch.Tensor, labels: torch.Tensor, n_pairs: int, k: int, generator=None
) -> FactorPairs:
    r"""Draw ``n_pairs`` pairs of k-tile views sharing their k classes.

    Classes are uniform over those present in ``labels``; tile j of y is another image than tile j of
    x (of the same class) whenever that class has at least two images.

    Args:
        images: (M, ...) pool of images; labels: (M,) integer labels.
        n_pairs: N; k: tiles per view.
        generator: int seed, ``torch.Generator`` or None.

    Returns:
        :class:`FactorPairs` with x, y (N, k * D), D the size of one image, and factors (N, k).
    """
    check_tensor("images", images, min_dim=2, floating=True)
    check_tensor("labels", labels, dim=1)
    if labels.shape[0] != images.shape[0]:
        raise ValueError(f"labels must have {images.shape[0]} entries, got shape {tuple(labels.shape)}")
    check_positive("n_pairs", n_pairs, integer=True)
    check_positive("k", k, integer=True)
    g = as_generator(generator)
    labels_cpu = labels.cpu()
    classes, counts = labels_cpu.unique(return_counts=True)
    order = labels_cpu.argsort(stable=True)
    starts = torch.cumsum(counts, 0) - counts
    which = torch.randint(len(classes), (n_pairs, k), generator=g)  # (N, k) class index
    count, start = counts[which], starts[which]
    first = (torch.rand(n_pairs, k, generator=g) * count).long()
    shift = 1 + (torch.rand(n_pairs, k, generator=g) * (count - 1)).long()
    second = torch.where(count > 1, (first + shift) % count, first)
    flat = images.flatten(1)
    x_idx, y_idx = order[start + first].to(images.device), order[start + second].to(images.device)
    return FactorPairs(
        x=flat[x_idx].flatten(1),  # (N, k * D)
        y=flat[y_idx].flatten(1),  # (N, k * D)
        factors=classes[which].to(labels.device),
    )
