"""Closed-form Gaussian entropic OT against POT's Sinkhorn on samples, its defining identities and its limits."""

import numpy as np
import ot
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.distances import bures_wasserstein, gaussian_entropic_ot

f64 = torch.float64


def random_gaussian(d, seed):
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(d, d, generator=g, dtype=f64)
    return torch.randn(d, generator=g, dtype=f64), A @ A.T + 0.2 * torch.eye(d, dtype=f64)


def moment_matched(n, mean, cov, generator):
    """n points whose empirical mean and covariance equal mean and cov exactly (less sampling noise)."""
    z = torch.randn(n, len(mean), generator=generator, dtype=f64)
    z = z - z.mean(0)
    z = z @ torch.linalg.inv(torch.linalg.cholesky(torch.cov(z.T, correction=0))).T
    return mean + z @ torch.linalg.cholesky(cov).T


def test_matches_pot_sinkhorn_on_samples():
    g = torch.Generator().manual_seed(0)
    m0, m1 = torch.zeros(2, dtype=f64), torch.tensor([1.0, -0.5], dtype=f64)
    c0 = torch.tensor([[1.0, 0.3], [0.3, 0.6]], dtype=f64)
    c1 = torch.tensor([[0.8, -0.4], [-0.4, 1.2]], dtype=f64)
    reg, n = 0.5, 1000
    x, y = moment_matched(n, m0, c0, g), moment_matched(n, m1, c1, g)
    M = (torch.cdist(x, y) ** 2 / 2).numpy()
    uniform = np.full(n, 1.0 / n)
    P = ot.sinkhorn(uniform, uniform, M, reg, numItermax=5000, stopThr=1e-9)
    barycentric = n * P @ y.numpy()  # the discrete plan's E[y | x_i]
    result = gaussian_entropic_ot(m0, c0, m1, c1, reg)
    error = np.linalg.norm(barycentric - result.conditional_mean(x).numpy(), axis=1).mean()
    assert error < 0.06  # a closed form with reg 0.35 or 0.7 is off by > 0.09
    assert result.transport_cost.item() == pytest.approx((P * M).sum(), rel=0.02)


@settings(max_examples=25, deadline=None)
@given(d=st.integers(1, 5), seed=st.integers(0, 1000), reg=st.floats(0.01, 5.0))
def test_marginal_and_cross_term_identities(d, seed, reg):
    (m0, c0), (m1, c1) = random_gaussian(d, seed), random_gaussian(d, seed + 1)
    result = gaussian_entropic_ot(m0, c0, m1, c1, reg)
    K = result.transport
    # the y-marginal of the plan is N(m1, Sigma1)
    torch.testing.assert_close(K @ c0 @ K + result.conditional_covariance, c1, atol=1e-8, rtol=1e-8)
    # the joint precision has off-diagonal block -I / reg: log pi has the cross term <x, y> / reg
    joint = torch.cat(
        [torch.cat([c0, result.cross_covariance], 1), torch.cat([result.cross_covariance.T, c1], 1)]
    )
    precision = torch.linalg.inv(joint)
    torch.testing.assert_close(precision[:d, d:], -torch.eye(d, dtype=f64) / reg, atol=1e-6, rtol=1e-6)
    assert result.mutual_information.item() >= 0


@pytest.mark.parametrize("d", [1, 3])
def test_small_reg_tends_to_the_bures_map(d):
    (m0, c0), (m1, c1) = random_gaussian(d, 3), random_gaussian(d, 4)
    result = gaussian_entropic_ot(m0, c0, m1, c1, 1e-6)
    A, _ = ot.gaussian.bures_wasserstein_mapping(m0.numpy(), m1.numpy(), c0.numpy(), c1.numpy())
    np.testing.assert_allclose(result.transport.numpy(), A, atol=1e-4)
    w2 = bures_wasserstein(m0, c0, m1, c1)
    assert result.transport_cost.item() == pytest.approx(w2.item() ** 2 / 2, rel=1e-4)


def test_value_gradient_in_the_target_mean():
    (m0, c0), (m1, c1) = random_gaussian(2, 5), random_gaussian(2, 6)
    m1 = m1.clone().requires_grad_(True)
    gaussian_entropic_ot(m0, c0, m1, c1, 0.3).value.backward()
    torch.testing.assert_close(m1.grad, (m1 - m0).detach())  # only ||m0 - m1||^2 / 2 depends on m1


def test_sample_has_the_conditional_moments():
    (m0, c0), (m1, c1) = random_gaussian(2, 7), random_gaussian(2, 8)
    result = gaussian_entropic_ot(m0, c0, m1, c1, 0.5)
    x = torch.tensor([[0.3, -1.0]], dtype=f64).repeat(20_000, 1)
    y = result.sample(x, generator=0)
    torch.testing.assert_close(y.mean(0), result.conditional_mean(x[:1])[0], atol=0.03, rtol=0)
    torch.testing.assert_close(torch.cov(y.T), result.conditional_covariance, atol=0.03, rtol=0.05)


def test_bad_inputs_raise():
    (m0, c0), (m1, c1) = random_gaussian(2, 0), random_gaussian(2, 1)
    with pytest.raises(ValueError, match="reg"):
        gaussian_entropic_ot(m0, c0, m1, c1, 0.0)
    with pytest.raises(ValueError, match="cov1"):
        gaussian_entropic_ot(m0, c0, m1, c1[:1], 0.1)
    with pytest.raises(ValueError, match="symmetric"):
        gaussian_entropic_ot(m0, c0, m1, c1 + torch.tensor([[0.0, 1.0], [0.0, 0.0]], dtype=f64), 0.1)
    with pytest.raises(ValueError, match="m0 and m1"):
        gaussian_entropic_ot(m0, c0, torch.zeros(3, dtype=f64), torch.eye(3, dtype=f64), 0.1)
    with pytest.raises(ValueError, match="x must have 2 columns"):
        gaussian_entropic_ot(m0, c0, m1, c1, 0.1).conditional_mean(torch.zeros(4, 3, dtype=f64))
