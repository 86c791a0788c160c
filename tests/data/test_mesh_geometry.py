"""Face areas and normals, vertex areas, area-weighted surface sampling: closed forms and moments."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.data import face_areas, face_normals, icosphere, sample_surface, vertex_areas

f64 = torch.float64
coordinates = st.lists(st.floats(-5, 5, allow_nan=False), min_size=9, max_size=9)


@settings(max_examples=25, deadline=None)
@given(coordinates)
def test_face_area_matches_herons_formula(values):
    vertices = torch.tensor(values, dtype=f64).reshape(3, 3)
    faces = torch.tensor([[0, 1, 2]])
    a, b, c = (
        np.linalg.norm(np.subtract(*vertices[list(pair)].numpy())) for pair in [(0, 1), (1, 2), (2, 0)]
    )
    s = (a + b + c) / 2
    heron = np.sqrt(max(s * (s - a) * (s - b) * (s - c), 0.0))
    assert face_areas(vertices, faces).item() == pytest.approx(heron, abs=1e-6 * (1 + s**2))


def test_normals_follow_the_right_hand_rule_and_vertex_areas_sum_to_the_area():
    vertices = torch.tensor([[0, 0, 0], [2, 0, 0], [0, 3, 0], [0, 0, 1]], dtype=f64)
    faces = torch.tensor([[0, 1, 2], [0, 3, 1]])
    torch.testing.assert_close(
        face_normals(vertices, faces), torch.tensor([[0, 0, 1.0], [0, 1.0, 0]], dtype=f64)
    )
    torch.testing.assert_close(face_areas(vertices, faces), torch.tensor([3.0, 1.0], dtype=f64))
    torch.testing.assert_close(
        vertex_areas(vertices, faces), torch.tensor([4 / 3, 4 / 3, 1.0, 1 / 3], dtype=f64)
    )


def test_faces_are_drawn_in_proportion_to_area_and_points_lie_inside():
    vertices = torch.tensor([[0, 0, 0], [1, 0, 0], [0, 1, 0], [3, 0, 0], [0, 3, 0]], dtype=f64)
    faces = torch.tensor([[0, 1, 2], [0, 3, 4]])  # areas 0.5 and 4.5
    sample = sample_surface(vertices, faces, 20_000, seed=0)
    share = (sample.face_index == 0).double().mean().item()
    assert abs(share - 0.1) < 4 * (0.1 * 0.9 / 20_000) ** 0.5
    assert (sample.barycentric >= 0).all()
    torch.testing.assert_close(sample.barycentric.sum(dim=1), torch.ones(20_000, dtype=f64))
    # inside the small triangle the points are uniform: mean of x is 1/3
    x_small = sample.points[sample.face_index == 0, 0]
    assert abs(x_small.mean().item() - 1 / 3) < 4 * x_small.std().item() / len(x_small) ** 0.5


def test_samples_of_a_fine_icosphere_have_the_uniform_sphere_moments():
    mesh = icosphere(4, dtype=f64)
    points = sample_surface(mesh.vertices, mesh.faces, 40_000, seed=1).points
    assert points.mean(dim=0).abs().max().item() < 0.02
    second = points.T @ points / len(points)  # E[x x^T] = I / 3 for the uniform law on the sphere
    torch.testing.assert_close(second, torch.eye(3, dtype=f64) / 3, atol=0.01, rtol=0)


def test_samples_are_differentiable_in_the_vertices_and_seeded():
    mesh = icosphere(1, dtype=f64)
    vertices = mesh.vertices.clone().requires_grad_(True)
    sample = sample_surface(vertices, mesh.faces, 100, seed=3)
    (grad,) = torch.autograd.grad(sample.points.sum(), vertices)
    torch.testing.assert_close(grad.sum(), torch.tensor(300.0, dtype=f64))  # barycentric weights sum to 1
    torch.testing.assert_close(sample.points, sample_surface(mesh.vertices, mesh.faces, 100, seed=3).points)


def test_bad_inputs():
    vertices, faces = torch.zeros(3, 3), torch.tensor([[0, 1, 2]])
    with pytest.raises(ValueError, match="faces must index vertices"):
        face_areas(vertices, torch.tensor([[0, 1, 3]]))
    with pytest.raises(ValueError, match="faces must be an integer tensor"):
        face_areas(vertices, faces.float())
    with pytest.raises(ValueError, match="vertices must have shape"):
        face_normals(torch.zeros(3, 2), faces)
    with pytest.raises(ValueError, match="finite"):
        vertex_areas(torch.full((3, 3), float("nan")), faces)
    with pytest.raises(ValueError, match="zero surface area"):
        sample_surface(vertices, faces, 10)
    with pytest.raises(ValueError, match="n must be > 0"):
        sample_surface(torch.eye(3), faces, 0)
