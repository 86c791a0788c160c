"""Tests for the conditional transport navigators and cost."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.distances import conditional_transport, ct_navigators


def _points(n=7, k=3, dim=4, seed=0, batch=()):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(*batch, n, dim, generator=g, dtype=torch.float64)
    mu = torch.randn(*batch, k, dim, generator=g, dtype=torch.float64)
    prior = torch.softmax(torch.randn(*batch, k, generator=g, dtype=torch.float64), -1)
    return x, mu, prior


def _numpy_navigators(x, mu, prior, tau):
    d = ((x[:, None, :] - mu[None]) ** 2).sum(-1)
    forward = prior * np.exp(-d / tau)
    forward /= forward.sum(1, keepdims=True)
    backward = np.exp(-d / tau)
    backward /= backward.sum(0, keepdims=True)
    return forward, backward, d


def test_navigators_and_cost_match_numpy():
    x, mu, prior = _points()
    nav = ct_navigators(x, mu, prior, temperature=0.7)
    forward, backward, d = _numpy_navigators(x.numpy(), mu.numpy(), prior.numpy(), 0.7)
    np.testing.assert_allclose(nav.forward.numpy(), forward, rtol=1e-12)
    np.testing.assert_allclose(nav.backward.numpy(), backward, rtol=1e-12)
    rho = 0.3
    expected = rho * (forward * d).sum() / len(d) + (1 - rho) * ((backward * d).sum(0) * prior.numpy()).sum()
    assert conditional_transport(x, mu, prior, 0.7, rho).item() == pytest.approx(expected, rel=1e-12)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), tau=st.floats(0.05, 5.0), rho=st.floats(0.0, 1.0), shift=st.floats(-3, 3))
def test_properties(seed, tau, rho, shift):
    x, mu, prior = _points(seed=seed)
    nav = ct_navigators(x, mu, prior, tau)
    torch.testing.assert_close(nav.forward.sum(-1), torch.ones(7, dtype=torch.float64))
    torch.testing.assert_close(nav.backward.sum(-2), torch.ones(3, dtype=torch.float64))
    cost = conditional_transport(x, mu, prior, tau, rho)
    assert cost.item() >= 0
    # translating both sets together changes nothing; permuting points permutes the navigator rows
    torch.testing.assert_close(conditional_transport(x + shift, mu + shift, prior, tau, rho), cost)
    perm = torch.randperm(7, generator=torch.Generator().manual_seed(seed))
    torch.testing.assert_close(ct_navigators(x[perm], mu, prior, tau).backward, nav.backward[perm])
    # the cost interpolates linearly between its forward-only and backward-only parts
    ends = [conditional_transport(x, mu, prior, tau, r) for r in (1.0, 0.0)]
    torch.testing.assert_close(cost, rho * ends[0] + (1 - rho) * ends[1])


def test_uniform_prior_is_the_default_and_batches_are_independent():
    x, mu, prior = _points(batch=(3,))
    uniform = torch.full((3, 3), 1 / 3, dtype=torch.float64)
    torch.testing.assert_close(ct_navigators(x, mu).forward, ct_navigators(x, mu, uniform).forward)
    batched = conditional_transport(x, mu, prior, 0.5)
    for e in range(3):
        torch.testing.assert_close(batched[e], conditional_transport(x[e], mu[e], prior[e], 0.5))


def test_gradcheck():
    x, mu, prior = _points(n=5, k=2, dim=3)
    x.requires_grad_(True)
    mu.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a, b: conditional_transport(a, b, prior, 0.8, 0.4), (x, mu))


def test_bad_inputs_raise():
    x, mu, prior = _points()
    with pytest.raises(ValueError, match="prototypes"):
        ct_navigators(x, mu[:, :2])
    with pytest.raises(ValueError, match="prior"):
        ct_navigators(x, mu, prior[:2])
    with pytest.raises(ValueError, match="prior"):
        ct_navigators(x, mu, prior * 2)
    with pytest.raises(ValueError, match="prior"):
        ct_navigators(x, mu, torch.tensor([1.5, -0.5, 0.0], dtype=torch.float64))
    with pytest.raises(ValueError, match="temperature"):
        ct_navigators(x, mu, prior, temperature=0.0)
    with pytest.raises(ValueError, match="rho"):
        conditional_transport(x, mu, prior, rho=1.5)
    with pytest.raises(ValueError, match="finite"):
        conditional_transport(x * float("nan"), mu)
