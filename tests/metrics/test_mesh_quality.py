"""Mesh quality: flipped faces counted exactly, tetrahedron normal cosines -1/3, edge spread, adjacency."""

import math

import pytest
import torch

from paperlab.data import face_normals, icosphere
from paperlab.metrics import face_adjacency, mesh_quality

f64 = torch.float64


def regular_tetrahedron():
    vertices = torch.tensor([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=f64)
    faces = torch.tensor([[0, 1, 2], [0, 3, 1], [0, 2, 3], [1, 3, 2]])  # outward
    return vertices, faces


def test_regular_tetrahedron_closed_forms():
    vertices, faces = regular_tetrahedron()
    quality = mesh_quality(vertices, faces)
    assert quality.flipped_faces == 0
    assert quality.normal_consistency == pytest.approx(-1 / 3, abs=1e-12)  # normals meet at arccos(-1/3)
    assert quality.edge_length_cv == pytest.approx(0.0, abs=1e-12)


def test_reversed_faces_are_counted_one_by_one():
    mesh = icosphere(2, dtype=f64)
    reference = face_normals(mesh.vertices, mesh.faces)
    for k in (0, 1, 17):
        faces = mesh.faces.clone()
        faces[:k] = faces[:k].flip(1)  # reverse the orientation of the first k faces
        assert mesh_quality(mesh.vertices, faces, reference).flipped_faces == k
        assert mesh_quality(mesh.vertices, faces).flipped_faces == k


def test_a_pushed_in_vertex_flips_its_fan_and_lowers_consistency():
    mesh = icosphere(2, dtype=f64)
    reference = face_normals(mesh.vertices, mesh.faces)
    smooth = mesh_quality(mesh.vertices, mesh.faces, reference)
    dented = mesh.vertices.clone()
    dented[0] *= -0.5  # through the centre, to the other side: its whole fan of 5 faces folds over
    quality = mesh_quality(dented, mesh.faces, reference)
    assert quality.flipped_faces == 5
    assert quality.normal_consistency < smooth.normal_consistency
    assert quality.edge_length_cv > smooth.edge_length_cv


def test_face_adjacency_of_the_icosphere():
    faces = icosphere(1).faces
    pairs = face_adjacency(faces)
    assert pairs.shape == (120, 2)  # 80 faces x 3 neighbours / 2
    counts = torch.bincount(pairs.reshape(-1), minlength=80)
    assert (counts == 3).all()
    shared = [len(set(faces[i].tolist()) & set(faces[j].tolist())) for i, j in pairs.tolist()]
    assert set(shared) == {2}
    assert math.isclose(mesh_quality(icosphere(1).vertices, faces).flipped_faces, 0)


def test_bad_inputs():
    vertices, faces = regular_tetrahedron()
    with pytest.raises(ValueError, match="reference_normals must have shape"):
        mesh_quality(vertices, faces, torch.ones(3, 3, dtype=f64))
    with pytest.raises(ValueError, match="faces must index vertices"):
        mesh_quality(vertices, faces + 1)
