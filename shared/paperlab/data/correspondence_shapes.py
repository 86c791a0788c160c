"""Shape pairs with known correspondence: independent samplings of one bumpy sphere, each its own mesh.

Every shape draws its own n points u_i uniformly on the unit sphere, triangulates them by their convex hull
(so two shapes share no connectivity), and maps them to r(u) u with a base radius function shared by all
shapes times a small shape-specific perturbation (a near-isometric deformation). The sphere coordinates u_i
give the ground truth: the true match of a point is the vertex of the other shape whose u is nearest. The
synthetic stand-in for FAUST/SCAPE in "Integrating Efficient Optimal Transport and Functional Maps For
Unsupervised Shape Correspondence Learning" (2024).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.spatial import ConvexHull

from paperlab._checks import check_positive, check_tensor
from paperlab._random import as_generator
from paperlab.data.meshes import TriangleMesh, radial_bumps


@dataclass
class CorrespondenceShape:
    """A ``mesh`` and the unit ``sphere_points`` (V, 3) its vertices come from (the ground-truth parameter)."""

    mesh: TriangleMesh
    sphere_points: torch.Tensor


def sphere_hull_mesh(n_vertices: int, seed=None) -> TriangleMesh:
    """A random triangulation of the unit sphere: n uniform points and their convex hull, faces outward (float64)."""
    check_positive("n_vertices", n_vertices, integer=True)
    if n_vertices < 4:
        raise ValueError(f"n_vertices must be >= 4, got {n_vertices}")
    gaussian = torch.randn(n_vertices, 3, generator=as_generator(seed), dtype=torch.float64)
    points = gaussian / gaussian.norm(dim=1, keepdim=True)
    faces = ConvexHull(points.numpy()).simplices.astype(np.int64)
    corners = points.numpy()[faces]  # (F, 3, 3)
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    inward = (normals * corners.mean(axis=1)).sum(axis=1) < 0
    faces[inward] = faces[inward][:, ::-1]
    return TriangleMesh(vertices=points, faces=torch.from_numpy(faces.copy()))


def correspondence_shapes(
    n_shapes: int,
    n_vertices: int = 600,
    amplitude: float = 0.6,
    width: float = 10.0,
    n_bumps: int = 6,
    axes=(1.5, 1.0, 0.7),
    perturbation: float = 0.05,
    seed=None,
    dtype=torch.float64,
) -> list[CorrespondenceShape]:
    """``n_shapes`` independent samplings of one bumpy sphere, each near-isometrically perturbed.

    A vertex is diag(axes) r_base(u) r_shape(u) u: an ellipsoid (which breaks the sphere's rotational
    symmetry) with ``n_bumps`` bumps of the given ``amplitude`` and ``width`` shared by all shapes, times
    r_shape, four wide bumps of amplitude ``perturbation`` drawn per shape (both :func:`radial_bumps`).
    """
    check_positive("n_shapes", n_shapes, integer=True)
    check_positive("perturbation", perturbation, allow_zero=True)
    generator = as_generator(seed)
    scales = torch.as_tensor(axes, dtype=torch.float64)
    if scales.shape != (3,) or bool((scales <= 0).any()):
        raise ValueError(f"axes must be 3 positive numbers, got {axes!r}")
    base_seed = int(torch.randint(2**31, (1,), generator=generator))
    shapes = []
    for _ in range(n_shapes):
        sphere = sphere_hull_mesh(n_vertices, generator)
        u = sphere.vertices
        radius = radial_bumps(u, amplitude, n_bumps, width, seed=base_seed)
        if perturbation > 0:
            radius = radius * radial_bumps(u, perturbation, n_bumps=4, seed=generator)
        vertices = radius.unsqueeze(1) * u * scales  # (V, 3)
        mesh = TriangleMesh(vertices=vertices.to(dtype), faces=sphere.faces)
        shapes.append(CorrespondenceShape(mesh=mesh, sphere_points=u.to(dtype)))
    return shapes


def ground_truth_map(sphere_points_a, sphere_points_b) -> torch.Tensor:
    """(V_B,) the vertex of A whose sphere point is nearest to each sphere point of B."""
    check_tensor("sphere_points_a", sphere_points_a, dim=2, floating=True)
    check_tensor("sphere_points_b", sphere_points_b, dim=2, floating=True)
    return torch.cdist(sphere_points_b, sphere_points_a).argmin(dim=1)
