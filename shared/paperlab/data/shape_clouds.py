"""A labelled collection of procedural 3-D point clouds: spheres, tori and boxes, randomly stretched and turned.

Each cloud is one of the shapes of :func:`paperlab.data.point_cloud`, scaled per axis by factors drawn from
[min_scale, 1], rotated uniformly at random and centred. A stand-in for ShapeNet in the point-cloud
autoencoding experiments of "Self-Attention Amortized Distributional Projection Optimization for Sliced
Wasserstein Point-Cloud Reconstruction" (2023).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from paperlab._checks import check_choice, check_positive
from paperlab._random import as_generator
from paperlab.data.point_clouds import SHAPES, point_cloud, random_rotation


@dataclass
class ShapeClouds:
    """``points`` (N, n, 3) clouds, ``labels`` (N,) indices into ``shapes``."""

    points: torch.Tensor
    labels: torch.Tensor
    shapes: tuple


def shape_clouds(
    n_clouds: int,
    n_points: int,
    shapes=("sphere", "torus", "box"),
    min_scale: float = 0.5,
    seed=None,
    dtype=torch.float32,
    device=None,
) -> ShapeClouds:
    """``n_clouds`` clouds of ``n_points`` points, shapes drawn uniformly from ``shapes``."""
    check_positive("n_clouds", n_clouds, integer=True)
    check_positive("n_points", n_points, integer=True)
    shapes = tuple(shapes)
    if not shapes:
        raise ValueError("shapes must name at least one shape")
    for shape in shapes:
        check_choice("shapes entry", shape, SHAPES)
    check_positive("min_scale", min_scale)
    if min_scale > 1:
        raise ValueError(f"min_scale must be <= 1, got {min_scale}")
    generator = as_generator(seed)
    labels = torch.randint(len(shapes), (n_clouds,), generator=generator)
    clouds = []
    for label in labels.tolist():
        cloud = point_cloud(shapes[label], n_points, seed=generator, dtype=torch.float64)
        scale = min_scale + (1 - min_scale) * torch.rand(3, generator=generator, dtype=torch.float64)
        cloud = (cloud * scale) @ random_rotation(generator).T
        clouds.append(cloud - cloud.mean(dim=0))
    points = torch.stack(clouds).to(dtype=dtype, device=device)  # (N, n, 3)
    return ShapeClouds(points=points, labels=labels.to(device), shapes=shapes)
