"""Tests of generalized sum pooling: closed forms, a naive KKT fixed point, invariances, gradients."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.models import GeneralizedSumPooling, generalized_sum_pooling, gsp_transport


def _problem(batch=3, n=12, m=4, d=6, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    features = torch.randn(batch, n, d, generator=g, dtype=dtype)
    prototypes = torch.randn(m, d, generator=g, dtype=dtype)
    return features, prototypes


def _naive_partial_transport(features, prototypes, mu, reg, n_iter=5000):
    """The full (n x (m + 1)) plan from the KKT conditions of the partial transport, in the primal.

    rho_i = (1/n) / (1 + lam * sum_k K_ik), pi_ik = lam * rho_i * K_ik, lam set so that sum pi = mu.
    """
    x, w = F.normalize(features, dim=-1), F.normalize(prototypes, dim=-1)
    kernel = torch.exp(-torch.cdist(x, w.expand(x.shape[0], -1, -1)).square() / reg)  # (B, n, m)
    row_sums = kernel.sum(-1)  # (B, n)
    n = features.shape[1]
    lam = torch.ones(features.shape[0], 1, dtype=features.dtype)
    for _ in range(n_iter):
        rho = (1.0 / n) / (1.0 + lam * row_sums)
        lam = mu / (rho * row_sums).sum(-1, keepdim=True)
    rho = (1.0 / n) / (1.0 + lam * row_sums)
    return lam.unsqueeze(-1) * rho.unsqueeze(-1) * kernel, rho  # (B, n, m), (B, n)


def test_mu_one_is_global_average_pooling():
    features, prototypes = _problem()
    pooled = generalized_sum_pooling(features, prototypes, mu=1.0, reg=0.05)
    torch.testing.assert_close(pooled, features.mean(1), atol=1e-12, rtol=0)


@pytest.mark.parametrize("mu, reg", [(0.3, 0.1), (0.6, 0.5), (0.9, 0.05)])
def test_matches_naive_partial_transport(mu, reg):
    features, prototypes = _problem(seed=1)
    transport = gsp_transport(features, prototypes, mu=mu, reg=reg, tol=1e-12)
    plan, residual = _naive_partial_transport(features, prototypes, mu, reg)
    torch.testing.assert_close(transport.assignment, plan, atol=1e-9, rtol=1e-7)
    torch.testing.assert_close(transport.selected_mass, 1.0 / features.shape[1] - residual, atol=1e-9, rtol=0)
    assert transport.converged


def test_small_reg_averages_the_features_at_a_prototype():
    n, k = 10, 3
    g = torch.Generator().manual_seed(3)
    prototype = F.normalize(torch.randn(1, 5, generator=g, dtype=torch.float64), dim=-1)
    nearest = torch.randperm(n, generator=g)[:k]
    sign = torch.full((n, 1), -1.0, dtype=torch.float64)
    sign[nearest] = 1.0
    scale = torch.rand(n, 1, generator=g, dtype=torch.float64) + 0.5  # unit directions: costs 0 or 4
    features = (sign * scale * prototype).unsqueeze(0)
    expected = torch.zeros(n, dtype=torch.float64)
    expected[nearest] = 1.0 / k
    weights = gsp_transport(features, prototype, mu=k / (2 * n), reg=0.05, tol=1e-10).weights
    torch.testing.assert_close(weights[0], expected, atol=1e-8, rtol=0)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 9),
    mu=st.floats(0.05, 1.0),
    reg=st.floats(0.05, 2.0),
    seed=st.integers(0, 2**16),
)
def test_weights_are_a_bounded_distribution_and_permutation_equivariant(n, mu, reg, seed):
    features, prototypes = _problem(batch=2, n=n, seed=seed)
    transport = gsp_transport(features, prototypes, mu=mu, reg=reg, tol=1e-11)
    weights = transport.weights
    torch.testing.assert_close(weights.sum(1), torch.ones(2, dtype=torch.float64), atol=1e-9, rtol=0)
    assert bool((weights >= 0).all()) and bool((weights <= 1.0 / (n * mu) + 1e-9).all())
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    permuted = gsp_transport(features[:, perm], prototypes, mu=mu, reg=reg, tol=1e-11).weights
    torch.testing.assert_close(permuted, weights[:, perm], atol=1e-9, rtol=0)
    pooled = generalized_sum_pooling(features, prototypes, mu=mu, reg=reg, tol=1e-11)
    pooled_perm = generalized_sum_pooling(features[:, perm], prototypes, mu=mu, reg=reg, tol=1e-11)
    torch.testing.assert_close(pooled_perm, pooled, atol=1e-9, rtol=0)


def test_lower_cost_features_get_larger_weights():
    features, prototypes = _problem(batch=1, n=15, seed=4)
    transport = gsp_transport(features, prototypes, mu=0.4, reg=0.2, tol=1e-12)
    x, w = F.normalize(features, dim=-1), F.normalize(prototypes, dim=-1)
    soft_min = -0.2 * torch.logsumexp(-torch.cdist(x, w.unsqueeze(0)).square() / 0.2, dim=-1)
    order = soft_min[0].argsort()
    assert bool((transport.weights[0, order].diff() <= 1e-12).all())


def test_gradcheck_float64():
    features, prototypes = _problem(batch=2, n=5, m=3, d=4, seed=5)
    features.requires_grad_(True)
    prototypes.requires_grad_(True)

    def pool(x, w):
        return generalized_sum_pooling(x, w, mu=0.4, reg=0.3, tol=1e-13, max_iter=5000)

    assert torch.autograd.gradcheck(pool, (features, prototypes))


def test_module_gradients_reach_prototypes_and_features():
    layer = GeneralizedSumPooling(dim=6, n_prototypes=4, mu=0.5, reg=0.1, generator=0).double()
    features, _ = _problem()
    features.requires_grad_(True)
    (layer(features) ** 2).sum().backward()
    assert layer.prototypes.grad is not None and bool(layer.prototypes.grad.abs().sum() > 0)
    assert bool(features.grad.isfinite().all()) and bool(features.grad.abs().sum() > 0)
    torch.testing.assert_close(
        layer(features), generalized_sum_pooling(features, layer.prototypes, 0.5, 0.1, max_iter=200)
    )


def test_mu_one_gradients_are_finite_and_average_pooling_gradients():
    features, prototypes = _problem()
    features.requires_grad_(True)
    prototypes.requires_grad_(True)
    generalized_sum_pooling(features, prototypes, mu=1.0).pow(2).sum().backward()
    torch.testing.assert_close(features.grad, 2 * features.mean(1, keepdim=True).expand_as(features) / 12)
    assert bool((prototypes.grad == 0).all())


def test_float32_and_module_seed_reproducible():
    first = GeneralizedSumPooling(dim=6, generator=7)
    second = GeneralizedSumPooling(dim=6, generator=7)
    torch.testing.assert_close(first.prototypes, second.prototypes)
    features = torch.randn(2, 8, 6)
    out = first(features)
    assert out.shape == (2, 6) and out.dtype == torch.float32


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"mu": 0.0}, ValueError, "mu"),
        ({"mu": 1.5}, ValueError, "mu"),
        ({"mu": True}, ValueError, "mu"),
        ({"reg": 0.0}, ValueError, "reg"),
        ({"max_iter": 0}, ValueError, "max_iter"),
    ],
)
def test_bad_options(kwargs, error, match):
    features, prototypes = _problem()
    with pytest.raises(error, match=match):
        gsp_transport(features, prototypes, **kwargs)


def test_bad_tensors():
    features, prototypes = _problem()
    with pytest.raises(ValueError, match="features"):
        gsp_transport(features[0], prototypes)
    with pytest.raises(ValueError, match="prototypes"):
        gsp_transport(features, prototypes[:, :3])
    with pytest.raises(TypeError, match="prototypes"):
        gsp_transport(features, prototypes.float())
    bad = features.clone()
    bad[0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="features"):
        gsp_transport(bad, prototypes)
    with pytest.raises(ValueError, match="features"):
        gsp_transport(features[:, :0], prototypes)
    with pytest.raises(ValueError, match="n_prototypes"):
        GeneralizedSumPooling(dim=4, n_prototypes=0)
    with pytest.raises(ValueError, match="mu"):
        GeneralizedSumPooling(dim=4, mu=2.0)
