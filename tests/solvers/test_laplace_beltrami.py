"""Cotangent Laplacian and its eigenpairs: sphere spectrum l(l+1), dense SciPy reference, structure, bad inputs."""

import numpy as np
import pytest
import scipy.linalg
import torch

from paperlab.data import icosphere, vertex_areas
from paperlab.solvers import cotangent_laplacian, laplace_beltrami_eigenpairs

f64 = torch.float64


def test_the_sphere_spectrum_is_l_times_l_plus_one_with_multiplicity_2l_plus_1():
    mesh = icosphere(4, dtype=f64)
    eig = laplace_beltrami_eigenpairs(mesh.vertices, mesh.faces, k=25)
    expected = np.repeat([l * (l + 1) for l in range(5)], [2 * l + 1 for l in range(5)])
    np.testing.assert_allclose(eig.eigenvalues.numpy(), expected, rtol=0.01, atol=1e-8)
    gram = eig.eigenvectors.T @ (eig.mass.unsqueeze(1) * eig.eigenvectors)
    torch.testing.assert_close(gram, torch.eye(25, dtype=f64), atol=1e-10, rtol=0)
    first = eig.eigenvectors[:, 0]
    torch.testing.assert_close(first, torch.full_like(first, first.mean().item()))  # constant


def test_matches_a_dense_generalized_eigensolver():
    mesh = icosphere(2, dtype=f64)
    vertices = mesh.vertices * torch.tensor([1.4, 1.0, 0.8], dtype=f64)  # an ellipsoid: distinct eigenvalues
    L = cotangent_laplacian(vertices, mesh.faces).toarray()
    M = np.diag(vertex_areas(vertices, mesh.faces).numpy())
    reference = scipy.linalg.eigh(L, M, eigvals_only=True)[:12]
    eig = laplace_beltrami_eigenpairs(vertices, mesh.faces, k=12)
    np.testing.assert_allclose(eig.eigenvalues.numpy(), np.clip(reference, 0, None), rtol=1e-8, atol=1e-9)
    residual = L @ eig.eigenvectors.numpy() - M @ eig.eigenvectors.numpy() * eig.eigenvalues.numpy()
    assert np.abs(residual).max() < 1e-8


def test_stiffness_is_symmetric_with_zero_row_sums_and_psd():
    mesh = icosphere(2, dtype=f64)
    L = cotangent_laplacian(mesh.vertices, mesh.faces)
    assert abs(L - L.T).max() < 1e-12
    np.testing.assert_allclose(np.asarray(L.sum(axis=1)).ravel(), 0, atol=1e-12)
    assert np.linalg.eigvalsh(L.toarray()).min() > -1e-10


def test_flat_right_triangle_fan_has_the_textbook_weights():
    # a unit square split into two triangles: the diagonal's opposite angles are both 90 degrees (cot 0),
    # every side's opposite angle is 45 degrees (cot 1), so side weights are 1/2 and the diagonal's 0
    vertices = torch.tensor([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], dtype=f64)
    faces = torch.tensor([[0, 1, 2], [0, 2, 3]])
    L = cotangent_laplacian(vertices, faces).toarray()
    assert L[0, 1] == pytest.approx(-0.5) and L[0, 3] == pytest.approx(-0.5)
    assert L[0, 2] == pytest.approx(0.0, abs=1e-12)


def test_bad_inputs():
    mesh = icosphere(1)
    with pytest.raises(ValueError, match="k must be smaller"):
        laplace_beltrami_eigenpairs(mesh.vertices, mesh.faces, k=42)
    with pytest.raises(ValueError, match="k must be > 0"):
        laplace_beltrami_eigenpairs(mesh.vertices, mesh.faces, k=0)
    with pytest.raises(ValueError, match="faces must index vertices"):
        cotangent_laplacian(mesh.vertices[:10], mesh.faces)
