r"""Procedural segmentation data: ellipses, rectangles and triangles on a noisy background.

A stand-in for the semantic-segmentation benchmarks of "Jaccard Metric Losses: Optimizing the Jaccard
Index with Soft Labels" (2023) that a CPU can train on in seconds. Each image holds a few shapes of
random position, size and brightness (by default the brightness says nothing about the class, so a
model must read the shape), painted in order (later shapes cover earlier ones), plus Gaussian pixel noise. The mask
gives every pixel its class: 0 background, 1 ellipse, 2 rectangle, 3 triangle.
"""

from __future__ import annotations

import math

import torch

from paperlab._checks import check_positive
from paperlab._random import as_generator

SHAPE_CLASSES = ("background", "ellipse", "rectangle", "triangle")


def synthetic_shapes(
    n_images: int,
    size: int = 32,
    max_shapes: int = 3,
    noise: float = 0.2,
    class_contrast: float = 0.0,
    generator=None,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random shape images and their per-pixel class masks.

    Args:
        n_images: number of images ``N``.
        size: height and width ``S`` in pixels (at least 8).
        max_shapes: each image holds between 1 and ``max_shapes`` shapes.
        noise: standard deviation of the additive Gaussian pixel noise (>= 0).
        class_contrast: shift of the mean brightness from one class to the next (>= 0); 0 leaves the
            shape as the only cue, a positive value makes brightness a second, noisy one.
        generator: an int seed, a ``torch.Generator`` or None (torch's global generator).
        dtype: floating dtype of the images.

    Returns:
        ``images`` of shape ``(N, 1, S, S)`` and int64 ``masks`` of shape ``(N, S, S)`` with values in
        ``[0, 4)`` (indices into :data:`SHAPE_CLASSES`), both on the CPU.
    """
    check_positive("n_images", n_images, integer=True)
    check_positive("size", size, integer=True)
    if size < 8:
        raise ValueError(f"size must be at least 8 pixels, got {size}")
    check_positive("max_shapes", max_shapes, integer=True)
    check_positive("noise", noise, allow_zero=True)
    check_positive("class_contrast", class_contrast, allow_zero=True)
    if not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point dtype, got {dtype}")
    generator = as_generator(generator)
    coords = (torch.arange(size, dtype=torch.float64) + 0.5) / size  # pixel centres in [0, 1]
    y, x = torch.meshgrid(coords, coords, indexing="ij")  # (S, S) each
    images = torch.zeros(n_images, size, size, dtype=torch.float64)
    masks = torch.zeros(n_images, size, size, dtype=torch.long)
    n_shapes = torch.randint(1, max_shapes + 1, (n_images,), generator=generator)
    for slot in range(max_shapes):
        used = (n_shapes > slot).view(-1, 1, 1)  # (N, 1, 1)
        shape_class = torch.randint(1, len(SHAPE_CLASSES), (n_images,), generator=generator)
        inside = _shape_masks(x, y, shape_class, generator) & used  # (N, S, S)
        brightness = 0.4 + 0.6 * torch.rand(n_images, 1, 1, generator=generator, dtype=torch.float64)
        brightness = brightness + class_contrast * (shape_class.view(-1, 1, 1) - 1)
        images = torch.where(inside, brightness, images)
        masks = torch.where(inside, shape_class.view(-1, 1, 1), masks)
    images = images + noise * torch.randn(images.shape, generator=generator, dtype=torch.float64)
    return images.unsqueeze(1).to(dtype), masks  # (N, 1, S, S), (N, S, S)


def _shape_masks(x, y, shape_class, generator) -> torch.Tensor:
    """Pixels inside one random shape per image, of the class ``shape_class[i]``, shape ``(N, S, S)``."""
    n = shape_class.shape[0]

    def uniform(low, high):
        return (low + (high - low) * torch.rand(n, generator=generator, dtype=torch.float64)).view(-1, 1, 1)

    centre_x, centre_y = uniform(0.2, 0.8), uniform(0.2, 0.8)
    radius_a, radius_b = uniform(0.1, 0.25), uniform(0.1, 0.25)
    angle = uniform(0.0, math.pi)
    dx, dy = x - centre_x, y - centre_y  # (N, S, S)
    # Coordinates in the shape's rotated frame.
    u = dx * torch.cos(angle) + dy * torch.sin(angle)
    v = -dx * torch.sin(angle) + dy * torch.cos(angle)
    ellipse = (u / radius_a) ** 2 + (v / radius_b) ** 2 <= 1
    rectangle = (dx.abs() <= radius_a) & (dy.abs() <= radius_b)  # axis-aligned
    triangle = _inside_triangle(u, v, radius_a + radius_b)  # equilateral, rotated
    kind = shape_class.view(-1, 1, 1)
    return torch.where(kind == 1, ellipse, torch.where(kind == 2, rectangle, triangle))


def _inside_triangle(u, v, radius) -> torch.Tensor:
    """Pixels inside the equilateral triangle of circumradius ``radius`` centred at ``(u, v) = 0``."""
    inside = torch.ones_like(u, dtype=torch.bool)
    for k in range(3):  # the three edges, each a half-plane facing the centre
        normal_angle = 2 * math.pi * k / 3 + math.pi / 3
        inside &= u * math.cos(normal_angle) + v * math.sin(normal_angle) <= radius / 2
    return inside
