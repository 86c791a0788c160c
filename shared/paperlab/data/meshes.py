"""Procedural closed triangle meshes: the icosphere template and star-shaped bumpy targets.

A mesh is a :class:`TriangleMesh`: vertex positions (V, 3) and faces (F, 3) of vertex indices, listed
counter-clockwise seen from outside, so that the right-hand normal points outwards. The geometry of a mesh
(areas, normals, surface samples) lives in :mod:`paperlab.data.mesh_geometry`.

Used by "Diffeomorphic Mesh Deformation via Efficient Optimal Transport for Cortical Surface Reconstruction"
(2023), where a neural ODE deforms an icosphere onto a target surface.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from paperlab._checks import check_positive, check_tensor
from paperlab._random import as_generator


@dataclass
class TriangleMesh:
    """A triangle mesh: ``vertices`` (V, 3) floating, ``faces`` (F, 3) int64 vertex indices."""

    vertices: torch.Tensor
    faces: torch.Tensor


_GOLDEN = (1 + math.sqrt(5)) / 2
_ICOSAHEDRON_VERTICES = [
    (-1, _GOLDEN, 0), (1, _GOLDEN, 0), (-1, -_GOLDEN, 0), (1, -_GOLDEN, 0),
    (0, -1, _GOLDEN), (0, 1, _GOLDEN), (0, -1, -_GOLDEN), (0, 1, -_GOLDEN),
    (_GOLDEN, 0, -1), (_GOLDEN, 0, 1), (-_GOLDEN, 0, -1), (-_GOLDEN, 0, 1),
]  # fmt: skip
_ICOSAHEDRON_FACES = [
    (0, 11, 5), (0, 5, 1), (0, 1, 7), (0, 7, 10), (0, 10, 11), (1, 5, 9), (5, 11, 4), (11, 10, 2),
    (10, 7, 6), (7, 1, 8), (3, 9, 4), (3, 4, 2), (3, 2, 6), (3, 6, 8), (3, 8, 9), (4, 9, 5),
    (2, 4, 11), (6, 2, 10), (8, 6, 7), (9, 8, 1),
]  # fmt: skip


def _subdivide(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split every triangle into four at its edge midpoints (shared midpoints are created once)."""
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])  # (3F, 2)
    unique, inverse = np.unique(np.sort(edges, axis=1), axis=0, return_inverse=True)
    midpoints = vertices[unique].mean(axis=1)  # (E, 3)
    mid = len(vertices) + inverse.reshape(3, -1)  # (3, F): index of the midpoint of edges 01, 12, 20
    a, b, c = faces.T
    ab, bc, ca = mid
    new_faces = np.concatenate(
        [np.stack(t, axis=1) for t in [(a, ab, ca), (ab, b, bc), (ca, bc, c), (ab, bc, ca)]]
    )  # (4F, 3), orientation kept
    return np.concatenate([vertices, midpoints]), new_faces


def icosphere(subdivisions: int = 3, radius: float = 1.0, dtype=torch.float32, device=None) -> TriangleMesh:
    """The unit icosahedron subdivided ``subdivisions`` times, vertices pushed onto the sphere.

    Has 10 * 4**s + 2 vertices and 20 * 4**s faces (s = 3: 642 and 1280), outward-oriented.
    """
    check_positive("subdivisions", subdivisions, integer=True, allow_zero=True)
    check_positive("radius", radius)
    if subdivisions > 7:
        raise ValueError(f"subdivisions must be <= 7 (about 164k vertices), got {subdivisions}")
    vertices = np.asarray(_ICOSAHEDRON_VERTICES, dtype=np.float64)
    faces = np.asarray(_ICOSAHEDRON_FACES, dtype=np.int64)
    for _ in range(subdivisions):
        vertices, faces = _subdivide(vertices, faces)
    vertices = radius * vertices / np.linalg.norm(vertices, axis=1, keepdims=True)
    return TriangleMesh(
        vertices=torch.from_numpy(vertices).to(dtype=dtype, device=device),
        faces=torch.from_numpy(faces).to(device=device),
    )


def radial_bumps(directions, amplitude: float = 0.25, n_bumps: int = 6, width: float = 4.0, seed=None):
    """A smooth radius function on the sphere: 1 plus signed Gaussian bumps around random centres.

    $$r(u) = 1 + \\frac{A}{\\max|\\cdot|} \\sum_{k=1}^{K} s_k \\exp\\big(w (c_k^\\top u - 1)\\big),
       \\quad s_k = \\pm 1,$$

    rescaled so that the largest deviation from 1 is ``amplitude`` (checked on the given directions),
    which keeps the surface star-shaped for amplitude < 1.

    Args:
        directions: (N, 3) unit vectors u. amplitude: largest |r - 1|, in (0, 1).
        n_bumps: K. width: w, larger gives narrower bumps. seed: int, generator or None.
    Returns:
        (N,) radii, in the dtype and on the device of ``directions``.
    """
    check_tensor("directions", directions, dim=2, floating=True)
    if directions.shape[1] != 3:
        raise ValueError(f"directions must have shape (N, 3), got {tuple(directions.shape)}")
    check_positive("amplitude", amplitude)
    if amplitude >= 1:
        raise ValueError(f"amplitude must be < 1 to keep the surface star-shaped, got {amplitude}")
    check_positive("n_bumps", n_bumps, integer=True)
    check_positive("width", width)
    generator = as_generator(seed)
    centres = torch.randn(n_bumps, 3, generator=generator, dtype=torch.float64)
    centres = centres / centres.norm(dim=1, keepdim=True)  # (K, 3) unit
    signs = torch.where(torch.rand(n_bumps, generator=generator, dtype=torch.float64) < 0.5, -1.0, 1.0)
    centres, signs = centres.to(directions), signs.to(directions)
    field = torch.exp(width * (directions @ centres.T - 1)) @ signs  # (N,)
    return 1 + amplitude * field / field.abs().max().clamp_min(torch.finfo(field.dtype).tiny)


def bumpy_sphere(
    subdivisions: int = 4,
    amplitude: float = 0.25,
    n_bumps: int = 6,
    width: float = 4.0,
    seed=None,
    dtype=torch.float32,
    device=None,
) -> TriangleMesh:
    """A star-shaped target: icosphere vertices u moved to r(u) u with :func:`radial_bumps`."""
    sphere = icosphere(subdivisions, dtype=torch.float64)
    radii = radial_bumps(sphere.vertices, amplitude, n_bumps, width, seed)
    vertices = radii.unsqueeze(1) * sphere.vertices  # (V, 3)
    return TriangleMesh(vertices=vertices.to(dtype=dtype, device=device), faces=sphere.faces.to(device))
