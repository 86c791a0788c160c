r"""Sets of image tiles in which one tile carries the label and the others are distracting fragments.

A stand-in for the cluttered feature maps of "Generalized Sum Pooling for Metric Learning": a pooling
layer sees ``n_items`` local "features" (here raw tiles), only one of which is the labelled object;
the rest are nuisance that average pooling mixes into the descriptor.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from paperlab._checks import check_positive, check_tensor
from paperlab._random import as_generator


@dataclass
class ClutteredSets:
    """A batch of cluttered sets.

    Attributes:
        sets: (N, n_items, H * W) flattened tiles.
        labels: (N,) label of each set (the label of its one whole tile).
        position: (N,) index of the whole tile inside its set.
    """

    sets: torch.Tensor
    labels: torch.Tensor
    position: torch.Tensor


def cluttered_sets(
    images: torch.Tensor,
    labels: torch.Tensor,
    n_sets: int,
    n_items: int = 16,
    generator=None,
) -> ClutteredSets:
    r"""Draw sets of one whole image plus ``n_items - 1`` fragments of other random images.

    A fragment is an image of any class with two of its four quadrants (drawn at random) set to 0:
    strokes that look like parts of digits but do not identify one. The whole image sits at a random
    position of its set.

    Args:
        images: (M, H, W) pool of images (H and W even), e.g. the 8x8 digits scaled to [0, 1].
        labels: (M,) integer labels of the pool.
        n_sets: number N of sets to draw.
        n_items: set size, >= 1.
        generator: int seed, ``torch.Generator`` or None.

    Returns:
        :class:`ClutteredSets` with sets (N, n_items, H * W) on the images' device and dtype.
    """
    check_tensor("images", images, dim=3, floating=True)
    check_tensor("labels", labels, dim=1)
    if labels.shape[0] != images.shape[0]:
        raise ValueError(f"labels must have {images.shape[0]} entries, got shape {tuple(labels.shape)}")
    if images.shape[1] % 2 or images.shape[2] % 2:
        raise ValueError(f"images must have even height and width, got shape {tuple(images.shape)}")
    check_positive("n_sets", n_sets, integer=True)
    check_positive("n_items", n_items, integer=True)
    g = as_generator(generator)
    pool, (height, width) = images.shape[0], images.shape[1:]
    whole = torch.randint(pool, (n_sets,), generator=g)
    fragments = images[torch.randint(pool, (n_sets, n_items), generator=g)].clone()  # (N, n, H, W)
    quadrants = torch.rand(n_sets, n_items, 4, generator=g).argsort(-1)[..., :2]  # two erased of four
    mask = torch.ones(n_sets, n_items, 2, 2, dtype=images.dtype)
    mask.view(n_sets, n_items, 4).scatter_(-1, quadrants, 0.0)
    mask = mask.repeat_interleave(height // 2, 2).repeat_interleave(width // 2, 3)  # (N, n, H, W)
    fragments = fragments * mask.to(images.device)
    position = torch.randint(n_items, (n_sets,), generator=g)
    rows = torch.arange(n_sets)
    fragments[rows, position] = images[whole]
    return ClutteredSets(
        sets=fragments.flatten(2),  # (N, n, H * W)
        labels=labels[whole.to(labels.device)],
        position=position.to(images.device),
    )
