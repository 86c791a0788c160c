"""WKS and HKS: naive reference formulas, isometry invariance, bad inputs."""

import math

import pytest
import torch

from paperlab.data import icosphere, random_rotation
from paperlab.solvers import heat_kernel_signature, laplace_beltrami_eigenpairs, wave_kernel_signature

f64 = torch.float64


def eigenpairs(rotation=None):
    mesh = icosphere(3, dtype=f64)
    vertices = mesh.vertices * torch.tensor([1.5, 1.0, 0.7], dtype=f64)
    if rotation is not None:
        vertices = vertices @ rotation.T
    return laplace_beltrami_eigenpairs(vertices, mesh.faces, k=20)


def test_wks_matches_the_formula_term_by_term():
    eig = eigenpairs()
    wks = wave_kernel_signature(eig.eigenvalues, eig.eigenvectors, n_energies=50, variance=7.0)
    logs = eig.eigenvalues[1:].log()
    sigma = 7.0 * (logs.max() - logs.min()).item() / 50
    energies = torch.linspace(logs.min().item() + 2 * sigma, logs.max().item() - 2 * sigma, 50, dtype=f64)
    for e_index, e in list(enumerate(energies))[::7]:
        weights = [math.exp(-((e - lv).item() ** 2) / (2 * sigma**2)) for lv in logs]
        expected = sum(w * eig.eigenvectors[:, i + 1] ** 2 for i, w in enumerate(weights)) / sum(weights)
        torch.testing.assert_close(wks[:, e_index], expected)


def test_hks_matches_the_formula_and_tends_to_one_over_area():
    eig = eigenpairs()
    times = torch.tensor([0.01, 0.1, 100.0], dtype=f64)
    hks = heat_kernel_signature(eig.eigenvalues, eig.eigenvectors, times)
    expected = sum(torch.exp(-eig.eigenvalues[i] * times) * eig.eigenvectors[:, [i]] ** 2 for i in range(20))
    torch.testing.assert_close(hks, expected)
    torch.testing.assert_close(
        hks[:, 2], torch.full_like(hks[:, 2], 1 / eig.mass.sum().item()), rtol=1e-6, atol=0
    )


def test_descriptors_are_invariant_to_rigid_motions():
    plain, turned = eigenpairs(), eigenpairs(random_rotation(3))
    torch.testing.assert_close(
        wave_kernel_signature(plain.eigenvalues, plain.eigenvectors),
        wave_kernel_signature(turned.eigenvalues, turned.eigenvectors),
        rtol=1e-6,
        atol=1e-8,
    )


def test_bad_inputs():
    eig = eigenpairs()
    with pytest.raises(ValueError, match="one column per eigenvalue"):
        wave_kernel_signature(eig.eigenvalues[:5], eig.eigenvectors)
    with pytest.raises(ValueError, match="non-negative"):
        wave_kernel_signature(-eig.eigenvalues, eig.eigenvectors)
    with pytest.raises(ValueError, match="times must be > 0"):
        heat_kernel_signature(eig.eigenvalues, eig.eigenvectors, torch.tensor([0.0, 1.0], dtype=f64))
    with pytest.raises(ValueError, match="at least two positive eigenvalues"):
        wave_kernel_signature(torch.zeros(3, dtype=f64), eig.eigenvectors[:, :3])
