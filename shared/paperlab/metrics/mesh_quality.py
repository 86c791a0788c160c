"""Quality of a deformed triangle mesh: flipped faces, normal consistency, edge-length spread.

A diffeomorphic deformation keeps every face's orientation; a fold or self-intersection of the surface shows
as faces whose normal turns against a reference orientation (the template's outward normals). Smoothness shows
as the agreement of the normals of adjacent faces, and a regular triangulation as a small spread of edge
lengths. The measures of "Diffeomorphic Mesh Deformation via Efficient Optimal Transport for Cortical
Surface Reconstruction" (2023), in a form that needs no mesh-intersection library.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from paperlab._checks import check_tensor
from paperlab.data.mesh_geometry import check_mesh, face_normals, mesh_edges


@dataclass
class MeshQuality:
    """``flipped_faces``: faces with n_f . r_f < 0 for the reference orientations r_f (an int);
    ``normal_consistency``: mean cosine between the normals of faces sharing an edge (1 = flat);
    ``edge_length_cv``: standard deviation / mean of the edge lengths."""

    flipped_faces: int
    normal_consistency: float
    edge_length_cv: float


def face_adjacency(faces) -> torch.Tensor:
    """(P, 2) pairs of faces that share an edge (each interior edge once)."""
    check_tensor("faces", faces, dim=2)
    n_faces = faces.shape[0]
    edges = torch.cat([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]).sort(dim=1).values  # (3F, 2)
    owner = torch.arange(n_faces, device=faces.device).repeat(3)  # (3F,)
    _, edge_id = torch.unique(edges, dim=0, return_inverse=True)
    order = torch.argsort(edge_id, stable=True)
    sorted_id, sorted_owner = edge_id[order], owner[order]
    shared = sorted_id[1:] == sorted_id[:-1]  # consecutive half-edges of the same edge
    return torch.stack([sorted_owner[:-1][shared], sorted_owner[1:][shared]], dim=1)


def mesh_quality(vertices, faces, reference_normals=None) -> MeshQuality:
    """Flipped faces, normal consistency and edge-length spread of a mesh.

    Args:
        vertices: (V, 3), faces: (F, 3) int64.
        reference_normals: (F, 3) orientations to compare each face's normal with (e.g. the template's normals
            for a deformed template); None uses the direction from the vertex centroid to the face centroid,
            the outward direction of a star-shaped surface.
    """
    check_mesh(vertices, faces)
    with torch.no_grad():
        normals = face_normals(vertices, faces)
        if reference_normals is None:
            reference_normals = vertices[faces].mean(dim=1) - vertices.mean(dim=0)  # (F, 3)
        else:
            check_tensor("reference_normals", reference_normals, dim=2, floating=True)
            if reference_normals.shape != faces.shape:
                raise ValueError(
                    f"reference_normals must have shape {tuple(faces.shape)}, got {tuple(reference_normals.shape)}"
                )
        flipped = int(((normals * reference_normals.to(normals)).sum(dim=1) < 0).sum())
        pairs = face_adjacency(faces)
        consistency = (normals[pairs[:, 0]] * normals[pairs[:, 1]]).sum(dim=1).mean()
        edges = mesh_edges(faces)
        lengths = (vertices[edges[:, 0]] - vertices[edges[:, 1]]).norm(dim=1)
        spread = lengths.std() / lengths.mean()
    return MeshQuality(
        flipped_faces=flipped, normal_consistency=float(consistency), edge_length_cv=float(spread)
    )
