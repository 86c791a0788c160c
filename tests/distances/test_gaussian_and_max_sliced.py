"""Gaussian W2 / KL against POT and SciPy-style closed forms; max-SW against exact cases."""

import numpy as np
import ot
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.distances import bures_wasserstein, gaussian_kl, max_sliced_wasserstein, sliced_wasserstein

f64 = torch.float64


def random_gaussian(d, seed):
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(d, d, generator=g, dtype=f64)
    return torch.randn(d, generator=g, dtype=f64), A @ A.T + 0.1 * torch.eye(d, dtype=f64)


@pytest.mark.parametrize("d", [1, 3, 7])
def test_bures_matches_pot(d):
    (m1, c1), (m2, c2) = random_gaussian(d, 0), random_gaussian(d, 1)
    theirs = ot.gaussian.bures_wasserstein_distance(m1.numpy(), m2.numpy(), c1.numpy(), c2.numpy())
    assert bures_wasserstein(m1, c1, m2, c2).item() == pytest.approx(float(theirs), rel=1e-6)


@settings(max_examples=25, deadline=None)
@given(d=st.integers(1, 5), seed=st.integers(0, 1000))
def test_bures_is_zero_on_itself_symmetric_and_translation_exact(d, seed):
    (m1, c1), (m2, c2) = random_gaussian(d, seed), random_gaussian(d, seed + 1)
    assert bures_wasserstein(m1, c1, m1, c1).item() == pytest.approx(0.0, abs=1e-5)
    assert bures_wasserstein(m1, c1, m2, c2).item() == pytest.approx(
        bures_wasserstein(m2, c2, m1, c1).item(), rel=1e-6
    )
    assert bures_wasserstein(m1, c1, m2, c1).item() == pytest.approx((m1 - m2).norm().item(), rel=1e-6)


def test_kl_matches_the_formula_and_torch_distributions():
    (m1, c1), (m2, c2) = random_gaussian(4, 0), random_gaussian(4, 1)
    p = torch.distributions.MultivariateNormal(m1, c1)
    q = torch.distributions.MultivariateNormal(m2, c2)
    assert gaussian_kl(m1, c1, m2, c2).item() == pytest.approx(
        torch.distributions.kl_divergence(p, q).item(), rel=1e-9
    )
    assert gaussian_kl(m1, c1, m1, c1).item() == pytest.approx(0.0, abs=1e-9)


def test_bures_gradcheck_and_batch():
    (m1, c1), (m2, c2) = random_gaussian(3, 0), random_gaussian(3, 1)
    m1 = m1.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda m: bures_wasserstein(m, c1, m2, c2), (m1,))
    batch = bures_wasserstein(
        torch.stack([m1, m2]), torch.stack([c1, c2]), torch.stack([m2, m1]), torch.stack([c2, c1])
    )
    assert batch.shape == (2,) and batch[0].item() == pytest.approx(batch[1].item(), rel=1e-6)


def test_gaussian_bad_inputs():
    m, c = random_gaussian(3, 0)
    with pytest.raises(ValueError, match="cov1 must have shape"):
        bures_wasserstein(m, c[:2, :2], m, c)
    with pytest.raises(ValueError, match="symmetric"):
        bures_wasserstein(m, c + torch.triu(torch.ones(3, 3, dtype=f64), 1), m, c)
    with pytest.raises(ValueError, match="same shape"):
        gaussian_kl(m, c, m[:2], c[:2, :2])


def test_max_sw_of_a_translation_is_its_length():
    """Shifting a cloud by t: every direction sees W_2 = |theta^T t|, maximal along t, where it is |t|."""
    X = torch.randn(200, 4, generator=torch.Generator().manual_seed(0), dtype=f64)
    t = torch.tensor([1.0, -2.0, 0.5, 0.0], dtype=f64)
    result = max_sliced_wasserstein(X + t, X, n_iter=100, seed=0)
    assert result.value.item() == pytest.approx(t.norm().item(), rel=1e-3)
    assert abs(result.direction @ t / t.norm()).item() == pytest.approx(1.0, abs=1e-3)


def test_max_sw_bounds_sliced_and_is_differentiable():
    g = torch.Generator().manual_seed(1)
    X, Y = torch.randn(60, 3, generator=g, dtype=f64), 1.5 * torch.randn(50, 3, generator=g, dtype=f64)
    result = max_sliced_wasserstein(X, Y, seed=0)
    assert result.value.item() >= sliced_wasserstein(X, Y, n_projections=500, seed=0).item()
    Xg = X.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(max_sliced_wasserstein(Xg, Y, seed=0).value, Xg)
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0
    np.testing.assert_allclose(result.direction.norm().item(), 1.0)


def test_max_sw_bad_inputs():
    with pytest.raises(ValueError, match="unbatched"):
        max_sliced_wasserstein(torch.randn(2, 5, 3), torch.randn(2, 5, 3))
    with pytest.raises(ValueError, match="n_starts must be > 0"):
        max_sliced_wasserstein(torch.randn(5, 3), torch.randn(5, 3), n_starts=0)
