"""Mesh geodesics and correspondence error: a path graph, the sphere's great circle, SciPy-free checks, bad inputs."""

import math

import pytest
import torch

from paperlab.data import icosphere
from paperlab.metrics import geodesic_error, mesh_area, mesh_geodesic_distances

f64 = torch.float64


def test_antipodal_distance_on_a_fine_sphere_approaches_pi():
    mesh = icosphere(4, dtype=f64)
    top = int(mesh.vertices[:, 2].argmax())
    bottom = int(mesh.vertices[:, 2].argmin())
    distances = mesh_geodesic_distances(mesh.vertices, mesh.faces, sources=[top])
    assert distances.shape == (1, mesh.vertices.shape[0])
    arc = torch.arccos(mesh.vertices[top] @ mesh.vertices[bottom]).item()  # great-circle distance, about pi
    # edge paths zigzag around the great circle: a few percent longer, shorter only by the tiny chord deficit
    assert arc * (1 - 1e-3) <= distances[0, bottom].item() <= 1.1 * arc
    assert arc == pytest.approx(math.pi, rel=0.01)


def test_distances_are_symmetric_metric_and_exact_on_a_flat_strip():
    vertices = torch.tensor([[0, 0, 0], [1, 0, 0], [2, 0, 0], [0, 1, 0], [1, 1, 0], [2, 1, 0]], dtype=f64)
    faces = torch.tensor([[0, 1, 4], [0, 4, 3], [1, 2, 5], [1, 5, 4]])
    D = mesh_geodesic_distances(vertices, faces)
    torch.testing.assert_close(D, D.T)
    assert D[0, 2].item() == pytest.approx(2.0)
    assert D[0, 5].item() == pytest.approx(1 + math.sqrt(2))  # along the diagonal edge 0-4, then 4-5
    assert (D[:, :, None] <= D[:, None, :] + D.T[None, :, :] + 1e-12).all()  # triangle inequality


def test_error_is_zero_for_the_truth_and_normalised_by_sqrt_area():
    mesh = icosphere(2, dtype=f64)
    D = mesh_geodesic_distances(mesh.vertices, mesh.faces)
    area = mesh_area(mesh.vertices, mesh.faces)
    truth = torch.arange(162)
    assert geodesic_error(truth, truth, D, area).item() == 0.0
    shifted = torch.roll(truth, 1)
    expected = D[shifted, truth].mean().item() / math.sqrt(area)
    assert geodesic_error(shifted, truth, D, area).item() == pytest.approx(expected)
    assert area == pytest.approx(4 * math.pi, rel=0.02)


def test_bad_inputs():
    D = torch.zeros(5, 5, dtype=f64)
    with pytest.raises(ValueError, match="predicted must index"):
        geodesic_error(torch.tensor([0, 7]), torch.tensor([0, 1]), D, 1.0)
    with pytest.raises(ValueError, match="same shape"):
        geodesic_error(torch.tensor([0, 1]), torch.tensor([0]), D, 1.0)
    with pytest.raises(ValueError, match="area must be > 0"):
        geodesic_error(torch.tensor([0]), torch.tensor([0]), D, 0.0)
    with pytest.raises(ValueError, match="must be square"):
        geodesic_error(torch.tensor([0]), torch.tensor([0]), torch.zeros(5, 4, dtype=f64), 1.0)
