"""Geometry of triangle meshes: face areas and normals, vertex areas, edges, area-weighted surface samples.

Every function takes ``vertices`` (V, 3) floating and ``faces`` (F, 3) int64, and is differentiable in the
vertices, so that a loss on a deformed mesh can move them ("Diffeomorphic Mesh Deformation via Efficient
Optimal Transport for Cortical Surface Reconstruction" (2023)).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from paperlab._checks import check_positive, check_tensor
from paperlab._random import as_generator


def check_mesh(vertices, faces) -> None:
    """Check ``vertices`` (V, 3) finite floating and ``faces`` (F, 3) integer indices into them."""
    check_tensor("vertices", vertices, dim=2, floating=True)
    if vertices.shape[1] != 3:
        raise ValueError(f"vertices must have shape (V, 3), got {tuple(vertices.shape)}")
    check_tensor("faces", faces, dim=2)
    if faces.shape[1] != 3 or faces.dtype not in (torch.int32, torch.int64):
        raise ValueError(
            f"faces must be an integer tensor of shape (F, 3), got {faces.dtype} {tuple(faces.shape)}"
        )
    if int(faces.min()) < 0 or int(faces.max()) >= vertices.shape[0]:
        raise ValueError(
            f"faces must index vertices 0..{vertices.shape[0] - 1}, got range {int(faces.min())}..{int(faces.max())}"
        )


def _face_cross(vertices, faces) -> torch.Tensor:
    """(F, 3) cross products (v1 - v0) x (v2 - v0): twice the area times the unit normal."""
    v0, v1, v2 = vertices[faces].unbind(1)  # each (F, 3)
    return torch.linalg.cross(v1 - v0, v2 - v0, dim=-1)


def face_areas(vertices, faces) -> torch.Tensor:
    """(F,) triangle areas |(v1 - v0) x (v2 - v0)| / 2."""
    check_mesh(vertices, faces)
    return _face_cross(vertices, faces).norm(dim=-1) / 2


def face_normals(vertices, faces) -> torch.Tensor:
    """(F, 3) unit normals by the right-hand rule (outwards for counter-clockwise faces)."""
    check_mesh(vertices, faces)
    cross = _face_cross(vertices, faces)
    return cross / cross.norm(dim=-1, keepdim=True).clamp_min(torch.finfo(cross.dtype).tiny)


def vertex_areas(vertices, faces) -> torch.Tensor:
    """(V,) barycentric vertex areas: a third of the area of every face around the vertex.

    They sum to the surface area and are the lumped mass matrix of linear finite elements.
    """
    areas = face_areas(vertices, faces)
    out = torch.zeros(vertices.shape[0], dtype=vertices.dtype, device=vertices.device)
    return out.index_add(0, faces.reshape(-1), (areas / 3).repeat_interleave(3))


def mesh_edges(faces) -> torch.Tensor:
    """(E, 2) the unique undirected edges of the faces, each as (smaller index, larger index)."""
    check_tensor("faces", faces, dim=2)
    if faces.shape[1] != 3:
        raise ValueError(f"faces must have shape (F, 3), got {tuple(faces.shape)}")
    edges = torch.cat([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])  # (3F, 2)
    return torch.unique(edges.sort(dim=1).values, dim=0)


@dataclass
class SurfaceSample:
    """Points drawn on a mesh: ``points`` (N, 3), the ``face_index`` (N,) and ``barycentric`` (N, 3) weights."""

    points: torch.Tensor
    face_index: torch.Tensor
    barycentric: torch.Tensor


def sample_surface(vertices, faces, n: int, seed=None) -> SurfaceSample:
    """n points uniform on the surface: faces drawn with probability proportional to area, then a uniform
    point inside the face.

    With r1, r2 ~ U(0, 1), the point (1 - sqrt(r1)) v0 + sqrt(r1)(1 - r2) v1 + sqrt(r1) r2 v2 is uniform on
    the triangle. The points are differentiable in ``vertices`` (the face choice is not).
    """
    check_mesh(vertices, faces)
    check_positive("n", n, integer=True)
    generator = as_generator(seed)
    areas = face_areas(vertices.detach(), faces).to(device="cpu", dtype=torch.float64)
    if float(areas.sum()) <= 0:
        raise ValueError("the mesh has zero surface area")
    face_index = torch.multinomial(areas, n, replacement=True, generator=generator)  # (n,)
    r1, r2 = torch.rand(2, n, generator=generator, dtype=torch.float64)
    root = r1.sqrt()
    barycentric = torch.stack([1 - root, root * (1 - r2), root * r2], dim=1)  # (n, 3)
    face_index = face_index.to(faces.device)
    barycentric = barycentric.to(vertices)
    corners = vertices[faces[face_index]]  # (n, 3 corners, 3 coordinates)
    points = (barycentric.unsqueeze(-1) * corners).sum(dim=1)  # (n, 3)
    return SurfaceSample(points=points, face_index=face_index, barycentric=barycentric)
