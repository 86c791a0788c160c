"""Tests for elastic costs, their gradients and the proximal operators of the regularizers."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar

from paperlab.distances import (
    cost_matrix,
    elastic_cost,
    elastic_cost_grad,
    elastic_cost_matrix,
    elastic_regularizer,
    prox_elastic,
)


def _z(seed=0, shape=(6, 5), scale=2.0):
    return scale * torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _brute_prox(w, gamma, regularizer):
    """argmin_u 1/2 (u - w)^2 + tau(u) for one coordinate, by bounded scalar minimization."""
    tau = lambda u: elastic_regularizer(torch.tensor([u], dtype=torch.float64), gamma, regularizer).item()  # noqa: E731
    best = minimize_scalar(
        lambda u: 0.5 * (u - w) ** 2 + tau(u),
        bounds=(-abs(w) - 1, abs(w) + 1),
        method="bounded",
        options={"xatol": 1e-12},
    )
    return best.x


def test_l1_prox_is_soft_thresholding():
    z = _z()
    expected = np.sign(z.numpy()) * np.maximum(np.abs(z.numpy()) - 0.7, 0)
    np.testing.assert_allclose(prox_elastic(z, 0.7, "l1").numpy(), expected, rtol=1e-15)


@pytest.mark.parametrize("regularizer", ["l1", "stvs"])
def test_prox_matches_brute_force_minimization(regularizer):
    z = _z(seed=1, shape=(12,))
    prox = prox_elastic(z, 0.8, regularizer)
    brute = np.array([_brute_prox(w, 0.8, regularizer) for w in z.tolist()])
    np.testing.assert_allclose(prox.numpy(), brute, atol=1e-6)


def test_stvs_closed_form_and_gradient_against_autograd():
    z = _z(seed=2)
    gamma = 0.6
    u = torch.asinh(z.abs() / (2 * gamma))
    expected = 0.5 * (z * z).sum(-1) + gamma**2 * (u - 0.5 * torch.exp(-2 * u) + 0.5).sum(-1)
    torch.testing.assert_close(elastic_cost(z, gamma, "stvs"), expected)
    torch.testing.assert_close(prox_elastic(z, gamma, "stvs"), z * (1 - gamma**2 / z**2).clamp_min(0))
    for regularizer in ("l1", "stvs"):
        leaf = z.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(elastic_cost(leaf, gamma, regularizer).sum(), leaf)
        torch.testing.assert_close(elastic_cost_grad(z, gamma, regularizer), grad)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), gamma=st.floats(0.05, 3.0), regularizer=st.sampled_from(["l1", "stvs"]))
def test_prox_inverts_the_gradient_and_is_a_shrinkage(seed, gamma, regularizer):
    z = _z(seed=seed)
    # grad h^* = prox_tau is the inverse of grad h = id + grad tau
    torch.testing.assert_close(prox_elastic(elastic_cost_grad(z, gamma, regularizer), gamma, regularizer), z)
    prox = prox_elastic(z, gamma, regularizer)
    assert bool((prox.abs() <= z.abs() + 1e-12).all()) and bool((prox * z >= 0).all())
    assert bool((prox[z.abs() <= gamma] == 0).all())  # both regularizers zero out |z| <= gamma
    assert bool((elastic_regularizer(z, gamma, regularizer) >= 0).all())


def test_cost_matrix_matches_the_pointwise_cost_and_the_quadratic_case():
    x, y = _z(seed=3, shape=(7, 4)), _z(seed=4, shape=(5, 4))
    for regularizer in ("l1", "stvs"):
        M = elastic_cost_matrix(x, y, 0.9, regularizer, chunk_size=3)
        torch.testing.assert_close(M, elastic_cost(x[:, None] - y[None], 0.9, regularizer))
    torch.testing.assert_close(elastic_cost_matrix(x, y, 0.0), 0.5 * cost_matrix(x, y))


def test_gamma_zero_is_the_quadratic_cost():
    z = _z(seed=5)
    torch.testing.assert_close(elastic_cost(z, 0.0, "stvs"), 0.5 * (z * z).sum(-1))
    torch.testing.assert_close(prox_elastic(z, 0.0, "l1"), z)


def test_bad_inputs_raise():
    z = _z()
    with pytest.raises(ValueError, match="gamma"):
        prox_elastic(z, -1.0)
    with pytest.raises(ValueError, match="regularizer"):
        elastic_cost(z, 1.0, "l0")
    with pytest.raises(TypeError, match="z"):
        elastic_cost(z.long(), 1.0)
    with pytest.raises(ValueError, match="finite"):
        prox_elastic(z * float("nan"), 1.0)
    with pytest.raises(ValueError, match="y"):
        elastic_cost_matrix(z, z[:, :3], 1.0)
    with pytest.raises(ValueError, match="chunk_size"):
        elastic_cost_matrix(z, z, 1.0, "stvs", chunk_size=0)
