"""Deterministic procedural 3-D point clouds: sphere, torus, swiss roll, S-curve, box.

Every generator takes ``n`` and a ``seed`` (int or ``torch.Generator``) and returns an (n, 3) tensor,
so the same seed gives the same cloud on every machine. ``random_rigid_motion`` moves a cloud.
"""

from __future__ import annotations

import math

import torch

from paperlab._checks import check_choice, check_positive, check_tensor
from paperlab._random import as_generator


def _uniform(n: int, generator: torch.Generator) -> torch.Tensor:
    return torch.rand(n, generator=generator, dtype=torch.float64)


def sphere(n: int, seed=None, radius: float = 1.0) -> torch.Tensor:
    """n points uniform on the sphere of the given radius."""
    g = torch.randn(n, 3, generator=as_generator(seed), dtype=torch.float64)
    return radius * g / g.norm(dim=1, keepdim=True)


def torus(n: int, seed=None, major: float = 1.0, minor: float = 0.35) -> torch.Tensor:
    """n points on a torus (angles drawn uniformly), axis along z."""
    generator = as_generator(seed)
    u, v = 2 * math.pi * _uniform(n, generator), 2 * math.pi * _uniform(n, generator)
    ring = major + minor * torch.cos(v)
    return torch.stack([ring * torch.cos(u), ring * torch.sin(u), minor * torch.sin(v)], dim=1)


def swiss_roll(n: int, seed=None, noise: float = 0.0) -> torch.Tensor:
    """n points on a swiss roll (scikit-learn's parametrization, scaled to about unit size)."""
    generator = as_generator(seed)
    t = 1.5 * math.pi * (1 + 2 * _uniform(n, generator))
    height = 21 * _uniform(n, generator)
    points = torch.stack([t * torch.cos(t), height, t * torch.sin(t)], dim=1) / 10.0
    return points + noise * torch.randn(n, 3, generator=generator, dtype=torch.float64)


def s_curve(n: int, seed=None, noise: float = 0.0) -> torch.Tensor:
    """n points on an S-shaped surface (scikit-learn's parametrization)."""
    generator = as_generator(seed)
    t = 3 * math.pi * (_uniform(n, generator) - 0.5)
    height = 2 * _uniform(n, generator)
    points = torch.stack([torch.sin(t), height, torch.sign(t) * (torch.cos(t) - 1)], dim=1)
    return points + noise * torch.randn(n, 3, generator=generator, dtype=torch.float64)


def box(n: int, seed=None, sides=(1.0, 1.0, 1.0)) -> torch.Tensor:
    """n points uniform on the surface of a centred box, faces chosen in proportion to their area."""
    generator = as_generator(seed)
    sx, sy, sz = sides
    areas = torch.tensor([sy * sz, sy * sz, sx * sz, sx * sz, sx * sy, sx * sy], dtype=torch.float64)
    face = torch.multinomial(areas, n, replacement=True, generator=generator)  # (n,)
    points = (torch.rand(n, 3, generator=generator, dtype=torch.float64) - 0.5) * torch.tensor(
        sides, dtype=torch.float64
    )
    axis, sign = face // 2, 1 - 2 * (face % 2)  # which coordinate is pinned, and to which side
    half = torch.tensor(sides, dtype=torch.float64)[axis] / 2
    points[torch.arange(n), axis] = sign * half
    return points


SHAPES = {"sphere": sphere, "torus": torus, "swiss_roll": swiss_roll, "s_curve": s_curve, "box": box}


def point_cloud(shape: str, n: int, seed=None, dtype=torch.float32, device=None, **kwargs) -> torch.Tensor:
    """An (n, 3) cloud of one of the named shapes (see ``SHAPES``), in ``dtype`` on ``device``."""
    check_choice("shape", shape, SHAPES)
    check_positive("n", n, integer=True)
    return SHAPES[shape](n, seed, **kwargs).to(dtype=dtype, device=device)


def random_rotation(seed=None, dtype=torch.float64) -> torch.Tensor:
    """A 3 x 3 rotation drawn uniformly from SO(3) (QR of a Gaussian matrix, signs fixed)."""
    q, r = torch.linalg.qr(torch.randn(3, 3, generator=as_generator(seed), dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r))
    if torch.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q.to(dtype)


def random_rigid_motion(points, seed=None, max_shift: float = 1.0) -> torch.Tensor:
    """Rotate (..., n, 3) ``points`` uniformly at random and shift them by at most ``max_shift`` per axis."""
    check_tensor("points", points, min_dim=2, floating=True)
    if points.shape[-1] != 3:
        raise ValueError(f"points must have 3 coordinates on the last axis, got shape {tuple(points.shape)}")
    generator = as_generator(seed)
    rotation = random_rotation(generator).to(points)
    shift = (2 * torch.rand(3, generator=generator, dtype=torch.float64) - 1) * max_shift
    return points @ rotation.T + shift.to(points)
