"""Functional maps: closed-form rows vs a Kronecker least-squares reference, recovery of a known map,
penalties, point-to-point conversion, gradients, bad inputs."""

import numpy as np
import pytest
import torch

from paperlab.data import icosphere
from paperlab.solvers import (
    fmap_penalties,
    fmap_to_pointwise,
    functional_map,
    laplace_beltrami_eigenpairs,
    spectral_coefficients,
)

f64 = torch.float64


def test_rows_solve_the_regularized_least_squares_problem():
    g = torch.Generator().manual_seed(0)
    k, c = 6, 9
    A, B = torch.randn(k, c, generator=g, dtype=f64), torch.randn(k, c, generator=g, dtype=f64)
    la, lb = (
        torch.rand(k, generator=g, dtype=f64).sort().values,
        torch.rand(k, generator=g, dtype=f64).sort().values,
    )
    lam = 0.3
    C = functional_map(A, B, la, lb, lam=lam)
    # reference: vec(C) by stacking ||C A - B||^2 and lam ||C La - Lb C||^2 as one linear least squares
    scale = max(la.max(), lb.max()).item()
    mu_a, mu_b = (la / scale).numpy(), (lb / scale).numpy()
    I = np.eye(k)
    data_rows = np.kron(I, A.numpy().T)  # vec(C A) with C row-major: (C A)_{i,:} = c_i^T A
    commute = np.kron(I, np.diag(mu_a)) - np.kron(np.diag(mu_b), I)  # vec(C La - Lb C), row-major
    design = np.vstack([data_rows, np.sqrt(lam) * commute])
    target = np.concatenate([B.numpy().reshape(-1), np.zeros(k * k)])
    reference = np.linalg.lstsq(design, target, rcond=None)[0].reshape(k, k)
    np.testing.assert_allclose(C.numpy(), reference, rtol=1e-9, atol=1e-10)


def test_recovers_the_identity_and_the_pointwise_map_of_a_relabelled_mesh():
    mesh = icosphere(2, dtype=f64)
    vertices = mesh.vertices * torch.tensor([1.4, 1.0, 0.75], dtype=f64)
    perm = torch.randperm(vertices.shape[0], generator=torch.Generator().manual_seed(1))
    inverse = torch.argsort(perm)
    eig_a = laplace_beltrami_eigenpairs(vertices, mesh.faces, k=10)
    eig_b = laplace_beltrami_eigenpairs(
        vertices[perm], inverse[mesh.faces], k=10
    )  # the same shape, relabelled
    features = torch.randn(vertices.shape[0], 40, generator=torch.Generator().manual_seed(2), dtype=f64)
    coef_a = spectral_coefficients(features, eig_a.eigenvectors, eig_a.mass)
    coef_b = spectral_coefficients(features[perm], eig_b.eigenvectors, eig_b.mass)
    C = functional_map(coef_a, coef_b, eig_a.eigenvalues, eig_b.eigenvalues)
    # eigenvalues are simple on this ellipsoid up to sign flips of eigenvectors, so C is diagonal with +-1
    torch.testing.assert_close(C.abs(), torch.eye(10, dtype=f64), atol=1e-6, rtol=0)
    pointwise = fmap_to_pointwise(C, eig_a.eigenvectors, eig_b.eigenvectors)
    assert (pointwise == perm).float().mean() > 0.99
    penalties = fmap_penalties(C, C.T, eig_a.eigenvalues, eig_b.eigenvalues)
    assert penalties.orthogonality.item() < 1e-9 and penalties.bijectivity.item() < 1e-9
    assert penalties.laplacian.item() < 1e-9


def test_penalties_match_their_definitions_and_are_differentiable():
    g = torch.Generator().manual_seed(3)
    C_ab = torch.randn(5, 5, generator=g, dtype=f64, requires_grad=True)
    C_ba = torch.randn(5, 5, generator=g, dtype=f64)
    la, lb = torch.arange(5, dtype=f64), 2 * torch.arange(5, dtype=f64)
    penalties = fmap_penalties(C_ab, C_ba, la, lb)
    I = torch.eye(5, dtype=f64)
    expected_bij = ((C_ab @ C_ba - I) ** 2).sum() + ((C_ba @ C_ab - I) ** 2).sum()
    torch.testing.assert_close(penalties.bijectivity, expected_bij)
    mu_a, mu_b = la / 8, lb / 8
    expected_lap = ((C_ab @ torch.diag(mu_a) - torch.diag(mu_b) @ C_ab) ** 2).sum() + (
        (C_ba @ torch.diag(mu_b) - torch.diag(mu_a) @ C_ba) ** 2
    ).sum()
    torch.testing.assert_close(penalties.laplacian, expected_lap)
    torch.autograd.gradcheck(lambda C: fmap_penalties(C, C_ba, la, lb).orthogonality, (C_ab,))


def test_map_is_differentiable_in_the_coefficients():
    g = torch.Generator().manual_seed(4)
    A = torch.randn(4, 6, generator=g, dtype=f64, requires_grad=True)
    B = torch.randn(4, 6, generator=g, dtype=f64)
    la, lb = torch.tensor([0.0, 1.0, 2.0, 3.0], dtype=f64), torch.tensor([0.0, 1.1, 2.2, 2.9], dtype=f64)
    torch.autograd.gradcheck(lambda a: functional_map(a, B, la, lb, lam=0.1), (A,))


def test_bad_inputs():
    A = torch.randn(4, 6, dtype=f64)
    la = torch.arange(4, dtype=f64)
    with pytest.raises(ValueError, match="same shape"):
        functional_map(A, torch.randn(4, 5, dtype=f64), la, la)
    with pytest.raises(ValueError, match="eigenvalues_b must have 4 entries"):
        functional_map(A, A, la, la[:3])
    with pytest.raises(ValueError, match="lam must be >= 0"):
        functional_map(A, A, la, la, lam=-1.0)
    with pytest.raises(ValueError, match="same number of vertices"):
        spectral_coefficients(
            torch.randn(10, 3, dtype=f64), torch.randn(9, 4, dtype=f64), torch.ones(10, dtype=f64)
        )
    with pytest.raises(ValueError, match="square of the same size"):
        fmap_penalties(torch.randn(3, 4, dtype=f64), torch.randn(3, 3, dtype=f64), la[:3], la[:3])
    with pytest.raises(ValueError, match="eigenvectors must have 4 columns"):
        fmap_to_pointwise(
            torch.eye(4, dtype=f64), torch.randn(10, 3, dtype=f64), torch.randn(10, 4, dtype=f64)
        )
