r"""Synthetic 2-D curvilinear images (rings, networks) with their segmentation masks.

For "Topologically faithful image segmentation via induced matching of persistence barcodes" (2023): thin
structures whose topology (components, holes) a segmentation must keep. Masks are drawn with torch
only, from distances: a ring is :math:`|\,\|x - c\| - r\,| \le w/2`, a line segment is the set within
:math:`w/2` of the segment. The image is the mask with its contrast faded along the curves, plus
Gaussian noise, so that thin parts are hard to see.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from paperlab._checks import check_choice, check_positive
from paperlab._random import as_generator


@dataclass
class CurvilinearImages:
    """Images and masks of :func:`curvilinear_images`.

    Attributes:
        images: float ``(N, H, W)`` noisy intensities.
        masks: float ``(N, H, W)`` binary foreground (1) / background (0).
    """

    images: torch.Tensor
    masks: torch.Tensor


def _grid(size: int, dtype) -> tuple[torch.Tensor, torch.Tensor]:
    coords = torch.arange(size, dtype=dtype) + 0.5
    return torch.meshgrid(coords, coords, indexing="ij")  # two (size, size)


def ring_mask(size: int, center: tuple[float, float], radius: float, width: float, dtype=torch.float32):
    """Binary ``(size, size)`` mask of the annulus :math:`|\\|x - c\\| - r| \\le w / 2` (pixel centres)."""
    rows, cols = _grid(size, dtype)
    distance = ((rows - center[0]) ** 2 + (cols - center[1]) ** 2).sqrt()
    return ((distance - radius).abs() <= width / 2).to(dtype)


def segment_mask(size: int, start, end, width: float, dtype=torch.float32) -> torch.Tensor:
    """Binary ``(size, size)`` mask of the pixels within ``width / 2`` of the segment start-end."""
    rows, cols = _grid(size, dtype)
    a = torch.tensor(start, dtype=dtype)
    direction = torch.tensor(end, dtype=dtype) - a
    offset = torch.stack([rows - a[0], cols - a[1]], -1)  # (size, size, 2)
    along = ((offset @ direction) / direction.dot(direction).clamp_min(1e-12)).clamp(0, 1)
    distance = (offset - along[..., None] * direction).norm(dim=-1)
    return (distance <= width / 2).to(dtype)


def _rings(size: int, generator: torch.Generator, dtype) -> torch.Tensor:
    mask = torch.zeros(size, size, dtype=dtype)
    for _ in range(int(torch.randint(1, 3, (1,), generator=generator))):
        radius = size * (0.12 + 0.14 * torch.rand(1, generator=generator).item())
        center = (size * 0.2 + torch.rand(2, generator=generator) * size * 0.6).tolist()
        mask = torch.maximum(mask, ring_mask(size, center, radius, 1.6, dtype))
    return mask


def _network(size: int, generator: torch.Generator, dtype) -> torch.Tensor:
    mask = torch.zeros(size, size, dtype=dtype)
    for axis in (0, 1):
        for _ in range(int(torch.randint(2, 4, (1,), generator=generator))):
            ends = (torch.rand(2, generator=generator) * 0.8 + 0.1) * size
            start, end = [float(ends[0]), 0.0], [float(ends[1]), float(size)]
            if axis == 1:
                start, end = start[::-1], end[::-1]
            mask = torch.maximum(mask, segment_mask(size, start, end, 1.5, dtype))
    return mask


def curvilinear_images(
    n: int,
    size: int = 32,
    kind: str = "mixed",
    noise: float = 0.3,
    fade: float = 0.6,
    generator=None,
    dtype=torch.float32,
) -> CurvilinearImages:
    """Noisy images of rings or line networks with their binary masks.

    ``image = mask * (1 - fade * u) + noise * eps``, with ``u`` a smooth random field in [0, 1] (upsampled
    4x4 noise) that dims parts of the curves, and ``eps`` standard Gaussian noise.

    Args:
        n: number of images.
        size: height and width.
        kind: ``"rings"`` (one or two rings), ``"network"`` (crossing lines) or ``"mixed"`` (alternating).
        noise: standard deviation of the additive noise, >= 0.
        fade: largest contrast loss along the curves, in [0, 1].
        generator: seed or ``torch.Generator`` (see :func:`paperlab._random.as_generator`).
        dtype: floating dtype of the outputs.

    Returns:
        :class:`CurvilinearImages` with ``(n, size, size)`` images and masks (on the CPU).
    """
    check_positive("n", n, integer=True)
    check_positive("size", size, integer=True)
    if size < 8:
        raise ValueError(f"size must be >= 8, got {size}")
    check_choice("kind", kind, {"rings", "network", "mixed"})
    check_positive("noise", noise, allow_zero=True)
    check_positive("fade", fade, allow_zero=True)
    if fade > 1:
        raise ValueError(f"fade must be in [0, 1], got {fade}")
    generator = as_generator(generator)
    masks = []
    for i in range(n):
        draw_rings = kind == "rings" or (kind == "mixed" and i % 2 == 0)
        masks.append((_rings if draw_rings else _network)(size, generator, dtype))
    masks = torch.stack(masks)  # (n, size, size)
    coarse = torch.rand(n, 1, 4, 4, generator=generator, dtype=dtype)
    field = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)
    eps = torch.randn(n, size, size, generator=generator, dtype=dtype)
    images = masks * (1 - fade * field[:, 0]) + noise * eps  # (n, size, size)
    return CurvilinearImages(images, masks)
