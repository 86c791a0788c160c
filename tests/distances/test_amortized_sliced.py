"""Amortized Max-SW and v-DSW: POT 1-D reference, agreement with the unbatched vMF-SW, metricity, bad inputs."""

import numpy as np
import ot
import pytest
import torch
from scipy.special import ive

from paperlab.distances import (
    amortized_max_sliced_wasserstein,
    amortized_vmf_sliced_wasserstein,
    vmf_around,
    vmf_sliced_wasserstein,
)

f64 = torch.float64


def clouds(B=3, n=40, m=30, d=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, n, d, generator=g, dtype=f64), 1.5 * torch.randn(
        B, m, d, generator=g, dtype=f64
    ) + 0.2


def test_max_sliced_along_a_direction_matches_pot_1d():
    X, Y = clouds()
    directions = torch.randn(3, 3, generator=torch.Generator().manual_seed(1), dtype=f64)
    values = amortized_max_sliced_wasserstein(X, Y, directions, p=2)
    for b in range(3):
        theta = (directions[b] / directions[b].norm()).numpy()
        reference = ot.wasserstein_1d(X[b].numpy() @ theta, Y[b].numpy() @ theta, p=2) ** 0.5
        assert values[b].item() == pytest.approx(float(reference), rel=1e-10)


def test_vmf_sliced_matches_the_unbatched_version_with_the_same_seed():
    X, Y = clouds(seed=2)
    locations = torch.randn(3, 3, generator=torch.Generator().manual_seed(3), dtype=f64)
    batched = amortized_vmf_sliced_wasserstein(X, Y, locations, kappa=10.0, n_projections=25, seed=7)
    for b in range(3):
        single = vmf_sliced_wasserstein(X[b], Y[b], locations[b], kappa=10.0, n_projections=25, seed=7)
        assert batched[b].item() == pytest.approx(single.item(), rel=1e-12)


@pytest.mark.parametrize("d, kappa", [(3, 5.0), (8, 30.0)])
def test_vmf_around_has_the_bessel_mean_cosine_for_every_location(d, kappa):
    locations = torch.randn(4, d, generator=torch.Generator().manual_seed(d), dtype=f64)
    locations[0] = torch.eye(d, dtype=f64)[0]  # the reflection-free case
    theta = vmf_around(locations, kappa, 20_000, seed=0)
    assert theta.shape == (4, d, 20_000)
    np.testing.assert_allclose(theta.norm(dim=1).numpy(), 1.0, rtol=1e-12)
    cosines = torch.einsum("bd,bdn->bn", locations / locations.norm(dim=1, keepdim=True), theta)
    expected = ive(d / 2, kappa) / ive(d / 2 - 1, kappa)
    standard_error = cosines.std(dim=1) / 20_000**0.5
    assert ((cosines.mean(dim=1) - expected).abs() < 4 * standard_error).all()


def test_metricity_probe_and_the_large_kappa_limit():
    g = torch.Generator().manual_seed(4)
    X = torch.randn(1, 100, 3, generator=g, dtype=f64)
    Y = X + torch.tensor([0.5, 0.0, 0.0], dtype=f64)
    e2 = torch.tensor([[0.0, 1.0, 0.0]], dtype=f64)
    assert amortized_max_sliced_wasserstein(X, Y, e2).item() == pytest.approx(0.0, abs=1e-12)
    # v-DSW still sees the shift: W_2 along theta is 0.5 |theta_1|, so v-DSW^2 = 0.25 E[theta_1^2] > 0
    theta = vmf_around(e2, 10.0, 200, seed=5)
    value = amortized_vmf_sliced_wasserstein(X, Y, e2, kappa=10.0, n_projections=200, seed=5)
    assert value.item() == pytest.approx((0.25 * theta[0, 0].pow(2).mean()).sqrt().item(), rel=1e-9)
    assert value.item() > 0.05
    e1 = torch.tensor([[1.0, 0.0, 0.0]], dtype=f64)
    sharp = amortized_vmf_sliced_wasserstein(X, Y, e1, kappa=1e5, n_projections=50, seed=6)
    assert sharp.item() == pytest.approx(amortized_max_sliced_wasserstein(X, Y, e1).item(), rel=1e-3)


def test_gradients_reach_points_and_locations():
    X, Y = clouds(seed=8)
    X.requires_grad_(True)
    locations = torch.randn(3, 3, dtype=f64, requires_grad=True)
    value = amortized_vmf_sliced_wasserstein(X, Y, locations, kappa=5.0, n_projections=20, seed=0).sum()
    value = value + amortized_max_sliced_wasserstein(X, Y, locations).sum()
    grad_x, grad_loc = torch.autograd.grad(value, (X, locations))
    assert torch.isfinite(grad_x).all() and torch.isfinite(grad_loc).all() and grad_loc.abs().sum() > 0


def test_bad_inputs():
    X, Y = clouds()
    with pytest.raises(ValueError, match="directions must have shape"):
        amortized_max_sliced_wasserstein(X, Y, torch.ones(2, 3, dtype=f64))
    with pytest.raises(ValueError, match="batches of clouds"):
        amortized_max_sliced_wasserstein(X[0], Y[0], torch.ones(1, 3, dtype=f64))
    with pytest.raises(ValueError, match="kappa must be >= 0"):
        amortized_vmf_sliced_wasserstein(X, Y, torch.ones(3, 3, dtype=f64), kappa=-1.0)
    with pytest.raises(ValueError, match="n_projections must be > 0"):
        amortized_vmf_sliced_wasserstein(X, Y, torch.ones(3, 3, dtype=f64), kappa=1.0, n_projections=0)
    with pytest.raises(ValueError, match="finite"):
        amortized_vmf_sliced_wasserstein(X, Y, torch.full((3, 3), float("nan"), dtype=f64), kappa=1.0)
