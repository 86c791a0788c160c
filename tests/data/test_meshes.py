"""Icosphere and bumpy-sphere meshes: counts, closedness, orientation, area against 4 pi, radii, bad inputs."""

import math

import pytest
import torch

from paperlab.data import bumpy_sphere, face_areas, face_normals, icosphere, mesh_edges, radial_bumps
from paperlab.metrics import face_adjacency

f64 = torch.float64


@pytest.mark.parametrize("s", [0, 1, 2, 3])
def test_icosphere_counts_and_closed_surface(s):
    mesh = icosphere(s, dtype=f64)
    V, F, E = mesh.vertices.shape[0], mesh.faces.shape[0], mesh_edges(mesh.faces).shape[0]
    assert (V, F) == (10 * 4**s + 2, 20 * 4**s)
    assert V - E + F == 2  # Euler characteristic of the sphere
    assert face_adjacency(mesh.faces).shape[0] == E  # every edge is shared by exactly two faces
    torch.testing.assert_close(mesh.vertices.norm(dim=1), torch.ones(V, dtype=f64))


def test_icosphere_faces_point_outwards_and_area_converges_to_4pi():
    areas = []
    for s in range(5):
        mesh = icosphere(s, radius=2.0, dtype=f64)
        centroids = mesh.vertices[mesh.faces].mean(dim=1)
        assert ((face_normals(mesh.vertices, mesh.faces) * centroids).sum(dim=1) > 0).all()
        areas.append(face_areas(mesh.vertices, mesh.faces).sum().item())
    exact = 4 * math.pi * 2.0**2
    assert all(a < b < exact for a, b in zip(areas, areas[1:]))  # inscribed polyhedra grow towards the sphere
    assert abs(areas[-1] - exact) / exact < 2e-3
    # the area deficit falls like h^2, a factor about 4 per subdivision
    assert 3.5 < (exact - areas[-2]) / (exact - areas[-1]) < 4.5


def test_bumpy_sphere_radii_stay_within_the_amplitude_and_are_seeded():
    mesh = bumpy_sphere(3, amplitude=0.3, seed=0, dtype=f64)
    radii = mesh.vertices.norm(dim=1)
    assert (radii - 1).abs().max().item() == pytest.approx(0.3, rel=1e-12)
    assert radii.std().item() > 0.02
    torch.testing.assert_close(mesh.vertices, bumpy_sphere(3, amplitude=0.3, seed=0, dtype=f64).vertices)
    assert not torch.equal(mesh.vertices, bumpy_sphere(3, amplitude=0.3, seed=1, dtype=f64).vertices)
    torch.testing.assert_close(mesh.faces, icosphere(3).faces)


def test_bad_inputs():
    with pytest.raises(ValueError, match="subdivisions must be >= 0"):
        icosphere(-1)
    with pytest.raises(TypeError, match="subdivisions must be an integer"):
        icosphere(1.5)
    with pytest.raises(ValueError, match="subdivisions must be <= 7"):
        icosphere(9)
    with pytest.raises(ValueError, match="amplitude must be < 1"):
        bumpy_sphere(2, amplitude=1.2)
    with pytest.raises(ValueError, match="directions must have shape"):
        radial_bumps(torch.ones(5, 2))
    with pytest.raises(ValueError, match="n_bumps must be > 0"):
        radial_bumps(torch.ones(5, 3), n_bumps=0)
