"""Correspondence shapes: closed outward hull meshes, distinct connectivity, ground truth, bad inputs."""

import pytest
import torch

from paperlab.data import correspondence_shapes, face_normals, ground_truth_map, mesh_edges, sphere_hull_mesh

f64 = torch.float64


def test_hull_mesh_is_a_closed_outward_sphere_triangulation():
    mesh = sphere_hull_mesh(200, seed=0)
    V, F, E = 200, mesh.faces.shape[0], mesh_edges(mesh.faces).shape[0]
    assert V - E + F == 2 and F == 2 * V - 4
    assert ((face_normals(mesh.vertices, mesh.faces) * mesh.vertices[mesh.faces].mean(1)).sum(1) > 0).all()


def test_shapes_share_the_surface_but_not_the_sampling():
    a, b = correspondence_shapes(2, 300, perturbation=0.0, seed=1)
    assert not torch.equal(a.sphere_points, b.sphere_points)
    assert a.mesh.faces.shape == b.mesh.faces.shape and not torch.equal(a.mesh.faces, b.mesh.faces)
    # without perturbation the two shapes are samplings of one surface: matched points are close in space
    truth = ground_truth_map(a.sphere_points, b.sphere_points)
    gap = (a.mesh.vertices[truth] - b.mesh.vertices).norm(dim=1)
    spacing = (a.sphere_points[truth] - b.sphere_points).norm(dim=1)
    assert gap.median() < 3 * spacing.median()
    assert (ground_truth_map(a.sphere_points, a.sphere_points) == torch.arange(300)).all()


def test_bad_inputs():
    with pytest.raises(ValueError, match="n_vertices must be >= 4"):
        sphere_hull_mesh(3)
    with pytest.raises(ValueError, match="axes must be 3 positive numbers"):
        correspondence_shapes(1, 50, axes=(1.0, 0.0, 1.0))
    with pytest.raises(ValueError, match="n_shapes must be > 0"):
        correspondence_shapes(0)
