"""Correspondence accuracy on a mesh: geodesic distance between predicted and true matches.

$$\\mathrm{err}(T) = \\frac{1}{|B|} \\sum_{j \\in B} \\frac{d_A\\big(T(j), T^*(j)\\big)}{\\sqrt{\\mathrm{area}(A)}}$$

with d_A the geodesic distance on shape A, approximated by shortest paths along the mesh edges (Dijkstra,
SciPy), the protocol of "Integrating Efficient Optimal Transport and Functional Maps For Unsupervised Shape
Correspondence Learning" (2024) and of the shape-correspondence literature.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse
import scipy.sparse.csgraph
import torch

from paperlab._checks import check_tensor
from paperlab.data.mesh_geometry import check_mesh, face_areas, mesh_edges


def mesh_geodesic_distances(vertices, faces, sources=None) -> torch.Tensor:
    """(S, V) edge-graph shortest-path distances from ``sources`` (S,) vertex indices (all vertices if None)."""
    check_mesh(vertices, faces)
    edges = mesh_edges(faces).cpu().numpy()
    points = vertices.detach().cpu().double().numpy()
    lengths = np.linalg.norm(points[edges[:, 0]] - points[edges[:, 1]], axis=1)
    n = points.shape[0]
    graph = scipy.sparse.coo_matrix((lengths, (edges[:, 0], edges[:, 1])), shape=(n, n)).tocsr()
    indices = None if sources is None else torch.as_tensor(sources).cpu().numpy()
    distances = scipy.sparse.csgraph.dijkstra(graph, directed=False, indices=indices)
    return torch.from_numpy(np.atleast_2d(distances)).to(dtype=vertices.dtype, device=vertices.device)


def geodesic_error(predicted, target, geodesic_distances, area) -> torch.Tensor:
    """Mean of d_A(predicted_j, target_j) / sqrt(area) over the matched points; a scalar.

    Args:
        predicted, target: (N,) vertex indices on shape A (predicted and true matches of N points of B).
        geodesic_distances: (V_A, V_A) distances on A (:func:`mesh_geodesic_distances`). area: A's surface area.
    """
    check_tensor("predicted", predicted, dim=1)
    check_tensor("target", target, dim=1)
    if predicted.shape != target.shape:
        raise ValueError(
            f"predicted and target must have the same shape, got {tuple(predicted.shape)} and {tuple(target.shape)}"
        )
    check_tensor("geodesic_distances", geodesic_distances, dim=2, floating=True)
    V = geodesic_distances.shape[0]
    if geodesic_distances.shape != (V, V):
        raise ValueError(f"geodesic_distances must be square, got {tuple(geodesic_distances.shape)}")
    for name, index in (("predicted", predicted), ("target", target)):
        if int(index.min()) < 0 or int(index.max()) >= V:
            raise ValueError(
                f"{name} must index 0..{V - 1}, got range {int(index.min())}..{int(index.max())}"
            )
    area = float(area)
    if not area > 0:
        raise ValueError(f"area must be > 0, got {area}")
    return geodesic_distances[predicted, target].mean() / area**0.5


def mesh_area(vertices, faces) -> float:
    """Total surface area of a mesh (a float)."""
    return float(face_areas(vertices, faces).sum())
