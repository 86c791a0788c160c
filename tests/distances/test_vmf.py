"""vMF sampling and vMF-sliced Wasserstein: the mean cosine in closed form, limits, gradients, bad inputs."""

import numpy as np
import pytest
import torch
from scipy.special import ive

from paperlab.distances import sample_vmf, sliced_wasserstein, vmf_sliced_wasserstein

f64 = torch.float64


def mean_resultant_length(d, kappa):
    """E[m^T theta] = I_{d/2}(kappa) / I_{d/2-1}(kappa) for theta ~ vMF(m, kappa) on S^{d-1}."""
    return ive(d / 2, kappa) / ive(d / 2 - 1, kappa)


@pytest.mark.parametrize("d, kappa", [(2, 1.0), (3, 5.0), (10, 20.0), (64, 100.0)])
def test_mean_cosine_matches_bessel_ratio(d, kappa):
    location = torch.randn(d, generator=torch.Generator().manual_seed(d), dtype=f64)
    theta = sample_vmf(location, kappa, 20_000, seed=0)
    assert theta.shape == (d, 20_000)
    np.testing.assert_allclose(theta.norm(dim=0).numpy(), 1.0, rtol=1e-12)
    cosines = (location / location.norm()) @ theta
    standard_error = cosines.std().item() / 20_000**0.5
    assert abs(cosines.mean().item() - mean_resultant_length(d, kappa)) < 4 * standard_error


def test_zero_concentration_is_uniform_and_large_concentration_is_the_location():
    location = torch.tensor([0.0, 0.0, 1.0], dtype=f64)
    uniform = sample_vmf(location, 0.0, 20_000, seed=1)
    assert uniform.mean(dim=1).abs().max().item() < 0.03
    X = torch.randn(100, 3, generator=torch.Generator().manual_seed(0), dtype=f64)
    Y = X + torch.tensor([0.0, 0.0, 2.0], dtype=f64)
    assert vmf_sliced_wasserstein(
        X, Y, location, kappa=1e4, n_projections=100, seed=0
    ).item() == pytest.approx(2.0, rel=1e-3)
    flat = vmf_sliced_wasserstein(X, Y, location, kappa=0.0, n_projections=5000, seed=0).item()
    assert flat == pytest.approx(sliced_wasserstein(X, Y, n_projections=5000, seed=3).item(), rel=0.05)


def test_differentiable_in_the_location_and_the_points():
    g = torch.Generator().manual_seed(0)
    X, Y = torch.randn(50, 3, generator=g, dtype=f64), torch.randn(40, 3, generator=g, dtype=f64) * 2
    location = torch.tensor([1.0, 0.5, -0.2], dtype=f64, requires_grad=True)
    Xg = X.clone().requires_grad_(True)
    value = vmf_sliced_wasserstein(Xg, Y, location, kappa=10.0, n_projections=30, seed=0)
    grad_location, grad_x = torch.autograd.grad(value, (location, Xg))
    assert torch.isfinite(grad_location).all() and grad_location.abs().sum() > 0
    assert torch.isfinite(grad_x).all()


def test_bad_inputs():
    with pytest.raises(ValueError, match="kappa must be >= 0"):
        sample_vmf(torch.ones(3), -1.0, 10)
    with pytest.raises(ValueError, match="at least 2 entries"):
        sample_vmf(torch.ones(1), 1.0, 10)
    with pytest.raises(ValueError, match="location must have shape"):
        vmf_sliced_wasserstein(torch.randn(5, 3), torch.randn(5, 3), torch.ones(2), 1.0)
